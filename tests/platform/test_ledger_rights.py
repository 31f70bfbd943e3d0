"""Parties, rights and signed transactions on the log, on SQLite and PostgreSQL: every rule
(signatures, holding the right, licence scope, exclusivity), the append-only guard, the
office's signatures and the outbox."""

from __future__ import annotations

import base64
import copy
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ipsim.engine.errors import Conflict, InvalidInput, NotFound
from ipsim.platform.canonical import canonical_json
from ipsim.platform.ledger import merkle
from ipsim.platform.ledger.entries import (
    entry_problem,
    public_key,
    raw_public_key,
    signature_valid,
    tree_head_message,
)
from ipsim.platform.ledger.log import OFFICE_KEY_FILE, TransparencyLog, load_office_key
from ipsim.platform.ledger.rights import LedgerService
from ipsim.platform.services import Platform

OBJECT = "patents/EP1000001"


class Actor:
    def __init__(self, ledger: LedgerService, name: str) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.id = ledger.register_party(name, b64(raw_public_key(self.key))).id

    def sign(self, tx: dict[str, Any]) -> str:
        return b64(self.key.sign(canonical_json(tx)))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def signed(tx: dict[str, Any], *actors: Actor) -> dict[str, str]:
    return {actor.id: actor.sign(tx) for actor in actors}


@pytest.fixture
def platform(platform_url: str, tmp_path: Path) -> Iterator[Platform]:
    opened = Platform.open(platform_url, tmp_path)
    yield opened
    opened.database.dispose()


@pytest.fixture
def ledger(platform: Platform) -> LedgerService:
    return platform.ledger


def grant(holder: Actor, territory: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "grant",
        "object": OBJECT,
        "holder": holder.id,
        "territory": territory or ["DE", "FR", "IT"],
        "term": {"start": "2020-01-01", "end": "2040-01-01"},
    }


def licence(licensor: Actor, licensee: Actor, **changes: Any) -> dict[str, Any]:
    tx = {
        "type": "licence",
        "object": OBJECT,
        "licensor": licensor.id,
        "licensee": licensee.id,
        "exclusive": False,
        "territory": ["DE"],
        "term": {"start": "2021-01-01", "end": "2025-12-31"},
        "royalty": {"percent": "2.5"},
    }
    tx.update(changes)
    return tx


def register(ledger: LedgerService, tx: dict[str, Any], *actors: Actor) -> int:
    return ledger.register_transaction(tx, signed(tx, *actors), may_grant=True).index


def test_parties_rights_and_the_holder_derived_from_the_log(ledger: LedgerService) -> None:
    alice, bob, carol = (Actor(ledger, name) for name in ("Alice", "Bob", "Carol"))
    assert ledger.party(alice.id).name == "Alice"
    assert register(ledger, grant(alice), alice) == 3
    assert ledger.right("patents", "EP1000001").holder == alice.id
    assignment = {"type": "assignment", "object": OBJECT, "assignor": alice.id,
                  "assignee": bob.id, "date": "2024-05-01"}  # fmt: skip
    receipt = ledger.register_transaction(
        assignment, signed(assignment, alice, bob), may_grant=False
    )
    assert (receipt.index, receipt.registration_number) == (4, "LR-00000004")
    assert ledger.right("patents", "EP1000001").holder == bob.id
    # Alice no longer holds it: she can neither assign nor license it again.
    again = {**assignment, "assignee": carol.id}
    with pytest.raises(Conflict, match="does not hold the right"):
        register(ledger, again, alice, carol)
    pledge = {"type": "pledge", "object": OBJECT, "pledgor": bob.id, "pledgee": carol.id,
              "amount": "50000.00", "currency": "EUR"}  # fmt: skip
    register(ledger, pledge, bob, carol)
    right = ledger.right("patents", "EP1000001")
    assert [p["pledgee"] for p in right.pledges] == [carol.id]


def test_signatures_missing_invalid_or_extra_are_400s(ledger: LedgerService) -> None:
    alice, bob, mallory = (Actor(ledger, name) for name in ("Alice", "Bob", "Mallory"))
    register(ledger, grant(alice), alice)
    tx = licence(alice, bob)
    cases = {
        f"signatures.{bob.id}": {alice.id: alice.sign(tx)},  # Bob never signed
        f"signatures.{alice.id}": {alice.id: mallory.sign(tx), bob.id: bob.sign(tx)},
        f"signatures.{mallory.id}": {**signed(tx, alice, bob), mallory.id: mallory.sign(tx)},
    }
    for field, signatures in cases.items():
        with pytest.raises(InvalidInput) as caught:
            ledger.register_transaction(tx, signatures, may_grant=False)
        assert caught.value.field == field
    # A signature over other bytes (the territory changed after signing) is invalid too.
    signatures = signed(tx, alice, bob)
    with pytest.raises(InvalidInput, match="invalid signature"):
        ledger.register_transaction({**tx, "territory": ["FR"]}, signatures, may_grant=False)
    with pytest.raises(InvalidInput) as caught:
        ledger.register_transaction(
            tx, {alice.id: "not base64!", bob.id: bob.sign(tx)}, may_grant=False
        )
    assert caught.value.field == f"signatures.{alice.id}"
    assert ledger.log.tree_head().tree_size == 4  # nothing was registered


