"""BI counts the documents of the engine's text collections, read through the platform's
engine facade from a real in-process engine: added when a collection changes, dropped when
it is deleted, documents without a country or date left out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from ipsim.engine.engine import Engine, EngineOptions
from ipsim.engine.types import CollectionSpec, Document
from ipsim.platform.bi.analytics import BiService
from ipsim.platform.filing.facade import EngineFacade
from ipsim.platform.services import Platform


def _doc(i: int, country: str | None, filed: str | None, ipc: object = None) -> Document:
    fields: dict[str, object] = {"title": f"doc {i}"}
    if country:
        fields["country"] = country
    if filed:
        fields["filing_date"] = filed
    if ipc is not None:
        fields["ipc"] = ipc
    return Document(
        id=f"d{i}", content={"text": f"a folding bicycle frame number {i}"}, fields=fields
    )


@pytest_asyncio.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    started = Engine(EngineOptions(data=tmp_path / "data"))
    await started.start()
    await started.create_collection(CollectionSpec("patents", "text"))
    await started.create_collection(CollectionSpec("marks", "trademark"))
    yield started
    await started.close()


def _counts(bi: BiService) -> dict[str, float]:
    with bi.store.cursor() as cur:
        rows = cur.execute(
            "SELECT country, count(*) FROM filings WHERE source = 'collection:patents'"
            " GROUP BY country"
        ).fetchall()
    return {str(c): float(n) for c, n in rows}


async def test_text_collection_documents_are_counted_and_follow_changes(
    engine: Engine, tmp_path: Path
) -> None:
    platform = Platform.open(f"sqlite:///{tmp_path / 'platform.db'}", tmp_path)
    bi = BiService(platform.database, min_interval_s=0.0)
    try:
        bi.store.attach_collections(EngineFacade(engine))
        await engine.upsert(
            "patents",
            [
                _doc(1, "RU", "2020-03-01", ["A61K 31/00"]),
                _doc(2, "de", "2021-07-15T00:00:00Z", "H01M 10/052"),
                _doc(3, None, "2021-01-01"),  # no country: left out
                _doc(4, "RU", "not a date"),  # no date: left out
            ],
        )
        first = await asyncio.to_thread(bi.store.refresh, force=True)
        assert first.documents == 2
        assert _counts(bi) == {"RU": 1.0, "DE": 1.0}
        with bi.store.cursor() as cur:
            fields = cur.execute(
                "SELECT f.id, ff.field FROM filings f JOIN filing_fields ff USING (id)"
                " WHERE f.source = 'collection:patents' ORDER BY f.id"
            ).fetchall()
        # A61K 31 → 16 Pharmaceuticals, H01M → 1 Electrical machinery (the concordance)
        assert fields == [("doc/patents/d1", 16), ("doc/patents/d2", 1)]

        unchanged = await asyncio.to_thread(bi.store.refresh, force=True)
        assert unchanged.documents == 0  # same version: not read again

        await engine.upsert("patents", [_doc(5, "CN", "2022-02-02")])
        await engine.delete_document("patents", "d1")
        again = await asyncio.to_thread(bi.store.refresh, force=True)
        assert again.documents == 2 and _counts(bi) == {"DE": 1.0, "CN": 1.0}

        await engine.delete_collection("patents")
        await asyncio.to_thread(bi.store.refresh, force=True)
        assert _counts(bi) == {}
    finally:
        bi.store.close()
        platform.bi.store.close()
        platform.database.dispose()
