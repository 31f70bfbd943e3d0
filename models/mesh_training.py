"""Training the Siamese mesh network (``ipsim train mesh``) and checking it on held-out shapes.

Data: a folder with ``labels.csv`` (``path,source,class,family``, paths relative to the
folder), or else mesh files in sub-folders (the first sub-folder is the class, every file
its own shape). Files that do not parse are skipped and counted; class ``invalid_input``
is never used.

Split (:func:`split_shapes`), a function of the labels alone, so every seed and every
run sees the same one: shapes are grouped by ``family`` (a shape without one is its own
group), so near-duplicates never straddle the split; each group takes its members'
majority class; within a class the groups are ordered by a SHA-256 hash of their key and
the first third (at least one, never all) are test groups. So a class with two or more
*groups* has shapes on both sides; a class whose shapes are one family trains only.
``--fold 1`` and ``--fold 2`` test on the first and second half of the other groups
instead, so three runs test every shape of such a class once (cross-validation; the
shipped network is fold 0).

Loss: supervised contrastive (Khosla et al. 2020, "SupCon") over a batch of ``2B`` clouds:
two augmented views of each of ``B`` shapes. Positives are the other view of the same
shape and views of shapes of the same family (weight 1) and, if ``class_weight > 0``,
views of shapes of the same class (that weight; default 0: on the held-out shapes it
raised class NN a little but lowered how often a variant finds its original, see
``weights/README.md``). The views come from two layers:

* mesh-level, computed once per shape at the start (:func:`shape_views`): a random
  rotation and anisotropic scale plus one of re-meshing (subdivide, decimate), vertex
  noise, holes, flipped winding or shuffled order (:mod:`ipsim.models.mesh_variants`),
  then sampled to a pool of points the way inference samples them (PCA-aligned if so
  configured: a rotated mesh is aligned again, which is what inference sees);
* point-level, per step (:func:`augment`): a random subset of the pool (point dropout),
  jitter, a mild anisotropic scale and, without PCA alignment, a random rotation.

Determinism: the mesh-level views depend on ``(seed, shape)`` only; the per-step draws
come from one numpy generator and the model's initialisation from torch's, and both
states go into the checkpoint written (atomically) after every epoch with the model,
the optimiser and the epoch, so ``--resume`` continues exactly where the run stopped.
The learning rate is a function of the step and of ``epochs`` (warm-up, then cosine), so
it needs no scheduler state: resumed with the same ``epochs``, an interrupted run ends
bit-for-bit where an uninterrupted one does (on the CPU); resumed with more, the cosine
stretches over the new total from there on.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import os
import platform
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from scipy.spatial.transform import Rotation
from tqdm import tqdm

from ipsim.models.base import InvalidContent
from ipsim.models.mesh_geometry import Mesh, normalise
from ipsim.models.mesh_siamese import (
    CLOUD_SEED,
    Cloud,
    NetworkConfig,
    PointNet,
    SiameseNetwork,
    checkpoint_state,
    network_input,
    oriented_sample,
    read_checkpoint,
)
from ipsim.models.mesh_variants import VARIANTS, rotate, scale_anisotropic

MESH_SUFFIXES = (".stl", ".obj", ".ply", ".off")
IGNORED_CLASS = "invalid_input"
UNLABELLED = "unlabelled"
TEST_SHARE = 1 / 3
FOLDS = 3
"""Cross-validation folds: fold 0 is the first third of each class's groups, 1 and 2 the
halves of the rest."""
SPLIT_SALT = "ipsim-mesh-split"
DAMAGE = ("none", "subdivide", "decimate", "noise", "holes", "flip_winding", "shuffle")
"""The mesh-level change of each precomputed view (one each, drawn uniformly)."""
CHECK_VARIANTS = ("rotate", "scale", "subdivide", "decimate", "noise", "holes", "flip_winding")
"""Variants of every test shape that must find their original (reported at the end)."""
JITTER = 0.01
WARMUP_SHARE = 0.05

Echo = Callable[[str], None]


@dataclass(frozen=True)
class Shape:
    """One labelled mesh file; ``path`` is relative to the data folder."""

    path: str
    label: str
    family: str = ""

    @property
    def group(self) -> str:
        """Shapes that must stay on one side of the split share this key."""
        return f"family:{self.family}" if self.family else f"path:{self.path}"


@dataclass(frozen=True)
class Item:
    """A shape with its parsed mesh."""

    shape: Shape
    mesh: Mesh


@dataclass(frozen=True)
class TrainOptions:
    """Everything a run depends on (:meth:`record` and the network config go into the meta)."""

    data: Path
    out: Path
    epochs: int
    seed: int = 0
    batch: int = 32
    device: str | None = None
    resume: bool = False
    progress: bool = True
    network: NetworkConfig = field(default_factory=NetworkConfig)
    views: int = 16
    pool: int = 2048
    lr: float = 2e-3
    weight_decay: float = 1e-4
    temperature: float = 0.1
    class_weight: float = 0.0
    fold: int = 0

    def record(self) -> dict[str, Any]:
        """The options as plain values, for the checkpoint's meta."""
        return {
            "data": str(self.data),
            "epochs": self.epochs,
            "seed": self.seed,
            "batch": self.batch,
            "views": self.views,
            "pool": self.pool,
            "lr": self.lr,
            "weight_decay": self.weight_decay,
            "temperature": self.temperature,
            "class_weight": self.class_weight,
            "fold": self.fold,
        }


