"""The mesh modality through the real server: HTTP, gRPC, SDK and CLI (ingest of a folder)."""

from __future__ import annotations

import base64
import io
import json
import shutil
from pathlib import Path

import httpx
import pytest
import trimesh
from PIL import Image
from support.meshes import DEMO_MESHES, demo_document, demo_labels, exported, moved

from ipsim.clients import Client, GrpcClient
from ipsim.clients.errors import BadRequest

from .conftest import ServerProcess, run_cli

ROWS = [row for row in demo_labels() if row["class"] in ("animal", "toy_figure", "mechanical_part")]


@pytest.fixture(scope="module")
def designs(server: ServerProcess) -> str:
    with Client(server.url) as client:
        info = client.create_collection("e2e-designs", "mesh", model="histogram")
        assert info["model"] == "histogram" and info["modality"] == "mesh"
        client.upsert("e2e-designs", [demo_document(row) for row in ROWS])
    return "e2e-designs"


def test_http_and_grpc_answer_alike_with_previews(server: ServerProcess, designs: str) -> None:
    query = exported(moved(DEMO_MESHES / "cgal/elephant.off", seed=4), "stl")
    with Client(server.url) as http, GrpcClient(server.grpc) as rpc:
        over_http = http.search(designs, query, k=5, filter={"class": "animal"})
        over_grpc = rpc.search(designs, query, k=5, filter={"class": "animal"})
    assert over_http["hits"][0]["id"] == "cgal/elephant.off"
    assert [(h["id"], h["score"]) for h in over_http["hits"]] == [
        (h["id"], h["score"]) for h in over_grpc["hits"]
    ]
    assert over_http["total"] == over_grpc["total"] == sum(r["class"] == "animal" for r in ROWS)
    for hit in over_http["hits"]:
        assert hit["chunk"] is None and hit["fields"]["class"] == "animal"
    first_http, first_grpc = over_http["hits"][0], over_grpc["hits"][0]
    assert first_http["preview"] == first_grpc["preview"]
    png = httpx.get(server.url + first_http["preview"]["png"])
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(png.content)).size == (256, 256)
    glb = httpx.get(server.url + first_http["preview"]["glb"])
    assert glb.headers["content-type"] == "model/gltf-binary"
    assert len(trimesh.load(io.BytesIO(glb.content), file_type="glb", force="mesh").faces) > 100
    with Client(server.url) as client:
        assert client.preview(designs, "cgal/elephant.off", "png") == png.content


def test_a_siamese_collection_over_http_and_grpc(server: ServerProcess) -> None:
    rows = ROWS[:8]
    query = exported(moved(DEMO_MESHES / rows[3]["path"], seed=5), "obj")
    with Client(server.url) as http, GrpcClient(server.grpc) as rpc:
        info = rpc.create_collection("e2e-designs-siamese", "mesh", model="siamese")
        assert info["model"] == "siamese" and info["dim"] == 128
        assert rpc.upsert("e2e-designs-siamese", [demo_document(row) for row in rows]) == 8
        over_http = http.search("e2e-designs-siamese", query, k=3)
        over_grpc = rpc.search("e2e-designs-siamese", query, k=3)
    assert over_http["hits"][0]["id"] == rows[3]["path"]
    assert [(h["id"], h["score"]) for h in over_http["hits"]] == [
        (h["id"], h["score"]) for h in over_grpc["hits"]
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"mesh_b64": "@@@", "format": "stl"}, "query.mesh_b64"),
        ({"mesh_b64": base64.b64encode(b"OFF\n").decode(), "format": "3ds"}, "query.format"),
        ({"mesh_b64": base64.b64encode(b"solid x\nendsolid x\n").decode(), "format": "stl"},
         "query.mesh_b64"),
    ],
)  # fmt: skip
def test_bad_meshes_are_400s_naming_the_field(
    server: ServerProcess, designs: str, query: dict[str, str], field: str
) -> None:
    answer = httpx.post(f"{server.url}/v1/collections/{designs}/search", json={"query": query})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["message"].startswith(field)
    with GrpcClient(server.grpc) as rpc, pytest.raises(BadRequest) as bad:
        rpc.search(designs, query)
    assert field in str(bad.value)


def test_cli_ingests_a_folder_searches_and_writes_a_preview(
    server: ServerProcess, tmp_path: Path
) -> None:
    folder = tmp_path / "designs"
    folder.mkdir()
    for name in ("Wuson.off", "Wuson.stl", "spider.obj"):
        shutil.copyfile(DEMO_MESHES / "assimp" / name, folder / name)
    shutil.copyfile(DEMO_MESHES / "cgal" / "cow.off", folder / "cow.OFF")
    state = tmp_path / "state"
    created = run_cli(
        server, "collections", "create", "cli-designs", "--modality", "mesh", state=state
    )
    assert created.returncode == 0, created.stderr
    ingested = run_cli(server, "ingest", "cli-designs", str(folder), "--json", state=state)
    assert ingested.returncode == 0, ingested.stderr
    query = tmp_path / "query.ply"
    moved(DEMO_MESHES / "cgal" / "cow.off", seed=2).export(query)
    found = run_cli(server, "search", "cli-designs", "--mesh", str(query), "--json", state=state)
    assert found.returncode == 0, found.stderr
    answer = json.loads(found.stdout)
    # ids are file names: Wuson.off and Wuson.stl are two documents
    assert answer["total"] == 4 and answer["hits"][0]["id"] == "cow.OFF"
    assert answer["hits"][0]["fields"]["file"] == "cow.OFF"
    out = tmp_path / "cow.png"
    shown = run_cli(
        server, "get", "cli-designs", "cow.OFF", "--depict", "png", "-o", str(out), state=state
    )
    assert shown.returncode == 0, shown.stderr
    assert Image.open(out).size == (256, 256)
