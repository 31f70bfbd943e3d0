"""FAISS on CPU vs FAISS on the GPU: flat, IVF-Flat, IVF-PQ, sharded vs single, CAGRA vs HNSW.

Run where FAISS has GPUs (``faiss-gpu-cuvs`` or ``faiss-gpu-cu12``); without one the GPU
rows are left out and say so. All on one machine, in one run, on embedding-like unit
vectors (``bench_gpu.embeddings``), k = 10:

1. **Flat / IVF-Flat / IVF-PQ**, 1M × 384 by default, batch 1, 16 and 256: milliseconds
   per batch on the machine's CPU cores and on the GPU, the ratio, and recall@10 against
   exact search. The IVF indexes are trained once, on CPU (2048 lists, 64 sample points
   each), and the same trained index is searched on both — cloned to the GPU as a
   collection's index is — so the recall columns compare the searchers, not two trainings.
2. **Sharded vs single**: ipsim's ``ShardedIndex`` of 4 flat shards against one flat
   index, both moved to the GPU through ``to("cuda")`` (what a collection does).
3. **CAGRA vs HNSW at recall@10 ≥ 0.95** (``--graph-n`` vectors, default 250k: an HNSW
   build at 1M takes several minutes of CPU): ipsim's ``cagra`` family built on the GPU
   and searched there, the same CAGRA graph searched on CPU as HNSW (what a CPU-only
   server does with the file), and the ``hnsw`` family built and searched on CPU; for
   each, the cheapest search setting that reaches the recall target and its throughput
   on a batch of 10,000 queries. Build times are shown too.

    python -m benchmarks.bench_faiss_gpu [--quick] [--n N] [--graph-n N] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable, Sequence
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from ipsim.benchmarks.bench_gpu import embeddings, median_seconds
from ipsim.benchmarks.report import Report, Table, add_common_arguments
from ipsim.indexers.base import VectorIndex
from ipsim.indexers.cagra import CagraIndex, cagra_available
from ipsim.indexers.factory import make_index, restore_index
from ipsim.indexers.gpu import faiss_gpu_count, to_gpu
from ipsim.indexers.hnsw import HNSWIndex

K = 10
BATCHES = (1, 16, 256)
DIM = 384
GRAPH_QUERIES = 10_000
NLIST = 2048
NPROBE = 32
SECTIONS = ("ivf", "shards", "graphs")
RECALL_TARGET = 0.95
Floats = npt.NDArray[np.float32]
Search = Callable[[Floats], tuple[Any, Any]]


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean recall@k of ``found`` (labels, -1 = none) against ``truth``."""
    return float(
        np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)])
    )


def timed_row(search: Search, queries: Floats) -> list[float]:
    """Seconds per batch at each of :data:`BATCHES`."""
    return [
        median_seconds(functools.partial(search, queries[:batch]), 20 if batch < 256 else 5)
        for batch in BATCHES
    ]


def trained(cpu_index: Any, base: Floats) -> Any:
    """``cpu_index`` trained on CPU on a sample of ``base`` (64 points per list), then
    filled with all of ``base``: the index a collection would clone to its GPU."""
    sample = np.random.default_rng(7).choice(len(base), min(len(base), 64 * NLIST), replace=False)
    cpu_index.train(base[np.sort(sample)])
    cpu_index.add(base)
    return cpu_index


