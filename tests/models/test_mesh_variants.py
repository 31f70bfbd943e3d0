"""Mesh variants keep the shape and change only what they say they change (real meshes)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
import trimesh
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import pdist
from support.data import shared_data

from ipsim.models.mesh_geometry import Mesh, face_areas, face_normals
from ipsim.models.mesh_io import parse_mesh
from ipsim.models.mesh_variants import (
    MIN_DECIMATE_FACES,
    VARIANTS,
    bounding_radius,
    decimate,
    flip_winding,
    holes,
    noise,
    remesh,
    rotate,
    scale,
    scale_anisotropic,
    shuffle,
    subdivide,
    translate,
)

MESH = shared_data("mesh")
pytestmark = pytest.mark.skipif(not (MESH / "cgal").is_dir(), reason="shared meshes absent")


def _load(name: str) -> Mesh:
    path = MESH / "cgal" / name
    return parse_mesh(path.read_bytes(), path.suffix[1:])


@pytest.fixture(scope="module")
def elephant() -> Mesh:
    return _load("elephant.off")


@pytest.fixture(scope="module")
def tetrahedron() -> Mesh:
    return _load("tetrahedron.off")


def _rng(seed: int = 7) -> np.random.Generator:
    return np.random.default_rng(seed)


def _area(mesh: Mesh) -> float:
    return float(face_areas(mesh).sum())


def _triangle_set(mesh: Mesh) -> npt.NDArray[np.float64]:
    """Faces as coordinate triples, each rolled to start at its smallest corner, sorted."""
    tri = mesh.triangles.round(12)
    first = [min(range(3), key=lambda c: tuple(corners[c])) for corners in tri]
    rolled = np.stack([np.roll(t, -f, axis=0) for t, f in zip(tri, first, strict=True)])
    flat = rolled.reshape(len(rolled), 9)
    return flat[np.lexsort(flat.T[::-1])]


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variants_are_deterministic_and_keep_the_input(elephant: Mesh, name: str) -> None:
    before = elephant.vertices.copy(), elephant.faces.copy()
    first, second = VARIANTS[name](elephant, _rng()), VARIANTS[name](elephant, _rng())
    np.testing.assert_array_equal(first.vertices, second.vertices)
    np.testing.assert_array_equal(first.faces, second.faces)
    np.testing.assert_array_equal(elephant.vertices, before[0])  # pure: input untouched
    np.testing.assert_array_equal(elephant.faces, before[1])
    assert first.vertices.dtype == np.float64 and first.faces.dtype == np.int64
    assert first.faces.min() >= 0 and first.faces.max() < len(first.vertices)


def test_rotate_keeps_area_and_every_distance(elephant: Mesh) -> None:
    turned = rotate(elephant, _rng())
    assert _area(turned) == pytest.approx(_area(elephant), rel=1e-9)
    some = np.arange(0, len(elephant.vertices), 37)
    np.testing.assert_allclose(
        pdist(turned.vertices[some]), pdist(elephant.vertices[some]), rtol=1e-9
    )
    assert not np.allclose(turned.vertices, elephant.vertices)


def test_scale_multiplies_area_by_the_square_and_spans_four_decades(elephant: Mesh) -> None:
    factors = []
    for seed in range(40):
        scaled = scale(elephant, _rng(seed))
        factor = bounding_radius(scaled) / bounding_radius(elephant)
        assert _area(scaled) == pytest.approx(_area(elephant) * factor**2, rel=1e-9)
        factors.append(factor)
    assert 0.01 <= min(factors) < 0.3 and 3 < max(factors) <= 100


def test_scale_anisotropic_stretches_each_axis_within_bounds(elephant: Mesh) -> None:
    stretched = scale_anisotropic(elephant, _rng())
    ratio = np.ptp(stretched.vertices, axis=0) / np.ptp(elephant.vertices, axis=0)
    assert np.all((ratio >= 0.8) & (ratio <= 1.25))
    assert np.ptp(ratio) > 0.01  # not a uniform scale


def test_translate_moves_everything_by_one_offset(elephant: Mesh) -> None:
    moved = translate(elephant, _rng())
    offset = moved.vertices - elephant.vertices
    np.testing.assert_allclose(offset, np.broadcast_to(offset[0], offset.shape), atol=1e-9)
    assert np.linalg.norm(offset[0]) > 0.1 * bounding_radius(elephant)


def test_subdivide_keeps_the_surface_with_more_faces(elephant: Mesh) -> None:
    finer = subdivide(elephant, _rng())
    assert _area(finer) == pytest.approx(_area(elephant), rel=1e-9)
    assert 2.5 * len(elephant.faces) <= len(finer.faces) <= 4 * len(elephant.faces)
    assert np.ptp(finer.vertices, axis=0) == pytest.approx(np.ptp(elephant.vertices, axis=0))


def test_decimate_keeps_the_surface_with_fewer_faces(elephant: Mesh) -> None:
    coarser = decimate(elephant, _rng())
    assert 0.35 * len(elephant.faces) <= len(coarser.faces) <= 0.65 * len(elephant.faces)
    assert _area(coarser) == pytest.approx(_area(elephant), rel=0.10)
    np.testing.assert_allclose(
        np.ptp(coarser.vertices, axis=0), np.ptp(elephant.vertices, axis=0), rtol=0.05
    )


def test_tiny_meshes_are_not_decimated_or_holed(tetrahedron: Mesh) -> None:
    assert len(tetrahedron.faces) < MIN_DECIMATE_FACES
    assert decimate(tetrahedron, _rng()) is tetrahedron
    assert holes(tetrahedron, _rng()) is tetrahedron


def test_remesh_picks_subdivide_or_decimate(elephant: Mesh) -> None:
    counts = {len(remesh(elephant, _rng(seed)).faces) > len(elephant.faces) for seed in range(8)}
    assert counts == {True, False}


def test_noise_jitters_vertices_by_half_a_percent_of_the_radius(elephant: Mesh) -> None:
    noisy = noise(elephant, _rng())
    sigma = np.std(noisy.vertices - elephant.vertices)
    assert sigma == pytest.approx(0.005 * bounding_radius(elephant), rel=0.05)
    np.testing.assert_array_equal(noisy.faces, elephant.faces)


def test_shuffle_keeps_the_triangle_set_and_winding(elephant: Mesh) -> None:
    mixed = shuffle(elephant, _rng())
    assert not np.array_equal(mixed.faces, elephant.faces)
    np.testing.assert_array_equal(_triangle_set(mixed), _triangle_set(elephant))
    assert _area(mixed) == pytest.approx(_area(elephant), rel=1e-12)
    # the same normals, in another order: winding is kept
    np.testing.assert_allclose(
        np.sort(face_normals(mixed), axis=0), np.sort(face_normals(elephant), axis=0), atol=1e-12
    )


def test_holes_remove_five_percent_in_a_few_connected_patches(elephant: Mesh) -> None:
    holed = holes(elephant, _rng())
    removed = len(elephant.faces) - len(holed.faces)
    assert removed == round(0.05 * len(elephant.faces))
    assert 0.9 < _area(holed) / _area(elephant) < 0.99
    assert len(holed.vertices) < len(elephant.vertices)  # unused vertices dropped
    kept = set(map(tuple, _triangle_set(holed)))
    assert kept <= set(map(tuple, _triangle_set(elephant)))
    # the removed faces form at most three connected patches
    gone = np.array([i for i in range(len(elephant.faces)) if _key(elephant, i) not in kept])
    assert len(gone) == removed
    pairs = trimesh.graph.face_adjacency(faces=elephant.faces)  # type: ignore[no-untyped-call]
    inside = np.isin(pairs, gone).all(axis=1)
    index = {f: k for k, f in enumerate(gone)}
    edges = [(index[a], index[b]) for a, b in pairs[inside]]
    graph = coo_matrix((np.ones(len(edges)), tuple(zip(*edges, strict=True))), (removed, removed))
    assert connected_components(graph, directed=False)[0] <= 3


def _key(mesh: Mesh, face: int) -> tuple[float, ...]:
    return tuple(_triangle_set(Mesh(mesh.vertices, mesh.faces[face : face + 1]))[0])


def test_flip_winding_reverses_about_half_of_the_normals(elephant: Mesh) -> None:
    flipped = flip_winding(elephant, _rng())
    dots = np.einsum("ij,ij->i", face_normals(flipped), face_normals(elephant))
    reversed_share = float(np.mean(dots < 0))
    assert 0.45 < reversed_share < 0.55
    np.testing.assert_allclose(np.abs(dots[face_areas(elephant) > 0]), 1.0, atol=1e-9)
    np.testing.assert_array_equal(np.sort(flipped.faces, axis=1), np.sort(elephant.faces, axis=1))
