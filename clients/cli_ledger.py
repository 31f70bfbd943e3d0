"""``ipsim ledger verify``: check the office's transparency log without trusting the server.

The verifier fetches the signed tree head, every entry and the proofs, and recomputes
everything itself with :mod:`ipsim.platform.ledger.merkle` and
:mod:`ipsim.platform.ledger.entries` (pure code: no database, nothing the server computed is
taken on faith):

- the head's Ed25519 signature under the office key (pinned with ``--office-key``, or the key
  saved in ``--state`` by an earlier run; only a first run takes the server's word for it);
- every entry: present (a deleted one is missing), canonical, carrying its own index (a
  reordered or renumbered one names another), office-signed (an edited one fails), and, for a
  transaction, signed by every party under the key its registration entry holds;
- the root recomputed from the entries equals the signed root, and each entry's audit path
  leads to it;
- against the head saved by the previous run (``--state``): the log did not shrink, the
  first ``tree_size`` entries still hash to the saved root, and the server's consistency proof
  checks (RFC 9162 §2.1.4.2) — history was only appended to.

Exit status 0 when all holds (the new head is saved), 1 with one line per problem otherwise.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from ipsim.clients.cli import CliContext, cli, print_json
from ipsim.clients.errors import IpsimError
from ipsim.clients.http import Client
from ipsim.engine.errors import InvalidInput
from ipsim.platform.canonical import canonical_json
from ipsim.platform.ledger import merkle
from ipsim.platform.ledger.entries import (
    entry_problem,
    parse_entry,
    public_key,
    signature_valid,
    tree_head_message,
    unb64,
)


@dataclass
class Report:
    tree_size: int = 0
    root_hash: str = ""
    office_key: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_log(client: Client, saved: dict[str, Any] | None, pinned_key: str | None) -> Report:
    """Check the server's log; ``saved``: ``{"office_key", "tree_size", "root_hash"}`` from an
    earlier run; ``pinned_key``: the office key (base64) obtained out of band."""
    report = Report()
    served_key = client.ledger_office_key()["public_key"]
    report.office_key = pinned_key or (saved or {}).get("office_key") or served_key
    if served_key != report.office_key:
        report.problems.append("office key: the server presents a different key")
    office = public_key(unb64(report.office_key, "office_key", 32))
    head = client.ledger_tree_head()
    report.tree_size, report.root_hash = int(head["tree_size"]), str(head["root_hash"])
    message = tree_head_message(report.tree_size, report.root_hash, str(head["timestamp"]))
    if not signature_valid(office, unb64(head["signature"], "signature"), message):
        report.problems.append("tree head: the office signature is invalid")
    hashes = _check_entries(client, report, office)
    if merkle.root(hashes) != base64.b64decode(report.root_hash):
        report.problems.append("tree head: the entries do not hash to the signed root")
    _check_inclusion(client, report, hashes)
    if saved is not None:
        _check_consistency(client, report, saved, hashes)
    return report


def _check_entries(client: Client, report: Report, office: Any) -> list[bytes]:
    hashes: list[bytes] = []
    keys: dict[str, bytes] = {}
    for index in range(report.tree_size):
        try:
            leaf = base64.b64decode(client.ledger_entry(index)["entry"])
        except IpsimError as exc:
            report.problems.append(f"entry {index}: missing (deleted?): {exc}")
            continue
        hashes.append(merkle.leaf_hash(leaf))
        problem = entry_problem(leaf, index, office)
        if problem is not None:
            report.problems.append(f"entry {index}: {problem}")
            continue
        entry = parse_entry(leaf)
        if entry.get("kind") == "party":
            keys[entry["party"]["id"]] = base64.b64decode(entry["party"]["public_key"])
        else:
            _check_party_signatures(report, index, entry, keys)
    return hashes


def _check_party_signatures(
    report: Report, index: int, entry: dict[str, Any], keys: dict[str, bytes]
) -> None:
    message = canonical_json(entry["transaction"])
    for party_id, signature in sorted(entry["signatures"].items()):
        key = keys.get(party_id)
        if key is None or not signature_valid(
            public_key(key), base64.b64decode(signature), message
        ):
            report.problems.append(f"entry {index}: the signature of party {party_id} is invalid")


def _check_inclusion(client: Client, report: Report, hashes: list[bytes]) -> None:
    if len(hashes) != report.tree_size:
        return  # entries are missing: every audit path would fail, the gap is reported
    root = base64.b64decode(report.root_hash)
    for index, leaf in enumerate(hashes):
        try:
            path = client.ledger_inclusion_proof(index, report.tree_size)["audit_path"]
        except IpsimError as exc:
            report.problems.append(f"entry {index}: no inclusion proof: {exc}")
            continue
        proof = [base64.b64decode(node) for node in path]
        if not merkle.verify_inclusion(leaf, index, report.tree_size, proof, root):
            report.problems.append(f"entry {index}: its audit path does not reach the signed root")


def _check_consistency(
    client: Client, report: Report, saved: dict[str, Any], hashes: list[bytes]
) -> None:
    old_size, old_root = int(saved["tree_size"]), base64.b64decode(saved["root_hash"])
    if old_size > report.tree_size:
        report.problems.append(f"log shrank from {old_size} to {report.tree_size} entries")
        return
    if old_size == 0:
        return
    if merkle.root(hashes[:old_size]) != old_root:
        report.problems.append(
            f"the first {old_size} entries no longer hash to the root saved earlier"
        )
    try:
        path = client.ledger_consistency_proof(old_size, report.tree_size)["consistency_path"]
    except IpsimError as exc:
        report.problems.append(f"no consistency proof from {old_size}: {exc}")
        return
    proof = [base64.b64decode(node) for node in path]
    new_root = base64.b64decode(report.root_hash)
    if not merkle.verify_consistency(old_size, report.tree_size, old_root, new_root, proof):
        report.problems.append(
            f"the signed head of size {report.tree_size} is not consistent with the saved"
            f" head of size {old_size}"
        )


@cli.group()
def ledger() -> None:
    """The IP-rights ledger's transparency log."""


@ledger.command("verify")
@click.option("--url", "url", help="Server base URL (overrides the global --url).")
@click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A JSON file with the head this verifier saw last: checked for consistency, then"
    " replaced by the new head when everything verifies.",
)
@click.option("--office-key", help="The office's Ed25519 public key (base64), pinned.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def verify(
    obj: CliContext, url: str | None, state: Path | None, office_key: str | None, as_json: bool
) -> None:
    """Recompute the log's root, proofs and signatures; exit 1 on any tampering."""
    context = CliContext(obj.transport, url or obj.url, obj.api_key, obj.timeout)
    saved = json.loads(state.read_text()) if state is not None and state.exists() else None
    with context.client() as client:
        try:
            report = verify_log(client, saved, office_key)
        except (InvalidInput, ValueError, KeyError, TypeError) as exc:  # a malformed answer
            report = Report(problems=[f"the server's answers are malformed: {exc!r}"])
    if as_json:
        print_json({**report.__dict__, "ok": report.ok})
    elif report.ok:
        click.echo(f"ok: {report.tree_size} entries, root {report.root_hash}")
    else:
        for problem in report.problems:
            click.echo(f"TAMPERED: {problem}")
    if not report.ok:
        raise SystemExit(1)
    if state is not None:
        head = {key: getattr(report, key) for key in ("office_key", "tree_size", "root_hash")}
        state.write_text(json.dumps(head))


__all__ = ["Report", "verify_log"]
