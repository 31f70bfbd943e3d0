"""GrpcClient against a recording SearchService: what it sends, how it reads the answers, and
which exception each gRPC failure becomes. Also the JSON ↔ Struct conversion it relies on."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest

from ipsim.clients import errors
from ipsim.clients.grpc import GrpcClient
from ipsim.proto import from_struct, search_pb2, search_pb2_grpc, to_struct

Failure = tuple[grpc.StatusCode, str, tuple[tuple[str, str], ...]]
K_ERROR = "k: must be an integer from 1 to 1000"


class RecordingServicer(search_pb2_grpc.SearchServiceServicer):
    """SearchService with canned answers; keeps every request and its metadata."""

    def __init__(self) -> None:
        self.requests: list[Any] = []
        self.metadata: list[dict[str, str]] = []
        self.fail: Failure | None = None

    def _record(self, request: Any, context: grpc.ServicerContext) -> None:
        self.requests.append(request)
        self.metadata.append({m.key: m.value for m in context.invocation_metadata()})
        if self.fail is not None:
            status, details, trailing = self.fail
            context.set_trailing_metadata(trailing)
            context.abort(status, details)

    @staticmethod
    def _collection(name: str) -> search_pb2.Collection:
        return search_pb2.Collection(
            name=name,
            modality="text",
            count=3,
            dim=384,
            index=to_struct({"type": "hnsw", "m": 16}),
            shards=2,
            model="all-MiniLM-L6-v2",
        )

    def CreateCollection(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record(request, context)
        return self._collection(request.name)

    def ListCollections(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record(request, context)
        return search_pb2.ListCollectionsResponse(
            collections=[self._collection("a"), self._collection("b")]
        )

    def GetCollection(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record(request, context)
        return self._collection(request.name)

    def DeleteCollection(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record(request, context)
        return search_pb2.DeleteCollectionResponse()

    def Upsert(self, request_iterator: Iterator[Any], context: grpc.ServicerContext) -> Any:
        messages = list(request_iterator)
        self._record(messages, context)
        return search_pb2.UpsertResponse(upserted=sum(len(m.documents) for m in messages))

    def GetDocument(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record(request, context)
        return search_pb2.Document(
            id=request.id,
            content=to_struct({"text": "a folding bicycle"}),
            fields=to_struct({"year": 2020, "ipc": ["B62K"], "ratio": 0.5}),
        )

    def DeleteDocument(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record(request, context)
        return search_pb2.DeleteDocumentResponse()

    def Search(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record(request, context)
        time.sleep(from_struct(request.query).get("sleep_s", 0))
        answer = search_pb2.SearchResponse(total=7, took_ms=1.5, request_id=request.request_id)
        answer.hits.add(id="d1", score=0.75, fields=to_struct({"year": 2020}))
        answer.hits.add(id="d2", score=0.5, chunk=search_pb2.Chunk(index=2, start=10, end=90))
        return answer

    def SearchStream(self, request_iterator: Iterator[Any], context: grpc.ServicerContext) -> Any:
        for request in request_iterator:
            self._record(request, context)
            if request.HasField("k") and request.k == 0:
                error = search_pb2.Error(code=3, message=K_ERROR, reason="invalid_argument")
                yield search_pb2.SearchResponse(request_id=request.request_id, error=error)
            else:
                yield search_pb2.SearchResponse(
                    request_id=request.request_id, total=request.k, took_ms=0.5
                )


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[RecordingServicer, str]]:
    servicer = RecordingServicer()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    search_pb2_grpc.add_SearchServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, f"127.0.0.1:{port}"
    server.stop(None)


@pytest.fixture
def servicer(served: tuple[RecordingServicer, str]) -> RecordingServicer:
    recording = served[0]
    recording.requests.clear()
    recording.metadata.clear()
    recording.fail = None
    return recording


@pytest.fixture
def client(
    served: tuple[RecordingServicer, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[GrpcClient]:
    monkeypatch.delenv("IPSIM_API_KEY", raising=False)
    with GrpcClient(served[1], api_key="k3y", timeout=5) as grpc_client:
        yield grpc_client


COLLECTION_JSON = {
    "name": "patents",
    "modality": "text",
    "count": 3,
    "dim": 384,
    "index": {"type": "hnsw", "m": 16},
    "shards": 2,
    "model": "all-MiniLM-L6-v2",
}


# --- what the client sends ---------------------------------------------------------------


def test_create_collection_sends_the_spec(client: GrpcClient, servicer: RecordingServicer) -> None:
    assert client.create_collection("patents", "text", index="flat") == COLLECTION_JSON
    sent = servicer.requests[-1]
    assert (sent.name, sent.modality, from_struct(sent.index)) == (
        "patents",
        "text",
        {"type": "flat"},
    )
    assert not sent.HasField("shards") and not sent.HasField("model")
    client.create_collection(
        "patents", "text", index={"type": "ivf", "nlist": 8}, shards=4, model="m"
    )
    sent = servicer.requests[-1]
    assert from_struct(sent.index) == {"type": "ivf", "nlist": 8}
    assert (sent.shards, sent.model) == (4, "m")
    client.create_collection("patents", "text")
    assert not servicer.requests[-1].HasField("index")


def test_the_api_key_travels_as_bearer_metadata(
    served: tuple[RecordingServicer, str],
    servicer: RecordingServicer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("IPSIM_API_KEY", raising=False)
    with GrpcClient(served[1], api_key="k3y") as keyed:
        keyed.list_collections()
    assert servicer.metadata[-1]["authorization"] == "Bearer k3y"
    with GrpcClient(served[1]) as anonymous:
        anonymous.list_collections()
    assert "authorization" not in servicer.metadata[-1]
    monkeypatch.setenv("IPSIM_API_KEY", "from-env")
    with GrpcClient(served[1]) as from_env:
        from_env.list_collections()
    assert servicer.metadata[-1]["authorization"] == "Bearer from-env"


def test_search_sends_page_filter_and_mode(client: GrpcClient, servicer: RecordingServicer) -> None:
    client.search("c", {"text": "bike"}, k=3, offset=6, filter={"year": {"gte": 2019}}, mode="m")
    sent = servicer.requests[-1]
    assert (sent.collection, sent.k, sent.offset, sent.mode) == ("c", 3, 6, "m")
    assert from_struct(sent.query) == {"text": "bike"}
    assert from_struct(sent.filter) == {"year": {"gte": 2019}}
    client.search("c", {"text": "bike"})
    sent = servicer.requests[-1]
    assert (sent.k, sent.offset) == (10, 0)
    assert not sent.HasField("filter") and not sent.HasField("mode")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"query": "bike"}, "query: must be an object, got str"),
        ({"k": True}, "k: must be an integer, got bool"),
        ({"k": 2**40}, "k: 1099511627776 is out of range"),
        ({"filter": ["year"]}, "filter: must be an object, got list"),
        ({"mode": 3}, "mode: must be a string, got int"),
    ],
)
def test_search_rejects_what_cannot_be_encoded(
    client: GrpcClient, servicer: RecordingServicer, arguments: dict[str, Any], message: str
) -> None:
    call: dict[str, Any] = {"query": {"text": "bike"}, **arguments}
    with pytest.raises(errors.BadRequest) as caught:
        client.search("c", **call)
    assert caught.value.message == message
    assert servicer.requests == []


def test_upsert_streams_batches_of_batch_size(
    client: GrpcClient, servicer: RecordingServicer
) -> None:
    documents = (
        {"id": f"d{i}", "content": {"text": f"text {i}"}, "fields": {"n": i}} for i in range(5)
    )
    assert client.upsert("patents", documents, batch_size=2) == 5
    messages = servicer.requests[-1]
    assert [len(m.documents) for m in messages] == [2, 2, 1]
    assert {m.collection for m in messages} == {"patents"}
    last = messages[-1].documents[0]
    assert (last.id, from_struct(last.content), from_struct(last.fields)) == (
        "d4",
        {"text": "text 4"},
        {"n": 4},
    )


def test_upsert_of_nothing_makes_no_call(client: GrpcClient, servicer: RecordingServicer) -> None:
    assert client.upsert("patents", []) == 0
    assert servicer.requests == []
    with pytest.raises(ValueError, match="batch_size"):
        client.upsert("patents", [{"id": "a", "content": {}}], batch_size=0)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"id": 7, "content": {"text": "x"}}, "documents[3].id: must be a string"),
        ({"id": "x"}, "documents[3].content: must be an object, got NoneType"),
        ({"id": "x", "content": {"text": b"raw"}}, "documents[3].content.text: bytes"),
        ({"id": "x", "content": {}, "fields": {"n": 2**60}}, "documents[3].fields.n: integer"),
        ("not a document", "documents[3]: must be an object"),
    ],
)
def test_upsert_rejects_malformed_documents_before_sending_them(
    client: GrpcClient, servicer: RecordingServicer, bad: Any, message: str
) -> None:
    documents: list[Any] = [{"id": str(i), "content": {"text": "x"}} for i in range(3)] + [bad]
    with pytest.raises(errors.BadRequest) as caught:
        client.upsert("patents", documents, batch_size=2)
    assert caught.value.message.startswith(message)
    assert caught.value.code == "invalid_argument"


# --- how answers are read ----------------------------------------------------------------


def test_answers_are_shaped_like_the_http_json(
    client: GrpcClient, servicer: RecordingServicer
) -> None:
    assert client.get_collection("patents") == COLLECTION_JSON
    assert [c["name"] for c in client.list_collections()] == ["a", "b"]
    assert client.delete_collection("patents") is None
    document = client.get("patents", "EP1")
    assert document == {
        "id": "EP1",
        "content": {"text": "a folding bicycle"},
        "fields": {"year": 2020, "ipc": ["B62K"], "ratio": 0.5},
    }
    assert type(document["fields"]["year"]) is int
    assert client.delete("patents", "EP1") is None
    assert (servicer.requests[-1].collection, servicer.requests[-1].id) == ("patents", "EP1")
    assert client.search("patents", {"text": "bike"}) == {
        "hits": [
            {
                "id": "d1",
                "score": 0.75,
                "fields": {"year": 2020},
                "chunk": None,
                "match": None,
                "preview": None,
            },
            {
                "id": "d2",
                "score": 0.5,
                "fields": {},
                "chunk": {"index": 2, "start": 10, "end": 90},
                "match": None,
                "preview": None,
            },
        ],
        "total": 7,
        "took_ms": 1.5,
        "truncated": False,
    }


def test_search_stream_yields_one_answer_per_request_in_order(
    client: GrpcClient, servicer: RecordingServicer
) -> None:
    requests = [
        {"collection": "c", "query": {"text": "a"}, "k": 2},
        {"collection": "c", "query": {"text": "b"}, "k": 0},
        {"collection": "c", "query": {"text": "c"}, "k": 4, "request_id": "mine"},
        {"collection": "c", "query": {"text": "d"}},
    ]
    answers = list(client.search_stream(requests))
    assert answers == [
        {"request_id": "0", "hits": [], "total": 2, "took_ms": 0.5, "truncated": False},
        {
            "request_id": "1",
            "error": {"code": "invalid_argument", "message": K_ERROR},
        },
        {"request_id": "mine", "hits": [], "total": 4, "took_ms": 0.5, "truncated": False},
        {"request_id": "3", "hits": [], "total": 0, "took_ms": 0.5, "truncated": False},
    ]
    assert not servicer.requests[-1].HasField("k")


def test_search_stream_rejects_a_malformed_request(client: GrpcClient) -> None:
    requests = [{"collection": "c", "query": {"text": "a"}}, {"collection": "c", "query": "a"}]
    with pytest.raises(errors.BadRequest, match=r"requests\[1\]\.query: must be an object"):
        list(client.search_stream(requests))


# --- failures ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "trailing", "expected", "code"),
    [
        (
            grpc.StatusCode.NOT_FOUND,
            (("ipsim-error-code", "not_found"),),
            errors.NotFound,
            "not_found",
        ),
        (grpc.StatusCode.ALREADY_EXISTS, (), errors.Conflict, "conflict"),
        (
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            (("ipsim-error-code", "payload_too_large"),),
            errors.PayloadTooLarge,
            "payload_too_large",
        ),
        (grpc.StatusCode.INVALID_ARGUMENT, (), errors.BadRequest, "invalid_argument"),
        (grpc.StatusCode.UNAUTHENTICATED, (), errors.Unauthenticated, "unauthenticated"),
        (grpc.StatusCode.PERMISSION_DENIED, (), errors.PermissionDenied, "permission_denied"),
        (
            grpc.StatusCode.UNAVAILABLE,
            (("ipsim-error-code", "unavailable"),),
            errors.Unavailable,
            "unavailable",
        ),
        (grpc.StatusCode.UNAVAILABLE, (), errors.TransportError, "transport_error"),
        (grpc.StatusCode.UNIMPLEMENTED, (), errors.ServerError, "internal"),
        (
            grpc.StatusCode.INTERNAL,
            (("ipsim-error-code", "internal"),),
            errors.ServerError,
            "internal",
        ),
    ],
)
def test_status_codes_become_the_sdk_exceptions(
    client: GrpcClient,
    servicer: RecordingServicer,
    status: grpc.StatusCode,
    trailing: tuple[tuple[str, str], ...],
    expected: type[errors.IpsimError],
    code: str,
) -> None:
    servicer.fail = (status, "what went wrong", trailing)
    with pytest.raises(expected) as caught:
        client.get_collection("patents")
    assert type(caught.value) is expected
    assert caught.value.code == code
    assert "what went wrong" in caught.value.message


def test_overloaded_carries_retry_after(client: GrpcClient, servicer: RecordingServicer) -> None:
    trailing = (("ipsim-error-code", "resource_exhausted"), ("retry-after", "3"))
    servicer.fail = (grpc.StatusCode.RESOURCE_EXHAUSTED, "queue full", trailing)
    with pytest.raises(errors.Overloaded) as caught:
        client.search("c", {"text": "x"})
    assert caught.value.retry_after == 3.0
    servicer.fail = (grpc.StatusCode.RESOURCE_EXHAUSTED, "queue full", ())
    with pytest.raises(errors.Overloaded) as caught:
        client.search("c", {"text": "x"})
    assert caught.value.retry_after is None


def test_streams_raise_stream_failures(client: GrpcClient, servicer: RecordingServicer) -> None:
    servicer.fail = (grpc.StatusCode.UNAUTHENTICATED, "unknown API key", ())
    with pytest.raises(errors.Unauthenticated):
        client.upsert("patents", [{"id": "a", "content": {"text": "x"}}])
    with pytest.raises(errors.Unauthenticated):
        list(client.search_stream([{"collection": "c", "query": {"text": "x"}}]))


def test_a_deadline_is_a_transport_error(
    served: tuple[RecordingServicer, str], servicer: RecordingServicer
) -> None:
    with GrpcClient(served[1], timeout=0.2) as impatient:
        started = time.monotonic()
        with pytest.raises(errors.TransportError, match="DEADLINE_EXCEEDED"):
            impatient.search("c", {"text": "x", "sleep_s": 1})
        assert time.monotonic() - started < 0.9


def test_no_server_is_a_transport_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with (
        GrpcClient(f"127.0.0.1:{port}", timeout=5) as nowhere,
        pytest.raises(errors.TransportError) as caught,
    ):
        nowhere.list_collections()
    assert f"127.0.0.1:{port}" in caught.value.message


def test_a_closed_client_refuses_calls(served: tuple[RecordingServicer, str]) -> None:
    with GrpcClient(served[1]) as grpc_client:
        pass
    with pytest.raises(ValueError):
        grpc_client.list_collections()


def test_the_client_knows_only_the_wire() -> None:
    # The SDK talks over the wire: loading it must not load the server or the engine.
    code = (
        "import sys, ipsim.clients.grpc; "
        "print(sorted(m for m in sys.modules if m.startswith(('ipsim.server', 'ipsim.engine'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


# --- JSON ↔ Struct -----------------------------------------------------------------------


def test_struct_round_trip_keeps_json_types() -> None:
    value = {
        "year": 2020,
        "score": 0.25,
        "whole_float": 3.0,
        "flag": True,
        "none": None,
        "text": "ü",
        "list": [1, "a", [], {}],
        "nested": {"empty": {}, "deep": {"n": -7}},
        "edge": 2**53,
    }
    back = from_struct(to_struct(value))
    assert back == {**value, "whole_float": 3}
    assert type(back["year"]) is int and type(back["score"]) is float
    assert type(back["flag"]) is bool
    assert type(back["nested"]["deep"]["n"]) is int
    assert type(back["whole_float"]) is int  # the documented price of Struct's doubles


def test_struct_refuses_what_it_cannot_carry() -> None:
    with pytest.raises(ValueError, match=r"^fields\.n: integer"):
        to_struct({"n": 2**53 + 1}, path="fields")
    with pytest.raises(ValueError, match=r"\$\.a\[1\]\.b: object keys must be strings"):
        to_struct({"a": [0, {"b": {1: "x"}}]})
    with pytest.raises(ValueError, match=r"\$\.s: set is not a JSON value"):
        to_struct({"s": {1}})
    with pytest.raises(ValueError, match="expected a JSON object"):
        to_struct(["not", "an", "object"])  # type: ignore[arg-type]
    rounded = from_struct(to_struct({"n": 2**60 + 1}, exact=False))
    assert rounded["n"] == float(2**60)
