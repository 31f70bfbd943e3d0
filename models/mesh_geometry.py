"""Triangle meshes as arrays: normalisation, principal-axis alignment, surface sampling.

Every mesh descriptor starts here, so a mesh and its re-meshed, moved or scaled copy meet
the descriptors in the same frame:

* :func:`normalise` puts the area-weighted centroid of the *surface* at the origin and
  scales the surface into the unit sphere. Surface moments, not vertex averages, so a
  denser triangulation of the same surface lands in the same place.
* :func:`pca_align` turns the surface's principal axes onto x, y, z (largest spread
  first) and flips each axis so the surface's third moment along it is positive: the
  moments are computed exactly per triangle, so they do not depend on the triangulation.
* :func:`sample_surface` draws points uniformly over the surface (a triangle is chosen
  with probability proportional to its area) with their face normals, from a fixed seed,
  so the same mesh always gives the same sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Mesh:
    """A triangle mesh: ``vertices`` ``(n, 3)`` float64, ``faces`` ``(m, 3)`` int64 indices."""

    vertices: Floats
    faces: npt.NDArray[np.int64]

    @property
    def triangles(self) -> Floats:
        """``(m, 3, 3)``: each face's three corner coordinates."""
        return self.vertices[self.faces]


@dataclass(frozen=True)
class SurfaceSample:
    """Points drawn uniformly over a surface with the normals of the faces they lie on."""

    points: npt.NDArray[np.float32]
    normals: npt.NDArray[np.float32]


def face_areas(mesh: Mesh) -> Floats:
    """The area of every face (0 for a degenerate one)."""
    tri = mesh.triangles
    cross = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    return np.asarray(0.5 * np.linalg.norm(cross, axis=1), dtype=np.float64)


def face_normals(mesh: Mesh) -> Floats:
    """Unit normals by the faces' winding (zero rows for degenerate faces)."""
    tri = mesh.triangles
    cross = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    length = np.linalg.norm(cross, axis=1, keepdims=True)
    return np.asarray(
        np.divide(cross, length, out=np.zeros_like(cross), where=length > 0), dtype=np.float64
    )


def surface_centroid(mesh: Mesh) -> Floats:
    """The area-weighted centroid of the surface (not of the vertices)."""
    areas = face_areas(mesh)
    centres = mesh.triangles.mean(axis=1)
    return np.asarray((areas[:, None] * centres).sum(axis=0) / areas.sum(), dtype=np.float64)


def normalise(mesh: Mesh) -> Mesh:
    """Centre the surface's centroid on the origin and scale it into the unit sphere.

    Only vertices that some face uses count for the scale, so a stray unused vertex far
    away does not shrink the shape. The caller guarantees a positive total area.
    """
    centred = mesh.vertices - surface_centroid(mesh)
    used = np.unique(mesh.faces)
    radius = float(np.linalg.norm(centred[used], axis=1).max())
    return Mesh(centred / radius, mesh.faces)


def surface_second_moment(mesh: Mesh) -> Floats:
    """``∫ x xᵀ dA / A`` over the surface, exactly: per triangle ``(Σ vvᵀ + 9 m mᵀ) / 12``."""
    tri = mesh.triangles
    areas = face_areas(mesh)
    centre = tri.mean(axis=1)
    corners = np.einsum("fvi,fvj->fij", tri, tri)
    per_face = (corners + 9.0 * np.einsum("fi,fj->fij", centre, centre)) / 12.0
    return np.asarray(np.einsum("f,fij->ij", areas, per_face) / areas.sum(), dtype=np.float64)


def surface_third_moments(mesh: Mesh) -> Floats:
    """``∫ x_k³ dA / A`` for each axis k, exactly (the complete symmetric polynomial / 10)."""
    tri = mesh.triangles
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    h3 = (
        a**3 + b**3 + c**3
        + a * a * b + a * a * c + b * b * a + b * b * c + c * c * a + c * c * b
        + a * b * c
    ) / 10.0  # fmt: skip
    areas = face_areas(mesh)
    return np.asarray((areas[:, None] * h3).sum(axis=0) / areas.sum(), dtype=np.float64)


def pca_align(mesh: Mesh) -> Mesh:
    """Rotate a centred mesh so its principal axes are x, y, z, largest spread first.

    Each axis is flipped so that the surface's third moment along it is non-negative; a
    shape symmetric about a principal plane has no preferred sign, and its descriptors
    must not depend on one. The result may be a reflection of the input.
    """
    values, vectors = np.linalg.eigh(surface_second_moment(mesh))
    axes = vectors[:, np.argsort(values)[::-1]]
    rotated = mesh.vertices @ axes
    aligned = Mesh(rotated, mesh.faces)
    signs = np.where(surface_third_moments(aligned) < 0, -1.0, 1.0)
    return Mesh(rotated * signs, mesh.faces)


def sample_surface(mesh: Mesh, count: int, seed: int = 0) -> SurfaceSample:
    """``count`` points uniform over the surface, with their faces' unit normals."""
    areas = face_areas(mesh)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(areas), size=count, p=areas / areas.sum())
    picked = Mesh(mesh.vertices, mesh.faces[chosen])  # normals of the chosen faces only
    tri = picked.triangles
    r1 = np.sqrt(rng.random(count))[:, None]
    r2 = rng.random(count)[:, None]
    points = (1 - r1) * tri[:, 0] + r1 * (1 - r2) * tri[:, 1] + r1 * r2 * tri[:, 2]
    normals = face_normals(picked)
    return SurfaceSample(points.astype(np.float32), normals.astype(np.float32))
