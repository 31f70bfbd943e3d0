"""Molecular formulas: Hill notation, and formula queries with count ranges.

A query lists element symbols, each followed by a count ``n``, a range ``n-m``, an open
range ``n-`` (at least n), ``*`` (any count, zero included) or nothing (exactly 1), in any
order and with whitespace ignored: ``C8H10N4O2``, ``H10C8O2N4``, ``C6-8H*O2``, ``C10-N1-``.

Formulas here are charge-free compositions: a molecule's ``formula`` field is the Hill
formula of its element counts (RDKit's ``CalcMolFormula`` without the ``+``/``-`` suffix it
adds for a net charge), so the same atoms give the same formula whatever the charges; the
net charge is a field of its own (``formal_charge``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from ipsim.models.base import InvalidContent

MAX_FORMULA_CHARS = 256
"""Longer queries are refused: 118 elements with ranges fit with room to spare."""
MAX_COUNT = 999_999

_ELEMENT_PREFIX = "element_"
_TERM = re.compile(
    r"(?P<symbol>[A-Z][a-z]?)(?:(?P<any>\*)|(?P<low>\d+)(?P<dash>-(?P<high>\d+)?)?)?"
)

Bounds = tuple[int, int | None]
"""``(min, max)`` atoms of one element; ``max`` None means no upper bound."""


def element_field(symbol: str) -> str:
    """The name of the field that holds a molecule's count of ``symbol`` atoms."""
    return f"{_ELEMENT_PREFIX}{symbol}"


def hill_formula(counts: Mapping[str, int]) -> str:
    """Hill order: C then H when there is carbon, then the rest alphabetically; 1 unwritten."""
    present = {symbol: n for symbol, n in counts.items() if n}
    if any(n < 0 for n in present.values()):
        raise ValueError(f"element counts must not be negative: {dict(counts)}")
    first = ["C", "H"] if "C" in present else []
    order = first + sorted(symbol for symbol in present if symbol not in first)
    return "".join(
        symbol + (str(present[symbol]) if present[symbol] > 1 else "")
        for symbol in order
        if symbol in present
    )


@dataclass(frozen=True)
class FormulaQuery:
    """A parsed formula query: per element, the allowed count range.

    ``exact`` is the Hill formula when every listed element has one exact count: with
    ``allow_other_elements`` false, matching it is the same as ``formula == exact``.
    """

    counts: dict[str, Bounds]
    exact: str | None

    def matches(self, elements: Mapping[str, int], *, allow_other_elements: bool = False) -> bool:
        """Whether a molecule's element counts (absent = 0) fit every range of the query.

        Unless ``allow_other_elements``, an element the query does not list must be absent.
        """
        for symbol, (low, high) in self.counts.items():
            n = elements.get(symbol, 0)
            if n < low or (high is not None and n > high):
                return False
        return allow_other_elements or all(
            symbol in self.counts for symbol, n in elements.items() if n
        )

    def range_filter(self) -> dict[str, dict[str, int]]:
        """Field-index clauses that narrow candidates before :meth:`matches`.

        ``{"element_C": {"gte": 6, "lte": 8}, ...}`` for each element that must be present
        (min ≥ 1). An element allowed to be absent gets no clause, because a molecule
        without it has no ``element_X`` field at all; :meth:`matches` checks the rest.
        """
        return {
            element_field(symbol): {"gte": low} | ({} if high is None else {"lte": high})
            for symbol, (low, high) in self.counts.items()
            if low >= 1
        }


def parse_formula_query(text: str) -> FormulaQuery:
    """Parse a formula query; :class:`InvalidContent` on field ``formula`` says what and where.

    Positions in messages count characters of ``text`` from 1.
    """
    if not isinstance(text, str):
        raise InvalidContent("formula", f"must be a string, not {type(text).__name__}")
    if len(text) > MAX_FORMULA_CHARS:
        raise InvalidContent(
            "formula", f"is longer than {MAX_FORMULA_CHARS} characters ({len(text)})"
        )
    where = [i for i, char in enumerate(text) if not char.isspace()]
    compact = "".join(text[i] for i in where)
    if not compact:
        raise InvalidContent("formula", "must not be empty (for example C8H10N4O2 or C6-8H*O2)")
    counts: dict[str, Bounds] = {}
    pos = 0
    while pos < len(compact):
        term = _TERM.match(compact, pos)
        at = where[pos] + 1
        if term is None:
            raise InvalidContent(
                "formula", f"expected an element symbol at position {at}, got {compact[pos]!r}"
            )
        symbol = term["symbol"]
        if symbol not in _element_symbols():
            raise InvalidContent("formula", f"unknown element {symbol!r} at position {at}")
        if symbol in counts:
            raise InvalidContent("formula", f"element {symbol} is repeated at position {at}")
        counts[symbol] = _bounds(term, symbol, at)
        pos = term.end()
    exact = None
    if all(low == high for low, high in counts.values()):
        exact = hill_formula({symbol: low for symbol, (low, _) in counts.items()})
    return FormulaQuery(counts=counts, exact=exact)


def _bounds(term: re.Match[str], symbol: str, at: int) -> Bounds:
    if term["any"]:
        return 0, None
    if term["low"] is None:
        return 1, 1
    low = _count(term["low"], symbol, at)
    if not term["dash"]:
        return low, low
    if term["high"] is None:
        return low, None
    high = _count(term["high"], symbol, at)
    if low > high:
        raise InvalidContent(
            "formula", f"range {low}-{high} of {symbol} at position {at} has min > max"
        )
    return low, high


def _count(digits: str, symbol: str, at: int) -> int:
    value = int(digits)
    if value > MAX_COUNT:
        raise InvalidContent(
            "formula", f"count {digits} of {symbol} at position {at} is above {MAX_COUNT}"
        )
    return value


@cache
def _element_symbols() -> frozenset[str]:
    """Symbols of elements 1..118 from RDKit's periodic table (loaded on first use)."""
    from rdkit import Chem

    table = Chem.GetPeriodicTable()
    return frozenset(table.GetElementSymbol(number) for number in range(1, 119))


__all__ = [
    "MAX_COUNT",
    "MAX_FORMULA_CHARS",
    "Bounds",
    "FormulaQuery",
    "element_field",
    "hill_formula",
    "parse_formula_query",
]
