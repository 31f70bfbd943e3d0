"""Retrieval quality through the server on labelled real data, beside the same model outside it.

* US application titles (``text/patents/us_application_titles.jsonl``): every title is
  searched against the others (the query itself is left out); relevant = same art unit
  (strict) or same technology center (loose); precision@10 and nDCG@10, averaged over
  the queries that have at least one relevant title.
* Lee & Pincombe (``text/lee``): 50 news documents, each searched against all 50; the
  engine's score of every document pair (mean of both directions) is correlated with the
  mean human rating (Spearman and Pearson over the 1,225 pairs).

"server" runs it over HTTP against a real ``ipsim serve``; "reference" computes the same
with sentence-transformers and numpy (exact cosine, same tie order); they must agree
within 0.01. ``--model`` (repeatable) evaluates other models (a local model folder) in
the same table.

    .venv/bin/python -m benchmarks.bench_quality [--model DIR ...] [--quick] [--markdown FILE]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx
import numpy as np

from ipsim.benchmarks import datasets
from ipsim.benchmarks.metrics import ndcg_at_k, pearson, precision_at_k, spearman
from ipsim.benchmarks.reference import Matrix, load_text_model
from ipsim.benchmarks.report import Report, Table, add_common_arguments
from ipsim.benchmarks.server import (
    fresh_data_dir,
    running_server,
    search_text,
    upsert_texts,
)

K = 10
TOLERANCE = 0.01
MEASURES = (
    "strict P@10",
    "strict nDCG@10",
    "loose P@10",
    "loose nDCG@10",
    "Lee Spearman",
    "Lee Pearson",
)

Ranker = Callable[[int], list[str]]
"""Query number → the ids of the other documents, best first (at least K of them)."""


@dataclass(frozen=True)
class Scores:
    """One model's measures on one path, in :data:`MEASURES` order."""

    values: tuple[float, ...]


def relevant_sets(titles: Sequence[datasets.PatentTitle], label: str) -> list[set[str]]:
    """Per title, the ids of the other titles sharing its ``label`` (art unit or center)."""
    ids = [f"US{t.application_number}" for t in titles]
    return [
        {ids[j] for j, other in enumerate(titles) if j != i and getattr(other, label) == value}
        for i, value in enumerate(getattr(t, label) for t in titles)
    ]


def label_summary(titles: Sequence[datasets.PatentTitle], label: str) -> str:
    """How many queries count, how many relevant each has, and the best P@10 possible."""
    sets = [r for r in relevant_sets(titles, label) if r]
    ideal = np.mean([min(len(r), K) / K for r in sets])
    return (
        f"{len(sets)} of {len(titles)} queries have a relevant title (median "
        f"{np.median([len(r) for r in sets]):.0f} relevant); a perfect ranking scores "
        f"P@10 = {ideal:.3f}, nDCG@10 = 1"
    )


def title_measures(titles: Sequence[datasets.PatentTitle], ranked: Ranker) -> list[float]:
    """Mean strict and loose P@10 and nDCG@10 over queries with a relevant title."""
    out = []
    rankings = [ranked(i) for i in range(len(titles))]
    for label in ("art_unit", "technology_center"):
        precisions, ndcgs = [], []
        for i, relevant in enumerate(relevant_sets(titles, label)):
            if not relevant:
                continue
            precisions.append(precision_at_k(rankings[i], relevant, K))
            ndcgs.append(ndcg_at_k(rankings[i], relevant, K))
        out += [float(np.mean(precisions)), float(np.mean(ndcgs))]
    return out


def lee_measures(lee: datasets.LeeCorpus, pair_scores: np.ndarray) -> list[float]:
    """Spearman and Pearson of a symmetric pair-score matrix against the human ratings."""
    first, second, ratings = lee.pairs()
    engine = pair_scores[first, second]
    return [spearman(engine, ratings), pearson(engine, ratings)]


def reference_ranker(ids: Sequence[str], vectors: Matrix) -> Ranker:
    """Exact cosine ranking of the other documents: score descending, then id ascending."""
    similarities = vectors.astype(np.float64) @ vectors.astype(np.float64).T

    def ranked(i: int) -> list[str]:
        order = sorted(
            (j for j in range(len(ids)) if j != i), key=lambda j: (-similarities[i, j], ids[j])
        )
        return [ids[j] for j in order[:K]]

    return ranked


