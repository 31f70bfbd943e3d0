"""Text search modes (dense, lexical, hybrid) through a real engine with the real MiniLM model."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from ipsim.engine.engine import Engine, EngineOptions
from ipsim.engine.errors import InvalidInput
from ipsim.engine.text import fuse
from ipsim.engine.types import CollectionSpec, Document, SearchRequest, SearchResult
from ipsim.indexers.lexical import FILE_NAME
from ipsim.indexers.store import DocHit

pytestmark = pytest.mark.asyncio(loop_scope="module")

LONG = (
    "A centrifugal pump has a volute casing, an impeller keyed to a shaft, and bearings at "
    "both ends of the shaft. The casing is cast iron and the impeller is bronze. Between the "
    "casing and the shaft sits a stuffing box packed with braided rope. Cooling water runs "
    "through a jacket around the box. The shaft sleeve is hardened. In a later version the "
    "rope packing is replaced by a magnetorheological barrier."
)
DOCS = {
    "bell": ("Bicycle bell with a spring striker, model XR7731", "other"),
    "g1": ("Pump gasket XR7713 of nitrile rubber", "seal"),
    "g2": ("Pump gasket XR1773 of nitrile rubber", "seal"),
    "g3": ("Flange seal XR3771 for water pumps", "seal"),
    "g4": ("Valve seat insert XR7137 for hydraulic pumps", "seal"),
    "g5": ("Shaft seal XR7317 with a garter spring", "seal"),
    "lens": ("Optical lens with an anti-reflective coating for cameras", "other"),
    "ru1": ("Способ изготовления уплотнения для насоса", "seal"),
    "ru2": ("Уплотнения насосов высокого давления", "seal"),
    "long": (LONG, "pump"),
}
SEALS = sum(kind == "seal" for _, kind in DOCS.values())


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Engine]:
    # Small chunks, so the long document has several and a hit can name one.
    options = EngineOptions(data=tmp_path_factory.mktemp("text"), chunk_tokens=24, chunk_overlap=4)
    engine = Engine(options)
    await engine.start()
    await engine.create_collection(CollectionSpec("t", "text"))
    docs = [Document(k, {"text": text}, {"kind": kind}) for k, (text, kind) in DOCS.items()]
    await engine.upsert("t", docs)
    yield engine
    await engine.close()


async def search(engine: Engine, text: str, mode: str | None, **kw: Any) -> SearchResult:
    query: dict[str, Any] = {"text": text}
    if "weight" in kw:
        query["weight"] = kw.pop("weight")
    return await engine.search("t", SearchRequest(query, mode=mode, **{"k": 10, **kw}))


def ids(result: SearchResult) -> list[str]:
    return [h.id for h in result.hits]


async def test_fusion_of_constructed_lists_by_hand() -> None:
    def hit(doc_id: str, score: float, unit: int) -> DocHit:
        return DocHit(doc_id, score, unit, (unit, unit + 1), {})

    dense = [hit("a", 0.9, 0), hit("b", 0.5, 0), hit("c", 0.1, 0)]  # normalised 1, 0.5, 0
    lexical = [hit("c", 10.0, 2), hit("d", 5.0, 1), hit("a", 0.0, 3)]  # normalised 1, 0.5, 0
    fused = fuse(dense, lexical, 0.5)
    # a and c tie at 0.5, b and d at 0.25: the dense rank breaks ties at weight 0.5.
    assert [(h.id, h.score) for h in fused] == [("a", 0.5), ("c", 0.5), ("b", 0.25), ("d", 0.25)]
    assert [h.unit for h in fused] == [0, 2, 0, 1]  # the chunk of the branch that gave more
    assert fused[1].match == {"mode": "hybrid", "weight": 0.5, "dense": 0.1, "lexical": 10.0}
    assert fused[3].match is not None and fused[3].match["dense"] is None
    by_lexical = fuse(dense, lexical, 0.25)  # c: 0.75, a: 0.25, d: 0.375, b: 0.125
    assert [h.id for h in by_lexical] == ["c", "d", "a", "b"]
    assert fuse([], lexical[:1], 0.9)[0].score == pytest.approx(0.1)  # one hit normalises to 1


async def test_lexical_finds_an_exact_code_that_dense_ranks_below_a_lookalike(
    engine: Engine,
) -> None:
    dense = await search(engine, "XR7731", "dense")
    lexical = await search(engine, "XR7731", "lexical")
    hybrid = await search(engine, "XR7731", "hybrid")
    assert ids(dense)[0] != "bell"  # the model reads codes by their pieces: XR7137 looks closer
    assert ids(lexical)[0] == "bell"
    assert lexical.hits[0].score > 10 * lexical.hits[1].score  # others share only "xr"
    assert ids(hybrid)[0] == "bell"
    assert ids(await search(engine, "XR7731", None)) == ids(dense)  # no mode is dense


async def test_weight_one_gives_the_dense_order_and_zero_the_lexical_order(
    engine: Engine,
) -> None:
    for text in ("pump seal", "XR7731", "уплотнение насоса", "cameras"):
        dense = ids(await search(engine, text, "dense"))
        lexical = ids(await search(engine, text, "lexical"))
        assert lexical, text
        assert ids(await search(engine, text, "hybrid", weight=1.0)) == dense
        zero = ids(await search(engine, text, "hybrid", weight=0))
        assert zero[: len(lexical)] == lexical
        assert set(zero) == set(dense)  # then the documents no term matched


async def test_hybrid_scores_are_fused_and_explained(engine: Engine) -> None:
    result = await search(engine, "pump seal", "hybrid", weight=0.25)
    assert result.total == len(DOCS)  # every document has a dense score
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True) and 0.0 <= scores[-1] <= scores[0] <= 1.0
    top = result.hits[0]
    assert top.match is not None and top.match["mode"] == "hybrid"
    assert top.match["weight"] == 0.25
    assert top.match["dense"] is not None and top.match["lexical"] is not None


async def test_russian_inflections_match_lexically(engine: Engine) -> None:
    result = await search(engine, "уплотнение насосов", "lexical")
    assert sorted(ids(result)) == ["ru1", "ru2"] and result.total == 2


async def test_a_lexical_hit_names_the_chunk_that_matched(engine: Engine) -> None:
    (hit,) = (await search(engine, "magnetorheological", "lexical")).hits
    assert hit.id == "long" and hit.chunk is not None
    assert hit.chunk.index > 0
    assert "magnetorheological" in LONG[hit.chunk.start : hit.chunk.end]


async def test_the_filter_applies_inside_every_mode(engine: Engine) -> None:
    seal = {"kind": "seal"}
    for mode in ("dense", "lexical", "hybrid"):
        result = await search(engine, "spring XR7731 насос", mode, filter=seal)
        assert result.hits and all(h.fields["kind"] == "seal" for h in result.hits), mode
        assert "bell" not in ids(result)
        if mode != "lexical":
            assert result.total == SEALS
    lexical = await search(engine, "spring", "lexical", filter=seal)
    assert ids(lexical) == ["g5"] and lexical.total == 1  # the bell has a spring too


async def test_hybrid_pages_do_not_repeat(engine: Engine) -> None:
    pages = [
        ids(await search(engine, "pump seal", "hybrid", k=3, offset=offset)) for offset in (0, 3, 6)
    ]
    joined = [doc for page in pages for doc in page]
    assert len(joined) == len(set(joined)) == 9
    assert joined == ids(await search(engine, "pump seal", "hybrid", k=9))


@pytest.mark.parametrize(
    ("mode", "query", "field"),
    [
        ("fuzzy", {"text": "pump"}, "mode"),
        ("hybrid", {"text": "pump", "weight": 1.5}, "query.weight"),
        ("hybrid", {"text": "pump", "weight": -0.1}, "query.weight"),
        ("hybrid", {"text": "pump", "weight": "0.5"}, "query.weight"),
        ("hybrid", {"text": "pump", "weight": True}, "query.weight"),
        ("hybrid", {"text": "pump", "weight": math.nan}, "query.weight"),
        ("lexical", {"text": "pump", "weight": 0.5}, "query.weight"),
        ("dense", {"text": "pump", "weight": 0.5}, "query.weight"),
        ("lexical", {"text": "  "}, "query.text"),
        ("lexical", {}, "query.text"),
        ("hybrid", {"text": 5}, "query.text"),
        ("hybrid", {"text": "pump", "colour": "red"}, "query.colour"),
    ],
)
async def test_bad_modes_weights_and_texts_name_the_field(
    engine: Engine, mode: str, query: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await engine.search("t", SearchRequest(query, mode=mode))
    assert caught.value.field == field


async def test_writes_reach_the_lexical_index_and_survive_a_restart(tmp_path: Path) -> None:
    engine = Engine(EngineOptions(data=tmp_path / "data"))
    await engine.start()
    await engine.create_collection(CollectionSpec("w", "text"))
    texts = ["rotor blade", "valve spring", "optical prism", "gear box"]
    await engine.upsert("w", [Document(f"d{i}", {"text": t}) for i, t in enumerate(texts)])
    await engine.upsert("w", [Document("d0", {"text": "ceramic impeller"})])
    await engine.delete_document("w", "d1")

    async def found(text: str) -> list[str]:
        result = await engine.search("w", SearchRequest({"text": text}, mode="lexical"))
        return ids(result)

    assert await found("rotor") == [] and await found("impeller") == ["d0"]
    assert await found("valve") == []
    await engine.close()

    folder = tmp_path / "data" / "collections" / "w"
    for rebuilt in (False, True):
        if rebuilt:
            (folder / FILE_NAME).unlink()  # lost: rebuilt from the store on open
        engine = Engine(EngineOptions(data=tmp_path / "data"))
        await engine.start()
        assert await found("impeller") == ["d0"] and await found("valve") == []
        assert await found("prism") == ["d2"]
        await engine.close()
