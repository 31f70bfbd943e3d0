"""The Engine facade with the real text model: registry, models per collection, reopening."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ipsim.engine.engine import Engine, EngineOptions
from ipsim.engine.errors import Conflict, InvalidInput, NotFound
from ipsim.engine.types import CollectionSpec, Document, IndexSpec, SearchRequest
from ipsim.models.registry import bundled_text_model_dir


async def test_collections_keep_their_own_model_and_come_back_after_a_restart(
    tmp_path: Path,
) -> None:
    custom = tmp_path / "models" / "my-minilm"
    shutil.copytree(bundled_text_model_dir(), custom)
    engine = Engine(EngineOptions(data=tmp_path / "data"))
    await engine.start()
    own = await engine.create_collection(CollectionSpec("own", "text", model=str(custom)))
    default = await engine.create_collection(CollectionSpec("plain", "text", IndexSpec("hnsw")))
    assert own.model == str(custom.resolve())
    assert default.model == "all-MiniLM-L6-v2"  # not the model that happened to load first
    docs = [Document("a", {"text": "gear box"}, {"y": 1}), Document("b", {"text": "eye lens"}, {})]
    assert await engine.upsert("plain", docs) == 2
    with pytest.raises(Conflict):
        await engine.create_collection(CollectionSpec("plain", "text"))
    with pytest.raises(InvalidInput) as bad_model:
        await engine.create_collection(CollectionSpec("x", "text", model=str(tmp_path / "nope")))
    assert bad_model.value.field == "model"
    with pytest.raises(InvalidInput) as bad_index:
        await engine.create_collection(CollectionSpec("y", "text", IndexSpec("ivf", {"nlist": 0})))
    assert bad_index.value.field == "index.nlist"
    await engine.close()

    again = Engine(EngineOptions(data=tmp_path / "data"))
    await again.start()
    assert {c.name: c.model for c in again.list_collections()} == {
        "own": str(custom.resolve()),
        "plain": "all-MiniLM-L6-v2",
    }
    hits = (await again.search("plain", SearchRequest({"text": "gearbox"}, k=1))).hits
    assert hits[0].id == "a" and hits[0].fields == {"y": 1}
    await again.delete_document("plain", "a")
    with pytest.raises(NotFound):
        await again.get_document("plain", "a")
    await again.delete_collection("own")
    with pytest.raises(NotFound):
        again.collection_info("own")
    assert not (tmp_path / "data" / "collections" / "own").exists()
    await again.close()
