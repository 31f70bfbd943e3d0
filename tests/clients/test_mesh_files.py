"""Mesh file readers: one document per file, picked from folders, size limit, resume."""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import httpx
import pytest
from support.data import shared_data
from support.upsert_server import UpsertServer

from ipsim.clients import Client
from ipsim.clients.ingest import (
    CheckpointStore,
    IngestJob,
    InvalidRecord,
    Position,
    Record,
    reader_for,
    source_files,
)
from ipsim.clients.mesh_files import MAX_MESH_BYTES, read_mesh

MESH = shared_data("mesh")
needs_meshes = pytest.mark.skipif(not (MESH / "assimp").is_dir(), reason="shared meshes absent")
URL = "http://ipsim.test:8080"
# One file of each format, and a binary STL whose extension is upper case.
SAMPLES = ("cube.ply", "Cube.off", "triangle.stl", "box.obj", "3DSMaxExport.STL")


def read(path: Path, start: Position | None = None) -> list[Record]:
    return list(reader_for(path)(path, start or Position()))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    if not (MESH / "assimp").is_dir():
        pytest.skip("shared meshes absent")
    meshes = tmp_path / "meshes"
    meshes.mkdir()
    for name in SAMPLES:
        shutil.copy(MESH / "assimp" / name, meshes / name)
    (meshes / "notes.md").write_text("not a mesh", encoding="utf-8")
    (meshes / ".hidden.stl").write_bytes(b"solid hidden\nendsolid\n")
    (meshes / "sub").mkdir()
    (meshes / "sub" / "deeper.obj").write_bytes(b"v 0 0 0\n")
    return meshes


def test_source_files_picks_the_mesh_files_of_a_folder(folder: Path) -> None:
    names = [path.name for path in source_files(folder)]
    assert names == sorted(SAMPLES)  # no .txt, no hidden file, not the sub-folder


def test_each_file_is_one_document_with_its_bytes(folder: Path) -> None:
    for path in source_files(folder):
        [record] = read(path)
        content = record.document["content"]
        assert record.document["id"] == path.name
        assert record.document["fields"] == {"file": path.name}
        assert content["format"] == path.suffix[1:].lower()
        assert base64.b64decode(content["mesh_b64"], validate=True) == path.read_bytes()
        assert record.line == 1
        assert record.end == Position(path.stat().st_size, 1, 1)


def test_upper_case_extension_is_read_as_its_format(folder: Path) -> None:
    path = folder / "3DSMaxExport.STL"
    assert reader_for(path) is read_mesh
    [record] = read(path)
    assert record.document["id"] == "3DSMaxExport.STL"
    assert record.document["content"]["format"] == "stl"


def test_a_file_already_sent_is_skipped_on_resume(folder: Path) -> None:
    path = folder / "box.obj"
    [record] = read(path)
    assert read(path, record.end) == []


def test_files_above_the_limit_are_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.stl"
    with path.open("wb") as stream:  # sparse: nothing is written or read
        stream.truncate(MAX_MESH_BYTES + 1)
    with pytest.raises(InvalidRecord) as caught:
        read(path)
    assert caught.value.line == 1
    assert caught.value.reason == (
        "the mesh file is 16,777,217 bytes; the limit is 16,777,216 bytes (16 MiB)"
    )
    assert caught.value.message.startswith(f"{path}:1: the mesh file is 16,777,217 bytes")


def test_a_file_at_the_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big.off"
    with path.open("wb") as stream:
        stream.truncate(MAX_MESH_BYTES)
    [record] = read(path)
    assert len(record.document["content"]["mesh_b64"]) == (MAX_MESH_BYTES + 2) // 3 * 4


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.ply"
    path.write_bytes(b"")
    with pytest.raises(InvalidRecord, match="the mesh file is empty"):
        read(path)


@needs_meshes
def test_ingest_sends_each_mesh_once_and_resumes(folder: Path, tmp_path: Path) -> None:
    server = UpsertServer("designs")
    store = CheckpointStore(tmp_path / "state")
    with Client(URL, transport=httpx.MockTransport(server)) as client:
        job = IngestJob(client, URL, "designs", store)
        sent = [job.ingest_file(path).upserted for path in source_files(folder)]
        again = [job.ingest_file(path).upserted for path in source_files(folder)]
    assert sent == [1] * len(SAMPLES)
    assert again == [0] * len(SAMPLES)
    # One request per file (a file is one record), in name order, none on the rerun.
    assert server.batches == [[path.name] for path in source_files(folder)]
