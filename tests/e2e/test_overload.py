"""A full queue turns the excess away with 429 / RESOURCE_EXHAUSTED and a retry-after,
answers the rest correctly, and leaves the server healthy.

The server runs with ``IPSIM_MAX_QUEUE=2``: a burst of concurrent text searches (each a
distinct stored title, so none is answered from the page cache) overfills the encoder's
queue at once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest

from ipsim.clients.grpc import search_json, search_message
from ipsim.proto import ERROR_CODE_METADATA, RETRY_AFTER_METADATA, search_pb2_grpc

from .conftest import ServerProcess, start_server

COLLECTION = "overload"
BURST = 96
DEMO_PATENTS = Path(__file__).resolve().parents[2] / "demo" / "patents.jsonl"


@pytest.fixture(scope="module")
def titles() -> list[tuple[str, str]]:
    """(id, title) of distinct demo patent titles: stored documents and their queries."""
    seen: dict[str, str] = {}
    for line in DEMO_PATENTS.open(encoding="utf-8"):
        doc = json.loads(line)
        if doc["fields"].get("kind") == "title":
            seen.setdefault(doc["content"]["text"], doc["id"])
    return [(doc_id, text) for text, doc_id in seen.items()][: 2 * BURST]


@pytest.fixture(scope="module")
def tiny_queue(
    tmp_path_factory: pytest.TempPathFactory, titles: list[tuple[str, str]]
) -> Iterator[ServerProcess]:
    """A real server whose encoders queue at most 2 items, with the titles indexed."""
    proc = start_server(tmp_path_factory.mktemp("overload"), env={"IPSIM_MAX_QUEUE": "2"})
    try:
        with httpx.Client(base_url=proc.url, timeout=60) as http:
            body = {"name": COLLECTION, "modality": "text", "index": {"type": "flat"}}
            assert http.post("/v1/collections", json=body).status_code in (200, 201)
            # One request at a time: an empty queue takes a batch of any size.
            for start in range(0, len(titles), 64):
                docs = [
                    {"id": doc_id, "content": {"text": text}, "fields": {}}
                    for doc_id, text in titles[start : start + 64]
                ]
                answer = http.put(
                    f"/v1/collections/{COLLECTION}/documents", json={"documents": docs}
                )
                assert answer.status_code == 200, answer.text
        yield proc
    finally:
        if proc.process.poll() is None:
            proc.terminate()


async def _http_burst(url: str, queries: list[tuple[str, str]]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(queries))
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        return await asyncio.gather(
            *(
                http.post(
                    f"/v1/collections/{COLLECTION}/search", json={"query": {"text": t}, "k": 3}
                )
                for _, t in queries
            )
        )


def _assert_healthy(server: ServerProcess, query: tuple[str, str]) -> None:
    assert server.process.poll() is None
    assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
    answer = httpx.post(
        f"{server.url}/v1/collections/{COLLECTION}/search",
        json={"query": {"text": query[1]}, "k": 3},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["hits"][0]["id"] == query[0]


def test_http_burst_gets_429_with_retry_after_and_correct_answers(
    tiny_queue: ServerProcess, titles: list[tuple[str, str]]
) -> None:
    queries = titles[:BURST]
    answers = asyncio.run(_http_burst(tiny_queue.url, queries))
    statuses = [a.status_code for a in answers]
    assert 429 in statuses and 200 in statuses, statuses
    assert set(statuses) <= {200, 429}, statuses
    for (doc_id, _), answer in zip(queries, answers, strict=True):
        if answer.status_code == 429:
            retry_after = answer.headers["Retry-After"]
            assert retry_after.isdigit() and int(retry_after) >= 1, retry_after
            error = answer.json()
            assert set(error) == {"error"} and set(error["error"]) == {"code", "message"}
            assert error["error"]["code"] == "resource_exhausted"
            assert "queue is full" in error["error"]["message"]
        else:
            assert answer.json()["hits"][0]["id"] == doc_id
    _assert_healthy(tiny_queue, queries[0])


async def _grpc_burst(target: str, queries: list[tuple[str, str]]) -> list[Any]:
    async with grpc.aio.insecure_channel(target) as channel:
        stub: Any = search_pb2_grpc.SearchServiceStub(channel)  # type: ignore[no-untyped-call]

        async def one(text: str) -> Any:
            request = search_message(
                {"collection": COLLECTION, "query": {"text": text}, "k": 3}, ""
            )
            try:
                return await stub.Search(request)
            except grpc.aio.AioRpcError as exc:
                return exc

        return await asyncio.gather(*(one(t) for _, t in queries))


def test_grpc_burst_gets_resource_exhausted_with_retry_after(
    tiny_queue: ServerProcess, titles: list[tuple[str, str]]
) -> None:
    queries = titles[BURST : 2 * BURST]  # not searched before: no page cache
    answers = asyncio.run(_grpc_burst(tiny_queue.grpc, queries))
    rejected = [a for a in answers if isinstance(a, grpc.aio.AioRpcError)]
    assert rejected and len(rejected) < len(answers)
    for (doc_id, _), answer in zip(queries, answers, strict=True):
        if isinstance(answer, grpc.aio.AioRpcError):
            assert answer.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, answer
            metadata: Any = answer.trailing_metadata() or ()  # aio: (key, value) pairs
            trailing = {str(key): str(value) for key, value in metadata}
            assert trailing[ERROR_CODE_METADATA] == "resource_exhausted"
            retry_after = trailing[RETRY_AFTER_METADATA]
            assert retry_after.isdigit() and int(retry_after) >= 1, retry_after
        else:
            assert search_json(answer)["hits"][0]["id"] == doc_id
    _assert_healthy(tiny_queue, queries[0])
