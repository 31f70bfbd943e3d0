"""The BI anomaly detector: planted spikes and level shifts in random Poisson count series
(fixed seed; the generator and the scoring are benchmarks/bench_anomalies.py's) and small
series whose answer is known."""

from __future__ import annotations

import pytest

from ipsim.benchmarks.bench_anomalies import evaluate
from ipsim.platform.bi.anomalies import THRESHOLD, detect

SERIES = 150


@pytest.mark.parametrize(
    ("period", "kind", "size", "min_recall", "max_false_alarms"),
    [
        ("quarter", "spike", 8.0, 0.9, 0.02),
        # a big step also trips the two-sided baselines of the points just before it
        ("quarter", "shift", 12.0, 0.9, 0.06),
        ("year", "spike", 8.0, 0.9, 0.02),
        ("year", "shift", 12.0, 0.85, 0.03),
    ],
)
def test_planted_anomalies_are_found_with_few_false_alarms(
    period: str, kind: str, size: float, min_recall: float, max_false_alarms: float
) -> None:
    score = evaluate(SERIES, period, kind, size)
    assert score.recall >= min_recall
    assert score.false_alarm_rate <= max_false_alarms


@pytest.mark.parametrize("period", ["quarter", "year"])
def test_clean_series_raise_few_false_alarms(period: str) -> None:
    score = evaluate(SERIES, period, None, 0.0)
    assert score.planted == 0
    assert score.false_alarm_rate <= 0.02


def test_a_dip_is_found_with_a_negative_score_and_its_expected_value() -> None:
    values = [100.0, 104, 98, 101, 99, 103, 100, 97, 102, 30, 101, 99, 100, 104, 98, 100]
    (flag,) = detect(values, season=1)
    assert flag.index == 9
    assert flag.observed == 30.0
    assert flag.expected == pytest.approx(100.0, abs=3)
    assert flag.score < -THRESHOLD


def test_a_season_is_not_an_anomaly_but_a_broken_season_is() -> None:
    season = [10.0, 30.0, 20.0, 40.0]
    values = season * 8
    assert detect(values, season=4) == []
    broken = list(values)
    broken[21] = 5.0  # a second quarter that should be ~30
    assert [f.index for f in detect(broken, season=4)] == [21]


def test_flat_and_sparse_series_have_no_anomalies() -> None:
    assert detect([5.0] * 20, season=4) == []
    assert detect([0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0], season=1) == []
    assert detect([3.0, 90.0, 3.0], season=1) == []  # too short to judge