def test_licence_scope_exclusivity_and_replays(ledger: LedgerService) -> None:
    alice, bob, carol = (Actor(ledger, name) for name in ("Alice", "Bob", "Carol"))
    register(ledger, grant(alice), alice)
    beyond = {
        "territory beyond the rights held: US": licence(alice, bob, territory=["DE", "US"]),
        "term beyond the rights held": licence(
            alice, bob, term={"start": "2030-01-01", "end": "2045-01-01"}
        ),
    }
    for reason, tx in beyond.items():
        with pytest.raises(Conflict, match=reason):
            register(ledger, tx, alice, bob)
    exclusive = licence(alice, bob, exclusive=True)
    register(ledger, exclusive, alice, bob)
    with pytest.raises(Conflict, match="already registered"):
        register(ledger, exclusive, alice, bob)
    overlapping = licence(alice, carol, term={"start": "2025-06-01", "end": "2026-01-01"})
    with pytest.raises(Conflict, match="conflicts with the exclusive licence"):
        register(ledger, overlapping, alice, carol)
    # Another territory, or after the exclusive term, is free; non-exclusive ones coexist.
    register(ledger, licence(alice, carol, territory=["FR"]), alice, carol)
    register(ledger, licence(alice, carol, territory=["FR"], royalty={"amount": "10.00",
             "currency": "EUR"}), alice, carol)  # fmt: skip
    register(
        ledger,
        licence(alice, carol, term={"start": "2026-01-01", "end": "2030-01-01"}),
        alice,
        carol,
    )
    worldwide = licence(alice, carol, exclusive=True, territory=["*"])
    with pytest.raises(Conflict):
        register(ledger, worldwide, alice, carol)
    assert len(ledger.right("patents", "EP1000001").licences) == 4


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "sale"}, "transaction.type"),
        ({"object": "no-slash"}, "transaction.object"),
        ({"licensee": "nobody"}, "transaction.licensee"),
        ({"exclusive": "yes"}, "transaction.exclusive"),
        ({"territory": ["de"]}, "transaction.territory[0]"),
        ({"territory": []}, "transaction.territory"),
        ({"term": {"start": "2021-13-01", "end": None}}, "transaction.term.start"),
        ({"term": {"start": "2022-01-01", "end": "2021-01-01"}}, "transaction.term.end"),
        ({"royalty": {"percent": "120"}}, "transaction.royalty.percent"),
        ({"royalty": {"amount": 1.5, "currency": "EUR"}}, "transaction.royalty.amount"),
        ({"royalty": {"amount": "1.50", "currency": "euro"}}, "transaction.royalty.currency"),
        ({"colour": "red"}, "transaction.colour"),
    ],
)
def test_bad_transactions_name_the_field(
    ledger: LedgerService, change: dict[str, Any], field: str
) -> None:
    alice, bob = Actor(ledger, "Alice"), Actor(ledger, "Bob")
    register(ledger, grant(alice), alice)
    tx = {**licence(alice, bob), **copy.deepcopy(change)}
    with pytest.raises(InvalidInput) as caught:
        register(ledger, tx, alice, bob)
    assert caught.value.field == field


def test_grants_need_the_office_and_parties_are_unique(ledger: LedgerService) -> None:
    alice = Actor(ledger, "Alice")
    tx = grant(alice)
    with pytest.raises(InvalidInput, match="registered by the office"):
        ledger.register_transaction(tx, signed(tx, alice), may_grant=False)
    with pytest.raises(Conflict, match="already registered as party"):
        ledger.register_party("Alice again", b64(raw_public_key(alice.key)))
    for name, key, field in [
        ("", b64(bytes(32)), "name"),
        ("X", "AAAA", "public_key"),
        ("X", 42, "public_key"),
    ]:
        with pytest.raises(InvalidInput) as caught:
            ledger.register_party(name, key)
        assert caught.value.field == field
    with pytest.raises(NotFound):
        ledger.right("patents", "EP404")