def reference(
    model: str, titles: Sequence[datasets.PatentTitle], lee: datasets.LeeCorpus
) -> Scores:
    """The measures with sentence-transformers and numpy, no ipsim in the path."""
    loaded = load_text_model(model)
    ids = [f"US{t.application_number}" for t in titles]
    title_vectors = loaded.encode([t.title for t in titles])
    lee_vectors = loaded.encode(lee.documents).astype(np.float64)
    values = title_measures(titles, reference_ranker(ids, title_vectors))
    values += lee_measures(lee, lee_vectors @ lee_vectors.T)
    return Scores(tuple(values))


def through_server(
    client: httpx.Client,
    tag: str,
    model: str,
    titles: Sequence[datasets.PatentTitle],
    lee: datasets.LeeCorpus,
) -> Scores:
    """The measures over HTTP: upsert both corpora into collections using ``model``, search."""
    titles_name, lee_name = f"titles-{tag}", f"lee-{tag}"
    for name in (titles_name, lee_name):
        body = {"name": name, "modality": "text", "index": {"type": "flat"}, "model": model}
        response = client.post("/v1/collections", json=body)
        if response.status_code != 201:
            raise RuntimeError(f"creating {name}: {response.status_code} {response.text[:300]}")
    ids = [f"US{t.application_number}" for t in titles]
    upsert_texts(
        client,
        titles_name,
        [
            (doc_id, t.title, {"art_unit": t.art_unit, "technology_center": t.technology_center})
            for doc_id, t in zip(ids, titles, strict=True)
        ],
    )
    upsert_texts(client, lee_name, [(f"lee{i}", doc, {}) for i, doc in enumerate(lee.documents)])

    def ranked(i: int) -> list[str]:
        hits = search_text(client, titles_name, titles[i].title, K + 1)
        return [h["id"] for h in hits if h["id"] != ids[i]][:K]

    values = title_measures(titles, ranked)
    n = len(lee.documents)
    scores = np.zeros((n, n))
    for i, doc in enumerate(lee.documents):
        for hit in search_text(client, lee_name, doc, n):
            scores[i, int(hit["id"][3:])] = hit["score"]
    values += lee_measures(lee, (scores + scores.T) / 2.0)
    return Scores(tuple(values))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the report (and append it as Markdown when asked)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument(
        "--model",
        action="append",
        help="text model: all-MiniLM-L6-v2 or a local model folder (repeat to compare)",
    )
    args = parser.parse_args(argv)
    models = args.model or ["all-MiniLM-L6-v2"]
    titles = datasets.load_patent_titles()
    lee = datasets.load_lee()
    if args.quick:
        titles = titles[:80]
        lee = datasets.LeeCorpus(lee.documents[:20], lee.ratings[:20, :20])
    tcs = len({t.technology_center for t in titles})
    units = len({t.art_unit for t in titles})

    report = Report(
        "bench_quality: retrieval quality through the server vs the same model outside it",
        {
            "titles": f"{len(titles)} US application titles ({tcs} technology centers, {units} "
            f"art units); each searched against the others with k={K}; flat collection",
            "strict (same art unit)": label_summary(titles, "art_unit"),
            "loose (same technology center)": label_summary(titles, "technology_center"),
            "Lee": f"{len(lee.documents)} documents, {len(lee.pairs()[2])} rated pairs; pair "
            "score = mean of both search directions",
            "reference": "sentence-transformers encode + numpy exact cosine, ties by id",
            "models": ", ".join(models),
        },
    )
    report.configure(args)
    report.print_header()
    table = Table("Quality", ["model", "path", *MEASURES])
    worst = 0.0
    data = fresh_data_dir(datasets.cache_dir() / "quality")
    with running_server(data) as server, httpx.Client(base_url=server.url, timeout=300.0) as client:
        for number, model in enumerate(models):
            print(f"\n{model}: server ...", flush=True)
            served = through_server(client, str(number), model, titles, lee)
            print(f"{model}: reference ...", flush=True)
            exact = reference(model, titles, lee)
            diff = [abs(a - b) for a, b in zip(served.values, exact.values, strict=True)]
            worst = max(worst, *diff)
            table.add(model, "server", *served.values)
            table.add(model, "reference", *exact.values)
            table.add(model, "|difference|", *diff)
    report.tables.append(table)
    report.notes.append(
        f"Server vs reference within {TOLERANCE}: {'MET' if worst <= TOLERANCE else 'NOT MET'} "
        f"(largest difference {worst:.4f})."
    )
    report.notes.append(
        "P@10 and nDCG@10 average over the queries that have at least one relevant title "
        "(a title alone in its art unit has nothing to find)."
    )
    report.publish(args.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
