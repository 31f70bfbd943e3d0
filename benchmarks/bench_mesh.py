"""3D designs: class retrieval (Princeton Shape Benchmark measures), near-duplicates, speed.

The data is the real meshes of the shared data folder (``mesh/``: CGAL and assimp models,
``labels.csv`` with a coarse ``class`` and a ``family`` of variants of one object);
``invalid_input`` and files that do not parse are left out. Every method sees each file
through the encoder's own path (base64 content → parse → normalise → descriptors), and
search is the exact inner product of the unit vectors (what a flat index ranks).

Methods: ``d2`` (the baseline: Osada's D2 shape distribution alone,
:func:`ipsim.models.mesh_histogram.d2_only`) and the mesh encoders ``histogram``,
``siamese`` and ``fused`` (``load_encoder("mesh", name)``). One ``preprocess`` per file
feeds them all: the fused encoder's unit holds the normalised mesh, the histogram and the
network's point cloud, which is exactly what each encoder's ``encode`` reads.

1. Classes (PSB measures, :mod:`ipsim.models.shape_metrics`): NN, first and second
   tier, E-measure, DCG, mAP and the precision–recall curve on the *test* shapes only
   (queries and database), never on shapes the network was trained on. The split is the
   checkpoint's ``meta.test_paths`` (without a checkpoint, the trainer's own deterministic
   :func:`~ipsim.models.mesh_training.split_shapes`). Curves: ``results/mesh-pr-cpu.png``.
2. Near-duplicate designs: each ``family`` member queries every valid mesh (itself left
   out) for another member. Then generated variants of each mesh (denser, coarser,
   shuffled, holed, half-flipped winding, and the file rewritten in another format by
   trimesh and parsed back) query the valid meshes for their original.
3. Invariance: each mesh rotated, scaled, scaled per axis, moved, re-triangulated
   (subdivided, decimated) and noised (:data:`ipsim.models.mesh_variants.VARIANTS`)
   queries the valid meshes; the goal is the original at rank 1 for >= 95 % per transform.

   A hit in 2 and 3 is a rank-1 (ties with the best count) that is the *same design*: the
   original, a member of its family, or a geometric twin. The data holds unlabelled twins
   (``cheese-box.off`` is ``cube.off``; ``cross_quad.off`` is ``cross.off`` in quads), which
   no method can tell apart; twins are found by geometry alone (:func:`geometric_twins`),
   and the strict share (the original itself at rank 1) is printed too.
4. Extraction time per file against face count: a real mesh subdivided and decimated to
   1k, 10k and 100k faces, as binary PLY; median of a few runs of the whole path.
5. With CUDA: the network's batch embedding on CUDA (bf16 autocast) against the CPU, and
   the largest difference between their vectors.

    .venv/bin/python -m benchmarks.bench_mesh [--quick] [--markdown FILE] [--data DIR]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import itertools
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
import trimesh
from scipy.spatial import cKDTree

from ipsim.benchmarks import plots
from ipsim.benchmarks.bench_mesh_cuda import cuda_comparison, median_ms
from ipsim.benchmarks.datasets import cache_dir, data_root
from ipsim.benchmarks.report import Report, Table, add_common_arguments
from ipsim.models.base import Encoder, InvalidContent
from ipsim.models.mesh import MeshEncoder, MeshUnit
from ipsim.models.mesh_geometry import (
    Mesh,
    normalise,
    pca_align,
    sample_surface,
    surface_second_moment,
)
from ipsim.models.mesh_histogram import d2_only
from ipsim.models.mesh_io import parse_mesh
from ipsim.models.mesh_preview import simplified
from ipsim.models.mesh_siamese import DEFAULT_CHECKPOINT, CheckpointError
from ipsim.models.mesh_training import Item, Shape, discover, load_items, split_shapes
from ipsim.models.mesh_variants import VARIANTS
from ipsim.models.registry import load_encoder
from ipsim.models.shape_metrics import (
    RECALL_LEVELS,
    ShapeScores,
    curve_of,
    pooled,
    rankings,
    relevance,
    scores_of,
)

GOAL_RANK1 = 0.95
TIE = 1e-5
"""Scores within this of the best count as the best (equal shapes give near-equal floats)."""
BATCH = 64
ENCODERS = ("histogram", "siamese", "fused")
BASELINE = "d2"
DESIGN_VARIANTS: dict[str, str] = {
    "denser (subdivide)": "subdivide",
    "coarser (decimate)": "decimate",
    "shuffled order": "shuffle",
    "holes (5% of faces)": "holes",
    "half winding flipped": "flip_winding",
}
OTHER_FORMAT = "other file format"
NEXT_FORMAT = {"off": "ply", "ply": "obj", "obj": "stl", "stl": "off"}
"""The format a file is rewritten in for the "other file format" variant."""
INVARIANCE = ("rotate", "scale", "scale_anisotropic", "translate", "subdivide", "decimate", "noise")
TIMING_MESH = "cgal/elephant.off"

TWIN_SAMPLES = 4096
TWIN_RATIO = 1.05
"""Two surfaces are twins when their chamfer distance is within 5 % of the distance
between two samples of one of them: on this data the same surface re-triangulated scores
at most 1.02, and the nearest different shapes (a sphere and the sphere with a hole, a
sphere and a coarser sphere) 1.07 and more."""
TWIN_SPREAD = 0.03
"""Pairs whose principal spreads differ by more than this (unit sphere) are not compared."""

Matrix = npt.NDArray[np.float32]
Hits = npt.NDArray[np.bool_]
Content = dict[str, str]


# --------------------------------------------------------------------- data


@dataclass(frozen=True)
class Design:
    """A valid labelled mesh file: its labels, bytes and parsed mesh."""

    path: str
    label: str
    family: str
    fmt: str
    raw: bytes
    mesh: Mesh

    @property
    def content(self) -> Content:
        return _content(self.raw, self.fmt)


def _content(raw: bytes, fmt: str) -> Content:
    return {"mesh_b64": base64.b64encode(raw).decode("ascii"), "format": fmt}


def load_designs(folder: Path) -> tuple[list[Design], list[tuple[str, str]], int]:
    """Valid designs, ``(path, reason)`` of files that fail, and how many are invalid_input."""
    shapes = discover(folder)
    items, failed = load_items(folder, shapes)
    ignored = len(shapes) - len(items) - len(failed)
    return [_design(folder, item) for item in items], failed, ignored


def _design(folder: Path, item: Item) -> Design:
    shape = item.shape
    fmt = Path(shape.path).suffix.lower().lstrip(".")
    raw = (folder / shape.path).read_bytes()
    return Design(shape.path, shape.label, shape.family, fmt, raw, item.mesh)


def ply_double(mesh: Mesh) -> bytes:
    """Binary PLY with float64 coordinates. Generated meshes travel in it unrounded (trimesh
    writes float32), so a variant differs from its original by its transform alone."""
    header = (
        "ply\nformat binary_little_endian 1.0\n"
        f"element vertex {len(mesh.vertices)}\n"
        "property double x\nproperty double y\nproperty double z\n"
        f"element face {len(mesh.faces)}\nproperty list uchar int vertex_indices\nend_header\n"
    )
    faces = np.zeros(len(mesh.faces), dtype=[("n", "u1"), ("corners", "<i4", (3,))])
    faces["n"], faces["corners"] = 3, mesh.faces
    vertices = np.ascontiguousarray(mesh.vertices, dtype="<f8")
    return header.encode("ascii") + vertices.tobytes() + faces.tobytes()


def export(mesh: Mesh, fmt: str) -> bytes:
    """The mesh written by trimesh as ``fmt`` (binary STL and PLY, text OBJ and OFF)."""
    data = trimesh.Trimesh(mesh.vertices, mesh.faces, process=False).export(file_type=fmt)
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


# --------------------------------------------------------------------- same design


def _chamfer(a: npt.NDArray[np.float64], tree_a: cKDTree, b: npt.NDArray[np.float64]) -> float:
    return 0.5 * float(tree_a.query(b)[0].mean() + cKDTree(b).query(a)[0].mean())


def _twin_pairs(designs: Sequence[Design]) -> list[tuple[int, int]]:
    """Pairs of designs whose normalised, principal-axis-aligned surfaces coincide."""
    frames = [pca_align(normalise(d.mesh)) for d in designs]
    spreads = [np.sqrt(np.abs(np.linalg.eigvalsh(surface_second_moment(f)))) for f in frames]
    points = [sample_surface(f, TWIN_SAMPLES, seed=1).points.astype(np.float64) for f in frames]
    trees = [cKDTree(p) for p in points]
    # The resampling distance: the same surface, another sample.
    floor = [
        _chamfer(points[i], trees[i], sample_surface(f, TWIN_SAMPLES, seed=2).points.astype(float))
        for i, f in enumerate(frames)
    ]
    signs = np.array(list(itertools.product((1.0, -1.0), repeat=3)))  # PCA's sign ambiguity
    pairs = []
    for i, j in itertools.combinations(range(len(designs)), 2):
        if np.abs(spreads[i] - spreads[j]).max() > TWIN_SPREAD:
            continue
        distance = min(_chamfer(points[i], trees[i], points[j] * s) for s in signs)
        if distance <= TWIN_RATIO * max(floor[i], floor[j]):
            pairs.append((i, j))
    return pairs


def geometric_twins(designs: Sequence[Design]) -> list[tuple[int, int]]:
    """:func:`_twin_pairs`, cached under ``var/bench`` by the files' content (~10 s to find)."""
    digest = hashlib.sha256(f"{TWIN_SAMPLES}:{TWIN_RATIO}:{TWIN_SPREAD}".encode())
    for design in designs:
        digest.update(design.path.encode() + hashlib.sha256(design.raw).digest())
    path = cache_dir() / f"mesh-twins-{digest.hexdigest()[:16]}.json"
    if path.exists():
        return [(int(a), int(b)) for a, b in json.loads(path.read_text())]
    pairs = _twin_pairs(designs)
    path.write_text(json.dumps(pairs))
    return pairs


