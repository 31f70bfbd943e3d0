"""``{"ipc": {"under": CODE}}``: documents classified under a code in any spelling, as the
facets count them, through a real engine's search, count and facets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from ipsim.engine.engine import Engine, EngineOptions
from ipsim.engine.errors import InvalidInput
from ipsim.engine.facets import facet_spec
from ipsim.engine.types import CollectionSpec, Document, SearchRequest

DOCUMENTS = {
    "spaced": {"ipc": ["A61K 31/495", "C07D 401/04"], "vienna": "26.01.03"},
    "packed": {"ipc": "A61K0031496000", "vienna": "A 26.01.24"},
    "squeezed": {"ipc": ["A61K31/00"], "vienna": "26.03.01"},
    "versioned": {"ipc": "a61k 9/20 (2006.01)"},
    "other": {"ipc": ["A61P 35/00", "H01L 21/02"], "locarno": "01-01"},
    "junk": {"ipc": ["not a code", 31]},
    "none": {},
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Engine]:
    engine = Engine(EngineOptions(data=tmp_path_factory.mktemp("code-filters")))
    await engine.start()
    await engine.create_collection(CollectionSpec("patents", "text"))
    await engine.upsert(
        "patents",
        [Document(i, {"text": f"document {i}"}, fields) for i, fields in DOCUMENTS.items()],
    )
    yield engine
    await engine.close()


async def ids_under(engine: Engine, flt: dict[str, Any]) -> set[str]:
    answer = await engine.search("patents", SearchRequest({"text": "document"}, k=50, filter=flt))
    assert answer.total == len(answer.hits)
    return {hit.id for hit in answer.hits}


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"ipc": {"under": "A61K 31/00"}}, {"spaced", "packed", "squeezed"}),
        ({"ipc": {"under": "A61K31/00"}}, {"spaced", "packed", "squeezed"}),
        ({"ipc": {"under": "A61K0031495000"}}, {"spaced"}),
        ({"ipc": {"under": "A61K"}}, {"spaced", "packed", "squeezed", "versioned"}),
        ({"ipc": {"under": "A61"}}, {"spaced", "packed", "squeezed", "versioned", "other"}),
        ({"ipc": {"under": "C"}}, {"spaced"}),
        ({"ipc": {"under": "G06F"}}, set()),
        ({"ipc": {"under": "A61K"}, "vienna": {"prefix": "26.01"}}, {"spaced"}),
        ({"vienna": {"under": "26.01"}}, {"spaced", "packed"}),
        ({"locarno": {"under": "01"}}, {"other"}),
    ],
)
@pytest.mark.asyncio(loop_scope="module")
async def test_under_finds_every_spelling_of_the_codes_below(
    engine: Engine, flt: dict[str, Any], expected: set[str]
) -> None:
    assert await ids_under(engine, flt) == expected


@pytest.mark.asyncio(loop_scope="module")
async def test_under_agrees_with_the_facet_counts(engine: Engine) -> None:
    facets = await engine.facets("patents", [facet_spec("ipc", "A61K")])
    by_child = {v.value: v.count for v in facets["ipc"].values}
    for child, count in by_child.items():
        assert len(await ids_under(engine, {"ipc": {"under": str(child)}})) == count
    # And a facet restricted by an `under` filter counts only those documents.
    narrowed = await engine.facets("patents", [facet_spec("ipc")], {"ipc": {"under": "C07D"}})
    assert {v.value: v.count for v in narrowed["ipc"].values} == {"A": 1, "C": 1}


@pytest.mark.asyncio(loop_scope="module")
async def test_under_follows_writes(engine: Engine) -> None:
    await engine.upsert("patents", [Document("late", {"text": "late"}, {"ipc": "G06F 17/30"})])
    assert await ids_under(engine, {"ipc": {"under": "G06"}}) == {"late"}
    await engine.delete_document("patents", "late")
    assert await ids_under(engine, {"ipc": {"under": "G06"}}) == set()


@pytest.mark.parametrize(
    ("flt", "field", "message"),
    [
        ({"country": {"under": "RU"}}, "filter.country.under", "classification fields"),
        ({"ipc": {"under": "A61K", "prefix": "A"}}, "filter.ipc", "cannot be combined"),
        ({"ipc": {"under": "not a code"}}, "filter.ipc.under", "is not a code of the IPC scheme"),
        ({"ipc": {"under": 31}}, "filter.ipc.under", "31 is not a code of the IPC scheme"),
        ({"vienna": {"under": "99.01"}}, "filter.vienna.under", "not a code of the Vienna scheme"),
    ],
)
@pytest.mark.asyncio(loop_scope="module")
async def test_bad_under_names_the_field(
    engine: Engine, flt: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await engine.search("patents", SearchRequest({"text": "x"}, filter=flt))
    assert caught.value.field == field and message in caught.value.detail
