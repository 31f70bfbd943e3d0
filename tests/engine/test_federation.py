"""The one-window search over a real engine's collections, and over sources that fail.

The collections are the demo's real US application titles (real MiniLM model), split in
two as if two countries' patents. The failing sources are small in-process ``Source``
implementations: what is tested here is how the federation treats a source that is slow
or down; the real remote server is in ``tests/e2e/test_federation.py``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from ipsim.engine.engine import Engine, EngineOptions
from ipsim.engine.errors import InvalidInput, NotFound, NotReady
from ipsim.engine.facets import FacetResult, FacetSpec
from ipsim.engine.federation import Federation, MultiSearchRequest
from ipsim.engine.fusion import RRF_K
from ipsim.engine.sources import LocalSource, SourceFailure
from ipsim.engine.types import CollectionSpec, Document, Hit, SearchRequest, SearchResult

DEMO = Path(__file__).resolve().parents[2] / "demo" / "patents.jsonl"
QUERY = {"text": "semiconductor memory device"}
DOCUMENTS = 120


def demo_documents() -> list[Document]:
    rows = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines()]
    return [Document(r["id"], r["content"], r["fields"]) for r in rows[:DOCUMENTS]]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Engine]:
    engine = Engine(EngineOptions(data=tmp_path_factory.mktemp("federation")))
    await engine.start()
    documents = demo_documents()
    for name, part in (("us-even", documents[0::2]), ("us-odd", documents[1::2])):
        await engine.create_collection(CollectionSpec(name, "text"))
        await engine.upsert(name, part)
    yield engine
    await engine.close()


class SlowSource:
    """Answers after ``delay`` seconds with one hit."""

    def __init__(self, delay: float) -> None:
        self.delay = delay

    async def check(self, collection: str) -> None:
        return None

    async def search(self, collection: str, request: SearchRequest) -> SearchResult:
        await asyncio.sleep(self.delay)
        return SearchResult([Hit("far-1", 0.99, {"art_unit": "2811"})], 1, self.delay * 1000)

    async def facets(
        self, collection: str, specs: Sequence[FacetSpec], filter: dict[str, Any] | None
    ) -> dict[str, FacetResult]:
        raise SourceFailure("unavailable", "connection refused")

    def version(self, collection: str) -> int | None:
        return None

    async def close(self) -> None:
        return None


class DownSource(SlowSource):
    def __init__(self) -> None:
        super().__init__(0.0)

    async def search(self, collection: str, request: SearchRequest) -> SearchResult:
        raise SourceFailure("unavailable", "connection refused")


def federation(engine: Engine, **remotes: Any) -> Federation:
    return Federation(LocalSource(engine), remotes, timeout_ms=2000, max_k=1000)


def request(*collections: str, **options: Any) -> MultiSearchRequest:
    return MultiSearchRequest(collections=collections, query=QUERY, **options)


async def single(engine: Engine, name: str, k: int) -> list[Hit]:
    return (await engine.search(name, SearchRequest(QUERY, k=k))).hits


@pytest.mark.asyncio(loop_scope="module")
async def test_raw_fusion_of_collections_under_one_model_equals_one_merged_ranking(
    engine: Engine,
) -> None:
    answer = await federation(engine).search(request("us-even", "us-odd", k=10, fusion="raw"))
    merged = [(h.score, "us-even", h.id) for h in await single(engine, "us-even", 10)]
    merged += [(h.score, "us-odd", h.id) for h in await single(engine, "us-odd", 10)]
    merged.sort(key=lambda t: -t[0])
    assert [(h.collection, h.hit.id) for h in answer.hits] == [(c, i) for _, c, i in merged[:10]]
    assert [h.score for h in answer.hits] == pytest.approx([s for s, _, _ in merged[:10]])
    assert not answer.partial and [r.status for r in answer.sources] == ["ok", "ok"]
    assert answer.total == DOCUMENTS  # both halves


@pytest.mark.asyncio(loop_scope="module")
async def test_rrf_scores_are_the_reciprocal_ranks_of_each_collection(engine: Engine) -> None:
    answer = await federation(engine).search(
        request("us-even", "us-odd", k=6, weights={"us-odd": 2.0})
    )
    even = [h.id for h in await single(engine, "us-even", 6)]
    odd = [h.id for h in await single(engine, "us-odd", 6)]
    expected = {("us-even", i): 1 / (RRF_K + r) for r, i in enumerate(even, start=1)}
    expected |= {("us-odd", i): 2 / (RRF_K + r) for r, i in enumerate(odd, start=1)}
    for hit in answer.hits:
        assert hit.score == pytest.approx(expected[(hit.collection, hit.hit.id)])
    # Weighted twice, the odd half's first three outrank the even half's first hit.
    assert [h.collection for h in answer.hits[:3]] == ["us-odd"] * 3


@pytest.mark.asyncio(loop_scope="module")
async def test_pages_never_repeat_and_add_up_to_one_long_page(engine: Engine) -> None:
    fed = federation(engine)
    for method in ("rrf", "score", "raw"):
        long = await fed.search(request("us-even", "us-odd", k=40, fusion=method))
        pages = []
        for offset in range(0, 40, 10):
            page = await fed.search(
                request("us-even", "us-odd", k=10, offset=offset, fusion=method)
            )
            pages += [h.id for h in page.hits]
        assert pages == [h.id for h in long.hits]
        assert len(set(pages)) == 40


@pytest.mark.asyncio(loop_scope="module")
async def test_group_by_spans_collections(engine: Engine) -> None:
    answer = await federation(engine).search(
        request("us-even", "us-odd", k=5, group_by="art_unit", group_size=2)
    )
    assert answer.groups is not None and len(answer.groups) == 5
    values = [g.value for g in answer.groups]
    assert len(set(values)) == 5
    for group in answer.groups:
        assert 1 <= len(group.hits) <= 2
        assert {h.hit.fields["art_unit"] for h in group.hits} == {group.value}
    assert [h.id for h in answer.hits] == [h.id for g in answer.groups for h in g.hits]


@pytest.mark.asyncio(loop_scope="module")
async def test_single_collection_group_by_pages_by_group(engine: Engine) -> None:
    first = await engine.search("us-even", SearchRequest(QUERY, k=3, group_by="technology_center"))
    second = await engine.search(
        "us-even", SearchRequest(QUERY, k=3, offset=3, group_by="technology_center")
    )
    assert first.groups is not None and second.groups is not None
    values = [g.value for g in first.groups + second.groups]
    assert len(values) == len(set(values)) == 6 or len(second.groups) < 3
    assert all(len(g.hits) == 1 for g in first.groups)
    best = (await engine.search("us-even", SearchRequest(QUERY, k=1))).hits[0]
    assert first.groups[0].hits[0].id == best.id
    assert first.total == DOCUMENTS // 2


@pytest.mark.asyncio(loop_scope="module")
async def test_a_slow_or_down_source_gives_a_partial_answer(engine: Engine) -> None:
    fed = federation(engine, slow=SlowSource(5.0), down=DownSource(), quick=SlowSource(0.0))
    answer = await fed.search(
        request("us-even", "slow:x", "down:x", "quick:x", k=5, timeout_ms=300)
    )
    status = {r.collection: (r.status, r.code) for r in answer.sources}
    assert status == {
        "us-even": ("ok", None),
        "slow:x": ("timeout", "deadline_exceeded"),
        "down:x": ("failed", "unavailable"),
        "quick:x": ("ok", None),
    }
    assert answer.partial
    assert {h.collection for h in answer.hits} == {"us-even", "quick:x"}
    assert next(r for r in answer.sources if r.collection == "slow:x").took_ms < 2000


@pytest.mark.asyncio(loop_scope="module")
async def test_a_partial_answer_is_not_cached(engine: Engine) -> None:
    flaky = SlowSource(0.0)
    fed = federation(engine, flaky=flaky)
    flaky.delay = 5.0
    first = await fed.search(request("us-even", "flaky:x", k=5, timeout_ms=200))
    flaky.delay = 0.0
    second = await fed.search(request("us-even", "flaky:x", k=5, timeout_ms=200))
    assert first.partial and not second.partial
    assert "flaky:x" in {h.collection for h in second.hits}


@pytest.mark.asyncio(loop_scope="module")
async def test_when_every_source_fails_it_is_an_error(engine: Engine) -> None:
    fed = federation(engine, down=DownSource())
    with pytest.raises(NotReady, match="every source failed: down:x: connection refused"):
        await fed.search(request("down:x"))


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"collections": ()}, "collections"),
        ({"collections": ("us-even", "us-even")}, "collections[1]"),
        ({"collections": ("nowhere:x",)}, "collections[0]"),
        ({"collections": ("us-even", "BAD NAME")}, "collections[1]"),
        ({"weights": {"us-odd": 1.0}}, "weights.us-odd"),
        ({"weights": {"us-even": -1.0}}, "weights.us-even"),
        ({"fusion": "borda"}, "fusion"),
        ({"timeout_ms": 0}, "timeout_ms"),
        ({"k": 0}, "k"),
        ({"offset": 995, "k": 10}, "offset"),
        ({"group_by": "art_unit", "group_size": 0}, "group_size"),
        ({"query": {"smiles": "CCO"}}, "query.smiles"),
    ],
)
@pytest.mark.asyncio(loop_scope="module")
async def test_bad_requests_name_the_field(
    engine: Engine, options: dict[str, Any], field: str
) -> None:
    base: dict[str, Any] = {"collections": ("us-even",), "query": QUERY}
    with pytest.raises(InvalidInput) as caught:
        await federation(engine).search(MultiSearchRequest(**(base | options)))
    assert caught.value.field == field


@pytest.mark.asyncio(loop_scope="module")
async def test_an_unknown_local_collection_is_not_found(engine: Engine) -> None:
    with pytest.raises(NotFound, match="'nope'"):
        await federation(engine).search(request("us-even", "nope"))


@pytest.mark.asyncio(loop_scope="module")
async def test_a_search_returns_facet_counts_over_the_filtered_documents(engine: Engine) -> None:
    flt = {"filing_date": {"gte": "2018-09-01"}}
    answer = await engine.search(
        "us-odd", SearchRequest(QUERY, k=2, filter=flt, facets=["technology_center"])
    )
    assert answer.facets is not None
    counted = answer.facets["technology_center"]
    passing = [d for d in demo_documents()[1::2] if d.fields["filing_date"] >= "2018-09-01"]
    expected: dict[str, int] = {}
    for document in passing:
        value = document.fields["technology_center"]
        expected[value] = expected.get(value, 0) + 1
    assert {v.value: v.count for v in counted.values} == expected
    assert counted.documents == len(passing) == answer.total
    with pytest.raises(InvalidInput) as caught:
        await engine.search("us-odd", SearchRequest(QUERY, facets=["ipc", {"field": 3}]))
    assert caught.value.field.startswith("facets[1]")


@pytest.mark.asyncio(loop_scope="module")
async def test_one_window_facets_are_summed_over_the_collections(engine: Engine) -> None:
    fed = federation(engine, down=DownSource())
    flt = {"filing_date": {"gte": "2018-09-01"}}
    answer = await fed.search(
        request(
            "us-even",
            "us-odd",
            "down:x",
            k=3,
            filter=flt,
            facets=[{"field": "technology_center", "limit": 2}],
        )
    )
    passing = [d for d in demo_documents() if d.fields["filing_date"] >= "2018-09-01"]
    expected: dict[str, int] = {}
    for document in passing:
        value = document.fields["technology_center"]
        expected[value] = expected.get(value, 0) + 1
    assert answer.facets is not None
    counted = answer.facets["technology_center"]
    best = sorted(expected.items(), key=lambda kv: (-kv[1], kv[0]))
    assert [(v.value, v.count) for v in counted.values] == best[:2]
    assert counted.other == len(expected) - 2
    assert counted.documents == len(passing)
    assert {r.collection: r.facets_counted for r in answer.sources} == {
        "us-even": True,
        "us-odd": True,
        "down:x": False,
    }
    assert answer.partial
