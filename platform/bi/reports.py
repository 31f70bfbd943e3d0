"""Flexible reports over the analytical store: a whitelisted query, never SQL from a client.

A report is ``{"dimensions": [...], "measures": [...], "filters": {...}, "order_by": [...],
"limit": N, "format": "json" | "csv"}``:

* dimensions (group by): ``country``, ``field`` (1-35; a ``field_name`` column follows it),
  ``sector``, ``kind``, ``status``, ``year``, ``quarter`` (``"2015-Q1"``), ``source``;
* measures: ``count`` (fractional: an application adds its field weights, so it adds 1 in
  all; one with no classified IPC code adds 1 to field *null*), ``applications`` (distinct
  applications), ``share`` (``count`` over the total ``count`` of the same first dimension
  value: a country's profile; over the whole result with one or no dimension);
* filters: a dimension name → a value or a list of values (``"country": ["RU", "DE"]``);
  ``year`` also takes ``{"from": 2015, "to": 2020}`` (either bound optional);
* ``order_by``: output columns, ``-`` in front for descending (default: the dimensions).

Every name is looked up in the tables below and every value is checked for its type and
form and then bound as a query parameter; the SQL text is assembled only from the constant
fragments here, so nothing a client sends reaches it. An unknown name or a bad value is an
:class:`InvalidInput` naming its place (``dimensions[1]``, ``filters.country[0]``).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ipsim.engine.errors import InvalidInput
from ipsim.platform.bi.concordance import FIELD_COUNT, SECTORS
from ipsim.platform.bi.store import AnalyticsStore
from ipsim.platform.filing.content import COUNTRIES

COUNT = "SUM(COALESCE(ff.weight, 1.0))"
DIMENSIONS: Mapping[str, str] = {
    "country": "f.country",
    "field": "ff.field",
    "sector": "d.sector",
    "kind": "f.kind",
    "status": "f.status",
    "year": "f.year",
    "quarter": "printf('%d-Q%d', f.year, f.quarter)",
    "source": "f.source",
}
MEASURES = ("count", "applications", "share")
FORMATS = ("json", "csv")
MAX_ROWS = 100_000
DEFAULT_ROWS = 10_000
MAX_VALUES = 300
MIN_YEAR, MAX_YEAR = 1883, 2100
KEYS = ("dimensions", "measures", "filters", "order_by", "limit", "format")
_FROM = (
    " FROM filings f LEFT JOIN filing_fields ff ON ff.id = f.id"
    " LEFT JOIN fields d ON d.field = ff.field"
)
_WORD = re.compile(r"[a-z][a-z0-9_.:-]{0,39}")
_QUARTER = re.compile(r"(\d{4})-Q([1-4])")


@dataclass(frozen=True)
class Condition:
    """One filter: a whitelisted column and its checked values (or a year range)."""

    dimension: str
    values: tuple[Any, ...] = ()
    low: int | None = None
    high: int | None = None


@dataclass(frozen=True)
class Report:
    """A checked report request."""

    dimensions: tuple[str, ...] = ()
    measures: tuple[str, ...] = ("count",)
    filters: tuple[Condition, ...] = ()
    order_by: tuple[tuple[str, bool], ...] = ()
    """(column, descending)."""
    limit: int = DEFAULT_ROWS
    format: str = "json"
    classified_only: bool = False
    """Leave out applications with no technology field (internal: field statistics)."""

    @property
    def columns(self) -> list[str]:
        names: list[str] = []
        for dimension in self.dimensions:
            names += [dimension, "field_name"] if dimension == "field" else [dimension]
        return names + list(self.measures)


@dataclass(frozen=True)
class ReportTable:
    """A report's answer: column names and rows."""

    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"columns": self.columns, "rows": self.rows}

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns)
        writer.writerows(self.rows)
        return out.getvalue()


# --- checking a request -----------------------------------------------------------------


