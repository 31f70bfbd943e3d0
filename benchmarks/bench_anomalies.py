"""Recall and false alarms of the BI anomaly detector on series with planted anomalies.

Each synthetic series is what the BI store counts: filings per quarter (40 quarters = 10
years) or per year (20 years) for one field or country. Its mean is a level drawn from
20-400 filings, a multiplicative trend of -2 %…+4 % a quarter and, for quarters, a seasonal
profile of amplitude 0-25 % of the level; the counts are Poisson draws around that mean
(the noise of real counts). Into each series one anomaly is planted, half of them of each
type, sized in units of the noise's standard deviation ``sqrt(mean)`` at that point:

* **spike**: one point moved up or down by ``size`` σ; found if that point is flagged;
* **level shift**: every point from a random start on moved by ``size`` σ; found if a point
  within ``SHIFT_WINDOW`` periods of the start is flagged.

False alarms are flags on the other points (outside the planted point or shift window),
over all of them; after a shift, the ``2k`` points whose past baseline still straddles the
step (``k``: the detector's half window) are neither hits nor false alarms. Clean series
(no anomaly) are scored the same way for the false-alarm rate alone. Fixed seed: every run
gives the same table.

    .venv/bin/python -m benchmarks.bench_anomalies [--series N] [--quick] [--markdown FILE]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ipsim.benchmarks.report import Report, Table, add_common_arguments
from ipsim.platform.bi.anomalies import HALF_WINDOW, METHOD, THRESHOLD, detect

SEED = 20_240_601
SHIFT_WINDOW = 2
SIZES = (4.0, 6.0, 8.0, 12.0)
KINDS = ("spike", "shift")
PERIODS = {"quarter": (40, 4), "year": (20, 1)}


@dataclass(frozen=True)
class Planted:
    """A synthetic series and the anomaly planted in it (``kind`` None: a clean series)."""

    counts: list[float]
    kind: str | None
    start: int


@dataclass
class Score:
    """Hits among planted anomalies and flags among clean points."""

    found: int = 0
    planted: int = 0
    false_alarms: int = 0
    clean_points: int = 0

    @property
    def recall(self) -> float:
        return self.found / self.planted if self.planted else float("nan")

    @property
    def false_alarm_rate(self) -> float:
        return self.false_alarms / self.clean_points if self.clean_points else float("nan")


def planted_series(
    rng: np.random.Generator, length: int, season: int, kind: str | None, size: float
) -> Planted:
    """One Poisson count series (see the module docstring) with ``kind`` planted."""
    t = np.arange(length)
    level = rng.uniform(20, 400)
    growth = rng.uniform(-0.02, 0.04) * (4 if season == 1 else 1)
    mean = level * np.exp(growth * (t - length / 2) / 2)
    if season > 1:
        profile = np.sin(2 * np.pi * (t % season) / season + rng.uniform(0, 2 * np.pi))
        mean = mean * (1 + rng.uniform(0, 0.25) * profile)
    counts = rng.poisson(mean).astype(np.float64)
    start = int(rng.integers(2, length - 3))
    sign = 1.0 if rng.random() < 0.5 else -1.0
    if kind == "spike":
        counts[start] += sign * size * np.sqrt(mean[start])
    elif kind == "shift":
        counts[start:] += sign * size * np.sqrt(mean[start:])
    return Planted(list(np.maximum(counts, 0.0)), kind, start)


def planted_window(planted: Planted) -> range:
    """The points where a flag counts as finding the planted anomaly."""
    if planted.kind == "spike":
        return range(planted.start, planted.start + 1)
    if planted.kind == "shift":
        return range(planted.start - SHIFT_WINDOW, planted.start + SHIFT_WINDOW + 1)
    return range(0)


def ignored_after(planted: Planted, season: int) -> range:
    """Points not scored at all: those whose past baseline straddles a planted shift."""
    if planted.kind != "shift":
        return range(0)
    return range(planted.start + SHIFT_WINDOW + 1, planted.start + 2 * HALF_WINDOW[season])


def evaluate(series: int, period: str, kind: str | None, size: float, seed: int = SEED) -> Score:
    """Run the detector on ``series`` random series of one kind and size."""
    length, season = PERIODS[period]
    rng = np.random.default_rng([seed, length, season, KINDS.index(kind) + 1 if kind else 0])
    score = Score()
    for _ in range(series):
        planted = planted_series(rng, length, season, kind, size)
        window = set(planted_window(planted))
        skipped = window | set(ignored_after(planted, season)) & set(range(length))
        flagged = {flag.index for flag in detect(planted.counts, season)}
        if kind is not None:
            score.planted += 1
            score.found += bool(flagged & window)
        score.false_alarms += len(flagged - skipped)
        score.clean_points += length - len(skipped)
    return score


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--series", type=int, default=1000, help="series per table row")
    args = parser.parse_args(argv)
    series = 100 if args.quick else args.series
    report = Report(
        "bench_anomalies: planted spikes and level shifts in Poisson count series",
        {
            "method": f"{METHOD}; |score| > {THRESHOLD}",
            "series": f"{series} per row, seed {SEED}; quarters: 40 points, years: 20",
            "shift found": f"a flag within ±{SHIFT_WINDOW} periods of the shift's start",
        },
    )
    report.configure(args)
    report.print_header()
    table = Table(
        "recall and false-alarm rate by anomaly size (σ = sqrt(mean) of the Poisson noise)",
        ["period", "anomaly", "size (σ)", "recall", "false-alarm rate"],
    )
    for period in PERIODS:
        clean = evaluate(series, period, None, 0.0)
        table.add(period, "none", "-", None, clean.false_alarm_rate)
        for kind in KINDS:
            for size in SIZES:
                score = evaluate(series, period, kind, size)
                table.add(period, kind, size, score.recall, score.false_alarm_rate)
    report.tables.append(table)
    report.publish(args.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
