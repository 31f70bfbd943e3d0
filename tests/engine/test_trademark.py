"""Trademark collections through the Engine: word modes, images, filters, pages, watches."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from PIL import Image
from support.data import shared_data

from ipsim.engine.engine import Engine, EngineOptions
from ipsim.engine.errors import InvalidInput, NotFound
from ipsim.engine.types import CollectionSpec, Document, SearchRequest

pytestmark = pytest.mark.asyncio(loop_scope="module")
TRADEMARKS = shared_data("trademarks")
ICONS = ["devices/printer.png", "apps/internet-web-browser.png", "places/user-home.png"]
ICONS += ["actions/edit-copy.png", "status/weather-storm.png", "emblems/emblem-favorite.png"]


def _png(image: Image.Image) -> str:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


def _icon(name: str, theme: str = "tango") -> Image.Image:
    return Image.open(TRADEMARKS / "icons" / theme / name).convert("RGBA")


def _words() -> list[str]:
    en = (TRADEMARKS / "words_en_20k.txt").read_text(encoding="utf-8").split()[::40]
    ru = (TRADEMARKS / "words_ru_20k.txt").read_text(encoding="utf-8").split()[::40]
    return en + ru


def _documents() -> list[Document]:
    docs = [
        Document(f"w{i}", {"word": w}, {"register": "ru", "nice_classes": [i % 45 + 1]})
        for i, w in enumerate(_words())
    ]
    docs += [
        Document("prosto", {"word": "про сто"}, {"register": "ru", "nice_classes": [30, 32]}),
        Document("pro100", {"word": "PRO100"}, {"register": "international", "nice_classes": [9]}),
        Document("car", {"word": "car"}, {"register": "well_known", "nice_classes": [12]}),
        Document("banana", {"word": "banana"}, {"register": "ru", "nice_classes": [31]}),
    ]
    for i, name in enumerate(ICONS):
        fields = {"register": "ru", "vienna_codes": [f"0{i % 3 + 1}.01.0{i + 1}"]}
        docs.append(Document(f"icon{i}", {"image_b64": _png(_icon(name))}, fields))
    return docs


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Engine]:
    if not TRADEMARKS.is_dir():
        pytest.skip("the shared trademark data is not here")
    engine = Engine(EngineOptions(data=tmp_path_factory.mktemp("tm")))
    await engine.start()
    await engine.create_collection(CollectionSpec("tm", "trademark"))
    docs = _documents()
    for start in range(0, len(docs), 200):
        await engine.upsert("tm", docs[start : start + 200])
    yield engine
    await engine.close()


async def _search(engine: Engine, query: dict[str, Any], **kw: Any) -> Any:
    return await engine.search("tm", SearchRequest(query, **kw))


@pytest.mark.parametrize(("query", "expected"), [("PRO100", "prosto"), ("про сто", "pro100")])
async def test_cross_script_phonetics_finds_the_other_script_first(
    engine: Engine, query: str, expected: str
) -> None:
    phonetic = await _search(engine, {"word": query}, mode="phonetic", k=3)
    others = [h for h in phonetic.hits if h.fields["word"] != query]
    assert others[0].id == expected
    assert others[0].match["mode"] == "phonetic"
    assert others[0].match["query_key"] and others[0].match["mark_key"]
    fused = await _search(engine, {"word": query}, k=3)
    top = next(h for h in fused.hits if h.fields["word"] != query)
    assert top.id == expected and "phonetic" in top.match["modes"]


async def test_spelling_forgives_a_typo_and_scores_an_exact_match_one(engine: Engine) -> None:
    word = _words()[7]
    exact = await _search(engine, {"word": word}, mode="spelling", k=1)
    assert exact.hits[0].fields["word"] == word and exact.hits[0].score == pytest.approx(1.0)
    typo = word[:-1] + ("x" if word[-1] != "x" else "y")
    found = await _search(engine, {"word": typo}, mode="spelling", k=5)
    assert word in [h.fields["word"] for h in found.hits]
    assert found.total >= len(found.hits)


async def test_semantic_ranks_meaning(engine: Engine) -> None:
    answer = await _search(engine, {"word": "automobile"}, mode="semantic", k=50)
    ids = [h.id for h in answer.hits]
    assert "car" in ids and ("banana" not in ids or ids.index("car") < ids.index("banana"))
    assert all(h.fields["has_word"] for h in answer.hits)


async def test_a_transformed_logo_finds_its_original(engine: Engine) -> None:
    original = _icon(ICONS[0])
    bigger = original.resize((64, 64), Image.Resampling.BICUBIC)
    answer = await _search(engine, {"image_b64": _png(bigger)}, k=3)
    assert answer.hits[0].id == "icon0" and answer.hits[0].match["mode"] == "image"
    recoloured = Image.merge("RGBA", (*original.split()[:3][::-1], original.split()[3]))
    shape = await _search(engine, {"image_b64": _png(recoloured), "strategy": "shape"}, k=1)
    assert shape.hits[0].id == "icon0"


async def test_filters_pages_and_totals(engine: Engine) -> None:
    vienna = await _search(
        engine,
        {"image_b64": _png(_icon(ICONS[1]))},
        filter={"vienna_codes": {"prefix": "02.01"}},
        k=10,
    )
    assert vienna.hits and all(
        any(c.startswith("02.01") for c in h.fields["vienna_codes"]) for h in vienna.hits
    )
    nice = await _search(
        engine, {"word": "PRO100"}, filter={"nice_classes": {"in": [30, 12]}}, k=10
    )
    assert {h.id for h in nice.hits} >= {"prosto"} and "pro100" not in {h.id for h in nice.hits}
    first = await _search(engine, {"word": "sto"}, mode="spelling", k=3)
    second = await _search(engine, {"word": "sto"}, mode="spelling", k=3, offset=3)
    assert first.total == second.total
    assert not {h.id for h in first.hits} & {h.id for h in second.hits}


@pytest.mark.parametrize(
    ("document", "field"),
    [
        (Document("x", {"word": "ok"}, {"nice_classes": [46]}), "documents[0].fields.nice_classes"),
        (
            Document("x", {"word": "ok"}, {"vienna_codes": ["30.01.01"]}),
            "documents[0].fields.vienna_codes",
        ),
        (Document("x", {"word": "ok"}, {"register": "moon"}), "documents[0].fields.register"),
        (Document("x", {}), "documents[0].content.word"),
        (Document("x", {"image_b64": "not base64!"}), "documents[0].content.image_b64"),
        (Document("x", {"word": " "}), "documents[0].content.word"),
    ],
)
async def test_bad_marks_are_refused_naming_the_field(
    engine: Engine, document: Document, field: str
) -> None:
    with pytest.raises(InvalidInput) as bad:
        await engine.upsert("tm", [document])
    assert bad.value.field is not None and bad.value.field.startswith(field)


@pytest.mark.parametrize(
    ("query", "mode", "field"),
    [
        ({"word": "a"}, "image", "query.image_b64"),
        ({"word": "a"}, "colour", "mode"),
        ({"word": "a", "strategy": "shape"}, None, "query.strategy"),
        ({"word": "a", "colour": 1}, None, "query.colour"),
        ({}, None, "query"),
    ],
)
async def test_bad_queries_name_the_field(
    engine: Engine, query: dict[str, Any], mode: str | None, field: str
) -> None:
    with pytest.raises(InvalidInput) as bad:
        await _search(engine, query, mode=mode)
    assert bad.value.field == field


async def test_watches_notify_on_close_new_marks_and_survive_a_restart(tmp_path: Path) -> None:
    engine = Engine(EngineOptions(data=tmp_path))
    await engine.start()
    await engine.create_collection(CollectionSpec("w", "trademark"))
    watch = await engine.create_watch("w", {"word": "PRO100"}, "phonetic", 0.9, None, None)
    with pytest.raises(InvalidInput) as bad:
        await engine.create_watch("w", {"word": "x"}, "nope", 0.9, None, None)
    assert bad.value.field == "mode"
    await engine.upsert("w", [Document("a", {"word": "про сто"}), Document("b", {"word": "tea"})])
    notes, total = engine.watch_notifications(watch.id, 0, 10)
    assert total == 1 and notes[0].document_id == "a" and notes[0].score >= 0.9
    await engine.close()
    again = Engine(EngineOptions(data=tmp_path))
    await again.start()
    assert again.get_watch(watch.id).query == {"word": "PRO100"}
    await again.upsert("w", [Document("c", {"word": "Pro 100"})])
    assert again.watch_notifications(watch.id, 0, 10)[1] == 2
    again.delete_watch(watch.id)
    with pytest.raises(NotFound):
        again.get_watch(watch.id)
    await again.close()
