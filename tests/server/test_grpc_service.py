"""The gRPC front door against a fake engine: a real grpc.aio server on a free port, called
through GrpcClient and through raw stubs."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import zlib
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
import numpy as np
import pytest
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from ipsim.clients import errors
from ipsim.clients.grpc import GrpcClient
from ipsim.config import Settings
from ipsim.engine.errors import (
    Conflict,
    EngineError,
    InvalidInput,
    NotFound,
    NotReady,
    Overloaded,
)
from ipsim.engine.types import (
    MODALITIES,
    ChunkRef,
    CollectionInfo,
    CollectionSpec,
    Document,
    Hit,
    SearchRequest,
    SearchResult,
)
from ipsim.proto import search_pb2, search_pb2_grpc, to_struct
from ipsim.server.auth import ApiKeys
from ipsim.server.grpc_service import SERVICE_NAME, GrpcLimits, GrpcService, create_server

T = TypeVar("T")

# --- a fake engine with the Engine's interface ---------------------------------------------


@dataclass
class _FakeCollection:
    spec: CollectionSpec
    documents: dict[str, Document] = field(default_factory=dict)


class FakeEngine:
    """The Engine's interface over bag-of-words vectors and brute-force cosine similarity.

    Only ``{"text": str}`` content and queries; a query may carry ``delay_ms`` so tests can
    make early requests finish last. ``fail_next`` makes the next call raise it.
    """

    DIM = 64

    def __init__(self) -> None:
        self.collections: dict[str, _FakeCollection] = {}
        self.specs: list[CollectionSpec] = []
        self.searches: list[SearchRequest] = []
        self.fail_next: BaseException | None = None
        self.in_flight = self.most_in_flight = 0

    def _maybe_fail(self) -> None:
        failure, self.fail_next = self.fail_next, None
        if failure is not None:
            raise failure

    def _collection(self, name: str) -> _FakeCollection:
        if name not in self.collections:
            raise NotFound(f"no collection {name!r}")
        return self.collections[name]

    @classmethod
    def _vector(cls, text: str) -> np.ndarray:
        vector = np.zeros(cls.DIM, dtype=np.float32)
        for word in text.lower().split():
            vector[zlib.crc32(word.encode()) % cls.DIM] += 1.0
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else vector

    def _info(self, collection: _FakeCollection) -> CollectionInfo:
        spec = collection.spec
        return CollectionInfo(
            name=spec.name,
            modality=spec.modality,
            count=len(collection.documents),
            dim=self.DIM,
            index=spec.index.to_json(),
            shards=spec.shards,
            model=spec.model or "bag-of-words",
        )

    async def create_collection(self, spec: CollectionSpec) -> CollectionInfo:
        self._maybe_fail()
        self.specs.append(spec)
        if spec.modality not in MODALITIES:
            raise InvalidInput("modality", f"must be one of {', '.join(MODALITIES)}")
        if spec.name in self.collections:
            raise Conflict(f"collection {spec.name!r} already exists")
        self.collections[spec.name] = _FakeCollection(spec)
        return self._info(self.collections[spec.name])

    def list_collections(self) -> list[CollectionInfo]:
        self._maybe_fail()
        return [self._info(c) for c in self.collections.values()]

    def collection_info(self, name: str) -> CollectionInfo:
        self._maybe_fail()
        return self._info(self._collection(name))

    async def delete_collection(self, name: str) -> None:
        self._maybe_fail()
        self._collection(name)
        del self.collections[name]

    async def upsert(self, name: str, documents: list[Document]) -> int:
        self._maybe_fail()
        collection = self._collection(name)
        for i, document in enumerate(documents):  # all-or-nothing: check before writing
            if not isinstance(document.content.get("text"), str):
                raise InvalidInput(f"documents[{i}].content.text", "must be a string")
        for document in documents:
            collection.documents[document.id] = document
        return len(documents)

    async def get_document(self, name: str, doc_id: str) -> Document:
        self._maybe_fail()
        documents = self._collection(name).documents
        if doc_id not in documents:
            raise NotFound(f"no document {doc_id!r} in {name!r}")
        return documents[doc_id]

    async def delete_document(self, name: str, doc_id: str) -> None:
        await self.get_document(name, doc_id)
        del self.collections[name].documents[doc_id]

    async def search(self, name: str, request: SearchRequest) -> SearchResult:
        self._maybe_fail()
        self.searches.append(request)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(request.query.get("delay_ms", 0) / 1000)
        finally:
            self.in_flight -= 1
        collection = self._collection(name)
        text = request.query.get("text")
        if not isinstance(text, str):
            raise InvalidInput("query.text", "must be a string")
        candidates = [
            doc
            for doc in collection.documents.values()
            if all(doc.fields.get(key) == value for key, value in (request.filter or {}).items())
        ]
        query = self._vector(text)
        scored = sorted(
            ((float(self._vector(doc.content["text"]) @ query), doc) for doc in candidates),
            key=lambda pair: (-pair[0], pair[1].id),
        )
        page = scored[request.offset : request.offset + request.k]
        hits = [
            Hit(doc.id, score, doc.fields, ChunkRef(0, 0, len(doc.content["text"])))
            for score, doc in page
        ]
        return SearchResult(hits=hits, total=len(candidates), took_ms=0.25)


# --- a real server on a free port, in a thread of its own ----------------------------------

KEYS = ApiKeys(
    {
        "reader": frozenset({"read"}),
        "writer": frozenset({"read", "write"}),
        "admin": frozenset({"read", "write", "admin"}),
    }
)
LIMITS = GrpcLimits(
    max_k=50,
    max_offset=100,
    max_documents_per_request=20,
    max_message_bytes=64 * 1024,
    stream_window=4,
)


class ServerThread:
    """A grpc.aio server with the ipsim services over ``engine``, on its own event loop."""

    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server, self.service, port = self.run(self._start())
        self.target = f"127.0.0.1:{port}"

    async def _start(self) -> tuple[grpc.aio.Server, GrpcService, int]:
        server, service = create_server(self.engine, api_keys=KEYS, limits=LIMITS)  # type: ignore[arg-type]
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        await service.set_serving(True)
        return server, service, port

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)

    def stop(self) -> None:
        self.run(self.server.stop(None))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    running = ServerThread(FakeEngine())
    yield running
    running.stop()


@pytest.fixture
def engine(server: ServerThread) -> FakeEngine:
    server.engine.collections.clear()
    server.engine.specs.clear()
    server.engine.searches.clear()
    server.engine.fail_next = None
    server.engine.most_in_flight = 0
    return server.engine


@pytest.fixture
def client(server: ServerThread, engine: FakeEngine) -> Iterator[GrpcClient]:
    with GrpcClient(server.target, api_key="admin", timeout=10) as grpc_client:
        yield grpc_client


@pytest.fixture
def channel(server: ServerThread) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.target) as raw_channel:
        yield raw_channel


@pytest.fixture
def stub(channel: grpc.Channel) -> Any:
    return search_pb2_grpc.SearchServiceStub(channel)


def auth(key: str = "admin") -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {key}"),)


def rpc_error(call: Any, *args: Any, metadata: Any = None, **kwargs: Any) -> grpc.RpcError:
    """Run a raw stub call that must fail; return its error."""
    with pytest.raises(grpc.RpcError) as caught:
        call(*args, metadata=auth() if metadata is None else metadata, timeout=10, **kwargs)
    return caught.value


def wait_for(condition: Callable[[], bool], timeout: float = 3.0) -> bool:
    """Poll ``condition`` (state the server thread changes) until true or ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def trailing(error: grpc.RpcError) -> dict[str, str]:
    return {item.key: item.value for item in error.trailing_metadata()}


