"""Hybrid text search quality: dense, lexical (BM25) and hybrid at several weights.

Runs through the real engine (an in-process :class:`~ipsim.engine.engine.Engine` over a
temporary data directory, the configured text model), not a re-implementation:

* US application titles (``text/patents/us_application_titles.jsonl``): every title is
  searched against the others (itself left out); relevant = same art unit (strict) or
  same technology center (loose); precision@10 and nDCG@10 over the queries with a
  relevant title (the measures of ``bench_quality``).
* Lee & Pincombe (``text/lee``): the 50 rated documents plus the 300 background ones
  (which only shape BM25's document frequencies: every search filters ``set = lee``);
  each rated document is searched against the 50, the pair score is the mean of both
  directions (0 where a search did not return the pair), and Spearman / Pearson are
  taken over the 1,225 rated pairs.

Each mode is a search ``mode`` (``dense``, ``lexical``, ``hybrid``) and, for hybrid,
``query.weight`` (the dense share). Latency is measured first, on a fresh engine (no page
cache), the modes taking turns on each title so that the machine's changing load hits
them alike: median and p95 of one title search, query encoding included.

    .venv/bin/python -m benchmarks.bench_hybrid [--weights 0.3,0.7] [--quick] [--markdown F]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ipsim.benchmarks import datasets
from ipsim.benchmarks.bench_quality import (
    MEASURES,
    K,
    label_summary,
    lee_measures,
    title_measures,
)
from ipsim.benchmarks.report import Report, Table, add_common_arguments
from ipsim.engine.engine import Engine, EngineOptions
from ipsim.engine.text import DEFAULT_WEIGHT, FUSION_DEPTH
from ipsim.engine.types import CollectionSpec, Document, SearchRequest

TITLES, LEE = "titles", "lee"
BATCH = 64
WARM_UP = 20
DEFAULT_WEIGHTS = "0.3,0.5,0.6,0.7,0.8,0.9"


@dataclass(frozen=True)
class Mode:
    """One way to search: the request's mode and, for hybrid, the weight."""

    label: str
    mode: str
    weight: float | None = None

    def request(self, text: str, k: int, flt: dict[str, Any] | None = None) -> SearchRequest:
        query: dict[str, Any] = {"text": text}
        if self.weight is not None:
            query["weight"] = self.weight
        return SearchRequest(query, k=k, filter=flt, mode=self.mode)


def modes(weights: Sequence[float]) -> list[Mode]:
    """Dense, lexical, then hybrid at each weight."""
    hybrid = [Mode(f"hybrid w={w:g}", "hybrid", w) for w in weights]
    return [Mode("dense", "dense"), Mode("lexical", "lexical"), *hybrid]


async def load(engine: Engine, name: str, documents: Sequence[Document]) -> None:
    """Create a flat text collection and upsert ``documents`` into it."""
    await engine.create_collection(CollectionSpec(name, "text"))
    for start in range(0, len(documents), BATCH):
        await engine.upsert(name, documents[start : start + BATCH])


def background(quick: bool) -> list[str]:
    """The Lee background documents (news of the same source), one a line."""
    path = datasets.data_root() / "text" / "lee" / "lee_background.cor"
    lines = [line.strip() for line in datasets.read_text(path).splitlines() if line.strip()]
    return lines[:50] if quick else lines


async def title_rankings(
    engine: Engine, titles: Sequence[datasets.PatentTitle], mode: Mode
) -> list[list[str]]:
    """Per title, the other titles' ids best first."""
    ids = [f"US{t.application_number}" for t in titles]
    rankings = []
    for doc_id, title in zip(ids, titles, strict=True):
        found = await engine.search(TITLES, mode.request(title.title, K + 1))
        rankings.append([h.id for h in found.hits if h.id != doc_id][:K])
    return rankings


async def latencies(
    engine: Engine, titles: Sequence[datasets.PatentTitle], timed: Sequence[Mode]
) -> dict[str, list[float]]:
    """Seconds per title search for each mode, the modes taking turns on every title."""
    seconds: dict[str, list[float]] = {mode.label: [] for mode in timed}
    for title in titles:
        for mode in timed:
            started = time.perf_counter()
            await engine.search(TITLES, mode.request(title.title, K + 1))
            seconds[mode.label].append(time.perf_counter() - started)
    return seconds


async def lee_scores(engine: Engine, lee: datasets.LeeCorpus, mode: Mode) -> np.ndarray:
    """The symmetric pair-score matrix of the rated documents (0 = not returned)."""
    n = len(lee.documents)
    scores = np.zeros((n, n))
    for i, document in enumerate(lee.documents):
        found = await engine.search(LEE, mode.request(document, n, {"set": "lee"}))
        for hit in found.hits:
            scores[i, int(hit.id[3:])] = hit.score
    return (scores + scores.T) / 2.0


