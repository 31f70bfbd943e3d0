"""IPC codes → the 35 WIPO fields of technology (the IPC-Technology concordance).

The table is WIPO's (Schmoch 2008, as WIPO updates it; source and version in the header of
the packaged ``ipc_technology.toml``). Its rules are IPC prefixes at three depths: a class
(``H10``), a subclass (``H04N``) or a subclass and main group (``H04N 23``); a code belongs to
the field of its longest matching rule, so ``A61K 8/97`` (cosmetics, field 14) is not caught
by the pharmaceutical main groups of A61K and ``H04N 21/43`` (field 4) not by field 2.

Codes arrive in many spellings (``A61K 31/00``, ``A61K31/00``, ``A61K0031000000``, lower case,
a trailing edition ``(2006.01)``); the engine's IPC parser (:mod:`ipsim.engine.classification`,
a pure function shared with the filing forms) reads them all. A code above subclass level, an
unknown subclass or garbage has no field (``None``), never an exception: imported data is
dirty and one bad code must not sink a report.

Counting (``METHOD``): fractional. An application adds exactly 1 to the total, shared among
its fields, so field counts add up to the number of applications and shares compare
countries fairly; a full count would count a two-field application twice. The share of a
field is the share of the application's distinct classified IPC symbols that fall in it
(what we understand to be the rule behind PATSTAT's ``TLS230_APPLN_TECHN_FIELD.weight``;
WIPO's own description of its counting could not be retrieved here to confirm it, and
giving 1/n to each of n fields instead is a one-line change in :meth:`Concordance.weights`):
``["H01L 21/00", "H01L 29/00", "G06F 3/00"]`` →
``{8: 2/3, 6: 1/3}``. Codes with no field are left out of the denominator, so the weights sum
to 1.0 whenever any code maps and the mapping is empty otherwise.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ipsim.engine.classification import IPC

DEFAULT_TABLE = Path(__file__).with_name("ipc_technology.toml")
SECTORS = (
    "Electrical engineering",
    "Instruments",
    "Chemistry",
    "Mechanical engineering",
    "Other fields",
)
FIELD_COUNT = 35
METHOD = "fractional"
"""How :meth:`Concordance.weights` counts (answers name it)."""
_SUBCLASS_DEPTH = 3  # section, class, subclass: the least a code needs to have a field
_RULE = re.compile(r"[A-H]\d\d(?:[A-Z](?: [1-9]\d{0,3})?)?")


@dataclass(frozen=True)
class Field:
    """One of the 35 fields of technology."""

    number: int
    name: str
    sector: str


def rule_keys(ipc: object) -> tuple[str, ...]:
    """The rule spellings a code could match, longest first (``A61K 31/495`` →
    ``("A61K 31", "A61K", "A61")``); empty when it is not an IPC code at subclass level or
    below."""
    path = IPC.parse(ipc) if isinstance(ipc, str) else None
    if path is None or len(path) < _SUBCLASS_DEPTH:
        return ()
    subclass, klass = path[2], path[1]
    if len(path) == _SUBCLASS_DEPTH:
        return subclass, klass
    main_group = path[3].split(" ")[1].split("/")[0]  # "A61K 31/00" → "31"
    return f"{subclass} {main_group}", subclass, klass


class Concordance:
    """The concordance table: fields in number order and the prefix rules into them."""

    def __init__(self, fields: Sequence[Field], rules: dict[str, int]) -> None:
        self.fields: list[Field] = list(fields)
        self._rules = dict(rules)
        self._by_number = {f.number: f for f in self.fields}

    @classmethod
    def load(cls, path: Path | None = None) -> Concordance:
        """Read a table file (default: the packaged WIPO table); ``ValueError`` names what
        is wrong with a malformed one."""
        source = path or DEFAULT_TABLE
        try:
            data = tomllib.loads(source.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"{source}: unreadable concordance: {exc}") from exc
        return cls(*_parse_table(data.get("fields"), source))

    def field(self, number: int) -> Field:
        """The field with this number; ``KeyError`` when there is none."""
        return self._by_number[number]

    @property
    def rules(self) -> dict[str, int]:
        """Every prefix rule (``"H04N 23"``, ``"H01L"``, ``"H10"``) → its field number."""
        return dict(self._rules)

    def field_of(self, ipc: str) -> int | None:
        """The field of one IPC code (any common spelling), or ``None``."""
        return next((self._rules[k] for k in rule_keys(ipc) if k in self._rules), None)

    def weights(self, ipcs: Iterable[str]) -> dict[int, float]:
        """An application's codes → field → its fractional weight (sum 1.0 when any maps).

        Each distinct classified symbol counts once; see the module docstring."""
        symbols = {IPC.normalise(code) for code in ipcs if isinstance(code, str)}
        fields = (self.field_of(symbol) for symbol in symbols if symbol is not None)
        per_field = Counter(number for number in fields if number is not None)
        total = sum(per_field.values())
        return {number: count / total for number, count in sorted(per_field.items())}


def _parse_table(raw: object, source: Path) -> tuple[list[Field], dict[str, int]]:
    if not isinstance(raw, list):
        raise ValueError(f"{source}: [[fields]] tables expected")
    fields: list[Field] = []
    rules: dict[str, int] = {}
    for i, entry in enumerate(raw):
        where = f"{source}: fields[{i}]"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: a table expected")
        number, name, sector, prefixes = (entry.get(k) for k in ("number", "name", "sector", "ipc"))
        if not isinstance(number, int) or number != i + 1:
            raise ValueError(f"{where}.number: {i + 1} expected (fields in number order)")
        if not isinstance(name, str) or not name or sector not in SECTORS:
            raise ValueError(f"{where}: a name and one of the sectors {SECTORS} expected")
        if not isinstance(prefixes, list) or not prefixes:
            raise ValueError(f"{where}.ipc: a non-empty list of prefixes expected")
        for prefix in prefixes:
            if not isinstance(prefix, str) or not _RULE.fullmatch(prefix):
                raise ValueError(f"{where}.ipc: {prefix!r} is not an IPC prefix rule")
            if prefix in rules:
                raise ValueError(f"{where}.ipc: {prefix} is already in field {rules[prefix]}")
            rules[prefix] = number
        fields.append(Field(number, name, sector))
    if len(fields) != FIELD_COUNT:
        raise ValueError(f"{source}: {FIELD_COUNT} fields expected, found {len(fields)}")
    return fields, rules


__all__ = ["DEFAULT_TABLE", "FIELD_COUNT", "METHOD", "SECTORS", "Concordance", "Field", "rule_keys"]