def same_design(designs: Sequence[Design], twins: Sequence[tuple[int, int]]) -> list[set[int]]:
    """Per design: itself, its family and its geometric twins."""
    same = [{i} for i in range(len(designs))]
    for i, a in enumerate(designs):
        same[i].update(j for j, b in enumerate(designs) if a.family and b.family == a.family)
    for i, j in twins:
        same[i].add(j)
        same[j].add(i)
    return same


# --------------------------------------------------------------------- methods


class Methods:
    """The D2 baseline and every mesh encoder that loads, sharing one preprocess per file."""

    def __init__(self, device: str, checkpoint: Path | None) -> None:
        self.encoders: dict[str, Encoder[Any]] = {}
        self.missing: str | None = None
        for name in ENCODERS:
            model = name
            if checkpoint is not None and name != "histogram":
                model = str(checkpoint) if name == "siamese" else f"fused:{checkpoint}"
            try:
                self.encoders[name] = load_encoder(
                    "mesh", model, device=device, chunk_tokens=256, chunk_overlap=32
                )
            except CheckpointError as exc:
                self.missing = str(exc)
        # The richest encoder prepares units that every other one can encode.
        self.preparer = self.encoders.get("fused") or self.encoders["histogram"]
        network = self.preparer.network if isinstance(self.preparer, MeshEncoder) else None
        self.meta: dict[str, Any] = dict(network.meta) if network is not None else {}
        """The Siamese checkpoint's meta (with its train/test split); empty without one."""

    @property
    def names(self) -> list[str]:
        return [BASELINE, *self.encoders]

    def prepare(self, content: Content) -> MeshUnit:
        unit = self.preparer.preprocess(content, "document").units[0]
        if not isinstance(unit, MeshUnit):
            raise TypeError(f"the mesh encoder prepared a {type(unit).__name__}")
        return unit

    def encode(self, name: str, units: Sequence[MeshUnit]) -> Matrix:
        if name == BASELINE:
            return np.stack([d2_only(unit.mesh) for unit in units])
        encoder = self.encoders[name]
        parts = [encoder.encode(units[i : i + BATCH]) for i in range(0, len(units), BATCH)]
        return np.concatenate(parts)

    def vectors(self, contents: Sequence[Content]) -> tuple[dict[str, Matrix], list[str]]:
        """Every method's rows of the contents; a file that fails gets a zero row (a miss)."""
        units: list[MeshUnit | None] = []
        failures: list[str] = []
        for content in contents:
            try:
                units.append(self.prepare(content))
            except InvalidContent as exc:
                units.append(None)
                failures.append(str(exc))
        good = [u for u in units if u is not None]
        rows = np.array([u is not None for u in units], dtype=bool)
        out: dict[str, Matrix] = {}
        for name in self.names:
            encoded = self.encode(name, good) if good else np.zeros((0, 1), np.float32)
            full = np.zeros((len(units), encoded.shape[1]), dtype=np.float32)
            full[rows] = encoded
            out[name] = full
        return out, failures