PATENTS = [
    {"id": "p1", "content": {"text": "folding bicycle frame hinge"}, "fields": {"year": 2020}},
    {"id": "p2", "content": {"text": "bicycle chain lubricant"}, "fields": {"year": 2019}},
    {"id": "p3", "content": {"text": "coffee roasting drum"}, "fields": {"year": 2020}},
    {"id": "p4", "content": {"text": "electric bicycle motor"}, "fields": {"year": 2021}},
    {"id": "p5", "content": {"text": "tea infuser"}, "fields": {"year": 2018, "tags": ["a"]}},
]


# --- collections ---------------------------------------------------------------------------


def test_collection_lifecycle_through_the_client(client: GrpcClient, engine: FakeEngine) -> None:
    created = client.create_collection("patents", "text", index={"type": "hnsw", "m": 16})
    assert created == {
        "name": "patents",
        "modality": "text",
        "count": 0,
        "dim": FakeEngine.DIM,
        "index": {"type": "hnsw", "m": 16},
        "shards": 1,
        "model": "bag-of-words",
    }
    assert [c["name"] for c in client.list_collections()] == ["patents"]
    assert client.get_collection("patents")["index"] == {"type": "hnsw", "m": 16}
    client.delete_collection("patents")
    assert client.list_collections() == []
    with pytest.raises(errors.NotFound):
        client.get_collection("patents")