def cpu_vs_gpu(report: Report, n: int, gpu: bool) -> None:
    base, queries = embeddings(n, DIM, 1), embeddings(max(BATCHES), DIM, 2)
    exact = faiss.IndexFlatIP(DIM)
    exact.add(base)
    truth = exact.search(queries, K)[1]
    nlist = min(NLIST, n // 64)
    quantizer = faiss.IndexFlatIP(DIM)
    ivf = trained(faiss.IndexIVFFlat(quantizer, DIM, nlist, faiss.METRIC_INNER_PRODUCT), base)
    pq_quantizer = faiss.IndexFlatIP(DIM)
    ivfpq = trained(
        faiss.IndexIVFPQ(pq_quantizer, DIM, nlist, DIM // 8, 8, faiss.METRIC_INNER_PRODUCT), base
    )
    for index in (ivf, ivfpq):
        index.nprobe = NPROBE
    families = {"flat": exact, f"IVF-Flat (nlist {nlist}, nprobe {NPROBE})": ivf}
    families[f"IVF-PQ (m {DIM // 8}x8 bits, nprobe {NPROBE})"] = ivfpq
    table = Table(
        f"FAISS CPU vs GPU, {n:,} x {DIM}, k={K}: milliseconds per batch",
        ["index", "where", *(f"batch {b}" for b in BATCHES), "queries/s at 256", "recall@10"],
    )
    ratios = Table(
        "GPU speed-up over the CPU (same index, same batch)",
        ["index", *(f"batch {b}" for b in BATCHES)],
    )
    threads = faiss.omp_get_max_threads()
    for name, cpu_index in families.items():
        rows: dict[str, list[float]] = {}
        searchers: dict[str, Search] = {f"CPU ({threads} threads)": cpu_index.search}
        if gpu:
            searchers["GPU"] = to_gpu(cpu_index, 0, float16_lookup=True).search
        for where, search in searchers.items():
            run: Search = functools.partial(_search_k, search)
            rows[where] = timed_row(run, queries)
            found = run(queries)[1]
            table.add(
                name,
                where,
                *(t * 1000 for t in rows[where]),
                BATCHES[-1] / rows[where][-1],
                recall(found, truth),
            )
        if gpu:
            cpu_row, gpu_row = rows.values()
            ratios.add(name, *(c / g for c, g in zip(cpu_row, gpu_row, strict=True)))
    report.tables.append(table)
    if gpu:
        report.tables.append(ratios)


def _search_k(search: Search, queries: Floats) -> tuple[Any, Any]:
    return search(queries, K)  # type: ignore[call-arg]


def sharded_vs_single(report: Report, n: int, gpu: bool) -> None:
    base, queries = embeddings(n, DIM, 3), embeddings(max(BATCHES), DIM, 4)
    labels = np.arange(n, dtype=np.int64)
    device = "cuda" if gpu else "cpu"
    table = Table(
        f"ipsim flat index on {device}: one index vs ShardedIndex of 4, {n:,} x {DIM}, k={K}",
        ["index", *(f"batch {b} ms" for b in BATCHES), "same top-10 as single"],
    )
    single = make_index("flat", DIM, "ip").to(device)
    sharded = make_index("flat", DIM, "ip", shards=4).to(device)
    for index in (single, sharded):
        index.add(labels, base)
    want = single.search(queries, K).labels
    for name, index in (("single", single), ("4 shards", sharded)):

        def search(q: Floats, index: VectorIndex = index) -> tuple[Any, Any]:
            return None, index.search(q, K)

        row = timed_row(search, queries)
        same = float(np.mean(np.sort(index.search(queries, K).labels, 1) == np.sort(want, 1)))
        table.add(name, *(t * 1000 for t in row), same)
    report.tables.append(table)


def _cheapest(
    name: str,
    settings: Sequence[int],
    search: Callable[[int, Floats], np.ndarray],
    queries: Floats,
    truth: np.ndarray,
) -> tuple[str, int | None, float, float]:
    """The smallest setting whose recall@10 reaches the target: (name, setting, recall, q/s)."""
    last: tuple[str, int | None, float, float] = (name, None, 0.0, 0.0)
    for setting in settings:
        search(setting, queries)  # warm-up, at the batch size timed: cuVS compiles its
        # CAGRA kernels just in time, per parameter set and launch shape
        started = time.perf_counter()
        found = search(setting, queries)
        seconds = time.perf_counter() - started
        last = (name, setting, recall(found, truth), len(queries) / seconds)
        if last[2] >= RECALL_TARGET:
            return last
    return last


def cagra_vs_hnsw(report: Report, n: int, gpu: bool) -> None:
    base, queries = embeddings(n, DIM, 5), embeddings(GRAPH_QUERIES, DIM, 6)
    labels = np.arange(n, dtype=np.int64)
    exact = faiss.IndexFlatIP(DIM)
    exact.add(base)
    truth = exact.search(queries, K)[1]
    results, builds = [], Table(f"Graph builds, {n:,} x {DIM}", ["index", "built on", "seconds"])

    hnsw = HNSWIndex(DIM, "ip", M=32, ef_construction=200)
    started = time.perf_counter()
    hnsw.add(labels, base)
    builds.add("hnsw (M 32, efC 200)", f"CPU ({faiss.omp_get_max_threads()} threads)",
               time.perf_counter() - started)  # fmt: skip

    def hnsw_search(index: HNSWIndex, ef: int, q: Floats) -> np.ndarray:
        index.ef_search = ef
        return index.search(q, K).labels

    efs = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
    results.append(
        _cheapest(
            "hnsw on CPU (ef_search)", efs, functools.partial(hnsw_search, hnsw), queries, truth
        )
    )
    if gpu and cagra_available():
        cagra = make_index("cagra", DIM, "ip", {"graph_degree": 64})
        assert isinstance(cagra, CagraIndex)
        started = time.perf_counter()
        cagra.to("cuda:0").add(labels, base)  # one bulk add: one CAGRA build on the GPU
        assert cagra.built_on == "cuda:0"
        builds.add("cagra (graph degree 64)", "GPU", time.perf_counter() - started)

        def cagra_search(itopk: int, q: Floats) -> np.ndarray:
            cagra.itopk_size = itopk
            return cagra.search(q, K).labels

        itopks = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
        results.append(_cheapest("cagra on GPU (itopk_size)", itopks, cagra_search, queries, truth))
        on_cpu = restore_index(cagra.dump())
        assert isinstance(on_cpu, CagraIndex)
        results.append(
            _cheapest(
                "the CAGRA graph on CPU as HNSW (ef_search)",
                efs,
                functools.partial(hnsw_search, on_cpu),
                queries,
                truth,
            )
        )
    else:
        report.notes.append("No FAISS CAGRA GPU here: the CAGRA rows were not measured.")
    table = Table(
        f"Graph search at recall@10 >= {RECALL_TARGET}, {n:,} x {DIM}, batch of "
        f"{GRAPH_QUERIES:,} queries",
        ["index", "setting", "recall@10", "queries/s", "x hnsw on CPU"],
    )
    hnsw_qps = results[0][3]
    for name, setting, got, qps in results:
        table.add(name, "-" if setting is None else setting, got, qps, qps / hnsw_qps)
    report.tables.extend([builds, table])
    if len(results) > 1:
        ratio = results[1][3] / hnsw_qps
        report.notes.append(
            f"Goal (CAGRA >= 10x HNSW batch throughput at equal recall): "
            f"{'MET' if ratio >= 10 else 'NOT MET'} — {ratio:.1f}x."
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--n", type=int, help="vectors for 1-2 (default 1M; --quick 50k)")
    parser.add_argument("--graph-n", type=int, help="vectors for 3 (default 250k; --quick 20k)")
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"which parts to run, comma-separated (default: all of {', '.join(SECTIONS)})",
    )
    args = parser.parse_args(argv)
    sections = set(args.sections.split(","))
    if not sections <= set(SECTIONS):
        parser.error(f"--sections: unknown {sorted(sections - set(SECTIONS))}")
    n = args.n or (50_000 if args.quick else 1_000_000)
    graph_n = args.graph_n or (20_000 if args.quick else 250_000)
    gpus = faiss_gpu_count()
    report = Report(
        "bench_faiss_gpu: FAISS flat / IVF / IVF-PQ / CAGRA, CPU vs GPU",
        {
            "faiss": f"{faiss.__version__} ({gpus} FAISS GPUs, cuVS CAGRA: {cagra_available()})",
            "vectors": f"{n:,} x {DIM} (graphs: {graph_n:,}), embedding-like unit vectors",
        },
    )
    report.configure(args)
    report.device = "cuda" if report.machine["gpu"] != "none" else "cpu"
    report.print_header()
    if not gpus:
        report.notes.append("FAISS sees no GPU here: only the CPU rows were measured.")
    if "ivf" in sections:
        cpu_vs_gpu(report, n, gpus > 0)
    if "shards" in sections:
        sharded_vs_single(report, n, gpus > 0)
    if "graphs" in sections:
        cagra_vs_hnsw(report, graph_n, gpus > 0)
    report.publish(args.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