# ---------------------------------------------------------------- data


def discover(data: Path) -> list[Shape]:
    """The labelled shapes of a data folder (``labels.csv``, else sub-folder = class)."""
    labels = data / "labels.csv"
    if labels.is_file():
        with labels.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        return [Shape(r["path"], r["class"], r.get("family") or "") for r in rows]
    files = sorted(p for p in data.rglob("*") if p.is_file() and p.suffix.lower() in MESH_SUFFIXES)
    shapes = []
    for file in files:
        relative = file.relative_to(data)
        label = relative.parts[0] if len(relative.parts) > 1 else UNLABELLED
        shapes.append(Shape(relative.as_posix(), label))
    return shapes


def read_mesh(path: Path) -> Mesh:
    """Parse a mesh file by its suffix; :class:`InvalidContent` when it is not a usable mesh."""
    from ipsim.models.mesh_geometry import face_areas
    from ipsim.models.mesh_io import parse_mesh

    mesh = parse_mesh(path.read_bytes(), path.suffix.lower().lstrip("."))
    if not face_areas(mesh).sum() > 0:
        raise InvalidContent("mesh_b64", "the mesh has no surface area")
    return mesh


def load_items(data: Path, shapes: Sequence[Shape]) -> tuple[list[Item], list[tuple[str, str]]]:
    """Parsed shapes (``invalid_input`` left out) and ``(path, reason)`` for those that fail."""
    items: list[Item] = []
    failed: list[tuple[str, str]] = []
    for shape in shapes:
        if shape.label == IGNORED_CLASS:
            continue
        try:
            items.append(Item(shape, read_mesh(data / shape.path)))
        except (InvalidContent, OSError) as exc:
            failed.append((shape.path, str(exc)))
    return items, failed


def _digest(text: str) -> str:
    return hashlib.sha256(f"{SPLIT_SALT}:{text}".encode()).hexdigest()


def split_shapes(shapes: Sequence[Shape], fold: int = 0) -> tuple[list[Shape], list[Shape]]:
    """``(train, test)`` by family groups, stratified by class (see the module notes)."""
    if not 0 <= fold < FOLDS:
        raise ValueError(f"fold must be from 0 to {FOLDS - 1}, not {fold}")
    groups: dict[str, list[Shape]] = {}
    for shape in shapes:
        groups.setdefault(shape.group, []).append(shape)
    by_class: dict[str, list[str]] = {}
    for key, members in groups.items():
        label = sorted(Counter(m.label for m in members).most_common(), key=lambda c: -c[1])[0][0]
        by_class.setdefault(label, []).append(key)
    test_groups: set[str] = set()
    for keys in by_class.values():
        if len(keys) < 2:
            continue
        count = min(len(keys) - 1, max(1, round(len(keys) * TEST_SHARE)))
        ordered = sorted(keys, key=_digest)
        rest, half = ordered[count:], (len(ordered) - count + 1) // 2
        test_groups.update((ordered[:count], rest[:half], rest[half:])[fold])
    train = [s for s in shapes if s.group not in test_groups]
    test = [s for s in shapes if s.group in test_groups]
    return train, test