def test_create_collection_gives_the_engine_a_typed_spec(stub: Any, engine: FakeEngine) -> None:
    request = search_pb2.CreateCollectionRequest(
        name="designs",
        modality="image",
        index=to_struct({"type": "ivf", "nlist": 64, "nprobe": 8}),
        shards=3,
        model="clip",
    )
    answer = stub.CreateCollection(request, metadata=auth(), timeout=10)
    spec = engine.specs[-1]
    assert (spec.name, spec.modality, spec.shards, spec.model) == ("designs", "image", 3, "clip")
    assert spec.index.type == "ivf"
    assert spec.index.params == {"nlist": 64, "nprobe": 8}
    assert all(type(v) is int for v in spec.index.params.values())  # not 64.0
    assert answer.shards == 3


def test_create_collection_defaults(stub: Any, engine: FakeEngine) -> None:
    stub.CreateCollection(
        search_pb2.CreateCollectionRequest(name="plain", modality="text"),
        metadata=auth(),
        timeout=10,
    )
    spec = engine.specs[-1]
    assert (spec.index.type, spec.index.params, spec.shards, spec.model) == ("auto", {}, 1, None)


def test_create_collection_twice_is_already_exists(client: GrpcClient, stub: Any) -> None:
    client.create_collection("patents", "text")
    with pytest.raises(errors.Conflict) as caught:
        client.create_collection("patents", "text")
    assert "already exists" in caught.value.message
    error = rpc_error(
        stub.CreateCollection,
        search_pb2.CreateCollectionRequest(name="patents", modality="text"),
    )
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert trailing(error)["ipsim-error-code"] == "conflict"


