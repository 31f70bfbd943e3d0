"""Mesh previews on real meshes: thumbnails, decimation, glTF and STL for the web."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import trimesh
from PIL import Image
from scipy.spatial.transform import Rotation
from support.data import shared_data

from ipsim.models.base import InvalidContent
from ipsim.models.mesh_geometry import Mesh, face_areas
from ipsim.models.mesh_preview import simplified, thumbnail_png, to_glb, to_stl

MESHES = shared_data("mesh")
pytestmark = pytest.mark.skipif(not MESHES.is_dir(), reason="shared mesh data absent")

TURN = Rotation.from_euler("xyz", [30, -50, 110], degrees=True).as_matrix()


def _trimesh(source: Path | io.BytesIO, file_type: str | None = None) -> trimesh.Trimesh:
    loaded = trimesh.load(source, file_type=file_type, force="mesh", process=False)
    assert isinstance(loaded, trimesh.Trimesh)
    return loaded


def _load(relative: str) -> Mesh:
    # trimesh, not ipsim's parser: these tests are about previews, not about parsing.
    loaded = _trimesh(MESHES / relative)
    return Mesh(np.asarray(loaded.vertices, np.float64), np.asarray(loaded.faces, np.int64))


def _pixels(mesh: Mesh, size: int = 128) -> npt.NDArray[np.float64]:
    with Image.open(io.BytesIO(thumbnail_png(mesh, size))) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGBA"), dtype=np.float64)


def _moved(mesh: Mesh) -> Mesh:
    """Turned, scaled by 3.5 and shifted: the same design placed elsewhere."""
    return Mesh(mesh.vertices @ TURN.T * 3.5 + np.array([10.0, -4.0, 2.0]), mesh.faces)


@pytest.mark.parametrize("name", ["cgal/anchor.off", "cgal/elephant.off", "assimp/Wuson.obj"])
def test_thumbnail_is_a_png_of_the_size_with_a_drawing(name: str) -> None:
    pixels = _pixels(_load(name), 96)
    assert pixels.shape == (96, 96, 4)
    ink = pixels[:, :, 3] > 0
    assert 0.1 < ink.mean() < 0.8  # a drawing that neither vanishes nor floods the frame
    assert pixels[0, 0, 3] == 0  # the corner is transparent background
    shades = pixels[:, :, :3][pixels[:, :, 3] == 255]
    assert shades.std(axis=0).max() > 5  # shaded, not a flat silhouette


@pytest.mark.parametrize("name", ["cgal/anchor.off", "cgal/cow.off", "cgal/fandisk.off"])
def test_a_moved_copy_looks_the_same(name: str) -> None:
    mesh = _load(name)
    original, copy = _pixels(mesh), _pixels(_moved(mesh))
    assert np.abs(original - copy).mean() < 3.0  # of 255 per channel
    assert ((original[:, :, 3] > 127) != (copy[:, :, 3] > 127)).mean() < 0.01


def test_other_designs_look_different() -> None:
    anchor, elephant = _pixels(_load("cgal/anchor.off")), _pixels(_load("cgal/elephant.off"))
    assert np.abs(anchor - elephant).mean() > 20.0
    assert ((anchor[:, :, 3] > 127) != (elephant[:, :, 3] > 127)).mean() > 0.1


def test_flipped_winding_is_drawn_alike() -> None:
    mesh = _load("cgal/rotor.off")  # small enough to be drawn undecimated
    flipped = Mesh(mesh.vertices, np.ascontiguousarray(mesh.faces[:, ::-1]))
    assert np.abs(_pixels(mesh) - _pixels(flipped)).mean() < 0.5


def test_simplified_keeps_the_surface_within_the_budget() -> None:
    mesh = _load("cgal/elephant.off")
    assert len(mesh.faces) > 5000
    light = simplified(mesh, max_faces=2000)
    assert 1500 <= len(light.faces) <= 2000
    assert light.faces.max() < len(light.vertices)
    area, light_area = face_areas(mesh).sum(), face_areas(light).sum()
    assert abs(light_area - area) / area < 0.10


def test_simplified_leaves_a_small_mesh_alone() -> None:
    mesh = _load("cgal/anchor.off")
    assert simplified(mesh, max_faces=len(mesh.faces)) is mesh


def test_glb_loads_back_with_every_face() -> None:
    mesh = _load("cgal/anchor.off")
    data = to_glb(mesh)
    assert data[:4] == b"glTF"
    loaded = _trimesh(io.BytesIO(data), file_type="glb")
    assert len(loaded.faces) == len(mesh.faces)
    assert np.allclose(loaded.bounds, _bounds(mesh), atol=1e-4)


def test_stl_is_binary_and_loads_back() -> None:
    mesh = _load("cgal/rotor.off")
    data = to_stl(mesh)
    assert len(data) == 84 + 50 * len(mesh.faces)
    assert int.from_bytes(data[80:84], "little") == len(mesh.faces)
    loaded = _trimesh(io.BytesIO(data), file_type="stl")
    assert len(loaded.faces) == len(mesh.faces)
    assert np.allclose(loaded.bounds, _bounds(mesh), atol=1e-4)


def _bounds(mesh: Mesh) -> npt.NDArray[np.float64]:
    used = mesh.vertices[np.unique(mesh.faces)]
    return np.stack([used.min(axis=0), used.max(axis=0)])


def test_a_mesh_without_area_is_refused() -> None:
    flat = Mesh(np.array([[0.0, 0, 0], [1, 0, 0], [2, 0, 0]]), np.array([[0, 1, 2]]))
    with pytest.raises(InvalidContent, match="no surface area") as caught:
        thumbnail_png(flat)
    assert caught.value.field == "mesh_b64"
    empty = Mesh(np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64))
    with pytest.raises(InvalidContent, match="0 faces"):
        thumbnail_png(empty)


def test_bad_parameters_are_refused() -> None:
    mesh = _load("cgal/anchor.off")
    with pytest.raises(ValueError, match="size must be at least 16"):
        thumbnail_png(mesh, size=8)
    with pytest.raises(ValueError, match="max_faces must be at least 4"):
        simplified(mesh, max_faces=2)
