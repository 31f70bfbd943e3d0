"""HTTP overhead: a search over HTTP vs the same search called in-process on the engine.

A flat text collection of 100,000 vectors is written straight into a collection store
(real embeddings and their perturbations from ``datasets.vector_set``, so no 100k texts
are encoded). The same distinct real query texts are then searched, one request at a
time, k=10, alternating in blocks of 20 queries between HTTP against a real ``ipsim serve`` on
that data directory and ``Engine.search`` in-process on a copy of it (same encoder,
batcher, store and page cache).
The components are timed too: the encoder alone and the store's search alone. A
"cached" row repeats one query so the page cache answers it: what is left is the pure
per-request cost of each path. Goal: HTTP p50 and p95 within 1.5x of in-process.

This is ``ipsim bench e2e`` (the end-to-end search through a real server): its results are
``benchmarks/results/e2e-cpu.json`` and a latency histogram ``e2e-cpu.png``. ``--index SPEC``
(``flat`` by default; ``hnsw:M=32,ef_search=64``, ``ivf:nlist=256,nprobe=16``…) sets the
collection's index, ``--model DIR`` its text model (any local sentence-transformers folder).

    ipsim bench e2e [--quick] [--index SPEC] [--model DIR] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
from tqdm import tqdm

from ipsim.benchmarks import datasets, plots
from ipsim.benchmarks.index_spec import format_index_spec, index_spec_argument
from ipsim.benchmarks.metrics import Latency
from ipsim.benchmarks.reference import load_text_model
from ipsim.benchmarks.report import Report, Table, add_common_arguments
from ipsim.benchmarks.server import fresh_data_dir, running_server
from ipsim.engine.engine import Engine, EngineOptions
from ipsim.engine.pages import window_for
from ipsim.engine.types import IndexSpec, SearchRequest
from ipsim.indexers.store import CollectionStore, Record

COLLECTION = "vectors"
K = 10
WARMUP = 10
BLOCK = 20
SETTLE_S = 0.5
GOAL = 1.5
_WRITE_BATCH = 10_000


def build_collection(
    data: Path, vectors: datasets.VectorSet, model: str, index: IndexSpec | None = None
) -> None:
    """Write the base vectors as one-unit text documents of a collection under ``data``."""
    index = index or IndexSpec("flat")
    store = CollectionStore.create(
        data / "collections" / COLLECTION,
        dim=vectors.base.shape[1],
        metric="ip",
        index_type=index.type,
        index_params=dict(index.params),
        shards=1,
        meta={"modality": "text", "model": model},
    )
    try:
        for start in range(0, len(vectors.base), _WRITE_BATCH):
            records = []
            for row in range(start, min(len(vectors.base), start + _WRITE_BATCH)):
                text = vectors.text_of(row)
                records.append(
                    Record(
                        id=f"v{row}",
                        vectors=vectors.base[row : row + 1],
                        spans=[(0, len(text))],
                        fields={"row": row},
                        payload={"text": text},
                    )
                )
            store.upsert(records)
    finally:
        store.close()


def time_store_search(data: Path, queries: np.ndarray) -> list[float]:
    """Seconds per ``CollectionStore.search`` (one query, the engine's window) on the store."""
    store = CollectionStore.open(data / "collections" / COLLECTION)
    try:
        window = window_for(K)
        store.search(queries[:1], window)
        out = []
        for query in queries:
            started = time.perf_counter()
            store.search(query[None, :], window)
            out.append(time.perf_counter() - started)
        return out
    finally:
        store.close()


@dataclass
class Timings:
    """Seconds per search on each path, for distinct queries and for one cached query."""

    http_fresh: list[float] = field(default_factory=list)
    local_fresh: list[float] = field(default_factory=list)
    http_cached: list[float] = field(default_factory=list)
    local_cached: list[float] = field(default_factory=list)


async def _interleaved(
    url: str, local: Path, model: str, texts: Sequence[str], warmup: Sequence[str], repeats: int
) -> Timings:
    engine = Engine(EngineOptions(data=local, text_model=model))
    await engine.start()
    path = f"/v1/collections/{COLLECTION}/search"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=120.0) as client:

            async def over_http(text: str) -> float:
                started = time.perf_counter()
                response = await client.post(path, json={"query": {"text": text}, "k": K})
                elapsed = time.perf_counter() - started
                response.raise_for_status()
                return elapsed

            async def in_process(text: str) -> float:
                started = time.perf_counter()
                await engine.search(COLLECTION, SearchRequest(query={"text": text}, k=K))
                return time.perf_counter() - started

            for text in warmup:
                await over_http(text)
                await in_process(text)
            out = Timings()
            # Blocks of queries, alternating which path runs: neither path ever shares the
            # CPU with the other's still-spinning worker threads, and a change in background
            # load hits both paths alike. Each path has its own page cache, so a text is a
            # cache miss on both.
            blocks = range(0, len(texts), BLOCK)
            for start in tqdm(blocks, desc="HTTP / in-process blocks", leave=False):
                block = texts[start : start + BLOCK]
                await asyncio.sleep(SETTLE_S)
                out.http_fresh += [await over_http(text) for text in block]
                await asyncio.sleep(SETTLE_S)
                out.local_fresh += [await in_process(text) for text in block]
            await asyncio.sleep(SETTLE_S)
            out.http_cached += [await over_http(warmup[0]) for _ in range(repeats)]
            await asyncio.sleep(SETTLE_S)
            out.local_cached += [await in_process(warmup[0]) for _ in range(repeats)]
            return out
    finally:
        await engine.close()