# ---------------------------------------------------------------- views and augmentation


def shape_views(mesh: Mesh, config: NetworkConfig, views: int, pool: int, seed: int) -> Cloud:
    """``(views, pool, 6)`` oriented samples of mesh-level variants; view 0 is the mesh."""
    rng = np.random.default_rng(seed)
    base = normalise(mesh)
    clouds = [oriented_sample(base, config, pool, CLOUD_SEED)]
    for _ in range(views - 1):
        damage = DAMAGE[int(rng.integers(len(DAMAGE)))]
        variant = base if damage == "none" else VARIANTS[damage](base, rng)
        variant = rotate(scale_anisotropic(variant, rng), rng)
        clouds.append(oriented_sample(variant, config, pool, int(rng.integers(2**31))))
    return np.stack(clouds)


def augment(cloud: Cloud, config: NetworkConfig, rng: np.random.Generator) -> Cloud:
    """A training view: point subset, jitter, mild stretch, rotation when not PCA-aligned."""
    chosen = rng.choice(len(cloud), size=config.points, replace=False)
    points = cloud[chosen, :3].astype(np.float64)
    normals = cloud[chosen, 3:6].astype(np.float64)
    stretch = np.exp(rng.uniform(np.log(0.9), np.log(1 / 0.9), size=3))
    points = points * stretch + rng.normal(0.0, JITTER, points.shape)
    normals = normals / stretch
    if config.align == "none":
        matrix = Rotation.random(rng=rng).as_matrix()
        points, normals = points @ matrix.T, normals @ matrix.T
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    out = np.concatenate([points, normals, cloud[chosen, 6:]], axis=1).astype(np.float32)
    return network_input(out, config)


def positive_weights(
    shapes: Sequence[Shape], order: npt.NDArray[np.int64], class_weight: float
) -> torch.Tensor:
    """``(2B, 2B)`` positive weights of a batch whose views are ``order`` twice."""
    batch = [shapes[i] for i in order]
    same_shape = torch.tensor([[a is b for b in batch] for a in batch], dtype=torch.float32)
    family = torch.tensor(
        [[bool(a.family) and a.family == b.family for b in batch] for a in batch],
        dtype=torch.float32,
    )
    label = torch.tensor(
        [[a.label == b.label and a.label != UNLABELLED for b in batch] for a in batch],
        dtype=torch.float32,
    )
    weights = torch.maximum(torch.maximum(same_shape, family), class_weight * label)
    full = weights.repeat(2, 2)
    full.fill_diagonal_(0.0)
    return full


