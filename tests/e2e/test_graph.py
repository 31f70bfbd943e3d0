"""Neighbour graphs against the real server: HTTP route, SDK and `ipsim graph`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import networkx as nx
import pytest

from ipsim.clients import AsyncClient, Client, NotFound

from .conftest import ServerProcess, run_cli

TEXTS = {
    "w0": "wind turbine rotor blade with a serrated trailing edge",
    "w1": "rotor blade for a wind power plant",
    "w/2": "wind turbine nacelle with a yaw drive on the tower",
    "p0": "pharmaceutical tablet with a delayed release coating",
    "p1": "oral drug capsule with an enteric coating",
    "p2": "sustained release tablet formulation of a medicine",
}
WIND = {"graph-pat/w0", "graph-pat/w1", "graph-pat/w/2"}


@pytest.fixture(scope="module")
def collection(server: ServerProcess) -> str:
    with Client(server.url) as client:
        client.create_collection("graph-pat", "text")
        documents = [
            {"id": doc_id, "content": {"text": text}, "fields": {"title": text}}
            for doc_id, text in TEXTS.items()
        ]
        client.upsert("graph-pat", documents)
        client.create_collection("graph-chem", "chemical")
        client.upsert("graph-chem", [{"id": "ethanol", "content": {"smiles": "CCO"}}])
    return "graph-pat"


def test_sdk_neighbours_of_a_document(server: ServerProcess, collection: str) -> None:
    with Client(server.url) as client:
        graph = client.neighbors(collection, "w0", k=2)
        assert graph["root"] == "graph-pat/w0"
        assert {node["id"] for node in graph["nodes"]} == WIND
        assert [edge["rank"] for edge in graph["edges"]] == [1, 2]
        assert graph["nodes"][0]["fields"]["title"] == TEXTS["w0"]
        # an id with a slash is still one document, and the document route still answers it
        slashed = client.neighbors(collection, "w/2", k=2, min_score=0.3)
        assert slashed["root"] == "graph-pat/w/2"
        assert all(edge["score"] >= 0.3 for edge in slashed["edges"])
        assert client.get(collection, "w/2")["id"] == "w/2"
        with pytest.raises(NotFound):
            client.neighbors(collection, "missing")


async def test_async_sdk_two_levels(server: ServerProcess, collection: str) -> None:
    async with AsyncClient(server.url) as client:
        one = await client.neighbors(collection, "p0", k=3)
        two = await client.neighbors(collection, "p0", depth=2, k=3, collections=[collection])
    assert {node["depth"] for node in one["nodes"]} == {0, 1}
    assert len(two["nodes"]) >= len(one["nodes"]) and len(two["edges"]) > len(one["edges"])


@pytest.mark.parametrize(
    ("query", "status", "start"),
    [
        ("depth=3", 400, "depth:"),
        ("depth=two", 400, "query.depth:"),
        ("k=51", 400, "k:"),
        ("k=0", 400, "k:"),
        ("min_score=nan", 400, "min_score:"),
        ("collections=graph-chem", 400, "collections:"),
        ("collections=graph-pat,", 400, "collections[1]:"),
        ("collections=nowhere", 404, "collection 'nowhere'"),
    ],
)
def test_bad_parameters_are_400s_naming_them(
    server: ServerProcess, collection: str, query: str, status: int, start: str
) -> None:
    url = f"{server.url}/v1/collections/{collection}/documents/w0/neighbors?{query}"
    answer = httpx.get(url)
    assert answer.status_code == status
    assert answer.json()["error"]["message"].startswith(start)


def test_cli_writes_html_graphml_and_json(
    server: ServerProcess, collection: str, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    page = tmp_path / "graph.html"
    made = run_cli(
        server,
        "graph",
        collection,
        "w0",
        "--depth",
        "2",
        "-k",
        "2",
        "--out",
        str(page),
        state=state,
    )
    assert made.returncode == 0, made.stderr
    data = re.search(r'id="graph-data">(.*?)</script>', page.read_text(encoding="utf-8"))
    assert data is not None
    graph = json.loads(data.group(1))["graph"]
    assert {node["id"] for node in graph["nodes"]} >= WIND

    graphml = tmp_path / "graph.xml"
    made = run_cli(
        server,
        "graph",
        collection,
        "w0",
        "-k",
        "2",
        "--format",
        "graphml",
        "-o",
        str(graphml),
        state=state,
    )
    assert made.returncode == 0, made.stderr
    read = nx.read_graphml(graphml)
    assert set(read.nodes) == WIND
    assert read.nodes["graph-pat/w1"]["label"] == TEXTS["w1"]

    printed = run_cli(server, "graph", collection, "w0", "-k", "2", state=state)
    assert printed.returncode == 0, printed.stderr
    assert {node["id"] for node in json.loads(printed.stdout)["nodes"]} == WIND

    bad = run_cli(server, "graph", collection, "w0", "--depth", "3", state=state)
    assert bad.returncode == 2 and "depth" in bad.stderr and "Traceback" not in bad.stderr
    unknown = run_cli(server, "graph", collection, "w0", "-o", str(tmp_path / "g.png"), state=state)
    assert unknown.returncode == 2 and "--format" in unknown.stderr