def test_engine_validation_error_is_invalid_argument_naming_the_field(stub: Any) -> None:
    error = rpc_error(
        stub.CreateCollection, search_pb2.CreateCollectionRequest(name="x", modality="smell")
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("modality:")


def test_index_type_must_be_a_string(stub: Any, engine: FakeEngine) -> None:
    request = search_pb2.CreateCollectionRequest(
        name="x", modality="text", index=to_struct({"type": 3})
    )
    error = rpc_error(stub.CreateCollection, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("index.type:")
    assert engine.specs == []


# --- documents -----------------------------------------------------------------------------


def test_upsert_streams_batches_and_documents_round_trip(
    client: GrpcClient, engine: FakeEngine
) -> None:
    client.create_collection("patents", "text")
    assert client.upsert("patents", PATENTS, batch_size=2) == 5
    assert client.get_collection("patents")["count"] == 5
    document = client.get("patents", "p5")
    assert document == {
        "id": "p5",
        "content": {"text": "tea infuser"},
        "fields": {"year": 2018, "tags": ["a"]},
    }
    assert type(document["fields"]["year"]) is int
    assert type(engine.collections["patents"].documents["p1"].fields["year"]) is int
    client.delete("patents", "p5")
    with pytest.raises(errors.NotFound):
        client.get("patents", "p5")
    with pytest.raises(errors.NotFound):
        client.delete("patents", "p5")


def test_upsert_error_names_the_document_by_its_position_in_the_stream(
    client: GrpcClient, engine: FakeEngine
) -> None:
    client.create_collection("patents", "text")
    documents = [dict(d) for d in PATENTS]
    documents[3] = {"id": "bad", "content": {"image_b64": "AAAA"}}
    with pytest.raises(errors.BadRequest) as caught:
        client.upsert("patents", documents, batch_size=2)
    assert caught.value.message.startswith("documents[3].content.text:")
    # The first message was written; the failing one (documents 2 and 3) was not, nor later ones.
    assert sorted(engine.collections["patents"].documents) == ["p1", "p2"]


@pytest.mark.parametrize(
    ("document", "field"),
    [
        (search_pb2.Document(id="", content=to_struct({"text": "x"})), "documents[0].id"),
        (search_pb2.Document(id="a"), "documents[0].content"),
    ],
)
def test_upsert_checks_the_shape_of_documents(
    stub: Any, engine: FakeEngine, document: search_pb2.Document, field: str
) -> None:
    engine.collections["c"] = _FakeCollection(CollectionSpec("c", "text"))
    request = search_pb2.UpsertRequest(collection="c", documents=[document])
    error = rpc_error(stub.Upsert, iter([request]))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith(f"{field}:")
    assert engine.collections["c"].documents == {}


def test_upsert_over_the_document_limit_is_payload_too_large(
    client: GrpcClient, stub: Any, engine: FakeEngine
) -> None:
    client.create_collection("patents", "text")
    many = [
        {"id": str(i), "content": {"text": "x"}}
        for i in range(LIMITS.max_documents_per_request + 1)
    ]
    with pytest.raises(errors.PayloadTooLarge):
        client.upsert("patents", many, batch_size=len(many))
    request = search_pb2.UpsertRequest(
        collection="patents",
        documents=[search_pb2.Document(id=d["id"], content=to_struct(d["content"])) for d in many],
    )
    error = rpc_error(stub.Upsert, iter([request]))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert trailing(error)["ipsim-error-code"] == "payload_too_large"
    assert "retry-after" not in trailing(error)
    assert client.upsert("patents", many, batch_size=10) == len(many)


def test_one_upsert_stream_writes_one_collection(stub: Any, engine: FakeEngine) -> None:
    for name in ("a", "b"):
        engine.collections[name] = _FakeCollection(CollectionSpec(name, "text"))
    doc = search_pb2.Document(id="1", content=to_struct({"text": "x"}))
    messages = [
        search_pb2.UpsertRequest(collection="a", documents=[doc]),
        search_pb2.UpsertRequest(documents=[doc]),  # may omit the name after the first
        search_pb2.UpsertRequest(collection="b", documents=[doc]),
    ]
    error = rpc_error(stub.Upsert, iter(messages))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("collection:")
    assert list(engine.collections["a"].documents) == ["1"]
    assert engine.collections["b"].documents == {}


def test_upsert_without_a_collection_name_or_to_an_unknown_one(stub: Any) -> None:
    assert rpc_error(stub.Upsert, iter([])).code() == grpc.StatusCode.INVALID_ARGUMENT
    error = rpc_error(stub.Upsert, iter([search_pb2.UpsertRequest(collection="nope")]))
    assert error.code() == grpc.StatusCode.NOT_FOUND


def test_document_calls_need_a_collection_and_an_id(stub: Any) -> None:
    error = rpc_error(stub.GetDocument, search_pb2.GetDocumentRequest(collection="c"))
    assert (error.code(), error.details()) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "id: must not be empty",
    )
    error = rpc_error(stub.DeleteDocument, search_pb2.DeleteDocumentRequest(id="1"))
    assert error.details() == "collection: must not be empty"


# --- search --------------------------------------------------------------------------------


def test_search_answers_like_the_http_api(client: GrpcClient, engine: FakeEngine) -> None:
    client.create_collection("patents", "text")
    client.upsert("patents", PATENTS)
    answer = client.search("patents", {"text": "bicycle"}, k=2, filter={"year": 2020})
    assert answer["total"] == 2
    assert answer["took_ms"] == 0.25
    assert [hit["id"] for hit in answer["hits"]] == ["p1", "p3"]
    first = answer["hits"][0]
    assert first["fields"] == {"year": 2020}
    assert first["chunk"] == {"index": 0, "start": 0, "end": len("folding bicycle frame hinge")}
    assert first["score"] == pytest.approx(0.5)
    assert engine.searches[-1].filter == {"year": 2020}
    assert type(engine.searches[-1].filter["year"]) is int
    # Unfiltered order: p2, p4 (tied, by id), p1, then the rest at 0.
    paged = client.search("patents", {"text": "bicycle"}, k=2, offset=2)
    assert [hit["id"] for hit in paged["hits"]] == ["p1", "p3"]
    assert paged["total"] == 5


def test_search_defaults_and_echoed_request_id(stub: Any, engine: FakeEngine) -> None:
    engine.collections["c"] = _FakeCollection(CollectionSpec("c", "text"))
    request = search_pb2.SearchRequest(
        collection="c", query=to_struct({"text": "x"}), request_id="q-7"
    )
    answer = stub.Search(request, metadata=auth(), timeout=10)
    assert answer.request_id == "q-7"
    assert not answer.HasField("error")
    sent = engine.searches[-1]
    assert (sent.k, sent.offset, sent.filter, sent.mode) == (10, 0, None, None)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"k": 0}, "k"),
        ({"k": LIMITS.max_k + 1}, "k"),
        ({"k": -3}, "k"),
        ({"offset": -1}, "offset"),
        ({"offset": LIMITS.max_offset + 1}, "offset"),
        ({"collection": ""}, "collection"),
        ({"query": None}, "query"),
    ],
)
def test_search_rejects_bad_requests_naming_the_field(
    stub: Any, engine: FakeEngine, changes: dict[str, Any], field: str
) -> None:
    fields: dict[str, Any] = {"collection": "c", "query": to_struct({"text": "x"})}
    fields.update(changes)
    request = search_pb2.SearchRequest(**{k: v for k, v in fields.items() if v is not None})
    error = rpc_error(stub.Search, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith(f"{field}:")
    assert engine.searches == []


@pytest.mark.parametrize(
    ("failure", "status", "code", "exception"),
    [
        (NotFound("no collection 'c'"), grpc.StatusCode.NOT_FOUND, "not_found", errors.NotFound),
        (NotReady("starting"), grpc.StatusCode.UNAVAILABLE, "unavailable", errors.Unavailable),
        (EngineError("disk full"), grpc.StatusCode.INTERNAL, "internal", errors.ServerError),
    ],
)
def test_engine_errors_become_status_codes(
    client: GrpcClient,
    stub: Any,
    engine: FakeEngine,
    failure: EngineError,
    status: grpc.StatusCode,
    code: str,
    exception: type[errors.IpsimError],
) -> None:
    engine.fail_next = failure
    error = rpc_error(stub.ListCollections, search_pb2.ListCollectionsRequest())
    assert (error.code(), error.details()) == (status, failure.message)
    assert trailing(error)["ipsim-error-code"] == code
    engine.fail_next = failure
    with pytest.raises(exception) as caught:
        client.list_collections()
    assert caught.value.code == code


def test_overloaded_is_resource_exhausted_with_retry_after(
    client: GrpcClient, stub: Any, engine: FakeEngine
) -> None:
    engine.collections["c"] = _FakeCollection(CollectionSpec("c", "text"))
    engine.fail_next = Overloaded("text queue is full", retry_after=3.2)
    request = search_pb2.SearchRequest(collection="c", query=to_struct({"text": "x"}))
    error = rpc_error(stub.Search, request)
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert trailing(error)["retry-after"] == "3"
    engine.fail_next = Overloaded("text queue is full", retry_after=0.2)
    with pytest.raises(errors.Overloaded) as caught:
        client.search("c", {"text": "x"})
    assert caught.value.retry_after == 1.0


def test_unexpected_exception_is_internal_logged_and_the_server_lives_on(
    client: GrpcClient, engine: FakeEngine, caplog: pytest.LogCaptureFixture
) -> None:
    engine.fail_next = RuntimeError("secret detail")
    with (
        caplog.at_level(logging.ERROR, logger="ipsim.server.grpc_service"),
        pytest.raises(errors.ServerError) as caught,
    ):
        client.list_collections()
    assert "secret detail" not in caught.value.message
    assert caught.value.code == "internal"
    assert any("secret detail" in (r.exc_text or "") for r in caplog.records)
    assert client.list_collections() == []


def test_a_message_over_the_size_limit_is_payload_too_large(client: GrpcClient) -> None:
    client.create_collection("patents", "text")
    with pytest.raises(errors.PayloadTooLarge):
        client.search("patents", {"text": "x" * (LIMITS.max_message_bytes + 1)})


# --- SearchStream --------------------------------------------------------------------------


def test_search_stream_answers_in_order_and_survives_a_bad_request(
    stub: Any, engine: FakeEngine
) -> None:
    engine.collections["c"] = _FakeCollection(CollectionSpec("c", "text"))
    engine.collections["c"].documents["d"] = Document("d", {"text": "bicycle"})

    def request(request_id: str, **changes: Any) -> search_pb2.SearchRequest:
        fields: dict[str, Any] = {"collection": "c", "query": to_struct({"text": "bicycle"})}
        fields.update(changes)
        return search_pb2.SearchRequest(request_id=request_id, **fields)

    requests = [request("a"), request("b", k=0), request("c", collection="nope"), request("d")]
    answers = list(stub.SearchStream(iter(requests), metadata=auth(), timeout=10))
    assert [a.request_id for a in answers] == ["a", "b", "c", "d"]
    assert [a.HasField("error") for a in answers] == [False, True, True, False]
    assert (answers[1].error.code, answers[1].error.reason) == (
        grpc.StatusCode.INVALID_ARGUMENT.value[0],
        "invalid_argument",
    )
    assert answers[1].error.message.startswith("k:")
    assert (answers[2].error.code, answers[2].error.reason) == (
        grpc.StatusCode.NOT_FOUND.value[0],
        "not_found",
    )
    assert [h.id for h in answers[3].hits] == ["d"]


def test_search_stream_keeps_order_when_later_requests_finish_first(
    client: GrpcClient, engine: FakeEngine
) -> None:
    client.create_collection("c", "text")
    client.upsert("c", PATENTS)
    # Earlier requests sleep longer; the window (4) lets several run at once.
    requests = [
        {"collection": "c", "query": {"text": "bicycle", "delay_ms": (12 - i) * 3}, "k": 1}
        for i in range(12)
    ]
    requests[5]["k"] = 0
    answers = list(client.search_stream(requests))
    assert [a["request_id"] for a in answers] == [str(i) for i in range(12)]
    assert answers[5] == {
        "request_id": "5",
        "error": {"code": "invalid_argument", "message": answers[5]["error"]["message"]},
    }
    assert all(a["hits"][0]["id"] == "p2" for i, a in enumerate(answers) if i != 5)
    assert len(engine.searches) == 11
    # Requests ran together (so the engine can batch them), but no more than the window.
    assert 1 < engine.most_in_flight <= LIMITS.stream_window


def test_a_client_leaving_a_stream_cancels_its_searches(
    client: GrpcClient, engine: FakeEngine
) -> None:
    client.create_collection("c", "text")
    slow = {"collection": "c", "query": {"text": "x", "delay_ms": 10_000}}
    requests = [{"collection": "c", "query": {"text": "x"}}] + [slow] * 10
    stream = client.search_stream(requests)
    assert next(stream)["request_id"] == "0"
    assert wait_for(lambda: engine.in_flight == LIMITS.stream_window)  # the window is full
    stream.close()
    assert wait_for(lambda: engine.in_flight == 0)  # cancelled, not left sleeping for 10 s
    assert engine.most_in_flight == LIMITS.stream_window
    assert client.list_collections()[0]["name"] == "c"


def test_search_stream_overload_error_carries_retry_after(
    client: GrpcClient, engine: FakeEngine
) -> None:
    client.create_collection("c", "text")
    engine.fail_next = Overloaded("full", retry_after=2.5)
    answers = list(client.search_stream([{"collection": "c", "query": {"text": "x"}}]))
    assert answers == [
        {
            "request_id": "0",
            "error": {"code": "resource_exhausted", "message": "full", "retry_after": 2.5},
        }
    ]


def test_search_stream_internal_error_answers_for_one_request(
    client: GrpcClient, engine: FakeEngine
) -> None:
    client.create_collection("c", "text")
    engine.fail_next = RuntimeError("boom")
    requests = [{"collection": "c", "query": {"text": "x"}, "request_id": r} for r in "xy"]
    answers = list(client.search_stream(requests))
    assert answers[0]["error"]["code"] == "internal"
    assert "boom" not in answers[0]["error"]["message"]
    assert answers[1] == {
        "request_id": "y",
        "hits": [],
        "total": 0,
        "took_ms": 0.25,
        "truncated": False,
    }


# --- auth ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "request_message", "metadata", "status"),
    [
        ("ListCollections", search_pb2.ListCollectionsRequest(), (), "UNAUTHENTICATED"),
        ("ListCollections", search_pb2.ListCollectionsRequest(), auth("who"), "UNAUTHENTICATED"),
        (
            "ListCollections",
            search_pb2.ListCollectionsRequest(),
            (("authorization", "Basic admin"),),
            "UNAUTHENTICATED",
        ),
        ("ListCollections", search_pb2.ListCollectionsRequest(), auth("reader"), "OK"),
        (
            "CreateCollection",
            search_pb2.CreateCollectionRequest(name="x", modality="text"),
            auth("writer"),
            "PERMISSION_DENIED",
        ),
        (
            "DeleteCollection",
            search_pb2.DeleteCollectionRequest(name="x"),
            auth("writer"),
            "PERMISSION_DENIED",
        ),
        (
            "DeleteDocument",
            search_pb2.DeleteDocumentRequest(collection="x", id="1"),
            auth("reader"),
            "PERMISSION_DENIED",
        ),
        (
            "DeleteDocument",
            search_pb2.DeleteDocumentRequest(collection="x", id="1"),
            auth("writer"),
            "NOT_FOUND",  # authorized; the collection does not exist
        ),
        ("GetCollection", search_pb2.GetCollectionRequest(name="x"), auth("reader"), "NOT_FOUND"),
        ("Search", search_pb2.SearchRequest(collection="x"), (), "UNAUTHENTICATED"),
    ],
)
def test_each_rpc_needs_its_scope(
    stub: Any,
    engine: FakeEngine,
    method: str,
    request_message: Any,
    metadata: tuple[tuple[str, str], ...],
    status: str,
) -> None:
    call = getattr(stub, method)
    if status == "OK":
        call(request_message, metadata=metadata, timeout=10)
        return
    error = rpc_error(call, request_message, metadata=metadata)
    assert error.code() == getattr(grpc.StatusCode, status)


