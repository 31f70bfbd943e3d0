"""The demo collections `make serve` builds: every file is there, and the designs load."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.meshes import demo_labels

from ipsim.engine.engine import Engine, EngineOptions
from ipsim.engine.types import SearchRequest
from ipsim.server.demo import DEMO_DIR, DEMOS, build_demo


def test_every_demo_file_ships() -> None:
    for demo in DEMOS:
        assert (DEMO_DIR / demo.file).exists(), demo.file
    for row in demo_labels():
        assert (DEMO_DIR / "meshes" / row["path"]).is_file(), row["path"]


async def test_the_designs_demo_builds_and_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ipsim.server.demo as demo_module

    designs = [d for d in DEMOS if d.modality == "mesh"]
    monkeypatch.setattr(demo_module, "DEMOS", tuple(designs))
    engine = Engine(EngineOptions(data=tmp_path))
    await engine.start()
    try:
        await build_demo(engine)
        await build_demo(engine)  # a second start finds it complete and adds nothing
        rows = demo_labels()
        assert engine.collection_info("designs").count == len(rows)
        cow = await engine.get_document("designs", "cgal/cow.off")
        assert cow.fields["class"] == "animal" and cow.fields["format"] == "off"
        found = await engine.search(
            "designs", SearchRequest({"mesh_b64": cow.content["mesh_b64"], "format": "off"}, k=1)
        )
        assert found.hits[0].id == "cgal/cow.off"
    finally:
        await engine.close()


async def test_the_sequences_demo_builds_from_its_st26_listings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ipsim.server.demo as demo_module

    listings = [d for d in DEMOS if d.modality == "sequence"]
    monkeypatch.setattr(demo_module, "DEMOS", tuple(listings))
    engine = Engine(EngineOptions(data=tmp_path))
    await engine.start()
    try:
        await build_demo(engine)
        info = engine.collection_info("sequences")
        assert info.count > 300  # the Pfam seed sequences, one listing per family
        globin = await engine.get_document("sequences", "globins4:1")
        assert globin.fields["format"] == "st26" and globin.fields["moltype"] == "protein"
        query = {"sequence": globin.content["sequence"][5:-5]}
        found = await engine.search("sequences", SearchRequest(query, k=1))
        assert found.hits[0].id == "globins4:1"
    finally:
        await engine.close()
