"""Approximate search: recall@10 and QPS of ipsim's IVF and HNSW beside raw FAISS and flat.

The vector set (``datasets.vector_set``) is real MiniLM embeddings of ~109k real texts
(words, IPC titles, patent titles, news and review sentences) grown to the requested size
by re-normalised Gaussian perturbations; queries are embeddings of held-out real texts;
ground truth is the exact top-10 (FAISS ``IndexFlatIP``). For each family the same
parameters are measured three ways:

* raw FAISS (``IndexHNSWFlat`` / ``IndexIVFFlat``), the baseline;
* ipsim's index family alone (``make_index(...)`` → ``VectorIndex.search``);
* the full store search (``CollectionStore.search``: index candidates, exact re-rank,
  document aggregation) with the window the engine asks for (``window_for(10)``).

The search-time knob (efSearch / nprobe) is swept to find recall@10 >= 0.95. QPS is
measured one query per call (how a server calls it; FAISS then runs on one thread) and,
for the index alone, all queries in one call (FAISS on every core). Built indexes and
stores are cached under ``var/bench/`` (keyed by data and parameters): the first full run
builds them (tens of minutes on 2 cores), later runs load them.

``--index SPEC`` (repeatable: ``hnsw:M=16,ef_search=64``, ``ivf:nlist=256,nprobe=16``,
``flat``) replaces the default families and their build parameters; a search knob in the
spec joins the sweep and sets the store's. ``--model DIR`` embeds the vector set with another
local sentence-transformers / Hugging Face model. The recall–QPS curves are plotted to
``benchmarks/results/ann-cpu.png``.

    ipsim bench ann [--quick] [--index SPEC ...] [--model DIR] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from tqdm import tqdm

from ipsim.benchmarks import datasets, plots
from ipsim.benchmarks.index_spec import format_index_spec, index_spec_argument
from ipsim.benchmarks.metrics import recall_at_k
from ipsim.benchmarks.reference import Labels, Matrix
from ipsim.benchmarks.report import Report, Table, add_common_arguments
from ipsim.engine.pages import window_for
from ipsim.engine.types import IndexSpec
from ipsim.indexers.base import VectorIndex
from ipsim.indexers.factory import load_index, make_index
from ipsim.indexers.live_labels import search_params
from ipsim.indexers.store import CollectionStore, Record, StoreOptions

K = 10
TARGET_RECALL = 0.95
GOAL_SPEEDUP = 50.0
GOAL_SHARE_OF_RAW = 0.8
_ADD_CHUNK = 50_000

SearchFn = Callable[[Matrix], Labels]
KNOBS = {"hnsw": ("efSearch", "ef_search"), "ivf": ("nprobe", "nprobe")}
"""Family → (the knob's FAISS name, ipsim's parameter name)."""
FAMILIES = ("hnsw", "ivf", "flat")
PATHS = ("raw FAISS", "ipsim index", "ipsim store")
DEFAULT_MODEL = "all-MiniLM-L6-v2"


@dataclass(frozen=True)
class Plan:
    """What to measure of one family: build parameters, the knob sweep, the store's knob."""

    family: str
    params: dict[str, int]
    sweep: list[int]
    store_value: int


@dataclass(frozen=True)
class Point:
    """One operating point: a family, a path, a knob value and what it gave."""

    family: str
    path: str
    knob: str
    value: int
    recall: float
    qps_single: float
    qps_batch: float | None


def measure(
    search: SearchFn, queries: Matrix, truth: Labels, *, batch: bool, repeat: int = 1
) -> tuple[float, float, float | None]:
    """Recall@10 and QPS one query per call (and all queries in one call when ``batch``).

    QPS is the best of ``repeat`` passes: on a shared machine the fastest pass is the one
    least disturbed by other work.
    """
    search(queries[:1])  # warm-up
    single = 0.0
    for _ in range(repeat):
        started = time.perf_counter()
        found = np.concatenate([search(queries[i : i + 1])[:, :K] for i in range(len(queries))])
        single = max(single, len(queries) / (time.perf_counter() - started))
    recall = recall_at_k(found, truth, K)
    batched = None
    if batch:
        batched = 0.0
        for _ in range(repeat):
            started = time.perf_counter()
            search(queries)
            batched = max(batched, len(queries) / (time.perf_counter() - started))
    return recall, single, batched