def test_streaming_rpcs_need_their_scope(server: ServerThread, engine: FakeEngine) -> None:
    engine.collections["c"] = _FakeCollection(CollectionSpec("c", "text"))
    docs = [{"id": "1", "content": {"text": "x"}}]
    with GrpcClient(server.target, api_key="reader") as reader:
        with pytest.raises(errors.PermissionDenied):
            reader.upsert("c", docs)
        assert list(reader.search_stream([{"collection": "c", "query": {"text": "x"}}]))
    with (
        GrpcClient(server.target, api_key="nobody") as stranger,
        pytest.raises(errors.Unauthenticated),
    ):
        list(stranger.search_stream([{"collection": "c", "query": {"text": "x"}}]))
    with GrpcClient(server.target, api_key="writer") as writer:
        assert writer.upsert("c", docs) == 1


# --- health and reflection -----------------------------------------------------------------


def test_health_needs_no_key_and_follows_set_serving(
    server: ServerThread, channel: grpc.Channel
) -> None:
    health = health_pb2_grpc.HealthStub(channel)

    def status(service: str) -> int:
        request = health_pb2.HealthCheckRequest(service=service)
        return int(health.Check(request, timeout=10).status)

    serving = health_pb2.HealthCheckResponse.SERVING
    assert status("") == serving
    assert status(SERVICE_NAME) == serving
    server.run(server.service.set_serving(False))
    try:
        assert status("") == health_pb2.HealthCheckResponse.NOT_SERVING
        assert status(SERVICE_NAME) == health_pb2.HealthCheckResponse.NOT_SERVING
    finally:
        server.run(server.service.set_serving(True))


def test_reflection_lists_the_services_with_the_real_proto_path(channel: grpc.Channel) -> None:
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    requests = [
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol=SERVICE_NAME),
    ]
    listed, found = list(reflection.ServerReflectionInfo(iter(requests), timeout=10))
    names = {service.name for service in listed.list_services_response.service}
    assert {"ipsim.v1.SearchService", "grpc.health.v1.Health"} <= names
    files = [
        descriptor_pb2.FileDescriptorProto.FromString(raw).name
        for raw in found.file_descriptor_response.file_descriptor_proto
    ]
    assert "ipsim/v1/search.proto" in files


def test_limits_come_from_the_settings() -> None:
    settings = Settings(max_k=7, max_offset=9, max_documents_per_request=11, max_body_bytes=4096)
    limits = GrpcLimits.from_settings(settings)
    assert (limits.max_k, limits.max_offset) == (7, 9)
    assert (limits.max_documents_per_request, limits.max_message_bytes) == (11, 4096)
