"""Stable pagination: deeper pages extend one ranked list and never repeat a document."""

from __future__ import annotations

from dataclasses import dataclass

from ipsim.engine.pages import PageCache, RankedList, window_for


@dataclass(frozen=True)
class H:
    id: str
    score: float


def test_extend_keeps_the_served_prefix_and_skips_documents_already_listed() -> None:
    ranked: RankedList[H] = RankedList(version=1)
    ranked.extend([H("a", 0.9), H("b", 0.8)], asked=2)
    assert not ranked.exhausted
    # An approximate index asked for more neighbours reorders and finds "c" above "b".
    ranked.extend([H("a", 0.9), H("c", 0.85), H("b", 0.8), H("d", 0.7)], asked=8)
    assert [h.id for h in ranked.hits] == ["a", "b", "c", "d"]
    assert ranked.exhausted


def test_cache_misses_after_the_collection_changes() -> None:
    cache: PageCache[H] = PageCache(capacity=2)
    ranked: RankedList[H] = RankedList(version=3)
    cache.put(("col", "q"), ranked)
    assert cache.get(("col", "q"), 3) is ranked
    assert cache.get(("col", "q"), 4) is None


def test_cache_evicts_least_recently_used_and_drops_a_collection() -> None:
    cache: PageCache[H] = PageCache(capacity=2)
    cache.put(("a", 1), RankedList(1))
    cache.put(("b", 1), RankedList(1))
    assert cache.get(("a", 1), 1) is not None
    cache.put(("c", 1), RankedList(1))
    assert cache.get(("b", 1), 1) is None
    cache.drop("a")
    assert cache.get(("a", 1), 1) is None
    assert cache.get(("c", 1), 1) is not None


def test_window_is_a_power_of_two_at_least_the_minimum() -> None:
    assert window_for(10) == 16
    assert window_for(20) == 32
    assert window_for(64) == 64
    assert window_for(65) == 128
    assert window_for(1000) == 1024