def parse_report(body: object) -> Report:
    """A :class:`Report` from a request body; ``InvalidInput`` names the first bad part."""
    if not isinstance(body, Mapping):
        raise InvalidInput("body", "must be a JSON object")
    for key in body:
        if key not in KEYS:
            raise InvalidInput(str(key), f"unknown field; known: {', '.join(KEYS)}")
    dimensions = _names(body.get("dimensions", []), "dimensions", tuple(DIMENSIONS))
    measures = _names(body.get("measures", ["count"]), "measures", MEASURES)
    if not measures:
        raise InvalidInput("measures", "must name at least one measure")
    filters = body.get("filters", {})
    if not isinstance(filters, Mapping):
        raise InvalidInput("filters", "must be an object: dimension → value(s)")
    conditions = tuple(check_filter(str(k), v, f"filters.{k}") for k, v in filters.items())
    report = Report(
        dimensions=dimensions,
        measures=measures,
        filters=conditions,
        limit=_limit(body.get("limit", DEFAULT_ROWS)),
        format=_format(body.get("format", "json")),
    )
    order = _order(body.get("order_by", []), report.columns)
    return Report(**{**report.__dict__, "order_by": order})


def check_filter(name: str, value: object, path: str) -> Condition:
    """One filter checked: ``name`` a dimension, ``value`` a value or a list of them."""
    if name not in DIMENSIONS:
        raise InvalidInput(path, f"unknown dimension; known: {', '.join(DIMENSIONS)}")
    if name == "year" and isinstance(value, Mapping):
        return _year_range(value, path)
    values = value if isinstance(value, list) else [value]
    if not 1 <= len(values) <= MAX_VALUES:
        raise InvalidInput(path, f"must list 1-{MAX_VALUES} values")
    checked = tuple(
        check_value(name, v, path if not isinstance(value, list) else f"{path}[{i}]")
        for i, v in enumerate(values)
    )
    return Condition(name, checked)


def check_value(dimension: str, value: object, path: str) -> Any:
    """One value of ``dimension`` in its stored form (country upper-cased…)."""
    if dimension == "country":
        if not isinstance(value, str) or value.upper() not in COUNTRIES:
            raise InvalidInput(path, "must be an ISO 3166-1 alpha-2 country code such as 'RU'")
        return value.upper()
    if dimension == "field":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= FIELD_COUNT:
            raise InvalidInput(path, f"must be a field number 1-{FIELD_COUNT}")
        return value
    if dimension == "sector":
        if value not in SECTORS:
            raise InvalidInput(path, f"must be one of: {', '.join(SECTORS)}")
        return value
    if dimension == "year":
        return check_year(value, path)
    if dimension == "quarter":
        if not isinstance(value, str) or not _QUARTER.fullmatch(value):
            raise InvalidInput(path, "must be a quarter such as '2015-Q1'")
        return value
    if not isinstance(value, str) or not _WORD.fullmatch(value):
        raise InvalidInput(path, "must be a lower-case name of 1-40 letters, digits or _.:-")
    return value


