"""API keys with scopes, shared by the HTTP and gRPC front doors.

The keys file holds one ``KEY SCOPE...`` line per key (``#`` starts a comment); scopes
are ``read``, ``write`` and ``admin``, and each implies the ones before it.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from pathlib import Path

SCOPES: tuple[str, ...] = ("read", "write", "admin")


class AuthError(Exception):
    """A missing or unknown key (``unauthenticated``), or one lacking the scope
    (``permission_denied``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ApiKeys:
    """The loaded keys file: key → granted scopes (with the implied ones)."""

    keys: dict[str, frozenset[str]]

    @classmethod
    def load(cls, path: Path) -> ApiKeys:
        """Parse the keys file; raise ``ValueError`` naming the line for a bad one."""
        keys: dict[str, frozenset[str]] = {}
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            key, scopes = words[0], words[1:]
            if not scopes:
                raise ValueError(f"{path}:{number}: key has no scope (expected `KEY SCOPE...`)")
            unknown = [s for s in scopes if s not in SCOPES]
            if unknown:
                raise ValueError(f"{path}:{number}: unknown scope {unknown[0]!r}; use {SCOPES}")
            top = max(SCOPES.index(s) for s in scopes)
            keys[key] = frozenset(SCOPES[: top + 1])
        if not keys:
            raise ValueError(f"{path}: no keys")
        return cls(keys)

    def authorize(self, authorization: str | None, scope: str) -> None:
        """Check an ``Authorization`` value (``Bearer KEY``) grants ``scope``."""
        if not authorization:
            raise AuthError("unauthenticated", "missing Authorization: Bearer <key>")
        kind, _, token = authorization.partition(" ")
        if kind.lower() != "bearer" or not token.strip():
            raise AuthError("unauthenticated", "Authorization must be `Bearer <key>`")
        granted = self._lookup(token.strip())
        if granted is None:
            raise AuthError("unauthenticated", "unknown API key")
        if scope not in granted:
            raise AuthError("permission_denied", f"this key lacks the {scope!r} scope")

    def _lookup(self, token: str) -> frozenset[str] | None:
        # Compare in constant time so response timing does not leak key prefixes.
        found = None
        for key, scopes in self.keys.items():
            if hmac.compare_digest(key.encode(), token.encode()):
                found = scopes
        return found