def _key(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:12]


def raw_index(family: str, base: Matrix, params: dict[str, int], cache: Path) -> Any:
    """A raw FAISS index of ``family`` over ``base`` with ``params`` (cached on disk)."""
    path = cache / f"raw-{family}-{len(base)}-{_key(params)}.faiss"
    if path.exists():
        return faiss.read_index(str(path))
    dim = base.shape[1]
    index: Any
    if family == "hnsw":
        index = faiss.IndexHNSWFlat(dim, params["M"], faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = params["ef_construction"]
    elif family == "ivf":
        index = faiss.IndexIVFFlat(
            faiss.IndexFlatIP(dim), dim, params["nlist"], faiss.METRIC_INNER_PRODUCT
        )
        index.train(base[: params["train_size"]])
    else:
        raise ValueError(f"no raw baseline for {family!r}")
    index.add(base)
    faiss.write_index(index, str(path.with_suffix(".tmp")))
    path.with_suffix(".tmp").replace(path)
    return index


def add_chunks(n: int, params: dict[str, int]) -> list[tuple[int, int]]:
    """Row ranges to add in, the first exactly ``train_size`` long when there is one.

    ipsim's IVF trains on the add that reaches ``train_size``, on every vector it holds
    then: with this split it trains on the same first rows as the raw FAISS baseline.
    """
    first = min(n, params.get("train_size", _ADD_CHUNK))
    bounds = [0, *range(first, n, _ADD_CHUNK), n]
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def engine_index(family: str, base: Matrix, params: dict[str, int], cache: Path) -> VectorIndex:
    """ipsim's index family over ``base`` (labels = row numbers), cached on disk."""
    path = cache / f"ipsim-{family}-{len(base)}-{_key(params)}.index"
    if path.exists():
        return load_index(path)
    index = make_index(family, base.shape[1], "ip", params)
    for start, stop in add_chunks(len(base), params):
        index.add(np.arange(start, stop, dtype=np.int64), base[start:stop])
    index.save(path.with_suffix(".tmp"))
    path.with_suffix(".tmp").replace(path)
    return index


def store_of(family: str, base: Matrix, params: dict[str, int], cache: Path) -> CollectionStore:
    """A collection store of one-vector documents ``r<row>`` (built once, then reopened)."""
    path = cache / f"store-{family}-{len(base)}-{_key(params)}"
    options = StoreOptions(snapshot_every=len(base) + 1, fsync=False)
    if (path / "CURRENT").exists():
        return CollectionStore.open(path, options)
    if path.exists():  # a build that did not finish
        shutil.rmtree(path)
    store = CollectionStore.create(
        path,
        dim=base.shape[1],
        metric="ip",
        index_type=family,
        index_params=params,
        shards=1,
        meta={"modality": "text", "model": "bench_ann"},
        options=options,
    )
    for start, stop in add_chunks(len(base), params):
        store.upsert(
            [
                Record(
                    id=f"r{row}", vectors=base[row : row + 1], spans=[(0, 0)], fields={}, payload={}
                )
                for row in range(start, stop)
            ]
        )
    store.snapshot()
    return store


def store_search(store: CollectionStore) -> SearchFn:
    """The engine's call: the page window for k=10, then the first 10 documents."""
    window = window_for(K)

    def search(queries: Matrix) -> Labels:
        out = np.full((len(queries), K), -1, dtype=np.int64)
        for i, hits in enumerate(store.search(queries, window)):
            rows = [int(h.id[1:]) for h in hits[:K]]
            out[i, : len(rows)] = rows
        return out

    return search


@dataclass(frozen=True)
class FlatBaseline:
    """Exact search with raw FAISS ``IndexFlatIP``."""

    recall: float
    qps_single: float
    qps_batch: float


def flat_baseline(
    base: Matrix, queries: Matrix, truth: Labels, timed: int, repeat: int
) -> FlatBaseline:
    """Single-query QPS over the first ``timed`` queries (flat is slow), batch QPS over all."""
    flat = faiss.IndexFlatIP(base.shape[1])
    flat.add(base)
    recall, single, _ = measure(
        lambda q: flat.search(q, K)[1], queries[:timed], truth[:timed], batch=False, repeat=repeat
    )
    _, _, batch = measure(lambda q: flat.search(q, K)[1], queries, truth, batch=True, repeat=1)
    return FlatBaseline(recall, single, batch or 0.0)


def sweep_raw(
    family: str, raw: Any, sweep: Sequence[int], queries: Matrix, truth: Labels, repeat: int
) -> list[Point]:
    """Raw FAISS at each knob value, passed per call as FAISS search parameters."""
    points = []
    for value in tqdm(sweep, desc=f"{family} raw FAISS", leave=False):
        params = (
            search_params("HNSW", None, efSearch=max(value, K))
            if family == "hnsw"
            else search_params("IVF", None, nprobe=value)
        )

        def search(q: Matrix, params: Any = params) -> Labels:
            labels: Labels = raw.search(q, K, params=params)[1]
            return labels

        recall, single, batch = measure(search, queries, truth, batch=True, repeat=repeat)
        points.append(Point(family, "raw FAISS", KNOBS[family][0], value, recall, single, batch))
    return points


def sweep_index(
    family: str,
    index: VectorIndex,
    sweep: Sequence[int],
    queries: Matrix,
    truth: Labels,
    repeat: int,
) -> list[Point]:
    """ipsim's index at each knob value (its public ``ef_search`` / ``nprobe`` attribute)."""
    points = []
    knob, attribute = KNOBS[family]
    for value in tqdm(sweep, desc=f"{family} ipsim index", leave=False):
        setattr(index, attribute, value)
        recall, single, batch = measure(
            lambda q: index.search(q, K).labels, queries, truth, batch=True, repeat=repeat
        )
        points.append(Point(family, "ipsim index", knob, value, recall, single, batch))
    return points


def first_at_target(points: Sequence[Point]) -> Point | None:
    """The fastest point (single-query QPS) with recall >= the target, if any."""
    good = [p for p in points if p.recall >= TARGET_RECALL]
    return max(good, key=lambda p: p.qps_single) if good else None


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def plans(args: argparse.Namespace, n: int) -> list[Plan]:
    """The families to measure: from ``--index`` specs when given, else ``--families``."""
    specs: list[IndexSpec] = args.index or [
        IndexSpec(f.strip()) for f in args.families.split(",") if f.strip()
    ]
    out = []
    for spec in specs:
        if spec.type not in FAMILIES:
            raise SystemExit(f"bench_ann measures {', '.join(FAMILIES)}, not {spec.type!r}")
        given = {k: int(v) for k, v in spec.params.items()}
        if spec.type == "hnsw":
            params = {
                "M": given.get("M", args.M),
                "ef_construction": given.get("ef_construction", args.ef_construction),
            }
            sweep, store = _ints(args.ef_search), given.get("ef_search", args.store_ef_search)
        elif spec.type == "ivf":
            nlist = given.get("nlist", args.nlist or (128 if args.quick else 2048))
            train = given.get("train_size", max(nlist * 39, min(n, 50 * nlist)))
            params = {"nlist": nlist, "train_size": train}
            sweep, store = _ints(args.nprobe), given.get("nprobe", args.store_nprobe)
        else:
            params, sweep, store = {}, [], 0
        if spec.type in KNOBS and KNOBS[spec.type][1] in given and store not in sweep:
            sweep = sorted([*sweep, store])
        out.append(Plan(spec.type, params, sweep, store))
    return out


def flat_index_point(base: Matrix, queries: Matrix, truth: Labels, repeat: int) -> Point:
    """ipsim's ``FlatIndex`` (``--index flat``): exact, so its cost is the whole point."""
    index = make_index("flat", base.shape[1], "ip")
    index.add(np.arange(len(base), dtype=np.int64), base)
    recall, single, batch = measure(
        lambda q: index.search(q, K).labels, queries, truth, batch=True, repeat=repeat
    )
    return Point("flat", "ipsim index", "", 0, recall, single, batch)


def _knob(point: Point) -> str:
    return f"{point.knob}={point.value}" if point.knob else "-"


def _describe(plan: Plan) -> str:
    if plan.family == "hnsw":
        return (
            f"M={plan.params['M']}, efConstruction={plan.params['ef_construction']}; efSearch "
            f"swept {','.join(map(str, plan.sweep))}; store built with ef_search={plan.store_value}"
        )
    if plan.family == "ivf":
        return (
            f"IndexIVFFlat nlist={plan.params['nlist']}, trained on the first "
            f"{plan.params['train_size']:,} vectors; nprobe swept {','.join(map(str, plan.sweep))}"
            f"; store built with nprobe={plan.store_value}"
        )
    return "ipsim FlatIndex (exact) beside raw FAISS IndexFlatIP"


def plot_curves(report: Report, flat: FlatBaseline, points: Sequence[Point]) -> None:
    """Recall@10 against single-query QPS, one curve per family and path (ann-benchmarks)."""
    curves: dict[str, tuple[list[float], list[float]]] = {
        "flat raw FAISS": ([flat.recall], [flat.qps_single])
    }
    for p in points:
        recall, qps = curves.setdefault(f"{p.family} {p.path}", ([], []))
        recall.append(p.recall)
        qps.append(p.qps_single)
    plots.recall_qps(
        report.plot_path(),
        curves,
        f"{report.name}\n(single-query QPS, one thread; {report.machine['cpu']})",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the report (and append it as Markdown when asked)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--n", type=int, help="base vectors (default 1,000,000)")
    parser.add_argument("--queries", type=int, help="held-out queries (default 1000)")
    parser.add_argument("--flat-queries", type=int, help="queries timed on flat (default 100)")
    parser.add_argument("--families", default="hnsw,ivf", help="comma list of hnsw, ivf, flat")
    parser.add_argument(
        "--index",
        action="append",
        type=index_spec_argument,
        metavar="SPEC",
        help="an index to measure, e.g. hnsw:M=32,ef_search=64 or ivf:nlist=1024,nprobe=32 or "
        "flat (repeatable; replaces --families and its build parameters)",
    )
    parser.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help="text model embedding the vector set (name or local model folder)",
    )
    parser.add_argument("--M", type=int, default=32, help="HNSW M")
    parser.add_argument("--ef-construction", type=int, default=40, help="HNSW efConstruction")
    parser.add_argument("--ef-search", default="16,32,64,128,256", help="efSearch sweep")
    parser.add_argument("--store-ef-search", type=int, default=64, help="efSearch of the store")
    parser.add_argument("--nlist", type=int, help="IVF lists (default 2048; 128 quick)")
    parser.add_argument("--nprobe", default="8,16,32,64,128", help="nprobe sweep")
    parser.add_argument("--store-nprobe", type=int, default=64, help="nprobe of the store")
    parser.add_argument("--no-store", action="store_true", help="skip the full store search")
    parser.add_argument("--repeat", type=int, help="QPS = best of this many passes (default 3)")
    args = parser.parse_args(argv)
    n = args.n or (20_000 if args.quick else 1_000_000)
    n_queries = args.queries or (100 if args.quick else 1000)
    flat_queries = args.flat_queries or (50 if args.quick else 100)
    args.repeat = args.repeat or (1 if args.quick else 3)
    todo = plans(args, n)
    families = [plan.family for plan in todo]
    scale: datasets.Scale = "quick" if args.quick else "full"
    cache = datasets.cache_dir()
    if args.model != DEFAULT_MODEL:  # built indexes are keyed by parameters, not data
        cache = cache / f"ann-{Path(args.model).name}-{_key(args.model)}"
        cache.mkdir(parents=True, exist_ok=True)

    vectors = datasets.vector_set(n, n_queries, scale=scale, model=args.model)
    report = Report(
        f"bench_ann: recall@{K} and QPS on {n:,} x {vectors.base.shape[1]}",
        {
            "vectors": vectors.description,
            "ground truth": f"exact top-{K} by inner product (FAISS IndexFlatIP)",
            "model": args.model,
            "indexes": "; ".join(
                format_index_spec(IndexSpec(p.family, {**p.params})) for p in todo
            ),
            **{plan.family: _describe(plan) for plan in todo},
            "QPS": "single = one query per search call, in a loop (one FAISS thread); "
            f"batch = all {n_queries} queries in one call (FAISS on all cores); "
            f"flat single-query QPS over the first {flat_queries} queries; each QPS is the "
            f"best of {args.repeat} passes",
            "store path": f"CollectionStore.search(query, {window_for(K)}) as Engine.search "
            f"calls it for k={K}: index candidates, exact re-rank, document aggregation",
            "faiss threads": str(faiss.omp_get_max_threads()),
        },
    )
    report.configure(args)
    report.print_header()
    truth = datasets.ground_truth(vectors, K)
    queries = vectors.queries

    print("\nflat (raw FAISS IndexFlatIP) ...", flush=True)
    flat = flat_baseline(vectors.base, queries, truth, flat_queries, args.repeat)
    points: list[Point] = []
    for plan in todo:
        family, params, sweep, store_value = plan.family, plan.params, plan.sweep, plan.store_value
        if family == "flat":
            print("flat: ipsim FlatIndex ...", flush=True)
            points.append(flat_index_point(vectors.base, queries, truth, args.repeat))
            continue
        print(f"{family}: raw FAISS (build or load) ...", flush=True)
        started = time.perf_counter()
        raw = raw_index(family, vectors.base, params, cache)
        print(f"  ready in {time.perf_counter() - started:.0f} s", flush=True)
        points += sweep_raw(family, raw, sweep, queries, truth, args.repeat)
        del raw  # one index in memory at a time

        print(f"{family}: ipsim index (build or load) ...", flush=True)
        started = time.perf_counter()
        index = engine_index(family, vectors.base, params, cache)
        print(f"  ready in {time.perf_counter() - started:.0f} s", flush=True)
        points += sweep_index(family, index, sweep, queries, truth, args.repeat)
        del index

        if not args.no_store:
            print(f"{family}: ipsim store (build or load) ...", flush=True)
            started = time.perf_counter()
            store = store_of(family, vectors.base, {**params, KNOBS[family][1]: store_value}, cache)
            print(f"  ready in {time.perf_counter() - started:.0f} s", flush=True)
            try:
                recall, single, _ = measure(
                    store_search(store), queries, truth, batch=False, repeat=args.repeat
                )
            finally:
                store.close()
            knob = KNOBS[family][0]
            points.append(Point(family, "ipsim store", knob, store_value, recall, single, None))
    flat_recall, flat_single, flat_batch = flat.recall, flat.qps_single, flat.qps_batch or 0.0

    table = Table(
        f"recall@{K} and QPS",
        ["family", "path", "knob", "recall@10", "QPS single", "QPS batch", "x flat single"],
    )
    table.add("flat", "raw FAISS", "-", flat_recall, flat_single, flat_batch, 1.0)
    for p in points:
        table.add(
            p.family,
            p.path,
            _knob(p),
            p.recall,
            p.qps_single,
            p.qps_batch,
            p.qps_single / flat_single,
        )
    report.tables.append(table)

    summary = Table(
        f"At recall@{K} >= {TARGET_RECALL}: fastest point of each path",
        [
            "family",
            "path",
            "knob",
            "recall@10",
            "QPS single",
            "x flat single",
            "x flat batch",
            "/ raw FAISS same knob",
        ],
    )
    for family in families:
        raw_points = {p.value: p for p in points if p.family == family and p.path == "raw FAISS"}
        paths = (
            ("ipsim index",) if family == "flat" else ("raw FAISS", "ipsim index", "ipsim store")
        )
        for path in paths:
            best = first_at_target([p for p in points if p.family == family and p.path == path])
            if best is None:
                summary.add(family, path, "none reached the target", None, None, None, None, None)
                continue
            raw_same = raw_points.get(best.value)
            summary.add(
                family,
                path,
                _knob(best),
                best.recall,
                best.qps_single,
                best.qps_single / flat_single,
                (best.qps_batch / flat_batch) if best.qps_batch else None,
                best.qps_single / raw_same.qps_single if raw_same else None,
            )
    report.tables.append(summary)
    _goal_notes(report, points, [f for f in families if f in KNOBS], flat_single)
    plot_curves(report, flat, points)
    report.publish(args.markdown)
    return 0


def _goal_notes(
    report: Report, points: Sequence[Point], families: Sequence[str], flat_single: float
) -> None:
    """Say plainly, per family, whether each goal was met and by what numbers."""
    for family in families:
        mine = [p for p in points if p.family == family]
        raw = first_at_target([p for p in mine if p.path == "raw FAISS"])
        index = first_at_target([p for p in mine if p.path == "ipsim index"])
        if index is None:
            report.notes.append(f"{family}: the ipsim index never reached recall {TARGET_RECALL}.")
            continue
        speedup = index.qps_single / flat_single
        report.notes.append(
            f"{family} goal 1 (>= {GOAL_SPEEDUP:.0f}x flat's single-query QPS at recall >= "
            f"{TARGET_RECALL}, ipsim index): {'MET' if speedup >= GOAL_SPEEDUP else 'NOT MET'} "
            f"— {speedup:.0f}x at {index.knob}={index.value}, recall {index.recall:.3f}."
        )
        if raw is not None:
            same = next((p for p in mine if p.path == "raw FAISS" and p.value == index.value), None)
            share = index.qps_single / same.qps_single if same else float("nan")
            report.notes.append(
                f"{family} goal 2 for the index family alone (>= {GOAL_SHARE_OF_RAW}x raw FAISS "
                f"QPS at the same parameters): "
                f"{'MET' if share >= GOAL_SHARE_OF_RAW else 'NOT MET'} — {share:.2f}x "
                f"at {index.knob}={index.value}."
            )
        store = next((p for p in mine if p.path == "ipsim store"), None)
        if store is not None:
            same = next((p for p in mine if p.path == "raw FAISS" and p.value == store.value), None)
            ratio = store.qps_single / same.qps_single if same else float("nan")
            met = ratio >= GOAL_SHARE_OF_RAW and store.recall >= TARGET_RECALL
            report.notes.append(
                f"{family} goal 2 through the full store search (index + exact re-rank + "
                f"documents): {'MET' if met else 'NOT MET'} — at {store.knob}={store.value} "
                f"recall {store.recall:.3f}, {store.qps_single:.0f} QPS = {ratio:.2f}x raw FAISS "
                f"at the same knob (raw recall {same.recall if same else float('nan'):.3f})."
            )


if __name__ == "__main__":
    raise SystemExit(main())
