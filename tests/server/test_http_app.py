"""The HTTP layer against a fake engine: parsing, error mapping, auth, limits, metrics."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ipsim.config import Settings
from ipsim.engine.errors import InvalidInput, NotFound, NotReady, Overloaded
from ipsim.engine.types import (
    ChunkRef,
    CollectionInfo,
    CollectionSpec,
    Document,
    Hit,
    SearchRequest,
    SearchResult,
)
from ipsim.server.app import create_app
from ipsim.server.auth import ApiKeys


class FakeEngine:
    """Just enough engine: records calls, raises what a test asks it to."""

    def __init__(self) -> None:
        self.ready = True
        self.raise_on_search: Exception | None = None
        self.searches: list[SearchRequest] = []
        self.specs: list[CollectionSpec] = []

    async def create_collection(self, spec: CollectionSpec) -> CollectionInfo:
        self.specs.append(spec)
        return self.collection_info(spec.name)

    def list_collections(self) -> list[CollectionInfo]:
        return [self.collection_info("c")]

    def collection_info(self, name: str) -> CollectionInfo:
        if name == "missing":
            raise NotFound("collection 'missing' does not exist")
        return CollectionInfo(name, "text", 2, 4, {"type": "flat"}, 1, "fake")

    async def upsert(self, name: str, documents: Sequence[Document]) -> int:
        return len(documents)

    async def get_document(self, name: str, doc_id: str) -> Document:
        return Document(doc_id, {"text": "t"}, {"a": 1})

    async def delete_document(self, name: str, doc_id: str) -> None:
        return None

    async def delete_collection(self, name: str) -> None:
        return None

    async def search(self, name: str, request: SearchRequest) -> SearchResult:
        self.searches.append(request)
        if self.raise_on_search is not None:
            raise self.raise_on_search
        return SearchResult([Hit("d1", 0.5, {"a": 1}, ChunkRef(0, 0, 4))], total=1, took_ms=1.0)


def make_client(engine: FakeEngine, keys: ApiKeys | None = None, **settings: Any) -> TestClient:
    app = create_app(engine, Settings(**settings), keys)  # type: ignore[arg-type]
    return TestClient(app, raise_server_exceptions=False)


def test_search_body_reaches_the_engine_typed_and_hits_come_back() -> None:
    engine = FakeEngine()
    client = make_client(engine)
    answer = client.post(
        "/v1/collections/c/search",
        json={"query": {"text": "x"}, "k": 3, "offset": 6, "filter": {"a": 1}},
    )
    assert answer.status_code == 200
    assert answer.json()["hits"] == [
        {
            "id": "d1",
            "score": 0.5,
            "fields": {"a": 1},
            "chunk": {"index": 0, "start": 0, "end": 4},
            "match": None,
            "preview": None,
        }
    ]
    assert engine.searches[0] == SearchRequest({"text": "x"}, k=3, offset=6, filter={"a": 1})


def test_index_parameters_travel_to_the_engine() -> None:
    engine = FakeEngine()
    client = make_client(engine)
    body = {"name": "n", "modality": "text", "index": {"type": "hnsw", "M": 16}, "shards": 2}
    assert client.post("/v1/collections", json=body).status_code == 201
    spec = engine.specs[0]
    assert (spec.index.type, spec.index.params, spec.shards) == ("hnsw", {"M": 16}, 2)


def test_a_body_sent_without_json_content_type_is_still_json() -> None:
    client = make_client(FakeEngine())
    answer = client.post(
        "/v1/collections/c/search",
        content=b'{"query": {"text": "x"}}',
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (InvalidInput("query.text", "must not be empty"), 400, "invalid_argument"),
        (NotFound("collection 'x' does not exist"), 404, "not_found"),
        (Overloaded("queue full", retry_after=2.6), 429, "resource_exhausted"),
        (NotReady("starting"), 503, "unavailable"),
        (RuntimeError("bug"), 500, "internal"),
    ],
)
def test_engine_errors_map_to_status_and_code(error: Exception, status: int, code: str) -> None:
    engine = FakeEngine()
    engine.raise_on_search = error
    answer = make_client(engine).post("/v1/collections/c/search", json={"query": {"text": "x"}})
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code
    if status == 429:
        assert answer.headers["Retry-After"] == "3"
    if status == 500:
        assert "bug" not in answer.json()["error"]["message"]  # no internals leak


def test_unknown_body_keys_and_wrong_types_name_the_field() -> None:
    client = make_client(FakeEngine())
    typo = client.post("/v1/collections/c/search", json={"query": {"text": "x"}, "top_k": 3})
    assert typo.status_code == 400 and typo.json()["error"]["message"].startswith("top_k: unknown")
    wrong = client.put(
        "/v1/collections/c/documents", json={"documents": [{"id": 1, "content": {}}]}
    )
    assert wrong.json()["error"]["message"].startswith("documents.0.id")


def test_body_limit_refuses_large_and_chunked_bodies() -> None:
    client = make_client(FakeEngine(), max_body_bytes=2048)
    big = client.post("/v1/collections/c/search", json={"query": {"text": "x" * 5000}})
    assert big.status_code == 413 and big.json()["error"]["code"] == "payload_too_large"

    def chunks() -> Any:
        for _ in range(10):
            yield b" " * 1000

    chunked = client.post("/v1/collections/c/search", content=chunks())
    assert chunked.status_code == 413


def test_too_many_documents_in_one_request_is_413() -> None:
    client = make_client(FakeEngine(), max_documents_per_request=2)
    docs = [{"id": str(i), "content": {"text": "t"}} for i in range(3)]
    answer = client.put("/v1/collections/c/documents", json={"documents": docs})
    assert answer.status_code == 413


def test_scopes(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text("r read\nw write\na admin\n")
    client = make_client(FakeEngine(), ApiKeys.load(keys_file))
    search = {"query": {"text": "x"}}
    assert client.post("/v1/collections/c/search", json=search).status_code == 401
    assert (
        client.post(
            "/v1/collections/c/search", json=search, headers={"Authorization": "Bearer r"}
        ).status_code
        == 200
    )
    doc = {"documents": [{"id": "1", "content": {"text": "t"}}]}
    assert (
        client.put(
            "/v1/collections/c/documents", json=doc, headers={"Authorization": "Bearer r"}
        ).status_code
        == 403
    )
    assert (
        client.put(
            "/v1/collections/c/documents", json=doc, headers={"Authorization": "Bearer w"}
        ).status_code
        == 200
    )
    create = {"name": "n", "modality": "text"}
    assert (
        client.post(
            "/v1/collections", json=create, headers={"Authorization": "Bearer w"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/v1/collections", json=create, headers={"Authorization": "Bearer a"}
        ).status_code
        == 201
    )
    assert client.get("/healthz").status_code == 200


def test_readyz_follows_the_engine() -> None:
    engine = FakeEngine()
    client = make_client(engine)
    assert client.get("/readyz").status_code == 200
    engine.ready = False
    assert client.get("/readyz").status_code == 503


def test_metrics_are_labelled_by_route_template() -> None:
    client = make_client(FakeEngine())
    client.post("/v1/collections/c/search", json={"query": {"text": "x"}})
    text = client.get("/metrics").text
    assert 'route="/v1/collections/{name}/search"' in text


def test_document_ids_with_slashes_reach_the_engine() -> None:
    client = make_client(FakeEngine())
    assert client.get("/v1/collections/c/documents/WO%2F2020%2F123").json()["id"] == "WO/2020/123"


def test_api_keys_file_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "keys"
    bad.write_text("k read\nk2 superuser\n")
    with pytest.raises(ValueError, match=":2: unknown scope"):
        ApiKeys.load(bad)
