"""Mesh documents for tests: the demo's real meshes, and transformed copies written by trimesh."""

from __future__ import annotations

import base64
import csv
import io
from pathlib import Path
from typing import Any

import numpy as np
import trimesh
from scipy.spatial.transform import Rotation

from ipsim.models.mesh_io import parse_mesh

DEMO_MESHES = Path(__file__).resolve().parents[2] / "demo" / "meshes"


def demo_labels() -> list[dict[str, str]]:
    """The rows of the demo's ``labels.csv`` (path, source, class, family, licence)."""
    with (DEMO_MESHES / "labels.csv").open(encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def file_content(path: Path) -> dict[str, str]:
    """A mesh file as the ``content`` of a document or query."""
    return {"mesh_b64": base64.b64encode(path.read_bytes()).decode(), "format": path.suffix[1:]}


def demo_document(row: dict[str, str]) -> dict[str, Any]:
    fields = {key: row[key] for key in ("class", "family") if row[key]}
    return {"id": row["path"], "content": file_content(DEMO_MESHES / row["path"]), "fields": fields}


def load(path: Path) -> trimesh.Trimesh:
    """A mesh file read by ipsim's own parser (trimesh's OBJ and OFF readers differ)."""
    mesh = parse_mesh(path.read_bytes(), path.suffix[1:])
    return trimesh.Trimesh(mesh.vertices, mesh.faces, process=False)


def moved(path: Path, *, seed: int = 0, scale: float = 3.5) -> trimesh.Trimesh:
    """The mesh at ``path`` rotated at random, scaled and translated."""
    mesh = load(path)
    rotation = Rotation.random(random_state=seed).as_matrix()
    vertices = (np.asarray(mesh.vertices) @ rotation.T) * scale + np.array([4.0, -2.0, 7.5])
    return trimesh.Trimesh(vertices, mesh.faces, process=False)


def exported(mesh: trimesh.Trimesh, fmt: str) -> dict[str, str]:
    """``mesh`` written by trimesh in ``fmt`` (stl is binary), as document content."""
    buffer = io.BytesIO()
    mesh.export(buffer, file_type=fmt)
    return {"mesh_b64": base64.b64encode(buffer.getvalue()).decode(), "format": fmt}
