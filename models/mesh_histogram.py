"""Shape distributions of a mesh: D2, A3, D1 and FPFH histograms in one unit vector.

The classic global shape descriptors (Osada, Funkhouser, Chazelle, Dobkin 2002, "Shape
distributions"; Rusu, Blodow, Beetz 2009, "Fast point feature histograms") of a mesh that
:func:`~ipsim.models.mesh_geometry.normalise` has put in the unit sphere:

* ``d2``: distances between pairs of surface points, over [0, 2];
* ``a3``: the angle at the middle one of triples of surface points, over [0, π];
* ``d1``: distances from the surface centroid (the origin) to surface points, over [0, 1];
* ``fpfh``: Open3D's 33-bin fast point feature histograms of the sampled points, averaged.

All four come from one area-weighted surface sample (``mesh_geometry.sample_surface``) with
a fixed seed, so they follow the surface, not its triangulation, and the same mesh always
gives the same vector. Pairs and triples are not drawn at random: each point meets the next
64 points of the sample (triples: one of 8 before, the point, one of 8 after). The sample is
i.i.d., so these are as random, never pair a point with itself, and need no index arrays.
2,048 points (131,072 pairs and triples) keep two samples of one mesh (seeds 0 and 1) at
cosine ≥ 0.9986 (mean 0.9993) over 83 real meshes; 1,024 points gave ≥ 0.9972.

Each part is a histogram that sums to 1, mapped by the square root (Hellinger): each part is
then a unit vector and the inner product of two parts is their Bhattacharyya coefficient.
The parts are concatenated with weights ``w`` (``w ≥ 0``, ``Σ w² = 1``), so the whole vector is
unit length and its inner product is the ``w²``-weighted mean of the parts' coefficients: an
inner-product index ranks like the histogram distance.

Values are soft-binned (each value's weight is shared linearly between the two nearest bin
centres), which keeps a value near a bin edge from jumping bins between two samples of the
same surface: D1's seed-to-seed cosine rose from ≥ 0.9950 (hard bins) to ≥ 0.9965.

FPFH needs normals with a consistent sign, and a real file's winding is often inconsistent,
so the normals are not the faces': each is the plane fitted to the point's nearest sample
points (which also smooths vertex noise: with face normals, σ = 0.005 noise dropped the FPFH
part's similarity to the original to 0.84 on dense meshes, with fitted normals to 0.998),
turned to point away from the centroid (a fixed generic direction decides when a normal is
perpendicular to its point's position). Open3D's ``orient_normals_consistent_tangent_plane``
would follow concave regions faithfully but costs 13 ms per 1,024 points and fails (Qhull)
on planar input; outward orientation only has to be consistent between copies of a shape.

Measured on the shared real meshes (137 valid, leave-one-out nearest neighbour of the 32
family members by family; mean average precision by family and by the weak class label):
D2 alone 0.72 / AP 0.83 / 0.33, A3 0.66 / 0.80 / 0.36, D1 0.78 / 0.85 / 0.34, FPFH 0.75 /
0.81 / 0.37, the default blend 0.81 / 0.85 / 0.39. The blend's coefficient shares (0.2 for
each distribution, 0.4 for FPFH) are round numbers from a coarse grid on which every blend
with all four parts lies within one query of the best.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import open3d as o3d

from ipsim.models.base import InvalidContent
from ipsim.models.mesh_geometry import Mesh, SurfaceSample, sample_surface

Floats = npt.NDArray[np.float64]

HISTOGRAM_PARTS: dict[str, int] = {"d2": 64, "a3": 32, "d1": 32, "fpfh": 33}
"""Part name → bins, in concatenation order. FPFH's 33 bins are fixed by Open3D."""
HISTOGRAM_DIM: int = sum(HISTOGRAM_PARTS.values())
_DEFAULT_SHARES = {"d2": 0.2, "a3": 0.2, "d1": 0.2, "fpfh": 0.4}
DEFAULT_WEIGHTS: dict[str, float] = {name: float(np.sqrt(s)) for name, s in _DEFAULT_SHARES.items()}
"""Part weights; their squares are each part's share of the similarity (module notes)."""

DEFAULT_SAMPLES = 2048
"""Surface points per mesh."""
D2_OFFSETS = 64
"""D2 pairs each point with the next 64 in the sample: ``64 * samples`` pairs."""
A3_OFFSETS = 8
"""A3's triples are (one of the 8 points before, a point, one of the 8 after): ``64 * samples``."""
FPFH_POINTS = 1024
"""FPFH runs on the first points of the sample (the sample is i.i.d., so a prefix is one too)."""
FPFH_RADIUS = 0.25
"""Neighbourhood radius of FPFH, relative to the unit sphere."""
FPFH_MAX_NEIGHBOURS = 64
NORMAL_NEIGHBOURS = 24
"""FPFH's normals: the plane fitted to each point's 24 nearest sample points."""
MIN_SAMPLES = D2_OFFSETS + 1

