"""Stable pagination: every page of one query is cut from one growing ranked list.

Approximate indexes can rank differently when asked for more neighbours, so asking
for page 2 with a bigger k could return a document already shown on page 1 (a bug
other vector servers have shipped). Here the first request ranks a window; a deeper
page extends that same list with only documents it does not hold yet, so consecutive
pages never repeat a document while the collection is unchanged.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar


class HasId(Protocol):
    @property
    def id(self) -> str: ...


H = TypeVar("H", bound=HasId)


@dataclass
class RankedList(Generic[H]):
    """The hits ranked so far for one query, whether the index has no more, and whether a
    budget cut the ranking short (then ``total`` is a lower bound)."""

    version: int
    total: int = 0
    hits: list[H] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    exhausted: bool = False
    truncated: bool = False

    def extend(self, ranked: list[H], *, asked: int, complete: bool = False) -> None:
        """Append the documents of a deeper ranking that are not already listed.

        ``complete``: the ranking holds every hit there is, however many were asked for.
        """
        for hit in ranked:
            if hit.id not in self.ids:
                self.ids.add(hit.id)
                self.hits.append(hit)
        self.exhausted = complete or len(ranked) < asked


class PageCache(Generic[H]):
    """A small LRU of ranked lists keyed by (collection, query, filter, mode)."""

    def __init__(self, capacity: int = 1024) -> None:
        self._capacity = capacity
        self._lists: OrderedDict[Hashable, RankedList[H]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, version: int) -> RankedList[H] | None:
        """The list for ``key`` if it was ranked at this collection ``version``."""
        with self._lock:
            ranked = self._lists.get(key)
            if ranked is None or ranked.version != version:
                return None
            self._lists.move_to_end(key)
            return ranked

    def put(self, key: Hashable, ranked: RankedList[H]) -> None:
        with self._lock:
            self._lists[key] = ranked
            self._lists.move_to_end(key)
            while len(self._lists) > self._capacity:
                self._lists.popitem(last=False)

    def drop(self, prefix: Hashable) -> None:
        """Forget every list of one collection (keys are tuples starting with its name)."""
        with self._lock:
            for key in [k for k in self._lists if isinstance(k, tuple) and k[:1] == (prefix,)]:
                del self._lists[key]


def canonical(value: Any) -> str:
    """A JSON value as one string, equal for equal values (page cache keys)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def window_for(needed: int, *, minimum: int = 16) -> int:
    """How deep to rank so that nearby pages come from the same list: the next power of two."""
    size = max(minimum, needed)
    return 1 << (size - 1).bit_length()