def check_year(value: object, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_YEAR <= value <= MAX_YEAR:
        raise InvalidInput(path, f"must be a year {MIN_YEAR}-{MAX_YEAR}")
    return value


def _year_range(value: Mapping[Any, Any], path: str) -> Condition:
    for key in value:
        if key not in ("from", "to"):
            raise InvalidInput(f"{path}.{key}", "unknown bound; use from and/or to")
    low = None if value.get("from") is None else check_year(value["from"], f"{path}.from")
    high = None if value.get("to") is None else check_year(value["to"], f"{path}.to")
    if low is not None and high is not None and low > high:
        raise InvalidInput(f"{path}.from", "must not be after to")
    return Condition("year", low=low, high=high)


def _names(value: object, path: str, known: Sequence[str]) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise InvalidInput(path, "must be a list of names")
    names: list[str] = []
    for i, name in enumerate(value):
        if name not in known:
            raise InvalidInput(f"{path}[{i}]", f"unknown {name!r:.60}; known: {', '.join(known)}")
        if name in names:
            raise InvalidInput(f"{path}[{i}]", f"{name!r} is listed twice")
        names.append(name)
    return tuple(names)


def _order(value: object, columns: Sequence[str]) -> tuple[tuple[str, bool], ...]:
    if not isinstance(value, list):
        raise InvalidInput("order_by", "must be a list of column names")
    order: list[tuple[str, bool]] = []
    for i, item in enumerate(value):
        name = item[1:] if isinstance(item, str) and item.startswith("-") else item
        if name not in columns:
            raise InvalidInput(f"order_by[{i}]", f"must be one of the columns {', '.join(columns)}")
        order.append((str(name), isinstance(item, str) and item.startswith("-")))
    return tuple(order)


def _limit(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ROWS:
        raise InvalidInput("limit", f"must be a whole number 1-{MAX_ROWS}")
    return value


def _format(value: object) -> str:
    if value not in FORMATS:
        raise InvalidInput("format", f"must be one of {', '.join(FORMATS)}")
    return str(value)


# --- running it -------------------------------------------------------------------------


def run_report(store: AnalyticsStore, report: Report) -> ReportTable:
    """The report's rows, from the store as last refreshed."""
    sql, parameters = build_sql(report)
    with store.cursor() as cursor:
        rows = cursor.execute(sql, parameters).fetchall()
    return ReportTable(report.columns, [[_plain(v) for v in row] for row in rows])


def build_sql(report: Report) -> tuple[str, list[Any]]:
    """The SQL text (constant fragments only) and its parameters."""
    select: list[str] = []
    groups: list[str] = []
    for dimension in report.dimensions:
        expression = DIMENSIONS[dimension]
        select.append(f'{expression} AS "{dimension}"')
        groups.append(expression)
        if dimension == "field":
            select.append('d.name AS "field_name"')
            groups.append("d.name")
    several = len(report.dimensions) > 1
    partition = f"PARTITION BY {DIMENSIONS[report.dimensions[0]]}" if several else ""
    measure_sql = {
        "count": f'{COUNT} AS "count"',
        "applications": 'COUNT(DISTINCT f.id) AS "applications"',
        "share": f'{COUNT} / NULLIF(SUM({COUNT}) OVER ({partition}), 0) AS "share"',
    }
    select += [measure_sql[m] for m in report.measures]
    where, parameters = _where(report)
    sql = "SELECT " + ", ".join(select) + _FROM
    if where:
        sql += " WHERE " + " AND ".join(where)
    if groups:
        sql += " GROUP BY " + ", ".join(groups)
    order = report.order_by or tuple((d, False) for d in report.dimensions)
    if order:
        sql += " ORDER BY " + ", ".join(
            f'"{name}" {"DESC" if desc else "ASC"} NULLS LAST' for name, desc in order
        )
    sql += " LIMIT ?"
    return sql, [*parameters, report.limit]


def any_synthetic(store: AnalyticsStore, report: Report) -> bool:
    """Whether any application that ``report``'s filters count is synthetic (the demo data),
    so that an answer can say so (the /bi page shows a banner)."""
    where, parameters = _where(report)
    sql = "SELECT COALESCE(BOOL_OR(f.synthetic), FALSE)" + _FROM
    if where:
        sql += " WHERE " + " AND ".join(where)
    with store.cursor() as cursor:
        row = cursor.execute(sql, parameters).fetchone()
    return bool(row and row[0])


def _where(report: Report) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    parameters: list[Any] = []
    if report.classified_only:
        where.append("ff.field IS NOT NULL")
    for condition in report.filters:
        expression = DIMENSIONS[condition.dimension]
        if condition.values:
            where.append(f"{expression} IN ({', '.join('?' for _ in condition.values)})")
            parameters += condition.values
        if condition.low is not None:
            where.append(f"{expression} >= ?")
            parameters.append(condition.low)
        if condition.high is not None:
            where.append(f"{expression} <= ?")
            parameters.append(condition.high)
    return where, parameters


def _plain(value: Any) -> Any:
    return round(value, 6) if isinstance(value, float) else value


__all__ = [
    "DIMENSIONS",
    "MEASURES",
    "Condition",
    "Report",
    "ReportTable",
    "any_synthetic",
    "build_sql",
    "check_filter",
    "check_value",
    "parse_report",
    "run_report",
]