_RANGES: dict[str, tuple[float, float]] = {"d2": (0.0, 2.0), "a3": (0.0, np.pi), "d1": (0.0, 1.0)}
_TIE_DIRECTION = np.array([0.5773, 0.5774, 0.5775])
"""Orients normals perpendicular to their position vector; generic so it is rarely ⊥ too."""
_TIE_COSINE = 1e-3
"""A normal within about 0.06° of perpendicular to its position counts as tied."""


def describe(
    mesh: Mesh,
    *,
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
    weights: Mapping[str, float] | None = None,
) -> npt.NDArray[np.float32]:
    """``(HISTOGRAM_DIM,)`` unit-length descriptor of a normalised mesh; deterministic."""
    unit = _unit_weights(DEFAULT_WEIGHTS if weights is None else weights)
    sample = _sample(mesh, samples, seed)
    parts = [_weighted_part(name, sample, unit[name]) for name in HISTOGRAM_PARTS]
    return np.concatenate(parts).astype(np.float32)


def d2_only(
    mesh: Mesh, *, samples: int = DEFAULT_SAMPLES, seed: int = 0
) -> npt.NDArray[np.float32]:
    """The D2 part alone (sqrt-mapped, unit): the baseline the Siamese net must beat."""
    sample = _sample(mesh, samples, seed)
    hist = d2_histogram(sample.points)
    return np.sqrt(hist).astype(np.float32)


def part_histograms(
    mesh: Mesh, *, samples: int = DEFAULT_SAMPLES, seed: int = 0
) -> dict[str, Floats]:
    """Every part's histogram before the square root (each sums to 1), by part name."""
    sample = _sample(mesh, samples, seed)
    return {name: _part_histogram(name, sample) for name in HISTOGRAM_PARTS}


def d2_histogram(points: npt.NDArray[np.float32]) -> Floats:
    """Distances between pairs of distinct points, soft-binned over [0, 2]."""
    pairs = _offset_vectors(points, 0, D2_OFFSETS)[:, 1:]
    return soft_histogram(
        np.sqrt(np.einsum("nki,nki->nk", pairs, pairs)), *_RANGES["d2"], HISTOGRAM_PARTS["d2"]
    )


def a3_histogram(points: npt.NDArray[np.float32]) -> Floats:
    """The angle at the middle point of triples of distinct points, over [0, π]."""
    vectors = _offset_vectors(points, A3_OFFSETS, A3_OFFSETS)
    left, right = vectors[:, :A3_OFFSETS], vectors[:, A3_OFFSETS + 1 :]
    dots = np.einsum("nai,nbi->nab", left, right)
    squares = (
        np.einsum("nai,nai->na", left, left)[:, :, None]
        * np.einsum("nbi,nbi->nb", right, right)[:, None, :]
    )
    # |a×b|² = |a|²|b|² − (a·b)² (Lagrange); atan2 stays accurate near 0 and π, arccos not.
    angles = np.arctan2(np.sqrt(np.maximum(squares - dots * dots, 0.0)), dots)
    return soft_histogram(angles, *_RANGES["a3"], HISTOGRAM_PARTS["a3"])


def d1_histogram(points: npt.NDArray[np.float32]) -> Floats:
    """Distances from the origin (the normalised surface's centroid), over [0, 1]."""
    return soft_histogram(np.linalg.norm(points, axis=1), *_RANGES["d1"], HISTOGRAM_PARTS["d1"])


def fpfh_histogram(sample: SurfaceSample) -> Floats:
    """Open3D's FPFH of the first ``FPFH_POINTS`` points, averaged over points, sum 1."""
    points = sample.points[:FPFH_POINTS].astype(np.float64)
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(points))
    cloud.estimate_normals(o3d.geometry.KDTreeSearchParamKNN(knn=NORMAL_NEIGHBOURS))
    fitted = np.asarray(cloud.normals)
    faces = sample.normals[:FPFH_POINTS]  # the file's winding breaks ties: it turns with the mesh
    cloud.normals = o3d.utility.Vector3dVector(outward_normals(points, fitted, faces))
    search = o3d.geometry.KDTreeSearchParamHybrid(radius=FPFH_RADIUS, max_nn=FPFH_MAX_NEIGHBOURS)
    # The stub omits `indices`' default (every point); passing [] would compute none.
    fpfh = o3d.pipelines.registration.compute_fpfh_feature(cloud, search)  # type: ignore[call-arg]
    features = np.asarray(fpfh.data)
    return _normalised(features.sum(axis=1))


