"""API keys with scopes, shared by the HTTP and gRPC front doors.

The keys file holds one ``KEY SCOPE... [name=IDENT]`` line per key (``#`` starts a
comment); scopes are ``read``, ``write`` and ``admin``, and each implies the ones before it.
``IDENT`` is who the key speaks for (the owner of what it saves, the author of its comments);
without it a key's identity is ``key-`` and the first 8 hex digits of its SHA-256, so the
key itself never shows. Several keys may share one name (a person's old and new key).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from pathlib import Path

SCOPES: tuple[str, ...] = ("read", "write", "admin")
IDENTITY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
RESERVED_IDENTITIES = frozenset({"me", "anonymous"})
"""``me`` means "the caller" in queries; ``anonymous`` is everyone when auth is off."""


class AuthError(Exception):
    """A missing or unknown key (``unauthenticated``), or one lacking the scope
    (``permission_denied``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Caller:
    """Who sent a request: the key's identity and its scopes (with the implied ones)."""

    identity: str
    scopes: frozenset[str]


ANONYMOUS = Caller("anonymous", frozenset(SCOPES))
"""Every caller when auth is off."""


def key_identity(key: str) -> str:
    """The identity of a key without a ``name=``: ``key-`` + 8 hex digits of its SHA-256."""
    return "key-" + hashlib.sha256(key.encode()).hexdigest()[:8]


@dataclass(frozen=True)
class ApiKeys:
    """The loaded keys file: key → granted scopes (with the implied ones), key → name."""

    keys: dict[str, frozenset[str]]
    names: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> ApiKeys:
        """Parse the keys file; raise ``ValueError`` naming the line for a bad one."""
        keys: dict[str, frozenset[str]] = {}
        names: dict[str, str] = {}
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            key = words[0]
            scopes = [w for w in words[1:] if not w.startswith("name=")]
            for word in words[1:]:
                if word.startswith("name="):
                    names[key] = _check_name(word.removeprefix("name="), f"{path}:{number}")
            if not scopes:
                raise ValueError(f"{path}:{number}: key has no scope (expected `KEY SCOPE...`)")
            unknown = [s for s in scopes if s not in SCOPES]
            if unknown:
                raise ValueError(f"{path}:{number}: unknown scope {unknown[0]!r}; use {SCOPES}")
            top = max(SCOPES.index(s) for s in scopes)
            keys[key] = frozenset(SCOPES[: top + 1])
        if not keys:
            raise ValueError(f"{path}: no keys")
        return cls(keys, names)

    def authorize(self, authorization: str | None, scope: str) -> None:
        """Check an ``Authorization`` value (``Bearer KEY``) grants ``scope``."""
        if scope not in self.caller(authorization).scopes:
            raise AuthError("permission_denied", f"this key lacks the {scope!r} scope")

    def caller(self, authorization: str | None) -> Caller:
        """Who an ``Authorization`` value (``Bearer KEY``) speaks for; ``AuthError`` if no one."""
        if not authorization:
            raise AuthError("unauthenticated", "missing Authorization: Bearer <key>")
        kind, _, token = authorization.partition(" ")
        if kind.lower() != "bearer" or not token.strip():
            raise AuthError("unauthenticated", "Authorization must be `Bearer <key>`")
        key = self._lookup(token.strip())
        if key is None:
            raise AuthError("unauthenticated", "unknown API key")
        return Caller(self.names.get(key) or key_identity(key), self.keys[key])

    def _lookup(self, token: str) -> str | None:
        # Compare in constant time so response timing does not leak key prefixes.
        found = None
        for key in self.keys:
            if hmac.compare_digest(key.encode(), token.encode()):
                found = key
        return found


def _check_name(name: str, where: str) -> str:
    if not IDENTITY.fullmatch(name) or name in RESERVED_IDENTITIES:
        raise ValueError(
            f"{where}: name={name!r} must be 1-64 letters, digits, '.', '_', '@' or '-'"
            " (starting with a letter or digit), and not 'anonymous' or 'me'"
        )
    return name
