"""``group_by``: at most ``group_size`` hits per value of a field, so one patent family (or
owner, or application) does not fill the page.

Groups are ordered by their best hit and paginated by group: ``offset`` and ``k`` count
groups, not hits. The ranking is read deeper (doubling) until it yields enough groups or
ends; ``max_depth`` bounds that, and a page cut short by it says ``truncated``. A group's
members are the best of the hits read so far, as in Qdrant's and Milvus's grouping.

A document without the field is a group of its own (value ``None``) rather than
disappearing from the results; a list value (several owners) groups by the whole list.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from ipsim.engine.errors import InvalidInput
from ipsim.engine.pages import window_for
from ipsim.indexers.filters import MAX_FIELD_NAME

MAX_GROUP_SIZE = 100

T = TypeVar("T")


@dataclass(frozen=True)
class Grouping:
    """A request's grouping: the field and how many hits a group may show."""

    field: str
    size: int = 1


@dataclass
class Group(Generic[T]):
    """One value of the grouping field and its best hits."""

    value: Any
    hits: list[T] = field(default_factory=list)


def parse_grouping(group_by: object, group_size: object) -> Grouping | None:
    """Check ``group_by`` / ``group_size`` from a request; ``None`` when not grouping."""
    if group_by is None:
        if group_size is not None:
            raise InvalidInput("group_size", "needs group_by")
        return None
    if not isinstance(group_by, str) or not 0 < len(group_by) <= MAX_FIELD_NAME:
        raise InvalidInput("group_by", f"must be a field name of 1-{MAX_FIELD_NAME} characters")
    size = 1 if group_size is None else group_size
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_GROUP_SIZE:
        raise InvalidInput("group_size", f"must be an integer from 1 to {MAX_GROUP_SIZE}")
    return Grouping(group_by, size)


def group(
    hits: Sequence[T],
    grouping: Grouping,
    fields_of: Callable[[T], Mapping[str, Any]],
    identity_of: Callable[[T], object],
) -> list[Group[T]]:
    """Group ranked ``hits`` (best first) by a field; groups ordered by their best hit."""
    groups: dict[str, Group[T]] = {}
    for hit in hits:
        value = fields_of(hit).get(grouping.field)
        if value is None:
            key = "doc:" + json.dumps(identity_of(hit), default=str)
        else:
            key = "value:" + json.dumps(value, sort_keys=True, default=str)
        found = groups.setdefault(key, Group(value))
        if len(found.hits) < grouping.size:
            found.hits.append(hit)
    return list(groups.values())


@dataclass(frozen=True)
class GroupedPage(Generic[T]):
    groups: list[Group[T]]
    truncated: bool


async def grouped_page(
    rank: Callable[[int], Awaitable[tuple[list[T], bool]]],
    grouping: Grouping,
    *,
    offset: int,
    k: int,
    max_depth: int,
    fields_of: Callable[[T], Mapping[str, Any]],
    identity_of: Callable[[T], object],
) -> GroupedPage[T]:
    """The ``offset``-th to ``offset + k``-th groups of a ranking.

    ``rank(depth)`` returns the ranking's first ``depth`` hits and whether it has no more.
    """
    wanted = offset + k
    depth = min(window_for(wanted * grouping.size), max_depth)
    while True:
        hits, exhausted = await rank(depth)
        groups = group(hits, grouping, fields_of, identity_of)
        if len(groups) >= wanted or exhausted:
            return GroupedPage(groups[offset:wanted], truncated=False)
        if depth >= max_depth:
            return GroupedPage(groups[offset:wanted], truncated=True)
        depth = min(depth * 2, max_depth)