def outward_normals(
    points: npt.NDArray[np.floating[Any]],
    normals: npt.NDArray[np.floating[Any]],
    reference: npt.NDArray[np.floating[Any]] | None = None,
) -> Floats:
    """``normals`` (float64) flipped where needed to point away from the origin.

    A normal (nearly) perpendicular to its point's position has no outward side: every
    normal of a flat part through the centroid. With ``reference`` (one normal per point
    that turns with the mesh, such as its face's), those follow their reference, so a
    rotated copy gets the same orientation; without, a fixed direction decides them.
    """
    normals = normals.astype(np.float64)
    positions = points.astype(np.float64)
    side = np.einsum("ij,ij->i", normals, positions)
    if reference is None:
        tied = np.abs(side) < 1e-9
        side[tied] = normals[tied] @ _TIE_DIRECTION
    else:
        tied = np.abs(side) < _TIE_COSINE * np.linalg.norm(positions, axis=1)
        side[tied] = np.einsum("ij,ij->i", normals[tied], reference[tied].astype(np.float64))
    return np.where(side[:, None] < 0, -normals, normals)


def soft_histogram(values: Floats, low: float, high: float, bins: int) -> Floats:
    """Histogram summing to 1; each value split linearly between its two nearest bin centres.

    Values (any shape) outside ``[low, high]`` count in the end bins.
    """
    position = np.clip((values.ravel() - low) / (high - low) * bins - 0.5, 0.0, bins - 1.0)
    lower = np.minimum(position.astype(np.int64), bins - 2)
    upper_share = position - lower
    counts = np.bincount(lower, weights=1.0 - upper_share, minlength=bins)
    counts += np.bincount(lower + 1, weights=upper_share, minlength=bins)
    return _normalised(counts.astype(np.float64))


def _weighted_part(name: str, sample: SurfaceSample, weight: float) -> Floats:
    """``weight * sqrt(histogram)``; a part that weighs nothing is not computed."""
    if weight == 0:
        return np.zeros(HISTOGRAM_PARTS[name])
    return weight * np.sqrt(_part_histogram(name, sample))


def _part_histogram(name: str, sample: SurfaceSample) -> Floats:
    if name == "d2":
        return d2_histogram(sample.points)
    if name == "a3":
        return a3_histogram(sample.points)
    if name == "d1":
        return d1_histogram(sample.points)
    return fpfh_histogram(sample)


def _sample(mesh: Mesh, samples: int, seed: int) -> SurfaceSample:
    """The surface sample every part uses, after checking the mesh can give one."""
    if samples < MIN_SAMPLES:
        raise ValueError(f"samples must be at least {MIN_SAMPLES}, got {samples}")
    # normalise() turns a surface without area into NaN vertices: this check catches it too.
    if not np.isfinite(mesh.vertices).all():
        raise InvalidContent(
            "mesh_b64", "the mesh has non-finite vertices (or no surface area to normalise)"
        )
    if len(mesh.faces) == 0:
        raise InvalidContent("mesh_b64", "the mesh has no faces")
    return sample_surface(mesh, samples, seed)


def _offset_vectors(points: npt.NDArray[np.float32], before: int, after: int) -> Floats:
    """``(n, before + 1 + after, 3)``: from each point to the points ``-before..after`` away.

    Indices wrap around, so with ``before + after < n`` the pairs (and triples "before,
    point, after") are of distinct points. The sample is i.i.d., so these pairs are as
    random as drawn ones and need no index arrays: one window over a padded copy.
    """
    padded = np.concatenate([points[len(points) - before :], points, points[:after]])
    window = np.lib.stride_tricks.sliding_window_view(padded, before + 1 + after, axis=0)
    return np.asarray(np.moveaxis(window, 2, 1) - points[:, None, :], dtype=np.float64)


def _unit_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """Every part's weight scaled so the squares sum to 1 (a missing part weighs 0)."""
    unknown = sorted(set(weights) - set(HISTOGRAM_PARTS))
    if unknown:
        raise ValueError(
            f"unknown histogram parts {unknown}; the parts are {list(HISTOGRAM_PARTS)}"
        )
    values = {name: float(weights.get(name, 0.0)) for name in HISTOGRAM_PARTS}
    if any(not np.isfinite(w) or w < 0 for w in values.values()):
        raise ValueError(f"weights must be finite and non-negative, got {dict(weights)}")
    norm = float(np.sqrt(sum(w * w for w in values.values())))
    if norm == 0:
        raise ValueError("at least one histogram part needs a positive weight")
    return {name: w / norm for name, w in values.items()}


def _normalised(counts: Floats) -> Floats:
    total = counts.sum()
    return counts / total if total > 0 else np.full(len(counts), 1.0 / len(counts))