# --------------------------------------------------------------------- rank-1 measures


def first_is_own(similarity: npt.NDArray[np.float32], own: Sequence[Sequence[int]]) -> Hits:
    """Per query row: does one of its ``own`` columns score the best (ties count)?"""
    best = similarity.max(axis=1)
    found = [similarity[row, list(cols)].max() >= best[row] - TIE for row, cols in enumerate(own)]
    return np.array(found, dtype=bool)


def family_rank1(vectors: Matrix, designs: Sequence[Design], same: Sequence[set[int]]) -> Hits:
    """Each family member against every other valid mesh: is rank 1 the same design?"""
    queries = [i for i, d in enumerate(designs) if d.family and len(same[i]) > 1]
    similarity = vectors[queries] @ vectors.T
    similarity[np.arange(len(queries)), queries] = -np.inf
    return first_is_own(similarity, [sorted(same[i] - {i}) for i in queries])


@dataclass(frozen=True)
class VariantRun:
    """Per method, whose rank-1 was the same design (``hits``) and the original (``strict``)."""

    hits: dict[str, Hits]
    strict: dict[str, Hits]
    failures: list[str]


def variant_contents(
    kind: str, designs: Sequence[Design], sources: Sequence[int], seed: int, salt: int
) -> list[Content]:
    """The ``kind`` variant of each source design, as file content."""
    out = []
    for k, i in enumerate(sources):
        design = designs[i]
        if kind == OTHER_FORMAT:
            fmt = NEXT_FORMAT[design.fmt]
            out.append(_content(export(design.mesh, fmt), fmt))
        else:
            changed = VARIANTS[kind](design.mesh, np.random.default_rng([seed, salt, k]))
            out.append(_content(ply_double(changed), "ply"))
    return out


