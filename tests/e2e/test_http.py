"""The real server over raw HTTP: the contract's routes, filters, paging and every bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .conftest import ServerProcess

PATENTS = Path(__file__).resolve().parents[2] / "demo" / "patents.jsonl"


@pytest.fixture(scope="module")
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=120) as client:
        yield client


@pytest.fixture(scope="module")
def titles(http: httpx.Client) -> str:
    """A collection of the 316 real US application titles, with their fields."""
    docs = [json.loads(line) for line in PATENTS.open()]
    docs = [d for d in docs if d["fields"]["kind"] == "title"]
    assert (
        http.post("/v1/collections", json={"name": "titles", "modality": "text"}).status_code == 201
    )
    for start in range(0, len(docs), 100):
        answer = http.put(
            "/v1/collections/titles/documents", json={"documents": docs[start : start + 100]}
        )
        assert answer.status_code == 200, answer.text
    return "titles"


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["error"]["code"], body["error"]["message"]


def test_health_ready_metrics_and_openapi(http: httpx.Client) -> None:
    assert http.get("/healthz").status_code == 200
    assert http.get("/readyz").json() == {"status": "ready"}
    spec = http.get("/openapi.json").json()
    assert "/v1/collections/{name}/search" in spec["paths"]
    http.get("/v1/collections")
    metrics = http.get("/metrics").text
    assert 'ipsim_http_request_seconds_count{method="GET",route="/v1/collections"' in metrics


def test_collection_info_and_listing(http: httpx.Client, titles: str) -> None:
    info = http.get(f"/v1/collections/{titles}").json()
    assert info["name"] == titles and info["modality"] == "text"
    assert info["count"] == 316 and info["dim"] == 384 and info["shards"] == 1
    assert info["model"] == "all-MiniLM-L6-v2" and info["index"]["type"]
    names = [c["name"] for c in http.get("/v1/collections").json()["collections"]]
    assert titles in names


def test_search_finds_the_semantically_closest_title(http: httpx.Client, titles: str) -> None:
    answer = http.post(
        f"/v1/collections/{titles}/search",
        json={"query": {"text": "rollable display device"}, "k": 5},
    ).json()
    assert answer["hits"][0]["id"] == "US16100001"  # "ROLLABLE DISPLAY DEVICE AND ELECTRONIC ..."
    scores = [h["score"] for h in answer["hits"]]
    assert scores == sorted(scores, reverse=True) and len(scores) == 5
    assert answer["total"] == 316 and answer["took_ms"] > 0
    assert answer["hits"][0]["fields"]["art_unit"]


def test_filters_apply_inside_the_search(http: httpx.Client, titles: str) -> None:
    body = {
        "query": {"text": "semiconductor device"},
        "k": 10,
        "filter": {"technology_center": "TC1700_Chemical", "filing_date": {"gte": "2018-01-01"}},
    }
    answer = http.post(f"/v1/collections/{titles}/search", json=body).json()
    assert answer["hits"], answer
    for hit in answer["hits"]:
        assert hit["fields"]["technology_center"] == "TC1700_Chemical"
        assert hit["fields"]["filing_date"] >= "2018-01-01"
    prefix = {"query": {"text": "network"}, "k": 10, "filter": {"art_unit": {"prefix": "24"}}}
    hits = http.post(f"/v1/collections/{titles}/search", json=prefix).json()["hits"]
    assert len(hits) == 10 and all(h["fields"]["art_unit"].startswith("24") for h in hits)


def test_pages_do_not_repeat_documents(http: httpx.Client, titles: str) -> None:
    seen: list[str] = []
    for offset in range(0, 60, 10):
        page = http.post(
            f"/v1/collections/{titles}/search",
            json={"query": {"text": "method and apparatus"}, "k": 10, "offset": offset},
        ).json()
        assert len(page["hits"]) == 10
        seen += [h["id"] for h in page["hits"]]
    assert len(seen) == len(set(seen))


def test_documents_round_trip_and_delete(http: httpx.Client) -> None:
    http.post("/v1/collections", json={"name": "docs-rt", "modality": "text"})
    doc = {"id": "D1", "content": {"text": "a bicycle gear hub"}, "fields": {"ipc": ["B62M"]}}
    assert http.put("/v1/collections/docs-rt/documents", json={"documents": [doc]}).json() == {
        "upserted": 1
    }
    assert http.get("/v1/collections/docs-rt/documents/D1").json() == doc
    assert http.delete("/v1/collections/docs-rt/documents/D1").status_code == 204
    assert error_of(http.get("/v1/collections/docs-rt/documents/D1"))[:2] == (404, "not_found")
    assert http.delete("/v1/collections/docs-rt").status_code == 204
    assert error_of(http.get("/v1/collections/docs-rt"))[:2] == (404, "not_found")


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code", "field"),
    [
        (
            "POST",
            "/v1/collections",
            {"name": "x", "modality": "smell"},
            400,
            "invalid_argument",
            "modality",
        ),
        (
            "POST",
            "/v1/collections",
            {"name": "Bad Name", "modality": "text"},
            400,
            "invalid_argument",
            "name",
        ),
        (
            "POST",
            "/v1/collections",
            {"name": "x", "modality": "text", "index": {"type": "magic"}},
            400,
            "invalid_argument",
            "index",
        ),
        (
            "POST",
            "/v1/collections",
            {"name": "x", "modality": "text", "shards": "two"},
            400,
            "invalid_argument",
            "shards",
        ),
        ("POST", "/v1/collections", {"name": "titles", "modality": "text"}, 409, "conflict", ""),
        (
            "POST",
            "/v1/collections/titles/search",
            {"query": {"text": "x"}, "k": 0},
            400,
            "invalid_argument",
            "k",
        ),
        (
            "POST",
            "/v1/collections/titles/search",
            {"query": {"text": "x"}, "k": 100000},
            400,
            "invalid_argument",
            "k",
        ),
        (
            "POST",
            "/v1/collections/titles/search",
            {"query": {"text": "x"}, "k": "10"},
            400,
            "invalid_argument",
            "k",
        ),
        (
            "POST",
            "/v1/collections/titles/search",
            {"query": {"text": ""}},
            400,
            "invalid_argument",
            "query.text",
        ),
        (
            "POST",
            "/v1/collections/titles/search",
            {"query": {"text": 3}},
            400,
            "invalid_argument",
            "query.text",
        ),
        (
            "POST",
            "/v1/collections/titles/search",
            {"query": {"text": "x"}, "filter": {"art_unit": {"regex": "."}}},
            400,
            "invalid_argument",
            "filter.art_unit",
        ),
        (
            "POST",
            "/v1/collections/titles/search",
            {"query": {"text": "x"}, "offset": -1},
            400,
            "invalid_argument",
            "offset",
        ),
        ("POST", "/v1/collections/titles/search", {"k": 3}, 400, "invalid_argument", "query"),
        ("POST", "/v1/collections/nope/search", {"query": {"text": "x"}}, 404, "not_found", ""),
        (
            "PUT",
            "/v1/collections/titles/documents",
            {"documents": [{"id": "a", "content": {"text": ""}}]},
            400,
            "invalid_argument",
            "documents[0].content.text",
        ),
        (
            "PUT",
            "/v1/collections/titles/documents",
            {"documents": [{"content": {"text": "x"}}]},
            400,
            "invalid_argument",
            "documents.0.id",
        ),
        (
            "PUT",
            "/v1/collections/titles/documents",
            {"documents": []},
            400,
            "invalid_argument",
            "documents",
        ),
    ],
)
def test_bad_input_gets_a_clear_error_naming_the_field(
    http: httpx.Client,
    titles: str,
    method: str,
    path: str,
    body: object,
    status: int,
    code: str,
    field: str,
) -> None:
    response = http.request(method, path, json=body)
    got_status, got_code, message = error_of(response)
    assert (got_status, got_code) == (status, code), message
    assert message.startswith(field), message


def test_malformed_json_and_non_utf8_bodies_are_400(http: httpx.Client, titles: str) -> None:
    headers = {"content-type": "application/json"}
    for raw in (b"{not json", b'{"query": {"text": "\xff\xfe"}}', b""):
        response = http.post(f"/v1/collections/{titles}/search", content=raw, headers=headers)
        status, code, message = error_of(response)
        assert (status, code) == (400, "invalid_argument"), (raw, message)


def test_oversized_body_is_413(http: httpx.Client, titles: str) -> None:
    huge = {"query": {"text": "x" * (33 * 1024 * 1024)}}
    response = http.post(f"/v1/collections/{titles}/search", json=huge)
    assert error_of(response)[:2] == (413, "payload_too_large")


def test_unknown_route_is_404_in_the_error_shape(http: httpx.Client) -> None:
    assert error_of(http.get("/v1/nothing-here"))[:2] == (404, "not_found")
