"""Mesh collections through the Engine, on the demo's real meshes.

Queries are moved, re-formatted copies of real meshes written by trimesh; the expected
answers come from the files' labels (a copy finds its original; a family finds its
variants), not from recorded vectors.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest
import pytest_asyncio
import trimesh
from PIL import Image
from support.meshes import (
    DEMO_MESHES,
    demo_document,
    demo_labels,
    exported,
    file_content,
    load,
    moved,
)

from ipsim.engine.engine import Engine, EngineOptions
from ipsim.engine.errors import InvalidInput, NotFound
from ipsim.engine.types import CollectionSpec, Document, SearchRequest

pytestmark = pytest.mark.asyncio(loop_scope="module")

ROWS = demo_labels()
DOCS = [Document(**demo_document(row)) for row in ROWS]
QUERIES = ["cgal/elephant.off", "cgal/cow.off", "cgal/anchor.off", "assimp/Wuson.off"]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Engine]:
    engine = Engine(EngineOptions(data=tmp_path_factory.mktemp("mesh")))
    await engine.start()
    await engine.create_collection(CollectionSpec("designs", "mesh"))
    await engine.upsert("designs", DOCS)
    yield engine
    await engine.close()


async def _search(engine: Engine, query: dict[str, Any], **kw: Any) -> Any:
    return await engine.search("designs", SearchRequest(query, **kw))


async def test_default_model_is_fused_with_derived_fields(engine: Engine) -> None:
    info = engine.collection_info("designs")
    assert info.model == "fused" and info.count == len(DOCS)
    doc = await engine.get_document("designs", "cgal/elephant.off")
    reference = load(DEMO_MESHES / "cgal/elephant.off")
    assert doc.fields["faces"] == len(reference.faces)
    assert doc.fields["vertices"] == len(reference.vertices)
    assert doc.fields["area"] == pytest.approx(reference.area, rel=1e-6)
    assert doc.fields["format"] == "off" and doc.fields["class"] == "animal"
    assert len(doc.fields["sha256"]) == 64
    assert doc.content == DOCS[[d.id for d in DOCS].index("cgal/elephant.off")].content


@pytest.mark.parametrize("path", QUERIES)
@pytest.mark.parametrize("fmt", ["stl", "ply", "obj"])
async def test_a_moved_copy_in_another_format_finds_its_original(
    engine: Engine, path: str, fmt: str
) -> None:
    query = exported(moved(DEMO_MESHES / path, seed=len(path)), fmt)
    result = await _search(engine, query, k=3)
    assert result.hits[0].id == path or (
        # the Wuson files are one model in three formats: any of them is the original
        path.startswith("assimp/Wuson") and result.hits[0].id.startswith("assimp/Wuson")
    )
    assert result.hits[0].score > 0.9
    assert result.total == len(DOCS)


async def test_the_same_file_scores_one(engine: Engine) -> None:
    result = await _search(engine, file_content(DEMO_MESHES / "cgal/cow.off"), k=1)
    assert result.hits[0].id == "cgal/cow.off"
    assert result.hits[0].score == pytest.approx(1.0, abs=1e-5)


async def test_family_members_rank_before_other_shapes(engine: Engine) -> None:
    result = await _search(engine, file_content(DEMO_MESHES / "assimp/Wuson.off"), k=2)
    assert {h.id for h in result.hits} == {"assimp/Wuson.off", "assimp/Wuson.stl"}


async def test_filters_on_client_and_derived_fields(engine: Engine) -> None:
    query = file_content(DEMO_MESHES / "cgal/elephant.off")
    animals = await _search(engine, query, k=50, filter={"class": "animal"})
    expected = {row["path"] for row in ROWS if row["class"] == "animal"}
    assert {h.id for h in animals.hits} == expected and animals.total == len(expected)
    small = await _search(engine, query, k=50, filter={"faces": {"lte": 100}, "format": "off"})
    assert small.hits and all(h.fields["faces"] <= 100 for h in small.hits)
    assert all(h.fields["format"] == "off" for h in small.hits)


async def test_hits_carry_preview_urls_that_serve_png_and_glb(engine: Engine) -> None:
    result = await _search(engine, file_content(DEMO_MESHES / "cgal/pig.off"), k=1)
    hit = result.hits[0]
    assert hit.chunk is None
    assert hit.preview == {
        "png": "/v1/collections/designs/documents/cgal%2Fpig.off?depict=png",
        "glb": "/v1/collections/designs/documents/cgal%2Fpig.off?depict=glb",
    }
    png = await engine.depict("designs", "cgal/pig.off", "png")
    assert png.media_type == "image/png"
    image = Image.open(io.BytesIO(png.data))
    assert image.size == (256, 256)
    drawn = np.asarray(image.convert("RGBA"))[:, :, 3] > 0  # the background is transparent
    assert 0.05 < drawn.mean() < 0.9  # a drawing, not a blank or a filled square
    glb = await engine.depict("designs", "cgal/pig.off", "glb")
    assert glb.media_type == "model/gltf-binary"
    model = trimesh.load(io.BytesIO(glb.data), file_type="glb", force="mesh")
    assert 0 < len(model.faces) <= 2000


async def test_depict_errors(engine: Engine) -> None:
    with pytest.raises(InvalidInput) as bad:
        await engine.depict("designs", "cgal/pig.off", "svg")
    assert bad.value.field == "depict"
    with pytest.raises(NotFound):
        await engine.depict("designs", "no/such.off", "png")


async def test_a_missing_preview_is_rendered_again(engine: Engine) -> None:
    doc = await engine.get_document("designs", "cgal/cow.off")
    folder = engine._get("designs").store.path / "previews"
    (folder / f"{doc.fields['sha256']}.png").unlink()
    png = await engine.depict("designs", "cgal/cow.off", "png")
    assert png.data.startswith(b"\x89PNG") and (folder / f"{doc.fields['sha256']}.png").exists()


async def test_previews_go_with_the_last_document_that_uses_them(engine: Engine) -> None:
    content = file_content(DEMO_MESHES / "cgal/pig.off")
    await engine.upsert("designs", [Document("pig-copy", content, {})])
    doc = await engine.get_document("designs", "pig-copy")
    png = engine._get("designs").store.path / "previews" / f"{doc.fields['sha256']}.png"
    await engine.delete_document("designs", "pig-copy")
    assert png.exists()  # cgal/pig.off is the same file and still uses it
    await engine.upsert("designs", [Document("pig-copy", content, {})])
    await engine.delete_document("designs", "cgal/pig.off")
    await engine.delete_document("designs", "pig-copy")
    assert not png.exists()
    await engine.upsert("designs", [DOCS[[d.id for d in DOCS].index("cgal/pig.off")]])
    assert png.exists()


@pytest.mark.parametrize(
    ("content", "field", "message"),
    [
        ({"mesh_b64": "not base64!", "format": "stl"}, "mesh_b64", "base64"),
        ({"mesh_b64": "", "format": "off"}, "mesh_b64", ""),
        ({"format": "off"}, "mesh_b64", ""),
        ({"mesh_b64": "T0ZGCg==", "format": "dae"}, "format", "stl"),
    ],
)
async def test_bad_documents_name_the_field(
    engine: Engine, content: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as bad:
        await engine.upsert("designs", [Document("bad", content, {})])
    assert bad.value.field == f"documents[0].content.{field}"
    assert message in bad.value.detail and "'bad'" in bad.value.detail
    with pytest.raises(InvalidInput) as bad_query:
        await _search(engine, content)
    assert bad_query.value.field == f"query.{field}"


async def test_a_broken_file_is_refused_and_nothing_is_written(engine: Engine) -> None:
    content = {"mesh_b64": "T0ZGCjMgMSAwCjAgMCAwCjEgMCAwCjAgMSAwCjMgMCAxIDcK", "format": "off"}
    before = engine.collection_info("designs").count
    with pytest.raises(InvalidInput) as bad:
        await engine.upsert("designs", [DOCS[0], Document("broken", content, {})])
    assert bad.value.field == "documents[1].content.mesh_b64"
    assert "7" in bad.value.detail  # the vertex index that does not exist
    assert engine.collection_info("designs").count == before


async def test_modes_and_unknown_models_are_refused(engine: Engine) -> None:
    with pytest.raises(InvalidInput) as mode:
        await _search(engine, file_content(DEMO_MESHES / "cgal/cow.off"), mode="spelling")
    assert mode.value.field == "mode"
    with pytest.raises(InvalidInput) as model:
        await engine.create_collection(CollectionSpec("other", "mesh", model="pointnet-9"))
    assert model.value.field == "model" and "histogram" in model.value.detail


@pytest.mark.parametrize("model", ["histogram", "siamese"])
async def test_each_encoder_finds_a_moved_copy(engine: Engine, model: str) -> None:
    name = f"designs-{model}"
    await engine.create_collection(CollectionSpec(name, "mesh", model=model))
    await engine.upsert(name, DOCS[:20])
    assert engine.collection_info(name).model == model
    for doc in DOCS[:20:4]:
        query = exported(moved(DEMO_MESHES / doc.id, seed=3), "ply")
        result = await engine.search(name, SearchRequest(query, k=1))
        # the cube files are one cube (re-meshed, shuffled, moved): any of them will do
        family = doc.fields.get("family")
        same = {d.id for d in DOCS[:20] if family and d.fields.get("family") == family}
        assert result.hits[0].id in same | {doc.id}, (model, doc.id)
    await engine.delete_collection(name)


async def test_answers_survive_a_restart(tmp_path: Any) -> None:
    query = exported(moved(DEMO_MESHES / "cgal/elephant.off", seed=9), "stl")
    first = Engine(EngineOptions(data=tmp_path))
    await first.start()
    await first.create_collection(CollectionSpec("designs", "mesh", model="histogram"))
    await first.upsert("designs", DOCS[:12])
    before = await first.search("designs", SearchRequest(query, k=5))
    await first.close()
    reopened = Engine(EngineOptions(data=tmp_path))
    await reopened.start()
    try:
        after = await reopened.search("designs", SearchRequest(query, k=5))
        assert [(h.id, h.score) for h in after.hits] == [(h.id, h.score) for h in before.hits]
        assert (await reopened.depict("designs", DOCS[0].id, "png")).data.startswith(b"\x89PNG")
    finally:
        await reopened.close()
