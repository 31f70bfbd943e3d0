"""Re-indexing: how fast a collection is rebuilt beside the live one, and what the clients
using it meanwhile see.

N distinct real short texts (patent titles first, then headlines and sentences) go into a
text collection (all-MiniLM-L6-v2, flat) of an in-process engine. Then, while one client
searches in a loop and another writes one document at a time:

- re-index flat → HNSW (every document encoded again, through the encoder's batcher);
- roll back to the flat version (nothing changed but the concurrent writes: every document
  is read and compared, only the changed ones are encoded again);
- with ``--ray``: re-index flat → HNSW again, encoding on a local Ray cluster started here
  (``RAY_NODES`` raylets of 1 CPU each, so as many encoder actors) instead of in process.

Reported: documents per second of the initial ingest (the baseline: the same encoding),
of the re-index and of the rollback; the searches and writes made during each job, how
many failed (goal: 0) and their latency, the slowest write being the one that waited for
the switch.

    .venv/bin/python -m benchmarks.bench_reindex [--quick] [--docs N] [--ray] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from ipsim.benchmarks import datasets
from ipsim.benchmarks.metrics import Latency
from ipsim.benchmarks.report import Report, Table, add_common_arguments
from ipsim.benchmarks.server import fresh_data_dir
from ipsim.engine.engine import Engine, EngineOptions
from ipsim.engine.reindex import BATCH, Job
from ipsim.engine.types import CollectionSpec, Document, IndexSpec, SearchRequest

NAME = "titles"
RAY_NODES = 2


@dataclass
class Traffic:
    """What the concurrent clients did while a job ran."""

    searches: list[float] = field(default_factory=list)
    writes: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


async def _client_loops(engine: Engine, texts: Sequence[str], stop: asyncio.Event) -> Traffic:
    traffic = Traffic()

    async def timed(seconds: list[float], call: Awaitable[object]) -> None:
        started = time.perf_counter()
        try:
            await call
        except Exception as exc:  # every failure counts
            traffic.failures.append(f"{type(exc).__name__}: {exc}")
        seconds.append(time.perf_counter() - started)

    async def search() -> None:
        i = 0
        while not stop.is_set():
            request = SearchRequest({"text": texts[i % len(texts)]}, k=10)
            await timed(traffic.searches, engine.search(NAME, request))
            i += 1

    async def write() -> None:
        i = 0
        while not stop.is_set():
            doc = Document(f"live-{i % 50}", {"text": texts[i % len(texts)]}, {"n": i})
            await timed(traffic.writes, engine.upsert(NAME, [doc]))
            i += 1
            await asyncio.sleep(0.01)

    await asyncio.gather(search(), write())
    return traffic


async def _job(
    engine: Engine, begin: Callable[[], Awaitable[Job]], texts: Sequence[str]
) -> tuple[Job, float, Traffic]:
    stop = asyncio.Event()
    clients = asyncio.create_task(_client_loops(engine, texts, stop))
    await asyncio.sleep(0.5)  # the clients are running before the job starts
    started = time.perf_counter()
    job = await begin()
    while job.state not in ("done", "failed", "cancelled"):
        await asyncio.sleep(0.01)
    seconds = time.perf_counter() - started
    await asyncio.sleep(0.5)  # and after the switch
    stop.set()
    return job, seconds, await clients


async def _run(
    texts: Sequence[str], queries: Sequence[str], ray_address: str | None
) -> list[tuple[str, int, float, Traffic | None]]:
    engine = Engine(EngineOptions(data=fresh_data_dir(datasets.cache_dir() / "reindex")))
    await engine.start()
    rows: list[tuple[str, int, float, Traffic | None]] = []
    try:
        await engine.create_collection(CollectionSpec(NAME, "text", index=IndexSpec("flat")))
        documents = [Document(f"d{i:06d}", {"text": t}, {}) for i, t in enumerate(texts)]
        started = time.perf_counter()
        for offset in range(0, len(documents), BATCH):
            await engine.upsert(NAME, documents[offset : offset + BATCH])
        rows.append(
            ("initial ingest (baseline)", len(documents), time.perf_counter() - started, None)
        )

        jobs: list[tuple[str, Callable[[], Awaitable[Job]]]] = [
            ("re-index flat → HNSW", lambda: engine.jobs.reindex(NAME, None, IndexSpec("hnsw"))),
            ("rollback to flat", lambda: engine.jobs.rollback(NAME)),
        ]
        if ray_address is not None:
            jobs.append(
                (
                    f"re-index flat → HNSW on Ray ({RAY_NODES} actors)",
                    lambda: engine.jobs.reindex(NAME, None, IndexSpec("hnsw"), ray=ray_address),
                )
            )
        for label, begin in jobs:
            job, seconds, traffic = await _job(engine, begin, queries)
            if job.state != "done":
                raise RuntimeError(f"{label}: {job.state}: {job.error}")
            rows.append((f"{label} ({job.copied} encoded)", job.total, seconds, traffic))
    finally:
        await engine.close()
    return rows


@contextmanager
def _local_cluster() -> Iterator[str]:
    """A local Ray cluster of ``RAY_NODES`` 1-CPU raylets, this process connected to it."""
    import ray
    from ray.cluster_utils import Cluster

    with tempfile.TemporaryDirectory(prefix="ipsim-ray-") as temp:
        cluster = Cluster(
            initialize_head=True,
            head_node_args={"num_cpus": 1, "temp_dir": temp, "include_dashboard": False},
        )
        for _ in range(RAY_NODES - 1):
            cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, namespace="ipsim", log_to_driver=False)
        try:
            yield str(cluster.address)
        finally:
            ray.shutdown()
            cluster.shutdown()  # type: ignore[no-untyped-call]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the report (and append it as Markdown when asked)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--docs", type=int, help="documents in the collection (default 2500)")
    parser.add_argument(
        "--ray",
        action="store_true",
        help=f"also re-index on a local Ray cluster ({RAY_NODES} raylets of 1 CPU)",
    )
    args = parser.parse_args(argv)
    texts = datasets.short_texts()
    count = min(args.docs or (800 if args.quick else 2500), len(texts))
    report = Report(
        "bench_reindex: re-index throughput and failed requests across the switch",
        {
            "collection": f"{count} distinct real short texts (patent titles first), text,"
            " all-MiniLM-L6-v2, flat; in-process engine",
            "traffic during each job": "one client searching in a loop (k=10, other real"
            " texts), one writing a document every 10 ms",
            **(
                {
                    "Ray": f"local cluster started here: {RAY_NODES} raylets of 1 CPU, one"
                    " encoder actor each (torch: 1 thread per actor)"
                }
                if args.ray
                else {}
            ),
        },
    )
    report.configure(args)
    report.print_header()
    if args.ray:
        with _local_cluster() as address:
            rows = asyncio.run(_run(texts[:count], texts[count:] or texts, address))
    else:
        rows = asyncio.run(_run(texts[:count], texts[count:] or texts, None))
    table = Table(
        "Re-index jobs",
        [
            "job",
            "docs",
            "s",
            "docs/s",
            "searches",
            "search p95 ms",
            "writes",
            "max write ms",
            "failed",
        ],
    )
    failed = 0
    for label, docs, seconds, traffic in rows:
        if traffic is None:
            table.add(label, docs, seconds, docs / seconds, None, None, None, None, None)
            continue
        search, write = Latency.of(traffic.searches), Latency.of(traffic.writes)
        failed += len(traffic.failures)
        table.add(
            label,
            docs,
            seconds,
            docs / seconds,
            search.count,
            search.p95_ms,
            write.count,
            max(traffic.writes) * 1000.0,
            len(traffic.failures),
        )
        for failure in sorted(set(traffic.failures))[:3]:
            report.notes.append(f"{label}: {failure}")
    report.tables.append(table)
    verdict = "MET" if failed == 0 else "NOT MET"
    report.notes.append(
        f"Goal (no failed search or write across the switches): {verdict} — {failed} failed."
    )
    report.publish(args.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
