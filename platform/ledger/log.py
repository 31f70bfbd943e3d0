"""The durable append-only transparency log: entries, signed tree heads and the outbox.

Tables (revision ``0008``): ``ledger_entries`` (index → exact leaf bytes), ``ledger_tree_heads``
(one office-signed head per size the log has had) and ``ledger_outbox`` (one event per entry, in
order, for other services). Entries and heads are guarded by triggers that abort any UPDATE or
DELETE (and TRUNCATE on PostgreSQL): the application cannot rewrite history by accident, and an
attacker with database access has to drop the trigger first — which the Merkle tree, the signed
heads and ``ipsim ledger verify`` then expose.

Appends are serialized: SQLite's ``BEGIN IMMEDIATE`` (see :func:`writer`) and, on PostgreSQL, a
transaction-scoped advisory lock, so the next index and the validation that precedes it see
the same log. Proofs are computed from the stored leaves (re-hashed on every read: a server
whose rows were edited serves proofs that no longer match its own signed heads). That is O(n)
per request — fine for an office's ledger of thousands of transactions; a large log would keep
a persisted tree of interior hashes.

The office key is an Ed25519 key in ``DATA/ledger-office.key`` (PKCS#8 PEM, 0600), created on
first start, or the PEM file a deployment names.

Kafka: the outbox is the transactional-outbox pattern — an event is committed with its entry or
not at all. A relay would read ``outbox(after=last_seq)``, produce each event to a topic keyed
by the right's object (order per right preserved), and store ``last_seq`` once Kafka acks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    func,
    insert,
    select,
    text,
)

from ipsim.engine.errors import InvalidInput, NotFound
from ipsim.platform.database import iso_utc, writer
from ipsim.platform.ledger import merkle
from ipsim.platform.ledger.entries import b64, raw_public_key, sign_entry, tree_head_message

OFFICE_KEY_FILE = "ledger-office.key"
MAX_OUTBOX_PAGE = 1000
MAX_INDEX = 2**63
"""Indexes and sequence numbers are SQL BIGINTs: larger values never reach the database."""
_APPEND_LOCK = 0x1ED6E7  # the PostgreSQL advisory lock that serializes appends

metadata = MetaData()
entries_table = Table(
    "ledger_entries",
    metadata,
    Column("index", BigInteger, primary_key=True, autoincrement=False),
    Column("entry", LargeBinary, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
)
heads_table = Table(
    "ledger_tree_heads",
    metadata,
    Column("tree_size", BigInteger, primary_key=True, autoincrement=False),
    Column("root_hash", String(44), nullable=False),
    Column("timestamp", String(32), nullable=False),
    Column("signature", String(88), nullable=False),
)
outbox_table = Table(
    "ledger_outbox",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),  # INTEGER: SQLite rowid
    Column("index", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class TreeHead:
    """A signed tree head: ``signature`` is the office's over :func:`tree_head_message`."""

    tree_size: int
    root_hash: str
    timestamp: str
    signature: str


@dataclass(frozen=True)
class OutboxEvent:
    seq: int
    index: int
    kind: str
    payload: dict[str, Any]
    created: str


def load_office_key(data: Path, configured: Path | None = None) -> Ed25519PrivateKey:
    """The office key from ``configured`` or ``DATA/ledger-office.key`` (made on first use)."""
    path = configured or data / OFFICE_KEY_FILE
    if not path.exists() and configured is None:
        data.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            pass
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"ledger office key {path}: not an Ed25519 private key")
    return key


