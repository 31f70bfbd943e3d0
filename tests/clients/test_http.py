"""The HTTP SDK against httpx.MockTransport: what each call sends, how answers map back."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from ipsim.clients import (
    AsyncClient,
    BadRequest,
    Client,
    Conflict,
    IpsimError,
    NotFound,
    Overloaded,
    PayloadTooLarge,
    PermissionDenied,
    ServerError,
    TransportError,
    Unauthenticated,
    Unavailable,
)

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """Answers every request with the next scripted response and keeps the requests."""

    def __init__(self, *responses: httpx.Response) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]

    def bodies(self) -> list[Any]:
        return [
            json.loads(request.content) if request.content else None for request in self.requests
        ]


def client_for(handler: Handler, **options: Any) -> Client:
    return Client("http://ipsim.test:8080", transport=httpx.MockTransport(handler), **options)


def error_response(status: int, code: str, message: str, **headers: str) -> httpx.Response:
    return httpx.Response(
        status, json={"error": {"code": code, "message": message}}, headers=headers
    )


COLLECTION = {
    "name": "patents",
    "modality": "text",
    "count": 0,
    "dim": 384,
    "index": {"type": "flat"},
    "shards": 1,
    "model": "all-MiniLM-L6-v2",
}


@pytest.fixture(autouse=True)
def _no_api_key_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IPSIM_API_KEY", raising=False)


# --- request shapes -----------------------------------------------------------------


def test_create_collection_sends_only_given_options() -> None:
    recorder = Recorder(httpx.Response(201, json=COLLECTION))
    with client_for(recorder) as client:
        info = client.create_collection("patents", "text")
        client.create_collection("patents", "text", index="hnsw", shards=2, model="m")
        client.create_collection("patents", "text", index={"type": "ivf", "nlist": 64})
    assert info == COLLECTION
    assert [(r.method, r.url.path) for r in recorder.requests] == [("POST", "/v1/collections")] * 3
    assert recorder.bodies() == [
        {"name": "patents", "modality": "text"},
        {
            "name": "patents",
            "modality": "text",
            "index": {"type": "hnsw"},
            "shards": 2,
            "model": "m",
        },
        {"name": "patents", "modality": "text", "index": {"type": "ivf", "nlist": 64}},
    ]


def test_list_get_and_delete_collection() -> None:
    recorder = Recorder(
        httpx.Response(200, json={"collections": [COLLECTION]}),
        httpx.Response(200, json=COLLECTION),
        httpx.Response(204),
    )
    with client_for(recorder) as client:
        assert client.list_collections() == [COLLECTION]
        assert client.get_collection("patents") == COLLECTION
        client.delete_collection("patents")
    assert [(r.method, r.url.path) for r in recorder.requests] == [
        ("GET", "/v1/collections"),
        ("GET", "/v1/collections/patents"),
        ("DELETE", "/v1/collections/patents"),
    ]


def test_names_and_ids_are_escaped_as_one_path_segment() -> None:
    recorder = Recorder(httpx.Response(200, json={"id": "a/b c?"}), httpx.Response(204))
    with client_for(recorder) as client:
        assert client.get("my coll", "a/b c?") == {"id": "a/b c?"}
        client.delete("my coll", "a/b c?")
    assert [(r.method, r.url.raw_path) for r in recorder.requests] == [
        ("GET", b"/v1/collections/my%20coll/documents/a%2Fb%20c%3F"),
        ("DELETE", b"/v1/collections/my%20coll/documents/a%2Fb%20c%3F"),
    ]


SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="300"><path d="M0 0"/></svg>'


def svg_response(content_type: str = "image/svg+xml; charset=utf-8") -> httpx.Response:
    return httpx.Response(200, text=SVG, headers={"Content-Type": content_type})


def test_depict_asks_for_svg_and_returns_its_text() -> None:
    recorder = Recorder(svg_response(), svg_response("image/svg+xml"))
    with client_for(recorder) as client:
        assert client.depict("chem", "NSC 1/2") == SVG
        assert client.depict("chem", "x") == SVG
    request = recorder.requests[0]
    assert (request.method, request.url.raw_path) == (
        "GET",
        b"/v1/collections/chem/documents/NSC%201%2F2?depict=svg",
    )
    assert dict(request.url.params) == {"depict": "svg"}
    assert request.headers["Accept"].split(", ") == ["image/svg+xml", "application/json"]
    assert request.content == b""


def test_depict_keeps_the_base_url_prefix() -> None:
    recorder = Recorder(svg_response())
    client = Client("http://gw.office/ipsim/", transport=httpx.MockTransport(recorder))
    with client:
        client.depict("chem", "1")
    assert str(recorder.requests[0].url) == (
        "http://gw.office/ipsim/v1/collections/chem/documents/1?depict=svg"
    )


def test_depict_errors_map_like_every_call() -> None:
    recorder = Recorder(
        error_response(404, "not_found", "document '9' does not exist"),
        error_response(400, "invalid_argument", "depict: the text modality has no drawing"),
    )
    with client_for(recorder) as client:
        with pytest.raises(NotFound, match="document '9' does not exist"):
            client.depict("chem", "9")
        with pytest.raises(BadRequest) as caught:
            client.depict("patents", "EP1")
    assert caught.value.message == "depict: the text modality has no drawing"


@pytest.mark.parametrize(
    ("response", "said"),
    [
        (httpx.Response(200, json={"id": "1"}), "application/json instead of image/svg+xml"),
        (httpx.Response(200, content=b"<svg/>"), "no content type instead of image/svg+xml"),
    ],
)
def test_depict_answered_with_something_else_is_a_server_error(
    response: httpx.Response, said: str
) -> None:
    with client_for(Recorder(response)) as client, pytest.raises(ServerError) as caught:
        client.depict("chem", "1")
    assert caught.value.message == (
        f"GET /v1/collections/chem/documents/1 answered 200 with {said}"
    )


def test_preview_asks_for_the_form_and_returns_bytes() -> None:
    png = b"\x89PNG\r\n\x1a\nrest"
    recorder = Recorder(
        httpx.Response(200, content=png, headers={"Content-Type": "image/png"}),
        httpx.Response(200, content=b"glTF", headers={"Content-Type": "model/gltf-binary"}),
        httpx.Response(200, content=b"glTF", headers={"Content-Type": "image/png"}),
    )
    with client_for(recorder) as client:
        assert client.preview("designs", "cgal/pig.off") == png
        assert client.preview("designs", "x", "glb") == b"glTF"
        with pytest.raises(ServerError, match="image/png instead of model/gltf-binary"):
            client.preview("designs", "x", "glb")
        with pytest.raises(ValueError, match="png, glb"):
            client.preview("designs", "x", "svg")
    first = recorder.requests[0]
    assert first.url.raw_path == b"/v1/collections/designs/documents/cgal%2Fpig.off?depict=png"
    assert first.headers["Accept"] == "image/png, application/json"
    assert len(recorder.requests) == 3  # the bad form never reached the server


def test_upsert_batches_a_generator_and_sums_the_answers() -> None:
    sent: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert (request.method, request.url.path) == ("PUT", "/v1/collections/patents/documents")
        ids = [doc["id"] for doc in json.loads(request.content)["documents"]]
        sent.append(ids)
        return httpx.Response(200, json={"upserted": len(ids)})

    documents = ({"id": str(i), "content": {"text": f"doc {i}"}} for i in range(5))
    with client_for(handler) as client:
        assert client.upsert("patents", documents, batch_size=2) == 5
    assert sent == [["0", "1"], ["2", "3"], ["4"]]


def test_upsert_of_nothing_sends_nothing() -> None:
    recorder = Recorder(httpx.Response(200, json={"upserted": 0}))
    with client_for(recorder) as client:
        assert client.upsert("patents", []) == 0
    assert recorder.requests == []


def test_upsert_rejects_a_batch_size_below_one() -> None:
    with client_for(Recorder(httpx.Response(200))) as client, pytest.raises(ValueError):
        client.upsert("patents", [{"id": "1"}], batch_size=0)


def test_search_sends_query_and_paging_and_returns_the_answer() -> None:
    answer = {"hits": [{"id": "EP1", "score": 0.9, "fields": {}}], "total": 1, "took_ms": 1.5}
    recorder = Recorder(httpx.Response(200, json=answer))
    with client_for(recorder) as client:
        assert client.search("patents", {"text": "bicycle"}) == answer
        client.search(
            "chem",
            {"smiles": "CCO"},
            k=3,
            offset=6,
            filter={"ipc": {"prefix": "A61K"}},
            mode="exact",
        )
    assert [r.url.path for r in recorder.requests] == [
        "/v1/collections/patents/search",
        "/v1/collections/chem/search",
    ]
    assert recorder.bodies() == [
        {"query": {"text": "bicycle"}, "k": 10, "offset": 0},
        {
            "query": {"smiles": "CCO"},
            "k": 3,
            "offset": 6,
            "filter": {"ipc": {"prefix": "A61K"}},
            "mode": "exact",
        },
    ]


def test_base_url_keeps_its_path_prefix() -> None:
    recorder = Recorder(httpx.Response(200, json={"collections": []}))
    with Client("http://proxy.test/ipsim/", transport=httpx.MockTransport(recorder)) as client:
        assert client.url == "http://proxy.test/ipsim"
        client.list_collections()
    assert str(recorder.requests[0].url) == "http://proxy.test/ipsim/v1/collections"


@pytest.mark.parametrize("url", ["localhost:8080", "127.0.0.1:8080", "ftp://host", "http://"])
def test_a_url_without_http_scheme_and_host_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="http://HOST:PORT"):
        Client(url)


# --- API key ------------------------------------------------------------------------


def test_api_key_is_sent_as_bearer_token() -> None:
    recorder = Recorder(httpx.Response(200, json={"collections": []}))
    with client_for(recorder, api_key="s3cret") as client:
        client.list_collections()
    assert recorder.requests[0].headers["Authorization"] == "Bearer s3cret"


def test_api_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPSIM_API_KEY", "from-env")
    recorder = Recorder(httpx.Response(200, json={"collections": []}))
    with client_for(recorder) as client, client_for(recorder, api_key="") as keyless:
        client.list_collections()
        keyless.list_collections()
    assert recorder.requests[0].headers["Authorization"] == "Bearer from-env"
    assert "Authorization" not in recorder.requests[1].headers


def test_no_api_key_sends_no_authorization() -> None:
    recorder = Recorder(httpx.Response(200, json={"collections": []}))
    with client_for(recorder) as client:
        client.list_collections()
    assert "Authorization" not in recorder.requests[0].headers
    assert recorder.requests[0].headers["User-Agent"].startswith("ipsim-python/")


# --- errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "invalid_argument", BadRequest),
        (401, "unauthenticated", Unauthenticated),
        (403, "permission_denied", PermissionDenied),
        (404, "not_found", NotFound),
        (409, "conflict", Conflict),
        (413, "payload_too_large", PayloadTooLarge),
        (429, "resource_exhausted", Overloaded),
        (503, "unavailable", Unavailable),
        (500, "internal", ServerError),
    ],
)
def test_error_bodies_raise_the_matching_class(
    status: int, code: str, cls: type[IpsimError]
) -> None:
    recorder = Recorder(error_response(status, code, "collection 'x': the reason"))
    with client_for(recorder) as client, pytest.raises(cls) as caught:
        client.get_collection("x")
    assert (caught.value.code, caught.value.status) == (code, status)
    assert caught.value.message == "collection 'x': the reason"


def test_overloaded_reads_retry_after_seconds() -> None:
    recorder = Recorder(
        error_response(429, "resource_exhausted", "queue full", **{"Retry-After": "3"})
    )
    with client_for(recorder) as client, pytest.raises(Overloaded) as caught:
        client.search("patents", {"text": "x"})
    assert caught.value.retry_after == 3.0


def test_overloaded_reads_retry_after_as_http_date() -> None:
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    recorder = Recorder(
        error_response(429, "resource_exhausted", "queue full", **{"Retry-After": when})
    )
    with client_for(recorder) as client, pytest.raises(Overloaded) as caught:
        client.search("patents", {"text": "x"})
    assert caught.value.retry_after is not None
    assert 100 < caught.value.retry_after <= 120


@pytest.mark.parametrize("value", ["soon", "", "nan"])
def test_unreadable_retry_after_is_none(value: str) -> None:
    recorder = Recorder(
        error_response(429, "resource_exhausted", "queue full", **{"Retry-After": value})
    )
    with client_for(recorder) as client, pytest.raises(Overloaded) as caught:
        client.search("patents", {"text": "x"})
    assert caught.value.retry_after is None


def test_unknown_error_code_keeps_the_code() -> None:
    recorder = Recorder(error_response(400, "new_code", "something new"))
    with client_for(recorder) as client, pytest.raises(ServerError) as caught:
        client.list_collections()
    assert (caught.value.code, caught.value.status) == ("new_code", 400)


def test_an_answer_without_error_body_maps_by_status() -> None:
    recorder = Recorder(
        httpx.Response(502, text="<html>Bad Gateway</html>"),
        httpx.Response(422, json={"detail": [{"loc": ["body", "k"], "msg": "bad"}]}),
    )
    with client_for(recorder) as client:
        with pytest.raises(ServerError) as gateway:
            client.list_collections()
        with pytest.raises(BadRequest) as unprocessable:
            client.search("patents", {"text": "x"})
    assert gateway.value.code == "internal"
    assert gateway.value.message == "HTTP 502: <html>Bad Gateway</html>"
    assert unprocessable.value.status == 422
    assert unprocessable.value.message.startswith("HTTP 422: ")


@pytest.mark.parametrize(
    ("response", "call"),
    [
        (httpx.Response(200, text="not json"), "get_collection"),
        (httpx.Response(200, json=[1, 2]), "get_collection"),
        (httpx.Response(200, json={"items": []}), "list_collections"),
        (httpx.Response(200, json={"upserted": "3"}), "upsert"),
    ],
)
def test_a_success_off_the_contract_is_a_server_error(response: httpx.Response, call: str) -> None:
    calls: dict[str, Callable[[Client], object]] = {
        "get_collection": lambda c: c.get_collection("patents"),
        "list_collections": lambda c: c.list_collections(),
        "upsert": lambda c: c.upsert("patents", [{"id": "1"}]),
    }
    with client_for(Recorder(response)) as client, pytest.raises(ServerError) as caught:
        calls[call](client)
    assert caught.value.code == "internal"
    assert "answered 200 with" in caught.value.message


def refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def time_out(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("read timed out", request=request)


def test_connection_failure_is_a_transport_error() -> None:
    with client_for(refuse) as client, pytest.raises(TransportError) as caught:
        client.list_collections()
    assert caught.value.code == "transport_error"
    assert caught.value.status is None
    assert caught.value.message == (
        "request to http://ipsim.test:8080/v1/collections failed: connection refused"
    )
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


def test_timeout_is_a_transport_error_that_says_so() -> None:
    with client_for(time_out) as client, pytest.raises(TransportError, match="timed out"):
        client.search("patents", {"text": "x"})


# --- async --------------------------------------------------------------------------


def async_client_for(handler: Handler) -> AsyncClient:
    return AsyncClient("http://ipsim.test:8080", transport=httpx.MockTransport(handler))


async def test_async_client_sends_the_same_requests() -> None:
    answer = {"hits": [], "total": 0, "took_ms": 0.1}
    recorder = Recorder(
        httpx.Response(201, json=COLLECTION),
        httpx.Response(200, json={"upserted": 2}),
        httpx.Response(200, json={"upserted": 1}),
        httpx.Response(200, json=answer),
        httpx.Response(200, json={"collections": [COLLECTION]}),
        httpx.Response(200, json={"id": "1"}),
        httpx.Response(204),
        httpx.Response(200, json=COLLECTION),
        httpx.Response(204),
    )
    async with async_client_for(recorder) as client:
        assert await client.create_collection("patents", "text", index="flat") == COLLECTION
        docs = [{"id": str(i)} for i in range(3)]
        assert await client.upsert("patents", docs, batch_size=2) == 3
        assert await client.search("patents", {"text": "x"}, k=2, mode="m") == answer
        assert await client.list_collections() == [COLLECTION]
        assert await client.get("patents", "1") == {"id": "1"}
        await client.delete("patents", "1")
        assert await client.get_collection("patents") == COLLECTION
        await client.delete_collection("patents")
    assert [(r.method, r.url.path) for r in recorder.requests] == [
        ("POST", "/v1/collections"),
        ("PUT", "/v1/collections/patents/documents"),
        ("PUT", "/v1/collections/patents/documents"),
        ("POST", "/v1/collections/patents/search"),
        ("GET", "/v1/collections"),
        ("GET", "/v1/collections/patents/documents/1"),
        ("DELETE", "/v1/collections/patents/documents/1"),
        ("GET", "/v1/collections/patents"),
        ("DELETE", "/v1/collections/patents"),
    ]
    bodies = recorder.bodies()
    assert bodies[0] == {"name": "patents", "modality": "text", "index": {"type": "flat"}}
    assert [len(b["documents"]) for b in bodies[1:3]] == [2, 1]
    assert bodies[3] == {"query": {"text": "x"}, "k": 2, "offset": 0, "mode": "m"}


async def test_async_client_depicts() -> None:
    recorder = Recorder(svg_response(), error_response(404, "not_found", "no document"))
    async with async_client_for(recorder) as client:
        assert await client.depict("chem", "a b") == SVG
        with pytest.raises(NotFound):
            await client.depict("chem", "gone")
    assert recorder.requests[0].url.raw_path == b"/v1/collections/chem/documents/a%20b?depict=svg"
    assert recorder.requests[0].headers["Accept"].startswith("image/svg+xml")


async def test_async_client_maps_errors() -> None:
    recorder = Recorder(error_response(409, "conflict", "collection 'patents' exists"))
    async with async_client_for(recorder) as client:
        with pytest.raises(Conflict, match="exists"):
            await client.create_collection("patents", "text")
        client_refused = async_client_for(refuse)
        with pytest.raises(TransportError):
            await client_refused.list_collections()
        await client_refused.close()
