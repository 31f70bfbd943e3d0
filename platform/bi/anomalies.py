"""Anomalies in a count series: points that break its trend or its season.

Method (stated in every answer as :data:`METHOD`): a *leave-one-out robust baseline* and the
robust z-score of the residual against it.

1. **Season.** With at least two full seasons (quarters: ``season=4``), the series is
   detrended by a running median over two whole seasons and each position in the season
   gets the median of its detrended values (centred to sum 0): the seasonal profile.
   Medians, so a spike does not leak into its quarter's profile. Years have no season.
2. **Expected value, without the point itself.** On the deseasonalised series, point ``i`` is
   predicted by a Theil–Sen line (median of pairwise slopes) through its neighbours, the
   point left out, twice: over the ``2k`` nearest points on both sides (*two-sided*, shifted
   inwards at the ends) and over the ``2k`` points before it (*past*; it sees a level shift's
   first points as breaking the line the past drew, where a two-sided fit straddles the
   step). ``k`` is :data:`HALF_WINDOW` per period.
3. **Score.** For each baseline, the residuals' spread is their median absolute deviation
   scaled by 1.4826 (the standard deviation under Gaussian noise), floored at
   :data:`MIN_SPREAD` filings so a sparse 0/1 series does not call every 1 an anomaly. A
   point's robust z is ``(residual − median residual) / spread``; its score is the larger in
   magnitude of its two z's, and it is anomalous when ``|score| > 3.5`` (Iglewicz and
   Hoaglin's cut-off for the modified z-score).

Why leave-one-out medians rather than STL + MAD: measured on the series of
``benchmarks/bench_anomalies.py``, the residuals of a *non-robust* STL absorb a spike (the
smoother follows it: recall 0.78 for 6σ spikes in 40 quarters), and those of the *robust*
STL are heavy-tailed — points it down-weights get residuals far beyond the MAD of the
others — so 3.5 robust z's flag 2–10 % of clean points depending on its windows. Leaving the
point out of its own baseline keeps every residual on the same footing, so the MAD is an
honest scale (about 0.5 % false alarms), while the spike keeps its full size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

METHOD = (
    "leave-one-out robust baseline (seasonal medians + Theil-Sen lines through the"
    " neighbours, two-sided and past); score = robust z of the residual (MAD x 1.4826)"
)
THRESHOLD = 3.5
MAD_SCALE = 1.4826
MIN_SPREAD = 0.5
HALF_WINDOW = {1: 4, 4: 6, 12: 12}
"""Points on each side of the predicted one, by season length (years, quarters, months)."""
MIN_POINTS = 6
"""Shorter series are not scored: too little to draw a baseline from."""

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Flag:
    """One anomalous point: its position, what was seen, what was expected and its score."""

    index: int
    observed: float
    expected: float
    score: float


def seasonal_profile(values: Array, season: int) -> Array:
    """Each point's seasonal offset (zeros without two full seasons), by medians."""
    n = len(values)
    if season < 2 or n < 2 * season + 1:
        return np.zeros(n)
    detrended = values - _running_median(values, 2 * season)
    profile = np.array([np.median(detrended[p::season]) for p in range(season)])
    return np.asarray((profile - profile.mean())[np.arange(n) % season], dtype=np.float64)


def baselines(values: Sequence[float], season: int) -> tuple[Array, Array]:
    """The two leave-one-out expected values of every point: (two-sided, past)."""
    series = np.asarray(values, dtype=np.float64)
    n = len(series)
    k = HALF_WINDOW.get(season, max(4, season))
    offsets = seasonal_profile(series, season)
    flat = series - offsets
    two_sided = np.empty(n)
    past = np.empty(n)
    for i in range(n):
        two_sided[i] = _theil_sen_at(flat, _around(n, i, k), i)
        before = np.arange(max(0, i - 2 * k), i)
        past[i] = _theil_sen_at(flat, before, i) if len(before) >= k else two_sided[i]
    return two_sided + offsets, past + offsets


def robust_scores(values: Sequence[float] | Array, expected: Sequence[float] | Array) -> Array:
    """Each point's robust z: its residual's distance from the median residual, in MADs."""
    residuals = np.asarray(values, dtype=np.float64) - np.asarray(expected, dtype=np.float64)
    centre = float(np.median(residuals))
    spread = max(MAD_SCALE * float(np.median(np.abs(residuals - centre))), MIN_SPREAD)
    return np.asarray((residuals - centre) / spread, dtype=np.float64)


def detect(values: Sequence[float], season: int, threshold: float = THRESHOLD) -> list[Flag]:
    """The points of ``values`` whose score exceeds ``threshold`` in absolute value.

    ``season``: points per seasonal cycle (4 for quarters, 1 for years: no season).
    """
    if len(values) < MIN_POINTS:
        return []
    two_sided, past = baselines(values, season)
    z_two, z_past = robust_scores(values, two_sided), robust_scores(values, past)
    use_past = np.abs(z_past) > np.abs(z_two)
    scores = np.where(use_past, z_past, z_two)
    expected = np.where(use_past, past, two_sided)
    return [
        Flag(int(i), float(values[int(i)]), float(expected[i]), float(scores[i]))
        for i in np.flatnonzero(np.abs(scores) > threshold)
    ]


def _around(n: int, i: int, k: int) -> NDArray[np.int64]:
    """The ``2k`` positions nearest ``i`` (not ``i``), the window shifted inwards at the ends."""
    low = min(max(0, i - k), max(0, n - 1 - 2 * k))
    positions = np.arange(low, min(n, low + 2 * k + 1), dtype=np.int64)
    return np.asarray(positions[positions != i], dtype=np.int64)


def _theil_sen_at(values: Array, positions: NDArray[np.int64], at: int) -> float:
    """The Theil–Sen line through ``values[positions]``, evaluated at ``at``."""
    if len(positions) == 1:
        return float(values[positions[0]])
    first, second = np.triu_indices(len(positions), 1)
    x = positions.astype(np.float64)
    y = values[positions]
    slope = float(np.median((y[second] - y[first]) / (x[second] - x[first])))
    return float(np.median(y - slope * x)) + slope * at


def _running_median(values: Array, width: int) -> Array:
    """Medians over windows of exactly ``width`` points (whole seasons: every position of
    the season equally often, so the level is the same wherever the window starts), around
    each point and shifted inwards at the ends."""
    n = len(values)
    starts = [min(max(0, i - width // 2), max(0, n - width)) for i in range(n)]
    return np.array([np.median(values[start : start + width]) for start in starts])


__all__ = ["METHOD", "THRESHOLD", "Flag", "baselines", "detect", "robust_scores"]