def run_variants(
    methods: Methods,
    kinds: Sequence[str],
    database: Mapping[str, Matrix],
    same: Sequence[set[int]],
    designs: Sequence[Design],
    sources: Sequence[int],
    seed: int,
) -> dict[str, VariantRun]:
    """Each kind's variants of ``sources`` against the database of every valid design."""
    own = [sorted(same[i]) for i in sources]
    originals = [[i] for i in sources]
    runs = {}
    for salt, kind in enumerate(kinds):
        print(f"  {kind} ...", flush=True)
        queries, failures = methods.vectors(variant_contents(kind, designs, sources, seed, salt))
        scores = {name: queries[name] @ database[name].T for name in methods.names}
        runs[kind] = VariantRun(
            hits={name: first_is_own(s, own) for name, s in scores.items()},
            strict={name: first_is_own(s, originals) for name, s in scores.items()},
            failures=failures,
        )
    return runs


def rate_table(title: str, runs: Mapping[str, VariantRun], names: Sequence[str]) -> Table:
    """Share of hits per variant and method, then over all variants (and strictly)."""
    table = Table(title, ["variant", "queries", *names])
    for label, run in runs.items():
        table.add(label, len(run.hits[names[0]]), *(float(run.hits[n].mean()) for n in names))
    for label, attribute in (("all", "hits"), ("all, the original itself", "strict")):
        every = {
            n: np.concatenate([getattr(r, attribute)[n] for r in runs.values()]) for n in names
        }
        table.add(label, len(every[names[0]]), *(float(every[n].mean()) for n in names))
    return table


