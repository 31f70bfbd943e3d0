"""Mesh-level variants of one design: moved, scaled, re-triangulated, noised, damaged.

Each variant is a pure function ``(mesh, rng) -> Mesh`` (deterministic given the
generator's state) that keeps the *shape* while changing what a careless descriptor would
look at: pose, size, triangulation, vertex order, winding, small defects. They serve both
as training positives for the Siamese network (two variants of one mesh are "the same
design") and as invariance queries in the benchmark (a variant must find its original).

Choices that are not obvious:

* ``scale`` draws the factor log-uniformly from [0.01, 100], so shrinking and growing
  are equally likely (a uniform draw would almost always grow);
  ``scale_anisotropic`` likewise draws each axis's factor log-uniformly from [0.8, 1.25].
* ``subdivide`` splits a random half-to-all of the faces into four (midpoint
  subdivision keeps the surface exactly, so area is unchanged); the untouched
  neighbours keep their edges, which leaves T-junctions, as real re-meshed files have.
  One level at most, so the face count grows at most 4x.
* ``decimate`` uses quadric edge collapse (``fast_simplification``) to 40-60 % of the
  faces; meshes under :data:`MIN_DECIMATE_FACES` faces are returned unchanged, since
  collapsing a cube's 12 triangles changes the shape, not the triangulation.
* ``holes`` removes about 5 % of the faces as a few connected patches grown from random
  seed faces over shared edges, like missing patches in a scan; unused vertices are
  dropped.
* The "bounding radius" for ``noise`` and ``translate`` is half the diagonal of the
  bounding box of the vertices the faces use, a size that needs no surface area.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import fast_simplification
import numpy as np
import numpy.typing as npt
import trimesh
from scipy.spatial.transform import Rotation

from ipsim.models.mesh_geometry import Mesh

Variant = Callable[[Mesh, np.random.Generator], Mesh]

MIN_DECIMATE_FACES = 100
"""Below this many faces ``decimate`` leaves the mesh as it is."""
HOLE_SHARE = 0.05
"""Share of faces ``holes`` removes."""
HOLE_PATCHES = 3
NOISE_SHARE = 0.005
"""Vertex jitter standard deviation, as a share of the bounding radius."""


def _mesh(vertices: npt.ArrayLike, faces: npt.ArrayLike) -> Mesh:
    return Mesh(np.asarray(vertices, dtype=np.float64), np.asarray(faces, dtype=np.int64))


def bounding_radius(mesh: Mesh) -> float:
    """Half the bounding-box diagonal of the vertices that faces use."""
    used = mesh.vertices[np.unique(mesh.faces)]
    return float(0.5 * np.linalg.norm(used.max(axis=0) - used.min(axis=0)))


def compact(mesh: Mesh) -> Mesh:
    """Drop vertices no face uses, renumbering the faces."""
    used, inverse = np.unique(mesh.faces, return_inverse=True)
    return _mesh(mesh.vertices[used], inverse.reshape(mesh.faces.shape))


def rotate(mesh: Mesh, rng: np.random.Generator) -> Mesh:
    """A uniformly random rotation about the origin."""
    matrix = Rotation.random(rng=rng).as_matrix()
    return _mesh(mesh.vertices @ matrix.T, mesh.faces)


def scale(mesh: Mesh, rng: np.random.Generator) -> Mesh:
    """A uniform scale by a factor drawn log-uniformly from [0.01, 100]."""
    return _mesh(mesh.vertices * 10.0 ** rng.uniform(-2.0, 2.0), mesh.faces)


def scale_anisotropic(mesh: Mesh, rng: np.random.Generator) -> Mesh:
    """Each axis scaled by its own factor, log-uniform in [0.8, 1.25]."""
    factors = np.exp(rng.uniform(np.log(0.8), np.log(1.25), size=3))
    return _mesh(mesh.vertices * factors, mesh.faces)


def translate(mesh: Mesh, rng: np.random.Generator) -> Mesh:
    """A shift by up to ten bounding radii along each axis."""
    offset = rng.uniform(-10.0, 10.0, size=3) * bounding_radius(mesh)
    return _mesh(mesh.vertices + offset, mesh.faces)


def subdivide(mesh: Mesh, rng: np.random.Generator) -> Mesh:
    """Split a random 50-100 % of the faces into four at their edge midpoints."""
    count = len(mesh.faces)
    chosen = rng.permutation(count)[: max(1, round(count * rng.uniform(0.5, 1.0)))]
    vertices, faces = trimesh.remesh.subdivide(  # type: ignore[no-untyped-call]
        mesh.vertices, mesh.faces, face_index=chosen
    )
    return _mesh(vertices, faces)


def decimate(mesh: Mesh, rng: np.random.Generator) -> Mesh:
    """Quadric edge collapse to 40-60 % of the faces (small meshes are left alone)."""
    if len(mesh.faces) < MIN_DECIMATE_FACES:
        return mesh
    reduction = float(rng.uniform(0.4, 0.6))
    vertices, faces = fast_simplification.simplify(
        mesh.vertices, mesh.faces.astype(np.int32), target_reduction=reduction
    )
    return _mesh(vertices, faces)


def noise(mesh: Mesh, rng: np.random.Generator) -> Mesh:
    """Gaussian vertex jitter with sigma = 0.005 x the bounding radius."""
    sigma = NOISE_SHARE * bounding_radius(mesh)
    return _mesh(mesh.vertices + rng.normal(0.0, sigma, mesh.vertices.shape), mesh.faces)


def shuffle(mesh: Mesh, rng: np.random.Generator) -> Mesh:
    """Permute vertex and face order and roll each face's corners (winding kept)."""
    order = rng.permutation(len(mesh.vertices))
    new_index = np.empty_like(order)
    new_index[order] = np.arange(len(order))
    faces = new_index[mesh.faces][rng.permutation(len(mesh.faces))]
    shifts = rng.integers(0, 3, size=len(faces))
    columns = (np.arange(3)[None, :] + shifts[:, None]) % 3
    return _mesh(mesh.vertices[order], np.take_along_axis(faces, columns, axis=1))