class TransparencyLog:
    """The RFC 6962 log over ``ledger_entries``, signing heads with the office key."""

    def __init__(self, engine: Engine, office_key: Ed25519PrivateKey) -> None:
        self._engine = engine
        self._writer = writer(engine)
        self._key = office_key

    @property
    def office_public_key(self) -> str:
        return b64(raw_public_key(self._key))

    @property
    def office_verifier(self) -> Ed25519PublicKey:
        """The office's public key, to check the entries' signatures before acting on them."""
        return self._key.public_key()

    def transaction(self) -> _Serialized:
        """A serialized write transaction: ``with log.transaction() as db: … log.append(db, …)``."""
        return _Serialized(self._writer)

    def append(
        self,
        db: Connection,
        body: Callable[[int], Mapping[str, Any]],
        kind: str,
        event: Mapping[str, Any],
    ) -> tuple[int, bytes]:
        """Append the entry ``body(index)`` (signed by the office), its outbox event and a new
        signed tree head, inside ``db``'s transaction; the index and the leaf bytes."""
        index = _size(db)
        leaf = sign_entry(self._key, body(index))
        now = datetime.now(UTC)
        db.execute(insert(entries_table).values(index=index, entry=leaf, created=now))
        db.execute(
            insert(outbox_table).values(index=index, kind=kind, payload=dict(event), created=now)
        )
        hashes = [*_leaf_hashes(db, index), merkle.leaf_hash(leaf)]
        head = self._sign_head(index + 1, merkle.root(hashes), iso_utc(now))
        db.execute(insert(heads_table).values(**head.__dict__))
        return index, leaf

    def leaves(self, db: Connection, after: int = 0) -> list[tuple[int, bytes]]:
        """``(index, leaf)`` of the entries from index ``after`` on, in order (for a replay)."""
        rows = db.execute(
            select(entries_table.c.index, entries_table.c.entry)
            .where(entries_table.c.index >= after)
            .order_by(entries_table.c.index)
        )
        return [(int(index), _bytes(leaf)) for index, leaf in rows]

    def reader(self) -> Connection:
        """A plain connection for reads (no write lock): ``with log.reader() as db: …``."""
        return self._engine.connect()

    def entry(self, index: int) -> bytes:
        if not 0 <= index < MAX_INDEX:
            raise NotFound(f"ledger entry {index} does not exist")
        with self._engine.connect() as db:
            leaf = db.execute(
                select(entries_table.c.entry).where(entries_table.c.index == index)
            ).scalar_one_or_none()
        if leaf is None:
            raise NotFound(f"ledger entry {index} does not exist")
        return _bytes(leaf)

    def tree_head(self) -> TreeHead:
        """The newest signed head (the empty tree's, signed now, before the first entry)."""
        with self._engine.connect() as db:
            row = db.execute(
                select(heads_table).order_by(heads_table.c.tree_size.desc()).limit(1)
            ).one_or_none()
        if row is None:
            return self._sign_head(0, merkle.root([]), iso_utc(datetime.now(UTC)))
        return TreeHead(row.tree_size, row.root_hash, row.timestamp, row.signature)

    def inclusion_proof(self, index: int, tree_size: int) -> list[str]:
        hashes = self._prefix(tree_size, "tree_size")
        if not 0 <= index < tree_size:
            raise InvalidInput("index", f"must be from 0 to tree_size - 1 ({tree_size - 1})")
        return [b64(h) for h in merkle.inclusion_proof(hashes, index)]

    def consistency_proof(self, first: int, second: int) -> list[str]:
        hashes = self._prefix(second, "second")
        if not 1 <= first <= second:
            raise InvalidInput("first", f"must be from 1 to second ({second})")
        return [b64(h) for h in merkle.consistency_proof(hashes, first)]

    def outbox(self, after: int = 0, limit: int = 100) -> list[OutboxEvent]:
        """Events with ``seq > after``, oldest first: a consumer passes its last ``seq``."""
        if not 0 <= after < MAX_INDEX:
            raise InvalidInput("after", "must be from 0 to 2^63 - 1")
        if not 1 <= limit <= MAX_OUTBOX_PAGE:
            raise InvalidInput("limit", f"must be from 1 to {MAX_OUTBOX_PAGE}")
        with self._engine.connect() as db:
            rows = db.execute(
                select(outbox_table)
                .where(outbox_table.c.seq > after)
                .order_by(outbox_table.c.seq)
                .limit(limit)
            ).mappings()
            return [
                OutboxEvent(
                    row["seq"], row["index"], row["kind"], row["payload"], iso_utc(row["created"])
                )
                for row in rows
            ]

    def _prefix(self, tree_size: int, field: str) -> list[bytes]:
        with self._engine.connect() as db:
            size = _size(db)
            if not 1 <= tree_size <= size:
                raise InvalidInput(field, f"must be from 1 to the tree size ({size})")
            return _leaf_hashes(db, tree_size)

    def _sign_head(self, tree_size: int, root_hash: bytes, timestamp: str) -> TreeHead:
        encoded = b64(root_hash)
        signature = self._key.sign(tree_head_message(tree_size, encoded, timestamp))
        return TreeHead(tree_size, encoded, timestamp, b64(signature))


class _Serialized:
    """A write transaction that holds the append lock (PostgreSQL) or the write lock (SQLite)."""

    def __init__(self, engine: Engine) -> None:
        self._context = engine.begin()

    def __enter__(self) -> Connection:
        db = self._context.__enter__()
        if db.dialect.name == "postgresql":
            db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK})
        return db

    def __exit__(self, *exc: Any) -> None:
        self._context.__exit__(*exc)


def _size(db: Connection) -> int:
    """One past the highest index (not a row count: a deleted row must not reuse an index)."""
    last = db.execute(select(func.coalesce(func.max(entries_table.c.index), -1))).scalar_one()
    return int(last) + 1


def _leaf_hashes(db: Connection, limit: int) -> list[bytes]:
    rows = db.execute(
        select(entries_table.c.entry).order_by(entries_table.c.index).limit(limit)
    ).scalars()
    return [merkle.leaf_hash(_bytes(leaf)) for leaf in rows]


def _bytes(stored: bytes | str) -> bytes:
    """A stored leaf as bytes: SQLite hands back TEXT where someone wrote text into the column
    (an edit by hand must be served, and caught by the verifier, not crash the server)."""
    return stored.encode("utf-8") if isinstance(stored, str) else bytes(stored)


__all__ = [
    "MAX_OUTBOX_PAGE",
    "OFFICE_KEY_FILE",
    "OutboxEvent",
    "TransparencyLog",
    "TreeHead",
    "entries_table",
    "heads_table",
    "load_office_key",
    "metadata",
    "outbox_table",
]