# --------------------------------------------------------------------- classes


def test_split(designs: Sequence[Design], meta: Mapping[str, Any]) -> tuple[list[int], str]:
    """Rows of the held-out shapes: the checkpoint's ``test_paths``, else the trainer's split."""
    if "test_paths" in meta:
        wanted = set(meta["test_paths"])
        source = "the checkpoint's meta.test_paths"
    else:
        shapes = [Shape(d.path, d.label, d.family) for d in designs]
        wanted = {s.path for s in split_shapes(shapes)[1]}
        source = "split_shapes() of these labels (no checkpoint meta)"
    return [i for i, d in enumerate(designs) if d.path in wanted], source


Curve = tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]


def class_scores(
    vectors: Mapping[str, Matrix], labels: Sequence[str]
) -> dict[str, tuple[ShapeScores, Curve]]:
    """PSB measures and the PR curve per method (queries = database = the rows given)."""
    out = {}
    for name, rows in vectors.items():
        query_rows, ranked = rankings(rows @ rows.T)
        hits = relevance(ranked, query_rows, labels)
        out[name] = (scores_of(hits), curve_of(hits))
    return out


def class_table(
    folds: Sequence[Mapping[str, tuple[ShapeScores, Curve]]], title: str
) -> tuple[Table, dict[str, Curve], dict[str, float]]:
    """One row per method, pooled over the folds (each fold's queries weigh by their count)."""
    table = Table(title, ["method", "NN", "FT", "ST", "E", "DCG", "mAP", "queries", "skipped"])
    curves, nn = {}, {}
    for name in folds[0]:
        parts = [fold[name] for fold in folds]
        s = pooled([scores for scores, _ in parts])
        weights = np.array([scores.queries for scores, _ in parts], dtype=np.float64)
        recall = parts[0][1][0]
        precision = sum(w * curve[1] for w, (_, curve) in zip(weights, parts, strict=True))
        curves[name], nn[name] = (recall, precision / weights.sum()), s.nn
        table.add(
            name, s.nn, s.first_tier, s.second_tier, s.e_measure, s.dcg, s.map, s.queries, s.skipped
        )
    return table, curves, nn


def fold_scores(
    designs: Sequence[Design], units: Sequence[MeshUnit], checkpoint: Path, device: str
) -> tuple[dict[str, tuple[ShapeScores, Curve]], int]:
    """Class scores of another fold's checkpoint on its own test split; its shape count."""
    fold = Methods(device, checkpoint)
    if fold.missing:
        raise SystemExit(f"--cv {checkpoint}: {fold.missing}")
    rows, _ = test_split(designs, fold.meta)
    vectors = {name: fold.encode(name, [units[i] for i in rows]) for name in fold.names}
    return class_scores(vectors, [designs[i].label for i in rows]), len(rows)


# --------------------------------------------------------------------- speed


def sized_copies(mesh: Mesh, sizes: Sequence[int]) -> list[Mesh]:
    """The mesh subdivided (whole levels) until big enough, then decimated to each size."""
    out = []
    for size in sizes:
        dense = mesh
        while len(dense.faces) < size:
            vertices, faces = trimesh.remesh.subdivide(dense.vertices, dense.faces)  # type: ignore[no-untyped-call]
            dense = Mesh(np.asarray(vertices, np.float64), np.asarray(faces, np.int64))
        out.append(simplified(dense, size))
    return out


