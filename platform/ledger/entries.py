"""What the log stores and what a verifier checks, with no database: the pure half of the ledger.

Every leaf is the RFC 8785 canonical JSON of one entry object, so the leaf bytes, the
office's signature and a client's recomputation agree byte for byte. An entry carries its
own ``index`` and the office's Ed25519 signature over the entry without that signature: an
edited entry then fails its signature, and a reordered or renumbered one names the wrong
index, so a verifier can say *which* entry was tampered with, not only that the root moved.
A tree head is signed over the canonical JSON of ``{"root_hash", "timestamp", "tree_size"}``.

The CLI verifier (``ipsim ledger verify``) imports this module and :mod:`merkle`, never the
store: it trusts nothing the server computed.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ipsim.engine.errors import InvalidInput
from ipsim.platform.canonical import canonical_json

OFFICE_SIGNATURE = "office_signature"
KEY_BYTES = 32
SIGNATURE_BYTES = 64


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: object, field: str, size: int | None = None) -> bytes:
    """Standard base64 (padding required); ``InvalidInput(field)`` otherwise."""
    if not isinstance(text, str):
        raise InvalidInput(field, "must be a base64 string")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput(field, "is not valid base64") from exc
    if size is not None and len(data) != size:
        raise InvalidInput(field, f"must decode to {size} bytes, not {len(data)}")
    return data


def public_key(raw: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(raw)


def raw_public_key(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def signature_valid(key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def sign_entry(key: Ed25519PrivateKey, body: Mapping[str, Any]) -> bytes:
    """The leaf bytes: ``body`` plus the office's signature over ``body``'s canonical JSON."""
    signature = key.sign(canonical_json(dict(body), "entry"))
    return canonical_json({**body, OFFICE_SIGNATURE: b64(signature)}, "entry")


def parse_entry(leaf: bytes) -> dict[str, Any]:
    """The entry object in leaf bytes; ``ValueError`` when they are not a JSON object."""
    value = json.loads(leaf.decode("utf-8"))
    if not isinstance(value, dict):
        raise ValueError("a ledger entry must be a JSON object")
    return value


def entry_problem(leaf: bytes, index: int, office: Ed25519PublicKey) -> str | None:
    """Why the leaf at ``index`` is not an intact office-signed entry, or ``None`` if it is."""
    try:
        entry = parse_entry(leaf)
        if canonical_json(entry, "entry") != leaf:
            return "is not canonical JSON (edited)"
        signature = unb64(entry.pop(OFFICE_SIGNATURE, None), OFFICE_SIGNATURE, SIGNATURE_BYTES)
    except (ValueError, InvalidInput) as exc:
        return f"is malformed ({exc})"
    if entry.get("index") != index:
        return f"claims index {entry.get('index')!r} (reordered, or an entry before it deleted)"
    if not signature_valid(office, signature, canonical_json(entry, "entry")):
        return "fails the office signature (edited)"
    return None


def tree_head_message(tree_size: int, root_hash: str, timestamp: str) -> bytes:
    """The bytes the office signs for a tree head."""
    return canonical_json(
        {"root_hash": root_hash, "timestamp": timestamp, "tree_size": tree_size}, "tree_head"
    )


__all__ = [
    "KEY_BYTES",
    "OFFICE_SIGNATURE",
    "SIGNATURE_BYTES",
    "b64",
    "entry_problem",
    "parse_entry",
    "public_key",
    "raw_public_key",
    "sign_entry",
    "signature_valid",
    "tree_head_message",
    "unb64",
]
