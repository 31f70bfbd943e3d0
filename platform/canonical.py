"""RFC 8785 (JCS) canonical JSON: the exact bytes a party signs and the ledger stores, and
what a partner office signs in a gateway exchange package.

A signature over JSON is only checkable if signer and verifier serialize the same value to
the same bytes; JCS fixes that (keys sorted by UTF-16 code units, ECMAScript number
formatting, minimal string escapes). The work is done by the ``rfc8785`` package (Trail of
Bits, pure Python, typed); this module only turns its errors into :class:`InvalidInput` naming
the request field, and refuses what JCS cannot carry exactly (integers beyond 2^53, NaN).
"""

from __future__ import annotations

from typing import Any

import rfc8785

from ipsim.engine.errors import InvalidInput


def canonical_json(value: Any, field: str = "transaction") -> bytes:
    """The RFC 8785 bytes of ``value``; ``InvalidInput(field)`` when JCS cannot represent it."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError) as exc:
        raise InvalidInput(field, f"cannot be canonicalized (RFC 8785): {exc}") from exc


__all__ = ["canonical_json"]