def file_times(methods: Methods, raw: bytes, repeat: int) -> dict[str, float]:
    """Milliseconds for one binary PLY file: parsing alone, and each method's whole path."""
    content = _content(raw, "ply")
    ms = {"parse": median_ms(lambda: parse_mesh(raw, "ply"), repeat)}
    ms[BASELINE] = median_ms(lambda: d2_only(normalise(parse_mesh(raw, "ply"))), repeat)
    for name, encoder in methods.encoders.items():

        def whole(encoder: Encoder[Any] = encoder) -> object:
            return encoder.encode(encoder.preprocess(content, "document").units)

        ms[name] = median_ms(whole, repeat)
    return ms


# --------------------------------------------------------------------- report


def _goal_note(name: str, runs: Mapping[str, VariantRun]) -> str:
    weak = {k: float(r.hits[name].mean()) for k, r in runs.items()}
    weak = {k: v for k, v in weak.items() if v < GOAL_RANK1}
    verdict = (
        "MET" if not weak else "NOT MET for " + ", ".join(f"{k} {v:.3f}" for k, v in weak.items())
    )
    return (
        f"Invariance goal (same design at rank 1 >= {GOAL_RANK1} per transform), {name}: {verdict}."
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the report (and append it as Markdown when asked)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--data", type=Path, help="mesh folder with labels.csv (default: shared)")
    parser.add_argument("--device", default="cpu", help="torch device of the encoders")
    parser.add_argument("--checkpoint", type=Path, help="Siamese checkpoint (default: shipped)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated variants")
    parser.add_argument(
        "--cv",
        type=Path,
        nargs="*",
        default=[],
        metavar="CHECKPOINT",
        help="checkpoints of the other folds (`ipsim train mesh --fold K`): the class table "
        "pools every fold's test split, each scored by the network that never saw it",
    )
    args = parser.parse_args(argv)
    folder = args.data or data_root() / "mesh"
    started = time.perf_counter()

    designs, failed, ignored = load_designs(folder)
    methods = Methods(args.device, args.checkpoint)
    names = methods.names
    test_rows, split_source = test_split(designs, methods.meta)
    step = 4 if args.quick else 1
    sources = list(range(0, len(designs), step))
    sizes = (1_000, 10_000) if args.quick else (1_000, 10_000, 100_000)
    repeat = 3 if args.quick else 5
    twins = geometric_twins(designs)
    same = same_design(designs, twins)
    report = Report(
        f"bench_mesh: {len(designs)} real meshes; PSB measures, near-duplicates, invariance",
        {
            "data": f"{folder}: {len(designs)} valid meshes ({ignored} invalid_input left out; "
            f"failing to parse: {', '.join(p for p, _ in failed) or 'none'})",
            "test split": f"{len(test_rows)} shapes from {split_source}"
            + (f"; plus the test splits of {len(args.cv)} more folds (--cv)" if args.cv else ""),
            "methods": f"{BASELINE} (d2_only, the baseline); "
            + ", ".join(f"{n} ({e.dim} dims)" for n, e in methods.encoders.items())
            + (f"; not run: {methods.missing}" if methods.missing else ""),
            "checkpoint": "absent"
            if methods.missing
            else ", ".join(str(p) for p in [args.checkpoint or DEFAULT_CHECKPOINT, *args.cv]),
            "device": f"{args.device}; torch threads {torch.get_num_threads()}",
            "same design": f"original, family (labels.csv) or geometric twin: {len(twins)} twin "
            f"pairs (chamfer <= {TWIN_RATIO} x resampling distance, {TWIN_SAMPLES} points)",
            "variants": f"of {len(sources)} of the {len(designs)} meshes (every {step}), "
            f"seed {args.seed}",
            "search": "exact inner product of unit vectors (numpy)",
        },
    )
    report.configure(args)
    report.print_header()

    print("\nencoding the valid meshes ...", flush=True)
    units = [methods.prepare(d.content) for d in designs]
    database = {name: methods.encode(name, units) for name in names}

    labels = [designs[i].label for i in test_rows]
    folds = [class_scores({name: rows[test_rows] for name, rows in database.items()}, labels)]
    shapes = len(test_rows)
    for checkpoint in args.cv:
        scores, count = fold_scores(designs, units, checkpoint, args.device)
        folds.append(scores)
        shapes += count
    scope = f"pooled over {len(folds)} folds, " if len(folds) > 1 else ""
    classes, curves, nn = class_table(
        folds,
        f"Classes (PSB measures): {shapes} test shapes, {scope}{len(set(labels))} classes; "
        "queries = database = each fold's test split",
    )
    report.tables.append(classes)
    plot = report.plot_path("pr")
    plots.precision_recall(
        plot,
        curves,
        f"Mesh classes: {shapes} test shapes, {scope}11-point PR",
        recall_ticks=RECALL_LEVELS[::2],
    )

    families = {name: family_rank1(rows, designs, same) for name, rows in database.items()}
    family_table = Table(
        "Near-duplicate designs: family member -> the same design at rank 1 (all valid meshes)",
        ["queries", *names],
    )
    family_table.add(len(families[BASELINE]), *(float(families[n].mean()) for n in names))
    report.tables.append(family_table)

    print("design variants ...", flush=True)
    kinds = [*DESIGN_VARIANTS.values(), OTHER_FORMAT]
    design_runs = run_variants(methods, kinds, database, same, designs, sources, args.seed)
    shown = {label: design_runs[kind] for label, kind in DESIGN_VARIANTS.items()}
    shown[f"{OTHER_FORMAT} (off>ply>obj>stl>off)"] = design_runs[OTHER_FORMAT]
    report.tables.append(
        rate_table("Near-duplicate designs: variant -> the same design at rank 1", shown, names)
    )

    print("invariance ...", flush=True)
    more = [k for k in INVARIANCE if k not in design_runs]
    runs = {
        **design_runs,
        **run_variants(methods, more, database, same, designs, sources, args.seed),
    }
    invariance = {k: runs[k] for k in INVARIANCE}
    report.tables.append(
        rate_table(
            f"Invariance: transformed mesh -> the same design at rank 1 (goal >= {GOAL_RANK1})",
            invariance,
            names,
        )
    )

    print("extraction time ...", flush=True)
    by_path = {d.path: d for d in designs}
    base = by_path[TIMING_MESH] if TIMING_MESH in by_path else designs[0]
    speed = Table(
        f"Extraction time per file on {args.device} (ms, median of {repeat}): "
        f"{base.path} subdivided and decimated, binary PLY",
        ["faces", "file KiB", "parse", *names],
    )
    for copy in sized_copies(base.mesh, sizes):
        raw = export(copy, "ply")
        ms = file_times(methods, raw, repeat)
        speed.add(len(copy.faces), len(raw) / 1024, ms["parse"], *(ms[n] for n in names))
    report.tables.append(speed)

    print("CUDA ...", flush=True)
    clouds = [u.cloud for u in units if u.cloud is not None]
    if clouds:
        total = 1024 if args.quick else 8192
        report.tables += cuda_comparison(np.stack(clouds), args.checkpoint, total)

    if "siamese" in nn and nn[BASELINE] > 0:
        report.notes.append(
            f"NN(siamese) / NN(d2) on the test classes: {nn['siamese'] / nn[BASELINE]:.2f} "
            f"({nn['siamese']:.3f} / {nn[BASELINE]:.3f})."
        )
    report.notes += [_goal_note(name, invariance) for name in names]
    failures = [f for run in runs.values() for f in run.failures]
    if failures:
        report.notes.append(f"{len(failures)} generated variants failed to load: {failures[:3]}")
    report.notes.append(
        "Classes are coarse and unbalanced (weak labels); a class with one test shape is "
        "no query but stays in the database."
    )
    if plot is not None:
        report.notes.append(f"Precision-recall plot: {plot.name}")
    report.notes.append(f"Wall time {time.perf_counter() - started:.0f} s.")
    report.publish(args.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