def _patches(faces: npt.NDArray[np.int64], total: int, rng: np.random.Generator) -> list[int]:
    """Up to ``total`` faces in connected patches grown breadth-first from random seeds."""
    neighbours: list[list[int]] = [[] for _ in range(len(faces))]
    for a, b in trimesh.graph.face_adjacency(faces=faces):  # type: ignore[no-untyped-call]
        neighbours[a].append(int(b))
        neighbours[b].append(int(a))
    taken: set[int] = set()
    per_patch = -(-total // HOLE_PATCHES)
    for seed in rng.permutation(len(faces))[:HOLE_PATCHES]:
        if int(seed) in taken:
            continue
        queue, grown = deque([int(seed)]), 0
        while queue and grown < per_patch and len(taken) < total:
            face = queue.popleft()
            if face in taken:
                continue
            taken.add(face)
            grown += 1
            queue.extend(n for n in neighbours[face] if n not in taken)
    return sorted(taken)


def holes(mesh: Mesh, rng: np.random.Generator) -> Mesh:
    """Remove about 5 % of the faces in a few connected patches (none from tiny meshes)."""
    total = round(HOLE_SHARE * len(mesh.faces))
    if total == 0:
        return mesh
    keep = np.ones(len(mesh.faces), dtype=bool)
    keep[_patches(mesh.faces, total, rng)] = False
    return compact(_mesh(mesh.vertices, mesh.faces[keep]))


def flip_winding(mesh: Mesh, rng: np.random.Generator) -> Mesh:
    """Reverse the corner order (so the normal) of a random half of the faces."""
    flip = rng.random(len(mesh.faces)) < 0.5
    faces = mesh.faces.copy()
    faces[flip] = faces[flip][:, ::-1]
    return _mesh(mesh.vertices, faces)


def remesh(mesh: Mesh, rng: np.random.Generator) -> Mesh:
    """Re-triangulate: ``subdivide`` or ``decimate``, chosen at random."""
    return subdivide(mesh, rng) if rng.random() < 0.5 else decimate(mesh, rng)


VARIANTS: dict[str, Variant] = {
    "rotate": rotate,
    "scale": scale,
    "scale_anisotropic": scale_anisotropic,
    "translate": translate,
    "subdivide": subdivide,
    "decimate": decimate,
    "noise": noise,
    "shuffle": shuffle,
    "holes": holes,
    "flip_winding": flip_winding,
}
"""Variant name → function, for training and the benchmark's invariance queries."""
