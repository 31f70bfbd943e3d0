"""Signed exchange packages between offices, and the registry of partner offices' keys.

A package is one JSON document::

    {"header": {"id": "<unique>", "sender": "EM", "created": "<ISO time>",
                "collection": "<suggested target or null>",
                "manifest": [{"id": "<record id>", "sha256": "<hex>"}, …]},
     "records": [<record as formats.record_to_dict>, …],
     "signature": "<base64 Ed25519 signature of the canonical header>"}

*Canonical JSON* is RFC 8785 (:mod:`ipsim.platform.canonical`, the same bytes the ledger
signs). The signature covers the header only; the header's manifest holds the
SHA-256 of every record's canonical JSON, so the records are covered through it: a record
changed, added or removed after signing breaks the manifest, not the signature.

:func:`verify_package` checks, in order, the shape, that the sender is a registered
partner, the signature against that partner's key, then the manifest; only then are the
records read. The replay check (the package id already imported) is the store's
(:meth:`PartnerRegistry.claim`: a unique key, so two concurrent imports of one package
cannot both win). Every refusal is :class:`PackageRejected` with the reason, and nothing is
imported.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError

from ipsim.engine.errors import Conflict, InvalidInput
from ipsim.platform.canonical import canonical_json
from ipsim.platform.database import writer
from ipsim.platform.gateway.formats import record_from_dict, record_to_dict
from ipsim.platform.gateway.records import Record, check_office

MAX_PACKAGE_BYTES = 64 * 1024 * 1024
MAX_RECORDS = 10_000
_PACKAGE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

metadata = MetaData()
partners_table = Table(
    "gateway_partners",
    metadata,
    Column("office", String(2), primary_key=True),
    Column("public_key", String(64), nullable=False),
    Column("name", String(200)),
    Column("registered", DateTime(timezone=True), nullable=False),
)
packages_table = Table(
    "gateway_packages",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("sender", String(2), nullable=False),
    Column("collection", String(63), nullable=False),
    Column("records", Integer, nullable=False),
    Column("received", DateTime(timezone=True), nullable=False),
)


class PackageRejected(InvalidInput):
    """A package refused: bad signature, unknown sender, hash mismatch, malformed."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(field, detail)


def canonical(value: Any) -> bytes:
    """The RFC 8785 bytes of ``value`` (a package's header or one record)."""
    return canonical_json(value, "package")


def record_hash(record: Record) -> str:
    return hashlib.sha256(canonical(record_to_dict(record))).hexdigest()


# --- keys --------------------------------------------------------------------------------


