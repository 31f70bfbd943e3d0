"""Helpers of the hardening tests: small real images and meshes, and the seed collections."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any

import httpx


def png_bytes(size: int = 32, colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A small real PNG."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def cube_stl() -> bytes:
    """A unit cube as ASCII STL (12 triangles)."""
    import trimesh

    data: bytes = trimesh.creation.box().export(file_type="stl_ascii").encode()
    return data


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass(frozen=True)
class Seeded:
    """What the seed created: collection name → its document ids."""

    documents: dict[str, list[str]]
    result_sets: list[str]

    @property
    def collections(self) -> list[str]:
        return list(self.documents)


def _documents() -> dict[tuple[str, str], list[dict[str, Any]]]:
    fields = [
        {"ipc": "A61K 31/00", "year": 2019, "date": "2019-03-01", "tags": ["a", "b"]},
        {"ipc": "C07D 213/00", "year": 2021, "date": "2021-07-15", "tags": ["b"]},
        {"ipc": "G06F 16/00", "year": 2023, "date": "2023-11-30", "tags": []},
    ]
    smiles = ["CCO", "c1ccccc1O", "CN1C=NC2=C1C(=O)N(C(=O)N2C)C"]
    sequences = ["MKTAYIAKQRQISFVKSHFSRQ", "MKTAYIAKQRQISFVKSHFSRA", "GAVLIPFMWGAVLIPF"]
    words = ["ACME", "AKMEE", "ZENITH"]
    texts = ["a pharmaceutical composition", "a pyridine derivative", "a database index"]
    colours = [(200, 30, 30), (30, 200, 30), (30, 30, 200)]
    mesh = b64(cube_stl())

    def docs(contents: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {"id": f"d{i}", "content": content, "fields": fields[i]}
            for i, content in enumerate(contents)
        ]

    return {
        ("fz_chem", "chemical"): docs([{"smiles": s} for s in smiles]),
        ("fz_seq", "sequence"): docs([{"sequence": s, "type": "protein"} for s in sequences]),
        ("fz_tm", "trademark"): docs([{"word": w} for w in words]),
        ("fz_text", "text"): docs([{"text": t} for t in texts]),
        ("fz_image", "image"): docs([{"image_b64": b64(png_bytes(32, c))} for c in colours]),
        ("fz_mesh", "mesh"): docs([{"mesh_b64": mesh, "format": "stl"}] * 3),
    }


def seed(url: str) -> Seeded:
    """Create (or re-create) the seed collections and a result set; idempotent."""
    documents: dict[str, list[str]] = {}
    with httpx.Client(base_url=url, timeout=120) as client:
        for (name, modality), docs in _documents().items():
            if client.get(f"/v1/collections/{name}").status_code == 404:
                created = client.post("/v1/collections", json={"name": name, "modality": modality})
                assert created.status_code == 201, created.text
            upserted = client.put(f"/v1/collections/{name}/documents", json={"documents": docs})
            assert upserted.status_code == 200, upserted.text
            documents[name] = [d["id"] for d in docs]
        saved = client.post(
            "/v1/result-sets",
            json={
                "name": "fuzz",
                "search": {"collection": "fz_chem", "query": {"smiles": "CCO"}},
                "hits": [{"collection": "fz_chem", "id": "d0", "score": 1.0}],
            },
        )
        result_sets = [saved.json()["id"]] if saved.status_code == 201 else []
    return Seeded(documents, result_sets)
