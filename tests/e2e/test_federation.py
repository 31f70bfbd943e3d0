"""Two real servers: one searches its own collection and the other's as one window.

Server A holds the even half of the demo's US application titles and requires an API
key; server B holds the odd half and has A configured as the remote source ``a``, plus a
source ``hang`` that accepts connections and never answers. Killing A while B is being
searched must turn B's answers partial, never into errors.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ipsim.clients import Client, GrpcClient
from ipsim.clients.errors import BadRequest

from .conftest import ServerProcess, run_cli, start_server

DEMO = Path(__file__).resolve().parents[2] / "demo" / "patents.jsonl"
QUERY = {"text": "semiconductor memory device"}
KEY_A = "office-a-secret"


@dataclass
class Pair:
    a: ServerProcess
    b: ServerProcess


@pytest.fixture(scope="module")
def hanging_port() -> Iterator[int]:
    """A socket that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    yield listener.getsockname()[1]
    listener.close()


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, hanging_port: int) -> Iterator[Pair]:
    root = tmp_path_factory.mktemp("federation")
    keys = root / "keys-a"
    keys.write_text(f"{KEY_A} admin\n")
    a = start_server(root / "a", env={"IPSIM_API_KEYS": str(keys)})
    sources = {
        "a": {"url": a.url, "api_key": KEY_A},
        "hang": {"url": f"http://127.0.0.1:{hanging_port}", "timeout_ms": 500},
    }
    b = start_server(root / "b", env={"IPSIM_SOURCES": json.dumps(sources)})
    rows = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines()][:80]
    with Client(a.url, api_key=KEY_A) as client:
        client.create_collection("patents", "text")
        client.upsert("patents", rows[0::2])
    with Client(b.url) as client:
        client.create_collection("patents", "text")
        client.upsert("patents", rows[1::2])
    yield Pair(a, b)
    for server in (a, b):
        if server.process.poll() is None:
            server.terminate()


def test_one_window_over_a_local_and_a_remote_collection(pair: Pair) -> None:
    with Client(pair.b.url) as client:
        answer = client.search_many(["patents", "a:patents"], QUERY, k=10, fusion="raw")
        with Client(pair.a.url, api_key=KEY_A) as remote:
            theirs = remote.search("patents", QUERY, k=10)["hits"]
        ours = client.search("patents", QUERY, k=10)["hits"]
    assert not answer["partial"]
    assert [s["status"] for s in answer["sources"]] == ["ok", "ok"]
    assert answer["total"] == 80
    merged = sorted(
        [(h["score"], "patents", h["id"]) for h in ours]
        + [(h["score"], "a:patents", h["id"]) for h in theirs],
        key=lambda t: -t[0],
    )[:10]
    assert [(h["collection"], h["id"]) for h in answer["hits"]] == [(c, i) for _, c, i in merged]
    assert {h["collection"] for h in answer["hits"]} == {"patents", "a:patents"}
    for hit in answer["hits"]:
        assert hit["source_score"] == hit["score"]  # raw fusion keeps the sources' scores


def test_grpc_search_many_answers_as_http_does(pair: Pair) -> None:
    options = {"k": 6, "group_by": "technology_center", "group_size": 2}
    with Client(pair.b.url) as client:
        http_answer = client.search_many(["patents", "a:patents"], QUERY, **options)
    with GrpcClient(pair.b.grpc) as client:
        grpc_answer = client.search_many(["patents", "a:patents"], QUERY, **options)
        with pytest.raises(BadRequest, match=r"collections\[0\]: unknown source 'x'"):
            client.search_many(["x:patents"], QUERY)

    def key(answer: dict[str, Any]) -> list[tuple[str, str, float]]:
        return [(h["collection"], h["id"], round(h["score"], 6)) for h in answer["hits"]]

    assert key(grpc_answer) == key(http_answer) and len(key(http_answer)) > 6
    assert [g["value"] for g in grpc_answer["groups"]] == [
        g["value"] for g in http_answer["groups"]
    ]
    assert [s["status"] for s in grpc_answer["sources"]] == ["ok", "ok"]
    assert grpc_answer["partial"] is False and grpc_answer["fusion"] == "rrf"


def test_one_window_facets_sum_the_local_and_the_remote_counts(pair: Pair) -> None:
    with Client(pair.b.url) as client:
        answer = client.search_many(
            ["patents", "a:patents"], QUERY, k=3, facets=["technology_center"]
        )
        ours = client.facets("patents", "technology_center", limit=1000)
    with Client(pair.a.url, api_key=KEY_A) as remote:
        theirs = remote.facets("patents", "technology_center", limit=1000)
    expected: dict[str, int] = {}
    for facet in (ours, theirs):
        for value in facet["values"]:
            expected[value["value"]] = expected.get(value["value"], 0) + value["count"]
    counted = answer["facets"]["technology_center"]
    assert {v["value"]: v["count"] for v in counted["values"]} == expected
    assert counted["documents"] == 80 == answer["total"]
    assert [s["facets_counted"] for s in answer["sources"]] == [True, True]


