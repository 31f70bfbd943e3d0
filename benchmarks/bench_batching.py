"""Dynamic batching: server throughput batched vs unbatched, beside the raw encoder ceiling.

64 concurrent async HTTP clients send text searches (distinct real short texts: patent
and IPC titles, headlines, sentences; ``--texts``) to a real ``ipsim serve`` started twice:
once with ``IPSIM_MAX_BATCH_SIZE=64`` (batched) and once with ``IPSIM_MAX_BATCH_SIZE=1``
(unbatched). The ceiling is measured in the same run: the same texts encoded one by one
and in batches of 64 by sentence-transformers directly. Goal: the server's
batched/unbatched throughput ratio reaches 90% of the raw ratio, at no worse p95.

Results: ``benchmarks/results/batching-cpu.json``, a latency histogram of both server modes
(``batching-latency-cpu.png``) and throughput against batch size, server and raw
(``batching-throughput-cpu.png``).

    ipsim bench batching [--quick] [--model DIR] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from ipsim.benchmarks import datasets, plots
from ipsim.benchmarks.load import LoadResult, RequestFn, run_load
from ipsim.benchmarks.reference import TextModel, load_text_model
from ipsim.benchmarks.report import Report, Table, add_common_arguments
from ipsim.benchmarks.server import (
    create_text_collection,
    fresh_data_dir,
    metric_total,
    running_server,
    upsert_texts,
)

COLLECTION = "titles"
WARMUP_REQUESTS = 32
GOAL_SHARE_OF_CEILING = 0.9


@dataclass(frozen=True)
class RawCeiling:
    """Texts per second of the bare model, one text per call vs ``batch`` per call."""

    one_by_one: float
    batched: float

    @property
    def ratio(self) -> float:
        """How much batching alone speeds the encoder up."""
        return self.batched / self.one_by_one


SHORT_CHARS = 100
TEXT_SOURCES = {
    "short": f"patent titles, headlines, sentences and IPC titles of at most {SHORT_CHARS} "
    "characters, in a fixed random order",
    "mixed": "patent titles, news headlines, then review and news sentences, in file order",
}


def query_texts(source: str) -> list[str]:
    """The distinct real texts a load run sends (see :data:`TEXT_SOURCES`).

    ``short`` looks like search traffic (a few words to a line). ``mixed`` includes whole
    news sentences, up to a few hundred characters: a batch then pads to its longest
    text, which eats much of what batching gains on a CPU.
    """
    if source == "mixed":
        return datasets.short_texts()
    if source == "short":
        pool = datasets.short_texts() + datasets.load_ipc_titles()
        short = list(dict.fromkeys(t for t in pool if len(t) <= SHORT_CHARS))
        order = np.random.default_rng(0).permutation(len(short))
        return [short[i] for i in order]
    raise ValueError(f"unknown text source {source!r}")


def raw_ceiling(model: TextModel, texts: Sequence[str], batch: int) -> RawCeiling:
    """Encode ``texts`` with sentence-transformers, once one by one and once in batches."""
    model.encode(texts[:batch], batch_size=batch)  # warm-up: first calls allocate
    started = time.perf_counter()
    for text in texts:
        model.encode([text], batch_size=1)
    single = len(texts) / (time.perf_counter() - started)
    started = time.perf_counter()
    for start in range(0, len(texts), batch):
        model.encode(texts[start : start + batch], batch_size=batch)
    batched = len(texts) / (time.perf_counter() - started)
    return RawCeiling(one_by_one=single, batched=batched)


def search_requests(texts: Sequence[str]) -> RequestFn:
    """Request ``i`` searches ``texts[i]`` with k=10."""
    return lambda i: (
        f"/v1/collections/{COLLECTION}/search",
        {"query": {"text": texts[i]}, "k": 10},
    )


@dataclass(frozen=True)
class ServerRun:
    """One server configuration under load."""

    label: str
    max_batch_size: int
    load: LoadResult
    mean_batch: float


def measure_server(
    data: Path,
    label: str,
    max_batch_size: int,
    texts: Sequence[str],
    warmup: Sequence[str],
    corpus: Sequence[tuple[str, str, Mapping[str, Any]]],
    *,
    concurrency: int,
    max_seconds: float,
) -> ServerRun:
    """Start a server with this batch size, load it with ``texts`` and stop it."""
    env = {"IPSIM_MAX_BATCH_SIZE": str(max_batch_size)}
    with (
        running_server(fresh_data_dir(data / label), env) as server,
        httpx.Client(base_url=server.url, timeout=300.0) as client,
    ):
        create_text_collection(client, COLLECTION)
        upsert_texts(client, COLLECTION, corpus)

        asyncio.run(
            run_load(
                server.url,
                search_requests(warmup),
                requests=len(warmup),
                concurrency=concurrency,
                max_seconds=max_seconds,
            )
        )
        units_before = metric_total(client, "ipsim_batch_size_sum")
        batches_before = metric_total(client, "ipsim_batch_size_count")
        load = asyncio.run(
            run_load(
                server.url,
                search_requests(texts),
                requests=len(texts),
                concurrency=concurrency,
                max_seconds=max_seconds,
            )
        )
        units = metric_total(client, "ipsim_batch_size_sum") - units_before
        batches = metric_total(client, "ipsim_batch_size_count") - batches_before
    return ServerRun(label, max_batch_size, load, units / batches if batches else float("nan"))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the report (and append it as Markdown when asked)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--requests", type=int, help="requests per server run (default 2000)")
    parser.add_argument("--concurrency", type=int, default=64, help="clients in flight")
    parser.add_argument("--batch", type=int, default=64, help="IPSIM_MAX_BATCH_SIZE when batched")
    parser.add_argument("--max-seconds", type=float, default=240.0, help="cap per server run")
    parser.add_argument("--model", default="all-MiniLM-L6-v2", help="text model (name or folder)")
    parser.add_argument(
        "--texts", choices=sorted(TEXT_SOURCES), default="short", help="which real texts to send"
    )
    args = parser.parse_args(argv)
    requests = args.requests or (192 if args.quick else 2000)

    all_texts = query_texts(args.texts)
    if requests + WARMUP_REQUESTS > len(all_texts):
        parser.error(f"at most {len(all_texts) - WARMUP_REQUESTS} distinct texts are available")
    # Distinct texts: a repeated query would be answered from the page cache, not encoded.
    texts = all_texts[:requests]
    warmup = all_texts[-WARMUP_REQUESTS:]
    titles = datasets.load_patent_titles()
    corpus = [(f"US{t.application_number}", t.title, {"art_unit": t.art_unit}) for t in titles]
    data = datasets.cache_dir() / "batching"

    report = Report(
        "bench_batching: dynamic batching under 64 concurrent clients",
        {
            "server": "ipsim serve (HTTP), flat text collection of the 316 US application titles",
            "load": f"{requests} distinct real short texts ({TEXT_SOURCES[args.texts]}; "
            f"mean {sum(map(len, texts)) / len(texts):.0f} chars), {args.concurrency} "
            "concurrent keep-alive HTTP/1.1 connections (asyncio streams) on the same "
            "machine, k=10, "
            f"{WARMUP_REQUESTS} warm-up requests first",
            "modes": f"batched IPSIM_MAX_BATCH_SIZE={args.batch}, unbatched "
            "IPSIM_MAX_BATCH_SIZE=1 (IPSIM_MAX_DELAY_MS default)",
            "raw ceiling": f"the same {requests} texts with sentence-transformers in this "
            f"process: one per encode() call vs {args.batch} per call",
            "model": args.model,
        },
    )
    report.configure(args)
    report.print_header()

    print("\nraw ceiling ...", flush=True)
    model = load_text_model(args.model)
    ceiling = raw_ceiling(model, texts, args.batch)
    del model
    runs = []
    for label, size in (("batched", args.batch), ("unbatched", 1)):
        print(f"server {label} (max batch {size}) ...", flush=True)
        runs.append(
            measure_server(
                data,
                label,
                size,
                texts,
                warmup,
                corpus,
                concurrency=args.concurrency,
                max_seconds=args.max_seconds,
            )
        )
    batched, unbatched = runs

    table = Table(
        "Throughput and latency",
        ["run", "requests ok", "errors", "req/s", "p50 ms", "p95 ms", "mean batch", "client CPU s"],
    )
    for run in runs:
        lat = run.load.latency()
        errors = sum(run.load.errors.values())
        table.add(
            f"server {run.label}",
            run.load.ok,
            errors,
            run.load.throughput,
            lat.p50_ms,
            lat.p95_ms,
            run.mean_batch,
            run.load.client_cpu_s,
        )
    table.add("raw one by one", requests, 0, ceiling.one_by_one, None, None, 1.0, None)
    table.add("raw batches", requests, 0, ceiling.batched, None, None, float(args.batch), None)
    report.tables.append(table)
    plots.latency_histogram(
        report.plot_path("latency"),
        {
            f"server {run.label} (max batch {run.max_batch_size})": [
                s * 1e3 for s in run.load.latencies
            ]
            for run in runs
        },
        f"Search latency under {args.concurrency} concurrent clients ({requests} requests)",
    )
    sizes = [1, args.batch]
    plots.throughput_by_batch(
        report.plot_path("throughput"),
        {
            "server req/s (IPSIM_MAX_BATCH_SIZE)": (
                sizes,
                [unbatched.load.throughput, batched.load.throughput],
            ),
            "raw sentence-transformers texts/s": (sizes, [ceiling.one_by_one, ceiling.batched]),
        },
        f"Throughput against batch size ({args.model})",
        unit="requests or texts per second",
    )

    server_ratio = batched.load.throughput / unbatched.load.throughput
    share = server_ratio / ceiling.ratio
    p95_b, p95_u = batched.load.latency().p95_ms, unbatched.load.latency().p95_ms
    ratios = Table("Batching speed-up", ["measure", "value"])
    ratios.add("raw ceiling ratio (batches / one by one)", ceiling.ratio)
    ratios.add("server ratio (batched / unbatched req/s)", server_ratio)
    ratios.add("server ratio / raw ratio", share)
    ratios.add("p95 batched / p95 unbatched", p95_b / p95_u)
    report.tables.append(ratios)

    met = share >= GOAL_SHARE_OF_CEILING and p95_b <= p95_u
    report.notes.append(
        f"Goal (server ratio >= {GOAL_SHARE_OF_CEILING:.0%} of the raw ratio, p95 no worse): "
        f"{'MET' if met else 'NOT MET'} — {share:.0%} of the ceiling, "
        f"p95 {p95_b:.0f} ms batched vs {p95_u:.0f} ms unbatched."
    )
    for run in runs:
        if run.load.errors:
            report.notes.append(f"{run.label} errors: {dict(run.load.errors)}")
    report.notes.append(
        "The load generator shares the machine's cores with the server; its CPU time is "
        "in the table."
    )
    report.publish(args.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
