"""The SDKs (HTTP sync/async, gRPC) and the `ipsim` CLI against the real server."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from ipsim.clients import AsyncClient, Client, GrpcClient, IpsimError, NotFound
from ipsim.clients.errors import BadRequest

from .conftest import ServerProcess, run_cli

DOCS = [
    {
        "id": "p1",
        "content": {"text": "wind turbine blade with a serrated trailing edge"},
        "fields": {"ipc": ["F03D"], "year": 2019},
    },
    {
        "id": "p2",
        "content": {"text": "rotor blade for a wind power plant"},
        "fields": {"ipc": ["F03D"], "year": 2021},
    },
    {
        "id": "p3",
        "content": {"text": "pharmaceutical tablet with delayed release coating"},
        "fields": {"ipc": ["A61K"], "year": 2020},
    },
]


def test_http_client_full_cycle(server: ServerProcess) -> None:
    with Client(server.url) as client:
        info = client.create_collection("sdk-http", "text", index="flat")
        assert info["index"]["type"] == "flat"
        assert client.upsert("sdk-http", DOCS) == 3
        answer = client.search(
            "sdk-http", {"text": "wind turbine rotor"}, k=2, filter={"ipc": "F03D"}
        )
        assert {h["id"] for h in answer["hits"]} == {"p1", "p2"}
        assert client.get("sdk-http", "p3")["fields"]["ipc"] == ["A61K"]
        client.delete("sdk-http", "p3")
        with pytest.raises(NotFound) as caught:
            client.get("sdk-http", "p3")
        assert caught.value.code == "not_found"
        with pytest.raises(BadRequest):
            client.search("sdk-http", {"text": "x"}, k=0)


async def test_async_client_searches(server: ServerProcess) -> None:
    async with AsyncClient(server.url) as client:
        await client.create_collection("sdk-async", "text")
        assert await client.upsert("sdk-async", DOCS) == 3
        answer = await client.search("sdk-async", {"text": "coated tablet"}, k=1)
        assert answer["hits"][0]["id"] == "p3"


def test_grpc_client_and_health(server: ServerProcess) -> None:
    with GrpcClient(server.grpc) as client:
        client.create_collection("sdk-grpc", "text")
        assert client.upsert("sdk-grpc", DOCS) == 3
        answer = client.search("sdk-grpc", {"text": "wind"}, k=3, filter={"year": {"gte": 2020}})
        assert [h["id"] for h in answer["hits"]] == ["p2", "p3"] or {
            h["id"] for h in answer["hits"]
        } == {"p2", "p3"}
        assert answer["total"] == 2
        with pytest.raises(IpsimError) as caught:
            client.search("missing", {"text": "x"})
        assert caught.value.code == "not_found"
    with grpc.insecure_channel(server.grpc) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_cli_create_ingest_resume_and_search_json(server: ServerProcess, tmp_path: Path) -> None:
    lines = [json.dumps(d) for d in DOCS]
    source = tmp_path / "docs.jsonl"
    source.write_text("\n".join(lines) + "\n")
    state = tmp_path / "state"
    created = run_cli(
        server,
        "collections",
        "create",
        "cli-docs",
        "--modality",
        "text",
        "--index",
        "hnsw",
        state=state,
    )
    assert created.returncode == 0, created.stderr
    first = run_cli(server, "ingest", "cli-docs", str(source), state=state)
    assert first.returncode == 0, first.stderr
    again = run_cli(server, "ingest", "cli-docs", str(source), state=state)
    assert again.returncode == 0, again.stderr
    searched = run_cli(
        server, "search", "cli-docs", "--text", "wind blade", "-k", "2", "--json", state=state
    )
    assert searched.returncode == 0, searched.stderr
    answer = json.loads(searched.stdout)
    assert {h["id"] for h in answer["hits"]} == {"p1", "p2"}
    bad_filter = '{"ipc": {"regex": "F0"}}'
    bad = run_cli(server, "search", "cli-docs", "--text", "x", "--filter", bad_filter, state=state)
    assert (
        bad.returncode == 2 and "invalid_argument" in bad.stderr and "Traceback" not in bad.stderr
    )