def test_the_log_is_signed_append_only_and_feeds_the_outbox(
    platform: Platform, tmp_path: Path
) -> None:
    ledger = platform.ledger
    alice, bob = Actor(ledger, "Alice"), Actor(ledger, "Bob")
    register(ledger, grant(alice), alice)
    register(ledger, licence(alice, bob), alice, bob)
    head = ledger.log.tree_head()
    office = public_key(base64.b64decode(ledger.log.office_public_key))
    message = tree_head_message(head.tree_size, head.root_hash, head.timestamp)
    assert signature_valid(office, base64.b64decode(head.signature), message)
    leaves = [ledger.log.entry(i) for i in range(head.tree_size)]
    assert all(entry_problem(leaf, i, office) is None for i, leaf in enumerate(leaves))
    assert entry_problem(leaves[1], 0, office) is not None  # a leaf in the wrong place
    hashes = [merkle.leaf_hash(leaf) for leaf in leaves]
    assert b64(merkle.root(hashes)) == head.root_hash
    path = [base64.b64decode(p) for p in ledger.log.inclusion_proof(2, 4)]
    assert merkle.verify_inclusion(hashes[2], 2, 4, path, base64.b64decode(head.root_hash))
    events = ledger.log.outbox()
    assert [(e.seq, e.index, e.kind) for e in events] == [
        (1, 0, "party"), (2, 1, "party"), (3, 2, "transaction"), (4, 3, "transaction")
    ]  # fmt: skip
    assert [e.index for e in ledger.log.outbox(after=2, limit=1)] == [2]
    for statement in (
        'UPDATE ledger_entries SET entry = entry WHERE "index" = 1',
        'DELETE FROM ledger_entries WHERE "index" = 3',
        "DELETE FROM ledger_tree_heads",
    ):
        with pytest.raises(DBAPIError, match="append-only"), platform.database.begin() as db:
            db.execute(text(statement))
    assert ledger.log.tree_head().tree_size == 4
    for bad in ({"index": 4, "tree_size": 4}, {"index": 0, "tree_size": 5}):
        with pytest.raises(InvalidInput):
            ledger.log.inclusion_proof(**bad)
    with pytest.raises(InvalidInput) as caught:
        ledger.log.consistency_proof(0, 4)
    assert caught.value.field == "first"
    with pytest.raises(InvalidInput):
        ledger.log.outbox(limit=0)
    with pytest.raises(NotFound):
        ledger.log.entry(99)


def test_the_office_key_is_made_once_private_and_reused(tmp_path: Path) -> None:
    key = load_office_key(tmp_path)
    path = tmp_path / OFFICE_KEY_FILE
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert raw_public_key(load_office_key(tmp_path)) == raw_public_key(key)
    path.write_text("not a key")
    with pytest.raises(ValueError):
        load_office_key(tmp_path)


def test_two_processes_on_one_database_see_each_others_entries(
    platform: Platform, tmp_path: Path
) -> None:
    first = platform.ledger
    second = LedgerService(TransparencyLog(platform.database, load_office_key(tmp_path)))
    alice, bob, carol = Actor(first, "Alice"), Actor(second, "Bob"), Actor(first, "Carol")
    register(second, grant(alice), alice)  # parties registered through the other one
    assert first.right("patents", "EP1000001").holder == alice.id  # its fold catches up
    assignment = {"type": "assignment", "object": OBJECT, "assignor": alice.id,
                  "assignee": bob.id}  # fmt: skip
    register(first, assignment, alice, bob)
    with pytest.raises(Conflict, match="does not hold the right"):
        register(second, {**assignment, "assignee": carol.id}, alice, carol)
    assert second.log.tree_head().tree_size == 5


def test_a_row_edited_behind_the_office_is_never_acted_on(
    platform: Platform, tmp_path: Path
) -> None:
    ledger = platform.ledger
    alice, mallory = Actor(ledger, "Alice"), Actor(ledger, "Mallory")
    register(ledger, grant(alice), alice)
    forged = ledger.log.entry(2).replace(alice.id.encode(), mallory.id.encode())
    with platform.database.begin() as db:  # an attacker with database access
        if db.dialect.name == "postgresql":
            db.execute(text("DROP TRIGGER ledger_entries_append_only ON ledger_entries"))
        else:
            db.execute(text("DROP TRIGGER ledger_entries_no_update"))
        db.execute(
            text('UPDATE ledger_entries SET entry = :entry WHERE "index" = 2'), {"entry": forged}
        )
    fresh = LedgerService(TransparencyLog(platform.database, load_office_key(tmp_path)))
    with pytest.raises(Conflict, match="entry 2 fails the office signature"):
        fresh.right("patents", "EP1000001")
