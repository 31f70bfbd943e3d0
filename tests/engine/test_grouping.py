"""group_by: groups by field value, paged by group, reading the ranking deeper as needed."""

from __future__ import annotations

from typing import Any

import pytest

from ipsim.engine.errors import InvalidInput
from ipsim.engine.grouping import Grouping, group, grouped_page, parse_grouping

Hit = tuple[str, dict[str, Any]]


def fields_of(hit: Hit) -> dict[str, Any]:
    return hit[1]


def identity_of(hit: Hit) -> str:
    return hit[0]


def ranking(families: list[str | None]) -> list[Hit]:
    return [
        (f"d{i}", {} if family is None else {"family": family}) for i, family in enumerate(families)
    ]


def test_groups_keep_rank_order_and_at_most_group_size_hits() -> None:
    hits = ranking(["F1", "F1", "F2", "F1", "F3", "F2"])
    groups = group(hits, Grouping("family", 2), fields_of, identity_of)
    assert [g.value for g in groups] == ["F1", "F2", "F3"]
    assert [[h[0] for h in g.hits] for g in groups] == [["d0", "d1"], ["d2", "d5"], ["d4"]]


def test_a_document_without_the_field_is_its_own_group_and_lists_group_whole() -> None:
    hits = ranking([None, "F1", None])
    hits.append(("d3", {"family": ["A", "B"]}))
    hits.append(("d4", {"family": ["A", "B"]}))
    groups = group(hits, Grouping("family", 5), fields_of, identity_of)
    assert [(g.value, [h[0] for h in g.hits]) for g in groups] == [
        (None, ["d0"]),
        ("F1", ["d1"]),
        (None, ["d2"]),
        (["A", "B"], ["d3", "d4"]),
    ]


async def test_pages_count_groups_and_the_ranking_is_read_deeper_until_enough() -> None:
    # 200 hits, 5 per family in a row: 40 families.
    hits = ranking([f"F{i // 5}" for i in range(200)])
    depths: list[int] = []

    async def rank(depth: int) -> tuple[list[Hit], bool]:
        depths.append(depth)
        return hits[:depth], depth >= len(hits)

    page = await grouped_page(
        rank,
        Grouping("family", 1),
        offset=10,
        k=10,
        max_depth=1000,
        fields_of=fields_of,
        identity_of=identity_of,
    )
    assert [g.value for g in page.groups] == [f"F{i}" for i in range(10, 20)]
    assert not page.truncated
    assert depths == [32, 64, 128]  # 20 groups need 100 hits


async def test_a_page_cut_by_max_depth_says_truncated() -> None:
    hits = ranking(["same"] * 500)

    async def rank(depth: int) -> tuple[list[Hit], bool]:
        return hits[:depth], depth >= len(hits)

    page = await grouped_page(
        rank,
        Grouping("family", 3),
        offset=0,
        k=2,
        max_depth=64,
        fields_of=fields_of,
        identity_of=identity_of,
    )
    assert [len(g.hits) for g in page.groups] == [3]
    assert page.truncated


async def test_an_exhausted_ranking_ends_the_pages() -> None:
    hits = ranking(["A", "B", "A"])

    async def rank(depth: int) -> tuple[list[Hit], bool]:
        return hits[:depth], True

    page = await grouped_page(
        rank,
        Grouping("family", 1),
        offset=1,
        k=5,
        max_depth=1000,
        fields_of=fields_of,
        identity_of=identity_of,
    )
    assert [g.value for g in page.groups] == ["B"] and not page.truncated


@pytest.mark.parametrize(
    ("group_by", "group_size", "field"),
    [
        (None, 2, "group_size"),
        ("", None, "group_by"),
        (3, None, "group_by"),
        ("family", 0, "group_size"),
        ("family", 101, "group_size"),
        ("family", True, "group_size"),
        ("family", "2", "group_size"),
    ],
)
def test_bad_grouping_names_the_field(group_by: Any, group_size: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_grouping(group_by, group_size)
    assert caught.value.field == field


def test_grouping_defaults() -> None:
    assert parse_grouping(None, None) is None
    assert parse_grouping("family", None) == Grouping("family", 1)
