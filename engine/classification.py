"""Hierarchical classification codes: parse any common spelling, name each level, find children.

Three schemes, chosen by the field's name (:func:`system_for_field`):

* **IPC** (``ipc``; ``cpc`` follows the same rules and adds section ``Y``): section ``A`` →
  class ``A61`` → subclass ``A61K`` → main group ``A61K 31/00`` → subgroup ``A61K 31/495``.
  Accepted spellings: ``A61K31/495``, ``A61K 31/495``, WIPO's 14-character
  ``A61K0031495000`` (4-digit main group, 6-digit subgroup padded with zeros on the right),
  lower case, and a trailing version such as ``(2006.01)``. The canonical form is the
  printed one, ``A61K 31/495``; a subgroup ``/00`` *is* its main group.
  The subgroups of a main group are all its children here: their own hierarchy (the dots of
  the printed scheme: ``31/495`` may sit under ``31/495`` or ``31/41``…) is not written in
  the code and cannot be derived from it, only looked up in the scheme.
* **Vienna** (``vienna``, figurative elements of marks): category ``01`` → division
  ``01.01`` → section ``01.01.01``, two digits each. Offices also write ``1.1.1`` or
  ``5.3`` (Israel's feed), which mean the same. The printed scheme marks *auxiliary*
  sections with a letter ``A`` before the number (``A 24.15.17``); the number alone still
  names the section, so the marker is dropped and both spellings count together. A section
  ``00`` (``18.01.00``, some offices' "this division, no particular section") is read as
  the division, a division ``00`` as the category. Sections numbered 25 ("other …") are
  ordinary sections.
* **Locarno** (``locarno``, industrial designs): class ``01`` → subclass ``01-01``
  (``1-1`` and ``01.01`` accepted). Classes run 01–32, plus 99 (miscellaneous).

A parsed code is its *path*: the canonical code of each level from the root down, so
"the child of prefix P" is simply ``path[len(P.path)]`` when the path passes through P.
Parsing is memoised: a collection holds few distinct codes and facets parse them often.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

Path = tuple[str, ...]
"""Canonical codes of a code's levels, root first: ``("A", "A61", "A61K", "A61K 31/00")``."""

_PARSE_CACHE = 1 << 18

_IPC_WRITTEN = re.compile(
    r"(?P<section>[A-Z])"
    r"(?:(?P<cls>\d{2})"
    r"(?:(?P<subclass>[A-Z])"
    r"(?:\s*(?P<main>\d{1,4})(?:\s*/\s*(?P<group>\d{2,6}))?)?)?)?"
)
_IPC_PACKED = re.compile(r"[A-Z]\d{2}[A-Z]\d{10}")
_IPC_VERSION = re.compile(r"\s*\(\d{4}\.\d{2}\)$")
_VIENNA = re.compile(r"(?:A\s*)?(\d{1,2})(?:\.(\d{1,2})(?:\.(\d{1,2}))?)?")
_LOCARNO = re.compile(r"(\d{1,2})(?:\s*[-.]\s*(\d{1,2}))?")

VIENNA_CATEGORIES = 29
LOCARNO_CLASSES = frozenset([*range(1, 33), 99])


@dataclass(frozen=True)
class CodeSystem:
    """A classification scheme: its level names and a parser of its codes."""

    name: str
    title: str
    """How people write the scheme's name (``IPC``, ``Vienna``)."""
    levels: tuple[str, ...]
    """Level names, root first; a code of ``len(path)`` levels is at ``levels[len - 1]``."""
    parse: Callable[[str], Path | None]
    """The code's path of canonical ancestors (itself last), or None if it is not one."""

    def normalise(self, code: str) -> str | None:
        """The canonical spelling of ``code`` (``A61K0031495000`` → ``A61K 31/495``)."""
        path = self.parse(code)
        return None if path is None else path[-1]

    def level(self, path: Path) -> str:
        """The level name of a parsed code (``subclass`` for ``A61K``)."""
        return self.levels[len(path) - 1]

    def child(self, code: Path, parent: Path) -> str | None:
        """The child of ``parent`` that ``code`` lies under (or is), or None if it is not below.

        ``parent`` may be ``()``, the root, whose children are the top level.
        """
        depth = len(parent)
        if len(code) <= depth or (depth and code[depth - 1] != parent[-1]):
            return None
        return code[depth]