async def measure(
    engine: Engine,
    titles: Sequence[datasets.PatentTitle],
    lee: datasets.LeeCorpus,
    mode: Mode,
) -> list[float]:
    """The six measures of one mode."""
    rankings = await title_rankings(engine, titles, mode)
    values = title_measures(titles, lambda i: rankings[i])
    values += lee_measures(lee, await lee_scores(engine, lee, mode))
    return values


async def run(
    model: str,
    titles: Sequence[datasets.PatentTitle],
    lee: datasets.LeeCorpus,
    extra: Sequence[str],
    weights: Sequence[float],
) -> list[Table]:
    """Load both corpora into a fresh engine and measure every mode."""
    quality = Table("Quality by search mode", ["mode", *MEASURES])
    speed = Table("Latency of one title search (ms)", ["mode", "median", "p95"])
    with tempfile.TemporaryDirectory(prefix="ipsim-hybrid-") as folder:
        engine = Engine(EngineOptions(data=Path(folder), text_model=model))
        await engine.start()
        try:
            print("loading ...", flush=True)
            ids = [f"US{t.application_number}" for t in titles]
            await load(
                engine,
                TITLES,
                [Document(i, {"text": t.title}) for i, t in zip(ids, titles, strict=True)],
            )
            rated = [
                Document(f"lee{i}", {"text": d}, {"set": "lee"})
                for i, d in enumerate(lee.documents)
            ]
            others = [
                Document(f"bg{i}", {"text": d}, {"set": "background"}) for i, d in enumerate(extra)
            ]
            await load(engine, LEE, rated + others)
            print("latency ...", flush=True)
            timed = [*modes([])[:2], Mode(f"hybrid w={DEFAULT_WEIGHT:g}", "hybrid")]
            # Warm-up (first searches run slow) on other texts: the page cache must stay cold.
            warm = [replace(t, title=f"{t.title} (warm-up)") for t in titles[:WARM_UP]]
            await latencies(engine, warm, timed)
            for label, seconds in (await latencies(engine, titles, timed)).items():
                milliseconds = 1000.0 * np.asarray(seconds)
                speed.add(label, *np.percentile(milliseconds, [50, 95]).tolist())
            for mode in modes(weights):
                print(f"{mode.label} ...", flush=True)
                quality.add(mode.label, *await measure(engine, titles, lee, mode))
        finally:
            await engine.close()
    return [speed, quality]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the report (and append it as Markdown when asked)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument(
        "--model", default="all-MiniLM-L6-v2", help="text model: a registered name or a folder"
    )
    parser.add_argument(
        "--weights",
        default=DEFAULT_WEIGHTS,
        help=f"hybrid dense shares to try, comma-separated (default {DEFAULT_WEIGHTS})",
    )
    args = parser.parse_args(argv)
    try:
        weights = [float(w) for w in args.weights.split(",")]
    except ValueError:
        parser.error(f"--weights: not a comma-separated list of numbers: {args.weights!r}")
    if not all(0.0 <= w <= 1.0 for w in weights):
        parser.error("--weights: each weight must be from 0 to 1")
    titles = datasets.load_patent_titles()
    lee = datasets.load_lee()
    extra = background(args.quick)
    if args.quick:
        titles = titles[:80]
        lee = datasets.LeeCorpus(lee.documents[:20], lee.ratings[:20, :20])
    report = Report(
        "bench_hybrid: dense, lexical (BM25) and hybrid text search through the engine",
        {
            "engine": f"in-process Engine, temporary data directory, model {args.model}, "
            f"flat index; hybrid fuses min-max normalised scores, each branch "
            f"{FUSION_DEPTH} deep; default weight {DEFAULT_WEIGHT}",
            "titles": f"{len(titles)} US application titles, each "
            f"searched against the others with k={K}",
            "strict (same art unit)": label_summary(titles, "art_unit"),
            "loose (same technology center)": label_summary(titles, "technology_center"),
            "Lee": f"{len(lee.documents)} rated documents + {len(extra)} background documents "
            "(BM25 statistics only; searches filter set=lee); pair score = mean of both "
            "directions",
            "quick": str(args.quick),
        },
    )
    report.configure(args)
    report.print_header()
    report.tables += asyncio.run(run(args.model, titles, lee, extra, weights))
    report.notes.append(
        "P@10 and nDCG@10 average over the queries that have at least one relevant title."
    )
    report.publish(args.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