def load_private_key(data: bytes) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM (PKCS#8), 32 raw bytes, or their base64."""
    if b"-----BEGIN" in data:
        key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise InvalidInput("key", "is not an Ed25519 private key")
        return key
    return Ed25519PrivateKey.from_private_bytes(_raw32(data, "key"))


def _raw32(data: bytes, field: str) -> bytes:
    if len(data) == 32:
        return data
    try:
        raw = base64.b64decode(data.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise InvalidInput(field, "must be 32 raw bytes of an Ed25519 key, base64-encoded")
    return raw


def public_key_b64(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def parse_public_key(text: str, field: str = "public_key") -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(_raw32(text.encode(), field))


# --- packing and verifying ----------------------------------------------------------------


def pack(
    records: Sequence[Record],
    sender: str,
    key: Ed25519PrivateKey,
    *,
    package_id: str | None = None,
    collection: str | None = None,
) -> bytes:
    """A signed package of ``records`` from office ``sender``."""
    header = {
        "id": package_id or uuid.uuid4().hex,
        "sender": check_office(sender, "sender"),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "collection": collection,
        "manifest": [{"id": r.id, "sha256": record_hash(r)} for r in records],
    }
    signature = base64.b64encode(key.sign(canonical(header))).decode()
    body = {"header": header, "records": [record_to_dict(r) for r in records]}
    return canonical(body | {"signature": signature})


@dataclass(frozen=True)
class Package:
    """A verified package: who sent it, its id and its records."""

    id: str
    sender: str
    collection: str | None
    records: list[Record]


def _shape(data: bytes) -> tuple[dict[str, Any], list[Any], bytes]:
    if len(data) > MAX_PACKAGE_BYTES:
        raise PackageRejected("package", f"is larger than {MAX_PACKAGE_BYTES} bytes")
    try:
        body = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PackageRejected("package", f"is not JSON: {exc}") from None
    if not isinstance(body, dict) or set(body) != {"header", "records", "signature"}:
        raise PackageRejected("package", "must be an object of header, records and signature")
    header, records, signature = body["header"], body["records"], body["signature"]
    if not isinstance(header, dict) or not isinstance(header.get("manifest"), list):
        raise PackageRejected("package.header", "must be an object with a manifest list")
    if not isinstance(records, list) or len(records) > MAX_RECORDS:
        raise PackageRejected("package.records", f"must be a list of at most {MAX_RECORDS}")
    if not isinstance(header.get("id"), str) or not _PACKAGE_ID.match(header["id"]):
        raise PackageRejected("package.header.id", "must be 1-64 letters, digits or ._:-")
    try:
        raw_signature = base64.b64decode(str(signature), validate=True)
    except (binascii.Error, ValueError):
        raise PackageRejected("package.signature", "is not base64") from None
    return header, records, raw_signature


def verify_package(data: bytes, keys: Mapping[str, Ed25519PublicKey]) -> Package:
    """The package in ``data`` once its sender, signature and manifest check out."""
    header, raw_records, signature = _shape(data)
    sender = str(header.get("sender"))
    key = keys.get(sender)
    if key is None:
        raise PackageRejected("package.header.sender", f"{sender!r} is not a registered partner")
    try:
        key.verify(signature, canonical(header))
    except InvalidSignature:
        raise PackageRejected(
            "package.signature", f"does not verify with {sender}'s registered key"
        ) from None
    manifest = header["manifest"]
    if len(manifest) != len(raw_records):
        raise PackageRejected(
            "package.records",
            f"holds {len(raw_records)} records but the signed manifest lists {len(manifest)}",
        )
    records = []
    for index, (entry, raw) in enumerate(zip(manifest, raw_records, strict=True)):
        record = record_from_dict(raw, f"package.records[{index}]")
        if not isinstance(entry, dict) or entry.get("sha256") != record_hash(record):
            raise PackageRejected(
                f"package.records[{index}]", "does not match its SHA-256 in the signed manifest"
            )
        records.append(record)
    collection = header.get("collection")
    return Package(header["id"], sender, collection if isinstance(collection, str) else None,
                   records)  # fmt: skip


# --- the registry ------------------------------------------------------------------------


@dataclass(frozen=True)
class Partner:
    office: str
    public_key: str
    name: str | None
    registered: datetime


class PartnerRegistry:
    """Partner offices' keys and the ids of packages already imported (SQL)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def register(self, office: str, public_key: str, name: str | None = None) -> Partner:
        """Add or replace ``office``'s key (key rotation replaces)."""
        office = check_office(office, "office")
        parsed = parse_public_key(public_key)
        partner = Partner(office, public_key_b64(parsed), name, datetime.now(UTC))
        with writer(self._engine).begin() as connection:
            connection.execute(delete(partners_table).where(partners_table.c.office == office))
            connection.execute(
                insert(partners_table).values(
                    office=office,
                    public_key=partner.public_key,
                    name=name,
                    registered=partner.registered,
                )
            )
        return partner

    def partners(self) -> list[Partner]:
        with self._engine.connect() as connection:
            rows = connection.execute(select(partners_table).order_by(partners_table.c.office))
            return [Partner(r.office, r.public_key, r.name, r.registered) for r in rows]

    def keys(self) -> dict[str, Ed25519PublicKey]:
        return {p.office: parse_public_key(p.public_key) for p in self.partners()}

    def claim(self, package: Package, collection: str) -> None:
        """Record ``package`` as imported; ``Conflict`` if its id was imported before."""
        try:
            with writer(self._engine).begin() as connection:
                connection.execute(
                    insert(packages_table).values(
                        id=package.id,
                        sender=package.sender,
                        collection=collection,
                        records=len(package.records),
                        received=datetime.now(UTC),
                    )
                )
        except IntegrityError:
            raise Conflict(f"package {package.id!r} was already imported (replay)") from None

    def release(self, package_id: str) -> None:
        """Forget a claim whose import then failed, so the package may be sent again."""
        with writer(self._engine).begin() as connection:
            connection.execute(delete(packages_table).where(packages_table.c.id == package_id))


__all__ = [
    "Package",
    "PackageRejected",
    "Partner",
    "PartnerRegistry",
    "canonical",
    "load_private_key",
    "pack",
    "parse_public_key",
    "public_key_b64",
    "record_hash",
    "verify_package",
]