def time_paths(
    served: Path, local: Path, model: str, texts: Sequence[str], warmup: Sequence[str], repeats: int
) -> Timings:
    """Interleave HTTP (a server on ``served``) and in-process (an engine on ``local``) searches.

    Each path has its own copy of the collection and its own page cache, so the same text
    is a cache miss on both.
    """
    with running_server(served) as server:
        return asyncio.run(_interleaved(server.url, local, model, texts, warmup, repeats))


def time_encoder(model: str, texts: Sequence[str]) -> list[float]:
    """Seconds per single-text encode with sentence-transformers directly."""
    loaded = load_text_model(model)
    loaded.encode(texts[:8], batch_size=1)
    out = []
    for text in texts:
        started = time.perf_counter()
        loaded.encode([text], batch_size=1)
        out.append(time.perf_counter() - started)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the report (and append it as Markdown when asked)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--vectors", type=int, help="collection size (default 100,000)")
    parser.add_argument("--queries", type=int, help="distinct query texts (default 300)")
    parser.add_argument("--model", default="all-MiniLM-L6-v2", help="text model (name or folder)")
    parser.add_argument(
        "--index",
        type=index_spec_argument,
        default=IndexSpec("flat"),
        metavar="SPEC",
        help="the collection's index: flat (default), hnsw:M=32,ef_search=64, ivf:nlist=256…",
    )
    args = parser.parse_args(argv)
    n = args.vectors or (10_000 if args.quick else 100_000)
    n_queries = args.queries or (40 if args.quick else 300)
    repeats = n_queries
    scale: datasets.Scale = "quick" if args.quick else "full"

    all_texts = datasets.short_texts()
    texts, warmup = all_texts[:n_queries], all_texts[-WARMUP:]
    vectors = datasets.vector_set(n, 1, scale=scale, model=args.model)
    data = fresh_data_dir(datasets.cache_dir() / "http_overhead")

    report = Report(
        "bench_http_overhead: HTTP search vs the same search in-process",
        {
            "collection": f"{format_index_spec(args.index)}, "
            f"{vectors.description.split(';')[0]}; written straight "
            "into the collection store as one-vector text documents",
            "queries": f"{n_queries} distinct real short texts, one request at a time, k={K}; "
            f"{WARMUP} warm-up queries first; cached = one text repeated {repeats} times "
            "(answered by the page cache)",
            "HTTP": "ipsim serve on 127.0.0.1, one keep-alive httpx client",
            "in-process": f"Engine.search in this process on a copy of the data directory "
            f"(same defaults), interleaved with the HTTP requests in blocks of {BLOCK} queries",
            "model": args.model,
            "index": format_index_spec(args.index),
        },
        bench="e2e",
    )
    report.configure(args)
    report.print_header()

    print("\nwriting the collection ...", flush=True)
    started = time.perf_counter()
    build_collection(data, vectors, args.model, args.index)
    print(f"  {time.perf_counter() - started:.0f} s", flush=True)
    print("encoder alone ...", flush=True)
    encoder = time_encoder(args.model, texts)
    query_vectors = load_text_model(args.model).encode(texts)
    print("store search alone ...", flush=True)
    store = time_store_search(data, query_vectors)
    print("HTTP and in-process, interleaved ...", flush=True)
    local = data.with_name(data.name + "-local")
    if local.exists():
        shutil.rmtree(local)
    shutil.copytree(data, local)
    timings = time_paths(data, local, args.model, texts, warmup, repeats)
    http_fresh, engine_fresh = timings.http_fresh, timings.local_fresh
    http_cached, engine_cached = timings.http_cached, timings.local_cached

    table = Table("Latency per search", ["path", "n", "p50 ms", "p95 ms", "mean ms"])
    rows = [
        ("HTTP, distinct queries", http_fresh),
        ("in-process Engine.search, distinct queries", engine_fresh),
        ("HTTP, cached query", http_cached),
        ("in-process, cached query", engine_cached),
        ("encoder alone (sentence-transformers, 1 text)", encoder),
        (f"store search alone ({args.index.type}, window {window_for(K)})", store),
    ]
    summaries = {}
    for label, seconds in rows:
        lat = Latency.of(seconds)
        summaries[label] = lat
        table.add(label, lat.count, lat.p50_ms, lat.p95_ms, lat.mean_ms)
    report.tables.append(table)
    plots.latency_histogram(
        report.plot_path(),
        {
            "HTTP (ipsim serve)": [s * 1e3 for s in http_fresh],
            "in-process Engine.search": [s * 1e3 for s in engine_fresh],
        },
        f"Search latency, distinct queries, k={K}, {len(vectors.base):,} vectors "
        f"({format_index_spec(args.index)})",
    )

    http, inproc = Latency.of(http_fresh), Latency.of(engine_fresh)
    http_c, inproc_c = Latency.of(http_cached), Latency.of(engine_cached)
    ratios = Table("HTTP / in-process", ["measure", "p50", "p95"])
    ratios.add("distinct queries: ratio", http.p50_ms / inproc.p50_ms, http.p95_ms / inproc.p95_ms)
    ratios.add(
        "distinct queries: HTTP minus in-process (ms)",
        http.p50_ms - inproc.p50_ms,
        http.p95_ms - inproc.p95_ms,
    )
    ratios.add(
        "cached query: HTTP minus in-process (ms)",
        http_c.p50_ms - inproc_c.p50_ms,
        http_c.p95_ms - inproc_c.p95_ms,
    )
    report.tables.append(ratios)
    met = http.p50_ms <= GOAL * inproc.p50_ms and http.p95_ms <= GOAL * inproc.p95_ms
    report.notes.append(
        f"Goal (HTTP within {GOAL}x of in-process at p50 and p95, distinct queries): "
        f"{'MET' if met else 'NOT MET'} — {http.p50_ms / inproc.p50_ms:.2f}x p50, "
        f"{http.p95_ms / inproc.p95_ms:.2f}x p95."
    )
    report.notes.append(
        "The cached rows isolate the per-request cost (HTTP parsing, validation, JSON, "
        "loopback round trip) from encoding and index search."
    )
    report.publish(args.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
