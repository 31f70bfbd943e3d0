"""Calibrate the text verdict thresholds of the preliminary novelty assessment.

Data: the 316 real US application titles (``text/patents/us_application_titles.jsonl``);
*same art unit* stands in for "anticipating". Each title is a query against the other 315,
scored by the all-MiniLM-L6-v2 cosine (sentence-transformers, exactly what a text
collection's dense search returns for these one-chunk texts).

Rules (targets from :mod:`ipsim.platform.filing.verdict`):

- ``upper``: the smallest threshold on a 0.01 grid at which the precision of "same art
  unit" among pairs scoring at or above it is >= ``PRECISION_TARGET``, and stays so at
  every higher grid point that has pairs;
- ``lower``: the largest threshold at which the share of same-art-unit pairs scoring below
  it (the false-"novel" rate) is <= ``MISS_TARGET``.

Uncertainty: a bootstrap that resamples *queries* (a query's pairs share the query, so
pairs are not independent), 2000 resamples, seed 0: 95 % percentile intervals of the
error rates at the chosen thresholds, and of the thresholds themselves when re-chosen in
every resample. The per-query table applies the verdict as the service does (the best
score over the other titles) and shows how often a band's queries have a same-art-unit
title at all, and as their top hit.

    .venv/bin/python -m benchmarks.calibrate_assessment [--quick] [--markdown FILE]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ipsim.benchmarks import datasets
from ipsim.benchmarks.reference import load_text_model
from ipsim.benchmarks.report import Report, Table, add_common_arguments
from ipsim.platform.filing.verdict import MISS_TARGET, PRECISION_TARGET, TEXT, Verdict

MODEL = "all-MiniLM-L6-v2"
GRID = np.round(np.arange(-0.2, 1.0001, 0.01), 2)
RESAMPLES = 2000
SEED = 0

Counts = npt.NDArray[np.int64]


@dataclass(frozen=True)
class PerQuery:
    """Per query (row) and grid threshold (column): pair counts at or above the threshold."""

    at_or_above: Counts
    """Pairs scoring >= t."""
    relevant_at_or_above: Counts
    """Same-label pairs scoring >= t."""
    relevant: npt.NDArray[np.int64]
    """Same-label pairs of the query."""


def per_query(scores: npt.NDArray[np.float64], same: npt.NDArray[np.bool_]) -> PerQuery:
    """Counts for every query over the other titles (the diagonal is left out)."""
    n = len(scores)
    off = ~np.eye(n, dtype=bool)
    above = scores[:, :, None] >= GRID[None, None, :] - 1e-9
    return PerQuery(
        at_or_above=(above & off[:, :, None]).sum(axis=1),
        relevant_at_or_above=(above & (same & off)[:, :, None]).sum(axis=1),
        relevant=(same & off).sum(axis=1),
    )


def rates(counts: PerQuery, rows: npt.NDArray[np.int64]) -> tuple[np.ndarray, np.ndarray]:
    """Precision at or above, and share of relevant pairs below, each grid threshold."""
    positive = counts.at_or_above[rows].sum(axis=0)
    hit = counts.relevant_at_or_above[rows].sum(axis=0)
    relevant = counts.relevant[rows].sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(positive > 0, hit / positive, np.nan)
        missed = (relevant - hit) / relevant if relevant else np.full(len(GRID), np.nan)
    return precision, missed


def choose(precision: np.ndarray, missed: np.ndarray) -> tuple[float, float]:
    """(lower, upper) by the rules in the module docstring (nan when none qualifies)."""
    upper = float("nan")
    for i in range(len(GRID) - 1, -1, -1):
        if np.isnan(precision[i]):
            continue
        if precision[i] < PRECISION_TARGET:
            break
        upper = float(GRID[i])
    allowed = np.flatnonzero(missed <= MISS_TARGET)
    lower = float(GRID[allowed[-1]]) if len(allowed) else float("nan")
    return lower, upper


def measures(
    counts: PerQuery, rows: npt.NDArray[np.int64], lower: float, upper: float
) -> list[float]:
    """Precision and recall at ``upper``, false-"novel" rate at ``lower``."""
    lo, hi = _index(lower), _index(upper)
    positive = counts.at_or_above[rows, hi].sum()
    hit = counts.relevant_at_or_above[rows, hi].sum()
    relevant = counts.relevant[rows].sum()
    missed = relevant - counts.relevant_at_or_above[rows, lo].sum()
    return [
        float(hit / positive) if positive else np.nan,
        float(hit / relevant) if relevant else np.nan,
        float(missed / relevant) if relevant else np.nan,
    ]


def _index(threshold: float) -> int:
    return int(np.argmin(np.abs(GRID - threshold)))


def interval(samples: Sequence[float]) -> str:
    values = np.asarray(samples, dtype=float)
    values = values[~np.isnan(values)]
    if not len(values):
        return "-"
    low, high = np.percentile(values, [2.5, 97.5])
    return f"{low:.3f}-{high:.3f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    titles = datasets.load_patent_titles()
    resamples = 200 if args.quick else RESAMPLES
    report = Report(
        "calibrate_assessment: text verdict thresholds on same-art-unit pairs",
        {
            "data": f"{len(titles)} US application titles, "
            f"{len({t.art_unit for t in titles})} art units; each a query against the others",
            "score": f"{MODEL} cosine (sentence-transformers, normalised)",
            "targets": f"precision >= {PRECISION_TARGET} at and above upper (at every higher "
            f"grid point too); false-'novel' rate <= {MISS_TARGET} below lower",
            "bootstrap": f"{resamples} resamples of queries, seed {SEED}, 95 % percentile CI",
        },
    )
    report.configure(args)
    report.print_header()
    vectors = load_text_model(MODEL).encode([t.title for t in titles]).astype(np.float64)
    scores = vectors @ vectors.T
    labels = {
        "same art unit": np.array([t.art_unit for t in titles]),
        "same technology center": np.array([t.technology_center for t in titles]),
    }
    strict = labels["same art unit"]
    counts = per_query(scores, strict[:, None] == strict[None, :])
    everyone = np.arange(len(titles))
    lower, upper = choose(*rates(counts, everyone))

    rng = np.random.default_rng(SEED)
    boot: list[list[float]] = []
    for _ in range(resamples):
        rows = rng.integers(0, len(titles), len(titles))
        boot.append([*measures(counts, rows, lower, upper), *choose(*rates(counts, rows))])
    columns = list(zip(*boot, strict=True))

    table = Table(
        "Text verdict thresholds (all-MiniLM-L6-v2 cosine)",
        ["measure", "value", "95 % CI", "in verdict.py"],
    )
    point = measures(counts, everyone, lower, upper)
    table.add("upper threshold (likely anticipated at or above)", upper, interval(columns[4]),
              TEXT.upper)  # fmt: skip
    table.add("lower threshold (likely novel below)", lower, interval(columns[3]), TEXT.lower)
    table.add("precision of 'same art unit' at or above upper", point[0], interval(columns[0]),
              None)  # fmt: skip
    table.add("recall: same-art-unit pairs at or above upper", point[1], interval(columns[1]), None)
    table.add("false-'novel' rate: same-art-unit pairs below lower", point[2],
              interval(columns[2]), None)  # fmt: skip
    report.tables.append(table)

    loose = labels["same technology center"]
    loose_counts = per_query(scores, loose[:, None] == loose[None, :])
    loose_point = measures(loose_counts, everyone, TEXT.lower, TEXT.upper)
    other = Table(
        "The same thresholds against both labels (pairs)",
        ["label", "pairs", "same-label pairs", "precision >= upper", "recall >= upper",
         "share of same-label pairs < lower"],
    )  # fmt: skip
    for name, use in (("same art unit", counts), ("same technology center", loose_counts)):
        values = point if use is counts else loose_point
        other.add(name, len(titles) * (len(titles) - 1), int(use.relevant.sum()), *values)
    report.tables.append(other)
    report.tables.append(per_query_table(scores, strict, TEXT.lower, TEXT.upper))

    ok = lower == TEXT.lower and upper == TEXT.upper
    report.notes.append(
        f"verdict.py constants match this run: {'YES' if ok else 'NO'} "
        f"(computed lower {lower}, upper {upper}; verdict.py {TEXT.lower}, {TEXT.upper})."
    )
    report.notes.append(
        "Same art unit is a weak stand-in for anticipation: near-identical titles sit in "
        "different art units and one art unit spans unrelated titles, so precision stays low "
        "even at the top of the scale; the bands are a triage aid, not a finding."
    )
    report.publish(args.markdown)
    return 0


def per_query_table(
    scores: npt.NDArray[np.float64], label: npt.NDArray[np.str_], lower: float, upper: float
) -> Table:
    """The verdict as the service gives it (best score over the other titles) per query."""
    n = len(scores)
    others = np.where(np.eye(n, dtype=bool), -np.inf, scores)
    best = others.max(axis=1)
    top = others.argmax(axis=1)
    same = label[:, None] == label[None, :]
    has_any = (same & ~np.eye(n, dtype=bool)).any(axis=1)
    top_same = label[top] == label
    table = Table(
        "Per query: the verdict from the best score over the other 315 titles",
        ["verdict", "queries", "with a same-art-unit title", "top hit same art unit"],
    )
    bands = np.where(best >= upper, 2, np.where(best < lower, 0, 1))
    for number, verdict in enumerate(
        (Verdict.LIKELY_NOVEL, Verdict.NEEDS_REVIEW, Verdict.LIKELY_ANTICIPATED)
    ):
        chosen = bands == number
        table.add(
            verdict.label,
            int(chosen.sum()),
            float(has_any[chosen].mean()) if chosen.any() else None,
            float(top_same[chosen].mean()) if chosen.any() else None,
        )
    return table


if __name__ == "__main__":
    raise SystemExit(main())
