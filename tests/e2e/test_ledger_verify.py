"""The ledger against a real server: parties and transactions through the SDK, then
``ipsim ledger verify`` (a separate process, trusting nothing the server computed) passes,
and catches an attacker with database access — who must drop the append-only triggers
first — editing, reordering or deleting entries."""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ipsim.clients.http import Client
from ipsim.platform.canonical import canonical_json
from ipsim.platform.ledger.entries import raw_public_key

from .conftest import ServerProcess, run_cli, start_server


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def signed(tx: dict[str, Any], *parties: tuple[str, Ed25519PrivateKey]) -> dict[str, str]:
    return {pid: b64(key.sign(canonical_json(tx))) for pid, key in parties}


@contextmanager
def attacker(data: Path) -> Iterator[sqlite3.Connection]:
    """Direct access to the platform database, the triggers dropped (and restored after)."""
    db = sqlite3.connect(data / "platform.db", isolation_level=None)
    triggers = db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'ledger_entries'"
    ).fetchall()
    for name, _ in triggers:
        db.execute(f"DROP TRIGGER {name}")
    try:
        yield db
    finally:
        for _, sql in triggers:
            db.execute(sql)
        db.close()


def verify(server: ServerProcess, tmp_path: Path, *extra: str) -> tuple[int, str]:
    result = run_cli(
        server, "ledger", "verify", "--url", server.url, *extra, state=tmp_path / "cli"
    )
    return result.returncode, result.stdout + result.stderr


def test_verify_detects_edited_reordered_and_deleted_entries(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_server(data)
    try:
        with Client(server.url, timeout=60) as client:
            parties = []
            for name in ("Alice", "Bob"):
                key = Ed25519PrivateKey.generate()
                answer = client.register_party(name, b64(raw_public_key(key)))
                parties.append((answer["id"], key))
            (alice, _), (bob, _) = parties
            term = {"start": "2020-01-01", "end": None}
            grant = {"type": "grant", "object": "patents/EP1", "holder": alice,
                     "territory": ["DE", "KZ"], "term": term}  # fmt: skip
            client.register_transaction(grant, signed(grant, parties[0]))
            assignment = {"type": "assignment", "object": "patents/EP1", "assignor": alice,
                          "assignee": bob}  # fmt: skip
            receipt = client.register_transaction(assignment, signed(assignment, *parties))
            assert receipt["index"] == 3
            assert client.ledger_right("patents", "EP1")["holder"] == bob
            assert client.ledger_tree_head()["tree_size"] == 4

        head = tmp_path / "head.json"
        status, output = verify(server, tmp_path, "--state", str(head))
        assert status == 0, output
        assert output.startswith("ok: 4 entries")
        assert head.exists()

        with attacker(data) as db:
            original = {i: e for i, e in db.execute('SELECT "index", entry FROM ledger_entries')}
            db.execute(  # Bob's name becomes Rob's: still canonical JSON, same length
                'UPDATE ledger_entries SET entry = ? WHERE "index" = 1',
                (original[1].replace(b'"Bob"', b'"Rob"'),),
            )
        status, output = verify(server, tmp_path, "--state", str(head))
        assert status == 1
        assert "TAMPERED: entry 1: fails the office signature (edited)" in output
        assert "TAMPERED: tree head: the entries do not hash to the signed root" in output
        assert "no longer hash to the root saved earlier" in output

        with attacker(data) as db:  # undo the edit, then swap the two transactions
            db.execute('UPDATE ledger_entries SET entry = ? WHERE "index" = 1', (original[1],))
            db.execute('UPDATE ledger_entries SET entry = ? WHERE "index" = 2', (original[3],))
            db.execute('UPDATE ledger_entries SET entry = ? WHERE "index" = 3', (original[2],))
        status, output = verify(server, tmp_path)
        assert status == 1
        assert "TAMPERED: entry 2: claims index 3" in output
        assert "TAMPERED: entry 3: claims index 2" in output

        with attacker(data) as db:  # restore the order, then delete the grant
            for index in (2, 3):
                db.execute(
                    'UPDATE ledger_entries SET entry = ? WHERE "index" = ?',
                    (original[index], index),
                )
        assert verify(server, tmp_path, "--state", str(head))[0] == 0
        with attacker(data) as db:
            db.execute('DELETE FROM ledger_entries WHERE "index" = 2')
        status, output = verify(server, tmp_path)
        assert status == 1
        assert "TAMPERED: entry 2: missing" in output
    finally:
        server.terminate()