def test_a_source_that_never_answers_times_out_into_a_partial_answer(pair: Pair) -> None:
    started = time.monotonic()
    with Client(pair.b.url) as client:
        answer = client.search_many(["patents", "hang:patents"], QUERY, k=5)
    assert time.monotonic() - started < 5
    assert answer["partial"]
    hang = next(s for s in answer["sources"] if s["collection"] == "hang:patents")
    assert hang["status"] in ("timeout", "failed") and hang["message"]
    assert len(answer["hits"]) == 5 and {h["collection"] for h in answer["hits"]} == {"patents"}


def test_an_unknown_source_is_a_clear_400(pair: Pair) -> None:
    response = httpx.post(
        f"{pair.b.url}/v1/search",
        json={"collections": ["patents", "eapo:patents"], "query": QUERY},
    )
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert message.startswith("collections[1]: unknown source 'eapo'")
    assert "a, hang" in message


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"collections": "patents"}, "collections: Input should be a valid list"),
        ({"collections": ["patents"], "fusion": "borda"}, "fusion: must be one of rrf, score, raw"),
        ({"collections": ["patents"], "weights": {"patents": "x"}}, "weights.patents"),
        ({"collections": ["patents"], "timeout_ms": 0}, "timeout_ms: must be from 1"),
        ({"collections": ["patents"], "group_size": 3}, "group_size: needs group_by"),
        ({"collections": ["patents"], "colections": []}, "colections: unknown field"),
        ({"collections": ["patents"], "query": {"smiles": "C"}}, "query.smiles"),
    ],
)
def test_bad_one_window_requests_are_400_naming_the_field(
    pair: Pair, body: dict[str, Any], message: str
) -> None:
    response = httpx.post(f"{pair.b.url}/v1/search", json={"query": QUERY} | body)
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]["message"]


def test_single_collection_group_by_over_http(pair: Pair) -> None:
    with Client(pair.b.url) as client:
        first = client.search("patents", QUERY, k=3, group_by="art_unit", group_size=2)
        second = client.search("patents", QUERY, k=3, offset=3, group_by="art_unit")
    values = [g["value"] for g in first["groups"] + second["groups"]]
    assert len(values) == len(set(values)) == 6
    for group in first["groups"]:
        assert 1 <= len(group["hits"]) <= 2
        assert {h["fields"]["art_unit"] for h in group["hits"]} == {group["value"]}
    assert first["hits"] == [h for g in first["groups"] for h in g["hits"]]


def test_cli_searches_several_collections(pair: Pair, tmp_path: Path) -> None:
    done = run_cli(
        pair.b, "search", "patents,a:patents", "--text", QUERY["text"], "-k", "4", state=tmp_path
    )
    assert done.returncode == 0, done.stderr
    header = done.stdout.splitlines()[0].split()
    assert header[:3] == ["RANK", "COLLECTION", "ID"]
    as_json = run_cli(
        pair.b,
        "search",
        "patents,a:patents",
        "--text",
        QUERY["text"],
        "--group-by",
        "technology_center",
        "--json",
        state=tmp_path,
    )
    groups = json.loads(as_json.stdout)["groups"]
    values = [g["value"] for g in groups]
    assert len(values) == len(set(values)) > 1
    with_facets = run_cli(
        pair.b,
        "search",
        "patents,a:patents",
        "--text",
        QUERY["text"],
        "--facet",
        "technology_center",
        state=tmp_path,
    )
    assert with_facets.returncode == 0, with_facets.stderr
    assert "technology_center: 80 documents, 0 without it" in with_facets.stdout


def test_killing_the_remote_mid_query_leaves_answers_partial_not_failed(pair: Pair) -> None:
    statuses: list[int] = []
    partial_after_kill: list[bool] = []
    killed = threading.Event()
    stop = threading.Event()

    def search_in_a_loop() -> None:
        # Distinct queries: a repeated one would be answered from the page cache.
        with httpx.Client(base_url=pair.b.url, timeout=30) as http:
            for i in itertools.count():
                if stop.is_set():
                    break
                query = {"text": f"{QUERY['text']} {threading.get_ident()} {i}"}
                response = http.post(
                    "/v1/search",
                    json={"collections": ["patents", "a:patents"], "query": query, "k": 5},
                )
                statuses.append(response.status_code)
                if killed.is_set() and response.status_code == 200:
                    partial_after_kill.append(response.json()["partial"])

    threads = [threading.Thread(target=search_in_a_loop) for _ in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    pair.a.kill()
    killed.set()
    time.sleep(2.0)
    stop.set()
    for thread in threads:
        thread.join(30)
    assert statuses and set(statuses) == {200}
    assert partial_after_kill and partial_after_kill[-1] is True
    with Client(pair.b.url) as client:
        answer = client.search_many(["patents", "a:patents"], {"text": "memory cell array"}, k=5)
    failed = next(s for s in answer["sources"] if s["collection"] == "a:patents")
    assert answer["partial"] and failed["status"] == "failed"
    assert failed["code"] == "transport_error" and "127.0.0.1" in failed["message"]
    assert len(answer["hits"]) == 5