def _upper(code: str) -> str:
    return " ".join(code.upper().split())


def _ipc_parts(text: str) -> tuple[str, str | None, str | None, str | None, str | None] | None:
    """(section, class digits, subclass letter, main group, subgroup) of either spelling."""
    packed = _IPC_PACKED.fullmatch(text)
    if packed is not None:
        return text[0], text[1:3], text[3], text[4:8], text[8:]
    written = _IPC_WRITTEN.fullmatch(text)
    if written is None:
        return None
    return (
        written["section"],
        written["cls"],
        written["subclass"],
        written["main"],
        written["group"],
    )


def _ipc_path(code: str, sections: str) -> Path | None:
    parts = _ipc_parts(_IPC_VERSION.sub("", _upper(code)))
    if parts is None or parts[0] not in sections:
        return None
    section, cls, letter, main, group = parts
    path = [section]
    if cls is not None:
        path.append(section + cls)
    if letter is not None:
        path.append(path[-1] + letter)
    if main is None:
        return tuple(path)
    number = int(main)
    if number == 0:
        return None
    subclass = path[-1]
    path.append(f"{subclass} {number}/00")
    # Subgroup digits are decimals: 31/4950 is 31/495, the packed 020000 is /02.
    digits = (group or "00").rstrip("0").ljust(2, "0")
    if digits != "00":
        path.append(f"{subclass} {number}/{digits}")
    return tuple(path)


@lru_cache(maxsize=_PARSE_CACHE)
def _parse_ipc(code: str) -> Path | None:
    return _ipc_path(code, "ABCDEFGH")


@lru_cache(maxsize=_PARSE_CACHE)
def _parse_cpc(code: str) -> Path | None:
    return _ipc_path(code, "ABCDEFGHY")


@lru_cache(maxsize=_PARSE_CACHE)
def _parse_vienna(code: str) -> Path | None:
    match = _VIENNA.fullmatch(_upper(code))
    if match is None:
        return None
    numbers = [int(n) for n in match.groups() if n is not None]
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers.pop()  # NN.NN.00 is the division itself, NN.00 the category
    if not 1 <= numbers[0] <= VIENNA_CATEGORIES or 0 in numbers:
        return None
    return tuple(".".join(f"{n:02d}" for n in numbers[:i]) for i in range(1, len(numbers) + 1))


@lru_cache(maxsize=_PARSE_CACHE)
def _parse_locarno(code: str) -> Path | None:
    match = _LOCARNO.fullmatch(_upper(code))
    if match is None or int(match[1]) not in LOCARNO_CLASSES:
        return None
    top = f"{int(match[1]):02d}"
    return (top,) if match[2] is None else (top, f"{top}-{int(match[2]):02d}")


_IPC_LEVELS = ("section", "class", "subclass", "main_group", "subgroup")

IPC = CodeSystem("ipc", "IPC", _IPC_LEVELS, _parse_ipc)
CPC = CodeSystem("cpc", "CPC", _IPC_LEVELS, _parse_cpc)
VIENNA = CodeSystem("vienna", "Vienna", ("category", "division", "section"), _parse_vienna)
LOCARNO = CodeSystem("locarno", "Locarno", ("class", "subclass"), _parse_locarno)

SYSTEMS: dict[str, CodeSystem] = {s.name: s for s in (IPC, CPC, VIENNA, LOCARNO)}
"""Every scheme by the field name that selects it."""


def system_for_field(field: str) -> CodeSystem | None:
    """The scheme a field's values follow (by its name, any case), or None for a flat field."""
    return SYSTEMS.get(field.lower())


__all__ = [
    "CPC",
    "IPC",
    "LOCARNO",
    "SYSTEMS",
    "VIENNA",
    "CodeSystem",
    "Path",
    "system_for_field",
]
