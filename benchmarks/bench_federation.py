"""One-window search: what fanning a query out to several collections and servers costs.

The labelled US application titles are split in two text collections, ``even`` and
``odd``, in an in-process engine; a real ``ipsim serve`` holds ``odd`` as well and is
configured as the remote source ``remote``. Each path searches its own distinct real
query texts (so no path is answered by another's page cache), one at a time, k=10, the
paths taking turns in blocks:

- one collection: ``Engine.search("even")`` — the baseline;
- one window, two local collections: ``even`` + ``odd`` fused by RRF;
- one window, local + remote: ``even`` + ``remote:odd`` (an HTTP round trip to the other
  server, concurrent with the local search);
- the remote alone: the same HTTP search the remote source makes;
- one window with a source that is down: ``even`` + a source whose port refuses
  connections (the answer is partial; this is what a dead office costs).

    .venv/bin/python -m benchmarks.bench_federation [--quick] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import time
from collections.abc import Awaitable, Callable, Sequence

import httpx

from ipsim.benchmarks import datasets
from ipsim.benchmarks.metrics import Latency
from ipsim.benchmarks.report import Report, Table, add_common_arguments
from ipsim.benchmarks.server import (
    create_text_collection,
    fresh_data_dir,
    running_server,
    upsert_texts,
)
from ipsim.config import SourceSettings
from ipsim.engine.engine import Engine, EngineOptions
from ipsim.engine.federation import Federation, MultiSearchRequest
from ipsim.engine.sources import LocalSource
from ipsim.engine.types import CollectionSpec, Document, SearchRequest
from ipsim.server.remote_sources import RemoteSource

K = 10
BLOCK = 10
SETTLE_S = 0.3
TIMEOUT_MS = 5000.0
GOAL = 1.5
"""Two local collections in one window within this factor of one collection (p50)."""

Search = Callable[[str], Awaitable[object]]


def _settings(url: str) -> SourceSettings:
    return SourceSettings(url=url, api_key=None, timeout_ms=None)


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def _measure(paths: dict[str, Search], texts: dict[str, list[str]]) -> dict[str, list[float]]:
    """Seconds per search on each path; the paths take turns in blocks of ``BLOCK`` queries."""
    out: dict[str, list[float]] = {name: [] for name in paths}
    rounds = max(len(t) for t in texts.values())
    for start in range(0, rounds, BLOCK):
        for name, search in paths.items():
            await asyncio.sleep(SETTLE_S)
            for text in texts[name][start : start + BLOCK]:
                started = time.perf_counter()
                await search(text)
                out[name].append(time.perf_counter() - started)
    return out


async def _run(
    url: str, titles: Sequence[datasets.PatentTitle], texts: Sequence[str], data_dir: str
) -> tuple[dict[str, list[float]], dict[str, str]]:
    engine = Engine(EngineOptions(data=fresh_data_dir(datasets.cache_dir() / data_dir)))
    await engine.start()
    for name, part in (("even", titles[0::2]), ("odd", titles[1::2])):
        await engine.create_collection(CollectionSpec(name, "text"))
        documents = [
            Document(t.application_number, {"text": t.title}, {"tc": t.technology_center})
            for t in part
        ]
        await engine.upsert(name, documents)
    remote = RemoteSource("remote", _settings(url), default_timeout_ms=TIMEOUT_MS)
    dead = RemoteSource(
        "dead",
        _settings(f"http://127.0.0.1:{_closed_port()}"),
        default_timeout_ms=TIMEOUT_MS,
    )
    federation = Federation(
        LocalSource(engine), {"remote": remote, "dead": dead}, timeout_ms=TIMEOUT_MS
    )
    statuses: dict[str, str] = {}

    def window(*collections: str) -> Search:
        async def search(text: str) -> object:
            answer = await federation.search(
                MultiSearchRequest(collections=collections, query={"text": text}, k=K)
            )
            statuses[" + ".join(collections)] = ", ".join(
                f"{r.collection} {r.status}" for r in answer.sources
            )
            return answer

        return search

    async def single(text: str) -> object:
        return await engine.search("even", SearchRequest({"text": text}, k=K))

    async def remote_alone(text: str) -> object:
        return await remote.search("odd", SearchRequest({"text": text}, k=16))

    paths: dict[str, Search] = {
        "one collection (baseline)": single,
        "one window: 2 local collections": window("even", "odd"),
        "one window: local + remote": window("even", "remote:odd"),
        "the remote alone (HTTP)": remote_alone,
        "one window: the remote alone": window("remote:odd"),
        "one window: local + a source that is down": window("even", "dead:odd"),
    }
    # Distinct texts per path, so no path's query is already in another's page cache.
    per_path = len(texts) // len(paths)
    assigned = {
        name: list(texts[i * per_path : (i + 1) * per_path]) for i, name in enumerate(paths)
    }
    try:
        for search in paths.values():  # warm-up: models, connections
            await search("a warm-up query")
        return await _measure(paths, assigned), statuses
    finally:
        await federation.close()
        await engine.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the report (and append it as Markdown when asked)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--queries", type=int, help="distinct query texts per path (default 60)")
    args = parser.parse_args(argv)
    per_path = args.queries or (10 if args.quick else 60)
    titles = datasets.load_patent_titles()
    texts = datasets.short_texts()[: per_path * 6]
    report = Report(
        "bench_federation: the one-window search over local and remote collections",
        {
            "collections": f"{len(titles)} US application titles split in two text collections"
            " (all-MiniLM-L6-v2, flat), in-process; the odd half also on a real ipsim serve",
            "queries": f"{per_path} distinct real short texts per path, one at a time, k={K},"
            f" paths taking turns in blocks of {BLOCK}; fusion rrf; source time-out"
            f" {TIMEOUT_MS:.0f} ms",
        },
    )
    report.configure(args)
    report.print_header()
    data = fresh_data_dir(datasets.cache_dir() / "federation-remote")
    with running_server(data) as server, httpx.Client(base_url=server.url, timeout=120) as http:
        create_text_collection(http, "odd")
        upsert_texts(
            http,
            "odd",
            [(t.application_number, t.title, {"tc": t.technology_center}) for t in titles[1::2]],
        )
        seconds, statuses = asyncio.run(_run(server.url, titles, texts, "federation-local"))

    table = Table("Latency per search", ["path", "n", "p50 ms", "p95 ms", "× baseline p50"])
    base = Latency.of(seconds["one collection (baseline)"])
    for name, values in seconds.items():
        lat = Latency.of(values)
        table.add(name, lat.count, lat.p50_ms, lat.p95_ms, lat.p50_ms / base.p50_ms)
    report.tables.append(table)
    for collections, status in statuses.items():
        report.notes.append(f"sources of {collections}: {status}")
    local = Latency.of(seconds["one window: 2 local collections"])
    met = local.p50_ms <= GOAL * base.p50_ms
    report.notes.append(
        f"Goal (two local collections in one window within {GOAL}x of one collection, p50): "
        f"{'MET' if met else 'NOT MET'} — {local.p50_ms / base.p50_ms:.2f}x."
    )
    report.publish(args.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
