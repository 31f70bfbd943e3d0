"""Normalisation, principal-axis alignment and surface sampling on real meshes."""

from __future__ import annotations

import numpy as np
import open3d as o3d
import pytest
import trimesh
from scipy.spatial.transform import Rotation
from support.meshes import DEMO_MESHES

from ipsim.models.mesh_geometry import (
    Mesh,
    face_areas,
    normalise,
    pca_align,
    sample_surface,
    surface_centroid,
    surface_second_moment,
    surface_third_moments,
)
from ipsim.models.mesh_io import parse_mesh


def _real(name: str) -> Mesh:
    path = DEMO_MESHES / "cgal" / name
    return parse_mesh(path.read_bytes(), "off")


def _transformed(mesh: Mesh, seed: int, scale: float) -> Mesh:
    rotation = Rotation.random(random_state=seed).as_matrix()
    return Mesh(mesh.vertices @ rotation.T * scale + np.array([3.0, -1.0, 2.0]), mesh.faces)


def test_normalised_surface_is_centred_inside_the_unit_sphere() -> None:
    mesh = normalise(_real("elephant.off"))
    assert np.allclose(surface_centroid(mesh), 0.0, atol=1e-12)
    radii = np.linalg.norm(mesh.vertices[np.unique(mesh.faces)], axis=1)
    assert radii.max() == pytest.approx(1.0)


def test_a_stray_unused_vertex_does_not_change_the_scale() -> None:
    mesh = _real("cow.off")
    stray = Mesh(np.vstack([mesh.vertices, [[1e6, 0.0, 0.0]]]), mesh.faces)
    assert np.allclose(normalise(stray).vertices[:-1], normalise(mesh).vertices)


@pytest.mark.parametrize("name", ["elephant.off", "anchor.off", "cow.off"])
def test_alignment_undoes_rotation_scale_and_translation(name: str) -> None:
    mesh = _real(name)
    reference = pca_align(normalise(mesh))
    for seed in range(3):
        aligned = pca_align(normalise(_transformed(mesh, seed, scale=0.01 + 40 * seed)))
        assert np.allclose(aligned.vertices, reference.vertices, atol=1e-6)


def test_exact_moments_agree_with_a_dense_sample_and_do_not_depend_on_triangulation() -> None:
    mesh = normalise(_real("elephant.off"))
    points = sample_surface(mesh, 400_000, seed=1).points.astype(np.float64)
    assert np.allclose(surface_second_moment(mesh), points.T @ points / len(points), atol=2e-3)
    assert np.allclose(surface_third_moments(mesh), (points**3).mean(axis=0), atol=2e-3)
    vertices, faces = trimesh.remesh.subdivide(mesh.vertices, mesh.faces)
    finer = Mesh(np.asarray(vertices), np.asarray(faces, dtype=np.int64))
    assert np.allclose(surface_second_moment(finer), surface_second_moment(mesh), atol=1e-12)
    assert np.allclose(surface_third_moments(finer), surface_third_moments(mesh), atol=1e-12)


def test_aligned_axes_are_ordered_by_spread_with_positive_skew() -> None:
    aligned = pca_align(normalise(_real("anchor.off")))
    spread = np.diag(surface_second_moment(aligned))
    assert list(spread) == sorted(spread, reverse=True)
    assert np.allclose(surface_second_moment(aligned) - np.diag(spread), 0.0, atol=1e-12)
    assert (surface_third_moments(aligned) >= 0).all()


def test_samples_are_deterministic_on_the_surface_with_unit_normals() -> None:
    mesh = normalise(_real("pig.off"))
    first, again = sample_surface(mesh, 2048), sample_surface(mesh, 2048)
    assert np.array_equal(first.points, again.points)
    assert not np.array_equal(first.points, sample_surface(mesh, 2048, seed=1).points)
    assert np.allclose(np.linalg.norm(first.normals, axis=1), 1.0, atol=1e-5)
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(
        o3d.core.Tensor(mesh.vertices.astype(np.float32)),
        o3d.core.Tensor(mesh.faces.astype(np.uint32)),
    )
    distance = scene.compute_distance(o3d.core.Tensor(first.points)).numpy()
    assert distance.max() < 1e-5


def test_large_faces_get_proportionally_more_samples() -> None:
    # two triangles, the second with 9x the area of the first
    vertices = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [5, 0, 0], [8, 0, 0], [5, 3, 0.0]])
    mesh = Mesh(vertices, np.array([[0, 1, 2], [3, 4, 5]], dtype=np.int64))
    assert face_areas(mesh).tolist() == [0.5, 4.5]
    points = sample_surface(mesh, 20_000).points
    assert (points[:, 0] >= 5).mean() == pytest.approx(0.9, abs=0.01)
