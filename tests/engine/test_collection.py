"""The query pipeline over a real store, with a small deterministic encoder."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest

from ipsim.engine.batcher import DynamicBatcher
from ipsim.engine.collection import Collection
from ipsim.engine.errors import InvalidInput
from ipsim.engine.pages import PageCache
from ipsim.engine.types import Document, SearchRequest
from ipsim.indexers.store import CollectionStore, DocHit, SearchAnswer
from ipsim.models.base import InvalidContent, Prepared, Purpose, Span

DIM = 16


class WordEncoder:
    """Bag of hashed words, normalised: texts sharing words are similar. One unit per line."""

    name = "words"
    modality = "text"
    dim = DIM
    metric: Literal["ip", "l2"] = "ip"
    device = "cpu"

    def preprocess(self, content: Mapping[str, Any], purpose: Purpose) -> Prepared[str]:
        text = content.get("text")
        if not isinstance(text, str) or not text.strip():
            raise InvalidContent("text", "must be a non-empty string")
        lines, spans, start = [], [], 0
        for line in text.split("\n"):
            lines.append(line)
            spans.append(Span(start, start + len(line)))
            start += len(line) + 1
        return Prepared(units=lines, spans=spans)

    def encode(self, units: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(units), DIM), dtype=np.float32)
        for row, unit in enumerate(units):
            for word in unit.lower().split():
                out[row, hashlib.sha1(word.encode()).digest()[0] % DIM] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


async def make_collection(tmp_path: Path, index: str = "flat") -> Collection:
    encoder = WordEncoder()
    store = CollectionStore.create(
        tmp_path / "c",
        dim=DIM,
        metric="ip",
        index_type=index,
        index_params={},
        shards=1,
        meta={"modality": "text", "model": "words"},
    )
    batcher: DynamicBatcher[Any, np.ndarray] = DynamicBatcher(
        "words", lambda units: list(encoder.encode(units)), max_batch_size=32, max_delay_ms=1
    )
    pages: PageCache[DocHit] = PageCache()
    return Collection("c", store, encoder, batcher, pages)


def docs(n: int) -> list[Document]:
    words = ["gear", "blade", "rotor", "valve", "pump", "lens", "cell", "wire"]
    return [
        Document(f"d{i:03d}", {"text": f"{words[i % 8]} {words[(i * 3) % 8]} part {i}"}, {"n": i})
        for i in range(n)
    ]


async def test_concurrent_searches_share_index_calls_and_answer_each_query(tmp_path: Path) -> None:
    collection = await make_collection(tmp_path)
    await collection.upsert(docs(200))
    calls: list[int] = []
    search = collection.store.search_reported

    def counting(queries: np.ndarray, k: int, flt: Any = None) -> SearchAnswer:
        calls.append(len(queries))
        return search(queries, k, flt)

    collection.store.search_reported = counting  # type: ignore[method-assign]
    texts = [f"rotor blade part {i}" for i in range(40)]
    results = await asyncio.gather(
        *(collection.search(SearchRequest({"text": t}, k=3)) for t in texts)
    )
    assert sum(calls) == 40 and len(calls) < 40  # batched
    for text, result in zip(texts, results, strict=True):
        alone = collection.store.search(np.stack([collection.encoder.encode([text])[0]]), 64, None)[
            0
        ][:3]
        assert [h.id for h in result.hits] == [h.id for h in alone]
    await collection.close()


async def test_multi_line_documents_report_the_matching_chunk(tmp_path: Path) -> None:
    collection = await make_collection(tmp_path)
    await collection.upsert(
        [Document("long", {"text": "gear wire\nlens lens cell\npump valve"}, {}), *docs(20)]
    )
    result = await collection.search(SearchRequest({"text": "lens cell"}, k=1))
    hit = result.hits[0]
    assert hit.id == "long" and hit.chunk is not None
    assert (hit.chunk.index, hit.chunk.start, hit.chunk.end) == (1, 10, 24)
    await collection.close()


async def test_filter_and_total(tmp_path: Path) -> None:
    collection = await make_collection(tmp_path)
    await collection.upsert(docs(100))
    result = await collection.search(
        SearchRequest({"text": "gear"}, k=5, filter={"n": {"gte": 90}})
    )
    assert result.total == 10
    assert all(h.fields["n"] >= 90 for h in result.hits) and len(result.hits) == 5
    await collection.close()


async def test_pages_of_an_approximate_index_never_repeat(tmp_path: Path) -> None:
    collection = await make_collection(tmp_path, index="hnsw")
    await collection.upsert(docs(300))
    seen: list[str] = []
    for offset in range(0, 150, 10):
        page = await collection.search(SearchRequest({"text": "pump lens"}, k=10, offset=offset))
        seen += [h.id for h in page.hits]
    assert len(seen) == 150 == len(set(seen))
    await collection.close()


async def test_a_bad_document_names_its_position_and_writes_nothing(tmp_path: Path) -> None:
    collection = await make_collection(tmp_path)
    bad = [*docs(2), Document("x", {"text": ""}, {})]
    with pytest.raises(InvalidInput) as caught:
        await collection.upsert(bad)
    assert caught.value.field == "documents[2].content.text"
    assert len(collection.store) == 0
    with pytest.raises(InvalidInput, match="duplicate"):
        await collection.upsert([*docs(1), *docs(1)])
    with pytest.raises(InvalidInput) as mode:
        await collection.search(SearchRequest({"text": "gear"}, mode="phonetic"))
    assert mode.value.field == "mode"
    await collection.close()
