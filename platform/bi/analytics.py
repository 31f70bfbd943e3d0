"""The BI service: technology fields by country, trends, anomalies, reports and indicators.

Every figure is a report (:mod:`ipsim.platform.bi.reports`) over the analytical store, so the
counting rule is the same everywhere: an application adds its fractional field weights
(WIPO's method, see :mod:`ipsim.platform.bi.concordance`), 1 in all.

* **Technology fields**: per country, every one of the 35 fields (zeros included, so a heat
  map has no holes) with ``count`` and ``share`` = count / the country's total over
  classified applications (shares sum to 1 per country).
* **Trends**: a series per field (``by=field``) or per country (``by=country``: whole
  applications, or fractional counts in the fields given), per year or quarter, gaps
  filled with zeros from the first to the last period with data. ``growth`` = relative change
  from the previous period (null after a zero). The fitted trend is an ordinary least-squares
  line on the natural log of the counts (periods with a zero count left out): ``slope`` is the
  continuous growth rate per period, ``fitted`` = exp(intercept + slope · t), t = 0, 1, …;
  null with fewer than two non-zero periods.
* **Anomalies**: every series of the same trend request, through
  :func:`ipsim.platform.bi.anomalies.detect`.

``by=country`` without a ``country`` list takes the :data:`TOP_COUNTRIES` largest countries;
at most :data:`MAX_SERIES` series are answered. Every question first refreshes the store
(throttled: see :meth:`AnalyticsStore.refresh`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ipsim.engine.errors import InvalidInput
from ipsim.platform.bi import anomalies
from ipsim.platform.bi.concordance import Concordance
from ipsim.platform.bi.indicators import IndicatorBoard
from ipsim.platform.bi.reports import (
    MAX_ROWS,
    Condition,
    Report,
    ReportTable,
    any_synthetic,
    check_filter,
    check_year,
    run_report,
)
from ipsim.platform.bi.store import AnalyticsStore

BY = ("field", "country")
PERIODS = {"year": 1, "quarter": 4}
TOP_COUNTRIES = 10
MAX_SERIES = 50


@dataclass(frozen=True)
class Selection:
    """The common query parameters: which countries, fields, kinds and years."""

    countries: tuple[str, ...] = ()
    fields: tuple[int, ...] = ()
    kinds: tuple[str, ...] = ()
    year_from: int | None = None
    year_to: int | None = None

    def conditions(self) -> list[Condition]:
        out = [
            Condition(name, values)
            for name, values in (
                ("country", self.countries),
                ("field", self.fields),
                ("kind", self.kinds),
            )
            if values
        ]
        if self.year_from is not None or self.year_to is not None:
            out.append(Condition("year", low=self.year_from, high=self.year_to))
        return out


def parse_selection(
    country: str | None = None,
    field: str | None = None,
    kind: str | None = None,
    year_from: str | None = None,
    year_to: str | None = None,
) -> Selection:
    """Query-string parameters (comma-separated lists) checked; errors name the parameter."""
    low = None if not year_from else check_year(_integer(year_from, "from"), "from")
    high = None if not year_to else check_year(_integer(year_to, "to"), "to")
    if low is not None and high is not None and low > high:
        raise InvalidInput("from", f"must not be after to ({low} > {high})")
    return Selection(
        countries=_list("country", country, str),
        fields=_list("field", field, lambda v: _integer(v, "field")),
        kinds=_list("kind", kind, str),
        year_from=low,
        year_to=high,
    )


def check_choice(name: str, value: str, choices: Sequence[str]) -> str:
    if value not in choices:
        raise InvalidInput(name, f"must be one of {', '.join(choices)}")
    return value


@dataclass(frozen=True)
class Series:
    """One count series: its key (field number or country), label and values per period."""

    key: str
    label: str
    periods: list[Any]
    counts: list[float]


class BiService:
    """The analytical store, the indicator board and the questions asked of them."""

    def __init__(
        self,
        engine: Engine,
        concordance: Concordance | None = None,
        path: Path | None = None,
        *,
        min_interval_s: float = 5.0,
        poll_s: float = 1.0,
    ) -> None:
        self.store = AnalyticsStore(
            engine, concordance or Concordance.load(), path, min_interval_s=min_interval_s
        )
        self.indicators = IndicatorBoard(
            engine, on_change=lambda: self.store.refresh(force=True), poll_s=poll_s
        )

    async def start(self) -> None:
        await self.indicators.start()

    async def close(self) -> None:
        await self.indicators.close()
        self.store.close()

    def run(self, report: Report) -> ReportTable:
        """A report over freshly refreshed data (see :func:`run_report`)."""
        self.store.refresh()
        return run_report(self.store, report)

    def technology_fields(self, selection: Selection) -> dict[str, Any]:
        """Counts and shares of the 35 fields for each country (see the module docstring)."""
        countries = selection.countries or self._top_countries(selection)
        selection = replace(selection, countries=countries, fields=())
        report = Report(
            ("country", "field"),
            ("count",),
            tuple(selection.conditions()),
            limit=MAX_ROWS,
            classified_only=True,
        )
        table = self.run(report)
        counts = {(row[0], row[1]): float(row[3]) for row in table.rows}
        totals = {c: sum(v for (k, _), v in counts.items() if k == c) for c in countries}
        rows = [
            {
                "field": f.number,
                "field_name": f.name,
                "sector": f.sector,
                "country": country,
                "count": round(counts.get((country, f.number), 0.0), 6),
                "share": round(counts.get((country, f.number), 0.0) / totals[country], 6)
                if totals[country]
                else 0.0,
            }
            for country in countries
            for f in self.store.concordance.fields
        ]
        return {
            "countries": list(countries),
            "from": selection.year_from,
            "to": selection.year_to,
            "method": "fractional",
            "rows": rows,
            "totals": {c: round(t, 6) for c, t in totals.items()},
            "synthetic": any_synthetic(self.store, report),
        }

    def trends(self, by: str, period: str, selection: Selection) -> dict[str, Any]:
        """Series per field or country with growth rates and a log-linear trend."""
        series = [
            {
                "key": s.key,
                "label": s.label,
                "points": _points(s.counts, s.periods),
                "trend": _trend(s.counts),
            }
            for s in self._series(by, period, selection)
        ]
        return {"by": by, "period": period, "series": series}

    def anomalies(
        self, by: str, period: str, selection: Selection, threshold: float = anomalies.THRESHOLD
    ) -> dict[str, Any]:
        """The points of each series that break its trend or season, highest score first."""
        found: list[dict[str, Any]] = []
        for s in self._series(by, period, selection):
            for flag in anomalies.detect(s.counts, PERIODS[period], threshold):
                found.append(
                    {
                        "key": s.key,
                        "label": s.label,
                        "period": str(s.periods[flag.index]),
                        "count": round(flag.observed, 6),
                        "expected": round(flag.expected, 6),
                        "score": round(flag.score, 3),
                    }
                )
        found.sort(key=lambda a: -abs(a["score"]))
        return {"method": anomalies.METHOD, "threshold": threshold, "anomalies": found}

    # --- internals --------------------------------------------------------------------

    def _top_countries(self, selection: Selection) -> tuple[str, ...]:
        report = Report(
            ("country",),
            ("count",),
            tuple(selection.conditions()),
            order_by=(("count", True),),
            limit=TOP_COUNTRIES,
        )
        table = self.run(report)
        return tuple(str(row[0]) for row in table.rows)

    def _series(self, by: str, period: str, selection: Selection) -> list[Series]:
        if by == "country" and not selection.countries:
            selection = replace(selection, countries=self._top_countries(selection))
        report = Report(
            (by, period),
            ("count",),
            tuple(selection.conditions()),
            limit=MAX_ROWS,
            classified_only=by == "field" or bool(selection.fields),
        )
        rows = self.run(report).rows
        periods = _period_range([row[-2] for row in rows], period)
        grouped: dict[str, tuple[str, dict[Any, float]]] = {}
        for row in rows:
            key = str(row[0])
            label = str(row[1]) if by == "field" else key
            grouped.setdefault(key, (label, {}))[1][row[-2]] = float(row[-1])
        return [
            Series(key, label, periods, [values.get(p, 0.0) for p in periods])
            for key, (label, values) in list(grouped.items())[:MAX_SERIES]
        ]


def _period_range(seen: Sequence[Any], period: str) -> list[Any]:
    """Every period from the first to the last seen (years as ints, quarters as labels)."""
    if not seen:
        return []
    if period == "year":
        return list(range(min(seen), max(seen) + 1))

    def index(label: str) -> int:
        year, quarter = label.split("-Q")
        return int(year) * 4 + int(quarter) - 1

    first, last = min(map(index, seen)), max(map(index, seen))
    return [f"{i // 4}-Q{i % 4 + 1}" for i in range(first, last + 1)]


def _points(counts: Sequence[float], periods: Sequence[Any]) -> list[dict[str, Any]]:
    points = []
    for i, (count, label) in enumerate(zip(counts, periods, strict=True)):
        previous = counts[i - 1] if i else 0.0
        growth = round((count - previous) / previous, 6) if previous else None
        points.append({"period": str(label), "count": round(count, 6), "growth": growth})
    return points


def _trend(counts: Sequence[float]) -> dict[str, Any] | None:
    """Least squares of ln(count) on t over the non-zero points (see the module docstring)."""
    pairs = [(t, math.log(c)) for t, c in enumerate(counts) if c > 0]
    if len(pairs) < 2:
        return None
    n = len(pairs)
    mean_t = sum(t for t, _ in pairs) / n
    mean_y = sum(y for _, y in pairs) / n
    spread = sum((t - mean_t) ** 2 for t, _ in pairs)
    slope = sum((t - mean_t) * (y - mean_y) for t, y in pairs) / spread
    intercept = mean_y - slope * mean_t
    return {
        "method": "ols-log",
        "slope": round(slope, 6),
        "intercept": round(intercept, 6),
        "fitted": [round(math.exp(intercept + slope * t), 6) for t in range(len(counts))],
    }


def _integer(value: str, name: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise InvalidInput(name, f"{value!r:.40} is not a whole number") from None


def _list(name: str, raw: str | None, convert: Any) -> tuple[Any, ...]:
    if raw is None or not raw.strip():
        return ()
    parts = raw.split(",")
    if len(parts) > 100:
        raise InvalidInput(name, "at most 100 values")
    condition = check_filter(name, [convert(p.strip()) for p in parts], name)
    return condition.values


__all__ = ["BY", "PERIODS", "BiService", "Selection", "check_choice", "parse_selection"]
