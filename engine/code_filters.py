"""The ``under`` filter operator: documents classified under a code, whatever its spelling.

``{"ipc": {"under": "A61K 31/00"}}`` keeps documents with an IPC code in main group
A61K 31 — stored as ``A61K 31/495``, ``A61K31/495`` or WIPO's ``A61K0031495000`` alike —
where ``{"ipc": {"prefix": "A61K 31/"}}`` compares raw strings and misses the other
spellings. It works on the fields that follow a classification scheme (``ipc``, ``cpc``,
``vienna``, ``locarno``: :mod:`ipsim.engine.classification`), the same codes the facets
count, so a portal can drill down with facets and filter with what they return.

The clause is resolved against the collection's distinct stored values when the filter is
parsed: every value whose parsed code lies under the given one joins an ``in`` clause of
the field index (the scheme's parse cache makes that a dictionary lookup per value).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ipsim.engine.classification import CodeSystem, Path, system_for_field
from ipsim.engine.errors import InvalidInput
from ipsim.indexers.filters import AnyOf, ValueKey

UNDER = "under"


@dataclass(frozen=True)
class Under:
    """One ``under`` condition: its field, the field's scheme and the code's path."""

    field: str
    system: CodeSystem
    path: Path


def split_under(raw: Any) -> tuple[Any, list[Under]]:
    """The filter without its ``under`` conditions, and those conditions, checked.

    Anything that is not a filter object is passed on untouched, for the filter parser to
    refuse with its own message.
    """
    if not isinstance(raw, dict):
        return raw, []
    rest, unders = {}, []
    for name, condition in raw.items():
        if not (isinstance(condition, dict) and UNDER in condition):
            rest[name] = condition
            continue
        where = f"filter.{name}.{UNDER}"
        if len(condition) != 1:
            raise InvalidInput(
                f"filter.{name}", f"`{UNDER}` cannot be combined with other operators"
            )
        system = system_for_field(str(name))
        if system is None:
            raise InvalidInput(where, "works on classification fields: ipc, cpc, vienna, locarno")
        code = condition[UNDER]
        path = system.parse(code) if isinstance(code, str) else None
        if path is None:
            raise InvalidInput(where, f"{code!r} is not a code of the {system.title} scheme")
        unders.append(Under(str(name), system, path))
    return rest, unders


def under_clause(under: Under, values: Iterable[ValueKey]) -> AnyOf:
    """The ``in`` clause over the stored ``values`` of the field that lie under the code."""
    depth = len(under.path)
    keys = set()
    for key in values:
        tag, value = key
        if tag != "s" or not isinstance(value, str):
            continue
        path = under.system.parse(value)
        if path is not None and len(path) >= depth and path[depth - 1] == under.path[-1]:
            keys.add(key)
    return AnyOf(under.field, frozenset(keys))
