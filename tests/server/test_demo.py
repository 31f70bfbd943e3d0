"""The demo collections `make serve` builds: every file is there, and the designs load."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from support.meshes import demo_labels

import ipsim.server.demo as demo_module
from ipsim.engine.engine import Engine, EngineOptions
from ipsim.engine.types import SearchRequest
from ipsim.server.demo import DEMO_DIR, DEMOS, build_demo


def test_every_demo_file_ships() -> None:
    for demo in DEMOS:
        assert (DEMO_DIR / demo.file).exists(), demo.file
    for row in demo_labels():
        assert (DEMO_DIR / "meshes" / row["path"]).is_file(), row["path"]


@asynccontextmanager
async def demo_of(
    modality: str, data: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Engine]:
    """An engine on ``data`` with the demo collections of ``modality`` built."""
    chosen = tuple(d for d in DEMOS if d.modality == modality)
    monkeypatch.setattr(demo_module, "DEMOS", chosen)
    engine = Engine(EngineOptions(data=data))
    await engine.start()
    try:
        await build_demo(engine)
        yield engine
    finally:
        await engine.close()


async def test_the_designs_demo_builds_and_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with demo_of("mesh", tmp_path, monkeypatch) as engine:
        await build_demo(engine)  # a second start finds it complete and adds nothing
        assert engine.collection_info("designs").count == len(demo_labels())
        cow = await engine.get_document("designs", "cgal/cow.off")
        assert cow.fields["class"] == "animal" and cow.fields["format"] == "off"
        found = await engine.search(
            "designs", SearchRequest({"mesh_b64": cow.content["mesh_b64"], "format": "off"}, k=1)
        )
        assert found.hits[0].id == "cgal/cow.off"


async def test_the_sequences_demo_builds_from_its_st26_listings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with demo_of("sequence", tmp_path, monkeypatch) as engine:
        assert engine.collection_info("sequences").count > 300  # Pfam seed, one listing a family
        globin = await engine.get_document("sequences", "globins4:1")
        assert globin.fields["format"] == "st26" and globin.fields["moltype"] == "protein"
        query = {"sequence": globin.content["sequence"][5:-5]}
        found = await engine.search("sequences", SearchRequest(query, k=1))
        assert found.hits[0].id == "globins4:1"
