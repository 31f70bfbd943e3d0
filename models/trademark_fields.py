"""Validation and normalisation of a trademark document's known ``fields``.

Known fields are checked and normalised so that filters compare like with like; any
other field passes through untouched:

- ``register``: one of :data:`REGISTERS`.
- ``status``: a short free string (``registered``, ``pending``, ``expired``, ``refused``,
  or an office's own word), stripped.
- ``nice_classes``: Nice classes, ints 1–45 without repeats, sorted.
- ``vienna_codes``: Vienna classification codes of the figurative elements, sorted,
  each zero-padded to ``CC``, ``CC.DD`` or ``CC.DD.SS`` (category 01–29, then division
  and section from 01), so a ``prefix`` filter on ``"03.01"`` finds the whole division.
  Offices write ``5.3`` for ``05.03`` and ``18.01.00`` for the division ``18.01`` as a
  whole; both are read that way. Auxiliary sections are numbered like main ones (the
  classification marks them with an ``A``, which is not part of the code), so a letter
  is refused rather than guessed at.
- ``owner``: a non-empty string, stripped.
- ``number``: the application or registration number, a string or a non-negative int,
  stored as a string (filters compare types, and offices mix the two).
- ``filed``, ``registered``, ``expires``, ``priority``: ISO dates ``YYYY-MM-DD``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from functools import partial
from typing import Any

from ipsim.models.base import InvalidContent

REGISTERS = ("ru", "international", "well_known")
DATE_FIELDS = ("filed", "registered", "expires", "priority")
NICE_CLASSES = range(1, 46)
VIENNA_CATEGORIES = range(1, 30)
MAX_STATUS_CHARS = 64
MAX_NUMBER_CHARS = 64
MAX_OWNER_CHARS = 1000
MAX_VIENNA_CODES = 256

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_VIENNA = re.compile(r"([0-9]{1,2})(?:\.([0-9]{1,2}))?(?:\.([0-9]{1,2}))?")

Check = Callable[[Any, str], Any]
"""Checks one field's value (named for errors); returns it normalised."""


def check_trademark_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` with the known ones checked and normalised (a new dict).

    Raises :class:`InvalidContent` naming the field (``nice_classes[2]`` for an element).
    """
    if not isinstance(fields, Mapping):
        raise InvalidContent("fields", f"must be an object, not {type(fields).__name__}")
    out = dict(fields)
    for name, check in _CHECKS.items():
        if name in out:
            out[name] = check(out[name], name)
    return out


def _register(value: Any, name: str) -> str:
    if not isinstance(value, str) or value not in REGISTERS:
        raise InvalidContent(name, f"must be one of {', '.join(REGISTERS)}, not {value!r}")
    return value


def _string(value: Any, name: str, limit: int) -> str:
    """A non-empty string of at most ``limit`` characters, stripped."""
    if not isinstance(value, str):
        raise InvalidContent(name, f"must be a string, not {type(value).__name__}")
    text = value.strip()
    if not text:
        raise InvalidContent(name, "must not be empty")
    if len(text) > limit:
        raise InvalidContent(name, f"must be at most {limit} characters, not {len(text)}")
    return text


def _number(value: Any, name: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidContent(name, f"must be a string or an integer, not {type(value).__name__}")
    if isinstance(value, str):
        return _string(value, name, MAX_NUMBER_CHARS)
    if value < 0:
        raise InvalidContent(name, f"must not be negative, not {value}")
    return str(value)


def _list(value: Any, name: str) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise InvalidContent(name, f"must be a list, not {type(value).__name__}")
    return list(value)


def _nice_classes(value: Any, name: str) -> list[int]:
    seen: dict[int, int] = {}
    for i, item in enumerate(_list(value, name)):
        where = f"{name}[{i}]"
        if isinstance(item, bool) or not isinstance(item, int):
            raise InvalidContent(where, f"must be an integer class 1-45, not {item!r}")
        if item not in NICE_CLASSES:
            raise InvalidContent(where, f"Nice classes run from 1 to 45, not {item}")
        if item in seen:
            raise InvalidContent(where, f"class {item} repeats {name}[{seen[item]}]")
        seen[item] = i
    return sorted(seen)


def _vienna_codes(value: Any, name: str) -> list[str]:
    items = _list(value, name)
    if len(items) > MAX_VIENNA_CODES:
        raise InvalidContent(name, f"must hold at most {MAX_VIENNA_CODES} codes, not {len(items)}")
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        where = f"{name}[{i}]"
        code = vienna_code(item, where)
        if code in seen:
            raise InvalidContent(where, f"{item!r} repeats {name}[{seen[code]}] ({code})")
        seen[code] = i
    return sorted(seen)


def vienna_code(value: Any, name: str = "vienna_code") -> str:
    """A Vienna code zero-padded (``3.1.8`` → ``03.01.08``; ``18.01.00`` → ``18.01``)."""
    if not isinstance(value, str):
        raise InvalidContent(name, f"must be a string like '03.01.08', not {value!r}")
    match = _VIENNA.fullmatch(value.strip())
    if match is None:
        raise InvalidContent(
            name,
            f"must be a Vienna code: category, division, section as 'CC.DD.SS' "
            f"(e.g. '03.01.08', digits only), not {value!r}",
        )
    parts = [int(part) for part in match.groups() if part is not None]
    while len(parts) > 1 and parts[-1] == 0:  # '18.01.00': the division as a whole
        parts.pop()
    if parts[0] not in VIENNA_CATEGORIES:
        raise InvalidContent(name, f"Vienna categories run from 01 to 29, not {value!r}")
    if 0 in parts[1:]:
        raise InvalidContent(name, f"a zero division cannot hold a section: {value!r}")
    return ".".join(f"{part:02d}" for part in parts)


def _date(value: Any, name: str) -> str:
    if not isinstance(value, str) or _DATE.fullmatch(value) is None:
        raise InvalidContent(name, f"must be an ISO date YYYY-MM-DD, not {value!r}")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise InvalidContent(name, f"is not a calendar date: {value!r}") from None
    return value


_CHECKS: dict[str, Check] = {
    "register": _register,
    "status": partial(_string, limit=MAX_STATUS_CHARS),
    "nice_classes": _nice_classes,
    "vienna_codes": _vienna_codes,
    "owner": partial(_string, limit=MAX_OWNER_CHARS),
    "number": _number,
    **dict.fromkeys(DATE_FIELDS, _date),
}