def supcon_loss(vectors: torch.Tensor, weights: torch.Tensor, temperature: float) -> torch.Tensor:
    """Weighted SupCon: mean over anchors of ``-Σ w log p / Σ w`` (unit-row ``vectors``)."""
    logits = vectors @ vectors.T / temperature
    eye = torch.eye(len(vectors), dtype=torch.bool, device=vectors.device)
    logits = logits.masked_fill(eye, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    log_prob = log_prob.masked_fill(eye, 0.0)
    per_anchor = -(weights * log_prob).sum(dim=1) / weights.sum(dim=1).clamp_min(1e-12)
    return per_anchor.mean()


def learning_rate(step: int, total: int, peak: float) -> float:
    """Linear warm-up over the first 5 % of steps, then cosine decay to zero."""
    warmup = max(1, round(total * WARMUP_SHARE))
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return float(peak * 0.5 * (1.0 + np.cos(np.pi * progress)))


def _cuts(count: int, size: int) -> list[int]:
    cuts = list(range(0, count, size))
    if len(cuts) > 1 and count - cuts[-1] < 2:  # a batch of one has no negatives
        cuts.pop()
    return cuts


def steps_per_epoch(count: int, size: int) -> int:
    """How many batches :func:`batches` makes of ``count`` shapes."""
    return len(_cuts(count, size))


def batches(count: int, size: int, rng: np.random.Generator) -> Iterator[npt.NDArray[np.int64]]:
    """One epoch's shape indices in batches (a last batch of one joins the previous one)."""
    order = rng.permutation(count)
    cuts = _cuts(count, size)
    for i, start in enumerate(cuts):
        end = cuts[i + 1] if i + 1 < len(cuts) else count
        yield order[start:end]


# ---------------------------------------------------------------- evaluation


def nn_rate(vectors: npt.NDArray[np.float32], labels: Sequence[str]) -> tuple[float, int]:
    """Leave-one-out nearest-neighbour hit rate over queries whose label has another member.

    Empty labels are not queries (but stay in the gallery). Returns ``(rate, queries)``.
    """
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    counts = Counter(labels)
    queries = [i for i, lab in enumerate(labels) if lab and counts[lab] > 1]
    hits = sum(labels[int(np.argmax(similarity[i]))] == labels[i] for i in queries)
    return (hits / len(queries) if queries else float("nan")), len(queries)


def d2_vectors(meshes: Sequence[Mesh]) -> npt.NDArray[np.float32]:
    """The D2 histogram baseline (:func:`ipsim.models.mesh_histogram.d2_only`)."""
    from ipsim.models.mesh_histogram import d2_only

    return np.stack([d2_only(normalise(m)) for m in meshes])


def network_vectors(network: SiameseNetwork, meshes: Sequence[Mesh]) -> npt.NDArray[np.float32]:
    """The network's unit vectors of meshes, embedded in batches of 64."""
    clouds = np.stack([network.cloud(m) for m in meshes])
    return np.concatenate([network.embed(clouds[i : i + 64]) for i in range(0, len(clouds), 64)])


Describe = Callable[[Sequence[Mesh]], npt.NDArray[np.float32]]


def same_design(a: Shape, b: Shape) -> bool:
    """One shape, or two members of one family (the same object in other files)."""
    return a.path == b.path or (bool(a.family) and a.family == b.family)


def evaluate(describe: Describe, test: Sequence[Item], seed: int) -> dict[str, Any]:
    """Class and family NN among the test shapes, and rank-1 of their variants.

    A variant of a test shape is a hit when the nearest test shape is its original (or
    ties with it) or a member of its family: a family is one object in other files
    (re-meshed, other formats), so such a neighbour is the same design.
    """
    vectors = describe([i.mesh for i in test])
    class_nn, class_queries = nn_rate(vectors, [i.shape.label for i in test])
    family_nn, family_queries = nn_rate(vectors, [i.shape.family for i in test])
    rows = np.arange(len(test))
    shapes = [i.shape for i in test]
    same = np.array([[same_design(a, b) for b in shapes] for a in shapes])
    variants: dict[str, float] = {}
    for v, name in enumerate(CHECK_VARIANTS):
        meshes = [
            VARIANTS[name](item.mesh, np.random.default_rng([seed, v, k]))
            for k, item in enumerate(test)
        ]
        similarity = describe(meshes) @ vectors.T
        tied = similarity[rows, rows] >= similarity.max(axis=1) - 1e-6
        variants[name] = float(np.mean(tied | same[rows, similarity.argmax(axis=1)]))
    return {
        "class_nn": class_nn,
        "class_queries": class_queries,
        "family_nn": family_nn,
        "family_queries": family_queries,
        "variant_rank1": variants,
    }


def report(results: dict[str, dict[str, Any]]) -> str:
    """A small table of :func:`evaluate` results by method."""
    names = list(results)
    first = results[names[0]]
    rows = [
        f"{'measure (test split)':<28}" + "".join(f"{n:>10}" for n in names),
        f"{'class NN (' + str(first['class_queries']) + ' queries)':<28}"
        + "".join(f"{results[n]['class_nn']:>10.3f}" for n in names),
        f"{'family NN (' + str(first['family_queries']) + ' queries)':<28}"
        + "".join(f"{results[n]['family_nn']:>10.3f}" for n in names),
    ]
    for variant in first["variant_rank1"]:
        rows.append(
            f"{'rank-1 ' + variant:<28}"
            + "".join(f"{results[n]['variant_rank1'][variant]:>10.3f}" for n in names)
        )
    return "\n".join(rows)


# ---------------------------------------------------------------- training


def save_atomic(state: dict[str, Any], path: Path) -> None:
    """Write a checkpoint through a temporary file, so a crash never leaves half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    torch.save(state, temporary)
    os.replace(temporary, path)


def pick_device(requested: str | None) -> str:
    """``requested``, else CUDA when present, else the CPU."""
    if requested:
        return requested
    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass
class Run:
    """The state of one training run between epochs."""

    model: PointNet
    optimiser: torch.optim.AdamW
    rng: np.random.Generator
    epoch: int
    meta: dict[str, Any]


def _start(options: TrainOptions, meta: dict[str, Any], device: str) -> Run:
    torch.manual_seed(options.seed)
    model = PointNet(options.network).to(device)
    optimiser = torch.optim.AdamW(
        model.parameters(), lr=options.lr, weight_decay=options.weight_decay
    )
    return Run(model, optimiser, np.random.default_rng(options.seed), 0, meta)


def _resume(options: TrainOptions, meta: dict[str, Any], device: str, echo: Echo) -> Run:
    state = read_checkpoint(options.out)
    if "optimiser" not in state:
        raise ValueError(f"{options.out} holds no optimiser state: it cannot be resumed")
    saved = state["meta"]
    for key in ("train_paths", "test_paths"):
        if saved[key] != meta[key]:
            raise ValueError(f"{options.out} was trained on other data ({key} differ)")
    if state["config"] != options.network.to_dict():
        raise ValueError(f"{options.out} has another network config: {state['config']}")
    free = ("epochs", "data")  # more epochs may follow; the data is checked by its paths
    before = {k: v for k, v in saved["options"].items() if k not in free}
    now = {k: v for k, v in options.record().items() if k not in free}
    if before != now:
        changed = sorted(k for k in now if before.get(k) != now[k])
        raise ValueError(f"{options.out} was trained with other options: {', '.join(changed)}")
    carried = {k: saved[k] for k in ("history", "train_seconds") if k in saved}
    run = _start(options, {**meta, **carried}, device)
    run.model.load_state_dict(state["model"])
    run.optimiser.load_state_dict(state["optimiser"])
    run.rng.bit_generator.state = state["rng"]["numpy"]
    torch.set_rng_state(state["rng"]["torch"])
    run.epoch = int(state["epoch"])
    echo(f"resuming {options.out} after epoch {run.epoch}")
    return run


def _save(run: Run, options: TrainOptions) -> None:
    state = checkpoint_state(run.model, options.network, run.meta)
    state.update(
        epoch=run.epoch,
        optimiser=run.optimiser.state_dict(),
        rng={"numpy": run.rng.bit_generator.state, "torch": torch.get_rng_state()},
    )
    save_atomic(state, options.out)


def _epoch(
    run: Run, options: TrainOptions, shapes: Sequence[Shape], pools: Cloud, bar: tqdm, device: str
) -> float:
    steps = steps_per_epoch(len(shapes), options.batch)
    total = steps * options.epochs
    losses = []
    run.model.train()
    for k, order in enumerate(batches(len(shapes), options.batch, run.rng)):
        step = run.epoch * steps + k
        views = [
            augment(pools[i, run.rng.integers(options.views)], options.network, run.rng)
            for _ in range(2)
            for i in order
        ]
        clouds = torch.from_numpy(np.stack(views)).to(device)
        weights = positive_weights(shapes, order, options.class_weight).to(device)
        for group in run.optimiser.param_groups:
            group["lr"] = learning_rate(step, total, options.lr)
        loss = supcon_loss(run.model(clouds), weights, options.temperature)
        run.optimiser.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        run.optimiser.step()
        losses.append(float(loss.detach()))
        bar.update(1)
        bar.set_postfix(epoch=run.epoch + 1, loss=f"{losses[-1]:.3f}")
    return float(np.mean(losses))


def training_views(options: TrainOptions, meshes: Sequence[Mesh]) -> Cloud:
    """``(shapes, views, pool, channels)``: every training shape's mesh-level views."""
    clouds = [
        shape_views(mesh, options.network, options.views, options.pool, options.seed * 100_003 + k)
        for k, mesh in enumerate(
            tqdm(meshes, desc="mesh views", disable=not options.progress, leave=False)
        )
    ]
    return np.stack(clouds)


def _cpu_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def environment(device: str) -> dict[str, Any]:
    """Where a run ran, for the checkpoint's meta."""
    name = torch.cuda.get_device_name() if device.startswith("cuda") else _cpu_name()
    return {
        "device": device,
        "device_name": name,
        "cpu_threads": torch.get_num_threads(),
        "torch": str(torch.__version__),
        "python": platform.python_version(),
    }


def train(options: TrainOptions, echo: Echo = print) -> dict[str, Any]:
    """Train (or resume) to ``options.epochs``, checkpoint each epoch, evaluate; the meta."""
    started = time.perf_counter()
    device = pick_device(options.device)
    items, failed = load_items(options.data, discover(options.data))
    if failed:
        echo(f"skipped {len(failed)} files that do not parse: {', '.join(p for p, _ in failed)}")
    train_shapes, test_shapes = split_shapes([i.shape for i in items], options.fold)
    if len(train_shapes) < 2:
        raise ValueError(f"{options.data}: {len(train_shapes)} training shapes; need at least 2")
    by_path = {i.shape.path: i for i in items}
    echo(
        f"{len(items)} shapes: {len(train_shapes)} train, {len(test_shapes)} test; device {device}"
    )
    meta: dict[str, Any] = {
        "options": options.record(),
        "split": "family groups, class-stratified, first third by sha256 of group key",
        "train_paths": [s.path for s in train_shapes],
        "test_paths": [s.path for s in test_shapes],
        "skipped": [p for p, _ in failed],
        "history": [],
    }
    run = _resume(options, meta, device, echo) if options.resume else _start(options, meta, device)
    pools = training_views(options, [by_path[s.path].mesh for s in train_shapes])
    remaining = max(0, options.epochs - run.epoch) * steps_per_epoch(
        len(train_shapes), options.batch
    )
    looped = time.perf_counter()
    with tqdm(total=remaining, desc="train mesh", disable=not options.progress) as bar:
        while run.epoch < options.epochs:
            loss = _epoch(run, options, train_shapes, pools, bar, device)
            run.epoch += 1
            run.meta["history"].append({"epoch": run.epoch, "loss": round(loss, 5)})
            _save(run, options)
    run.meta["train_seconds"] = round(
        run.meta.get("train_seconds", 0.0) + time.perf_counter() - looped, 1
    )
    run.meta["setup_seconds"] = round(looped - started, 1)
    run.meta["environment"] = environment(device)
    run.meta["fusion"] = fusion_calibration(run, options, [by_path[s.path] for s in train_shapes])
    echo(f"fused model: histogram weight {run.meta['fusion']['histogram_weight']}")
    if test_shapes:
        run.meta["validation"] = validate(run, options, [by_path[s.path] for s in test_shapes])
        echo(report(run.meta["validation"]))
    _save(run, options)
    return run.meta


def _inference_network(run: Run, options: TrainOptions) -> SiameseNetwork:
    """The model being trained, wrapped for inference (callers set it back to training)."""
    device = next(run.model.parameters()).device.type
    return SiameseNetwork(run.model, options.network, run.meta, device)


def fusion_calibration(run: Run, options: TrainOptions, shapes: Sequence[Item]) -> dict[str, Any]:
    """The fused model's calibration on the training shapes (:mod:`ipsim.models.mesh_fusion`)."""
    from ipsim.models.mesh_fusion import calibrate
    from ipsim.models.mesh_histogram import describe

    network = _inference_network(run, options)
    meshes = [i.mesh for i in shapes]
    histograms = np.stack([describe(normalise(m)) for m in meshes])
    fusion, scores = calibrate(
        histograms, network_vectors(network, meshes), [i.shape.label for i in shapes]
    )
    run.model.train()
    return {**fusion.to_meta(), "weight_map": {str(w): m for w, m in scores.items()}}


def validate(run: Run, options: TrainOptions, test: Sequence[Item]) -> dict[str, dict[str, Any]]:
    """The trained network against the D2 baseline on the test split."""
    network = _inference_network(run, options)
    results = {"siamese": evaluate(lambda m: network_vectors(network, m), test, options.seed)}
    with contextlib.suppress(ImportError):  # no histogram module (or Open3D): no baseline
        results["d2"] = evaluate(d2_vectors, test, options.seed)
    run.model.train()
    return results


__all__ = [
    "Shape",
    "TrainOptions",
    "discover",
    "evaluate",
    "load_items",
    "split_shapes",
    "train",
]
