"""The BI analytical store on SQLite and PostgreSQL: its counts equal direct SQL counts over
the same rows, it refreshes incrementally, and trends compute growth and the fitted line."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from ipsim.platform.bi.analytics import BiService, Selection, parse_selection
from ipsim.platform.bi.demo_data import generate
from ipsim.platform.bi.records import BiRecordStore, bi_records_table
from ipsim.platform.bi.reports import Report, check_filter, parse_report
from ipsim.platform.bi.store import Refreshed
from ipsim.platform.filing.content import parse_filing
from ipsim.platform.services import Platform


@dataclass
class Setup:
    platform: Platform
    records: BiRecordStore
    bi: BiService


@pytest.fixture
def setup(platform_url: str, tmp_path: Path) -> Iterator[Setup]:
    platform = Platform.open(platform_url, tmp_path)
    bi = BiService(platform.database, min_interval_s=0.0)
    yield Setup(platform, platform.bi_records, bi)
    bi.store.close()
    platform.bi.store.close()
    platform.database.dispose()


def invention(country: str, ipc: list[str]) -> Any:
    return parse_filing(
        {
            "kind": "invention",
            "title": "A folding frame",
            "applicant": {"name": "Frame Works", "country": country, "type": "sme"},
            "content": {"abstract": "A frame.", "claims": ["1. A frame."], "ipc": ipc},
        }
    )


def record(
    i: int, country: str, filed: date, ipc: list[str], kind: str = "invention"
) -> dict[str, Any]:
    return {"id": f"T-{i}", "kind": kind, "country": country, "filing_date": filed, "ipc": ipc}


def sql_counts(engine: Engine, low: int, high: int) -> Counter[str]:
    """Records per country filed in [low, high], counted by the platform database itself."""
    table = bi_records_table
    query = (
        select(table.c.country, func.count())
        .where(table.c.filing_date >= date(low, 1, 1), table.c.filing_date <= date(high, 12, 31))
        .group_by(table.c.country)
    )
    with engine.connect() as db:
        return Counter({country: n for country, n in db.execute(query)})


def test_counts_equal_a_direct_sql_count_and_fields_add_up_per_application(setup: Setup) -> None:
    setup.records.upsert_many(generate(n=800, seed=3), source="demo")
    setup.bi.store.refresh(force=True)
    report = parse_report(
        {
            "dimensions": ["country"],
            "measures": ["applications", "count"],
            "filters": {"year": {"from": 2014, "to": 2020}},
        }
    )
    rows = setup.bi.run(report).rows
    expected = sql_counts(setup.platform.database, 2014, 2020)
    assert {row[0]: row[1] for row in rows} == dict(expected)
    # fractional counting: every application adds exactly 1 over its fields (or "null")
    assert {row[0]: round(row[2], 6) for row in rows} == {c: float(n) for c, n in expected.items()}
    fields = setup.bi.technology_fields(parse_selection("DE,RU", None, None, "2014", "2020"))
    for country in ("DE", "RU"):
        shares = [r["share"] for r in fields["rows"] if r["country"] == country]
        assert len(shares) == 35
        assert math.isclose(sum(shares), 1.0, abs_tol=1e-4)
        assert fields["totals"][country] <= expected[country]


def test_a_refresh_picks_up_a_new_application_and_a_new_record_without_a_rebuild(
    setup: Setup,
) -> None:
    setup.records.upsert_many([record(1, "DE", date(2020, 5, 1), ["G06F 3/01"])])
    assert setup.bi.store.refresh(force=True) == Refreshed(0, 1)
    assert setup.bi.store.refresh(force=True) == Refreshed(0, 0)
    filed = setup.platform.applications.file("alice", invention("RU", ["H01L 21/00", "G06F 3/00"]))
    assert setup.bi.store.refresh(force=True) == Refreshed(1, 0)
    setup.records.upsert_many([record(2, "RU", date(2021, 1, 3), ["A61K 31/00"])])
    assert setup.bi.store.refresh(force=True) == Refreshed(0, 1)
    table = setup.bi.run(
        parse_report(
            {"dimensions": ["source", "country", "field", "status"], "measures": ["count"]}
        )
    )
    rows = {tuple(row[:3]): (row[4], row[5]) for row in table.rows}
    assert rows[("filing", "RU", 6)] == ("received", 0.5)  # G06F: computer technology
    assert rows[("filing", "RU", 8)] == ("received", 0.5)  # H01L: semiconductors
    assert rows[("import", "DE", 6)] == (None, 1.0)
    assert rows[("import", "RU", 16)] == (None, 1.0)  # A61K 31: pharmaceuticals
    # a transition is an event: the store follows the application's new status
    setup.platform.applications.transition(filed.application.id, "formal_examination", "office")
    assert setup.bi.store.refresh(force=True) == Refreshed(1, 0)
    statuses = setup.bi.run(
        parse_report({"dimensions": ["status"], "filters": {"source": "filing"}})
    ).rows
    assert statuses == [["formal_examination", 1.0]]


def test_refresh_is_throttled_unless_forced(setup: Setup) -> None:
    slow = BiService(setup.platform.database, min_interval_s=3600.0)
    try:
        assert slow.store.refresh() == Refreshed(0, 0)  # first one runs: nothing there yet
        setup.records.upsert_many([record(1, "DE", date(2020, 5, 1), ["G06F 3/01"])])
        assert slow.store.refresh() == Refreshed(0, 0)
        assert slow.store.refresh(force=True) == Refreshed(0, 1)
    finally:
        slow.store.close()


def test_trends_growth_and_the_log_linear_fit(setup: Setup) -> None:
    per_year = {2018: 2, 2019: 3, 2020: 0, 2021: 6}
    years = [year for year, n in per_year.items() for _ in range(n)]
    setup.records.upsert_many(
        [record(i, "FR", date(year, 3, 1), ["G06F 17/00"]) for i, year in enumerate(years)]
    )
    answer = setup.bi.trends("field", "year", Selection(fields=(6,)))
    (series,) = answer["series"]
    assert series["key"] == "6"
    assert series["label"] == "Computer technology"
    assert [(p["period"], p["count"], p["growth"]) for p in series["points"]] == [
        ("2018", 2.0, None),
        ("2019", 3.0, 0.5),
        ("2020", 0.0, -1.0),
        ("2021", 6.0, None),  # after a zero: no growth rate
    ]
    # least squares of ln(count) on t over the non-zero points t = 0, 1, 3
    t, y = [0, 1, 3], [math.log(2), math.log(3), math.log(6)]
    slope = sum((a - 4 / 3) * (b - sum(y) / 3) for a, b in zip(t, y, strict=True)) / sum(
        (a - 4 / 3) ** 2 for a in t
    )
    assert series["trend"]["slope"] == pytest.approx(slope, abs=1e-6)
    assert series["trend"]["fitted"][2] == pytest.approx(
        math.exp(sum(y) / 3 - slope * 4 / 3 + slope * 2), rel=1e-5
    )
    quarters = setup.bi.trends("country", "quarter", Selection(countries=("FR",)))
    labels = [p["period"] for p in quarters["series"][0]["points"]]
    assert labels[0] == "2018-Q1" and labels[-1] == "2021-Q1" and len(labels) == 13


def test_anomalies_find_a_planted_burst_in_the_store(setup: Setup) -> None:
    records = []
    for year in range(2010, 2024):
        for quarter in range(4):
            n = 10 + (25 if (year, quarter) == (2017, 2) else 0)
            records += [
                record(0, "JP", date(year, 3 * quarter + 1, 2), ["B60K 1/00"]) for _ in range(n)
            ]
    setup.records.upsert_many([{**r, "id": f"T-{k}"} for k, r in enumerate(records)])
    found = setup.bi.anomalies("country", "quarter", Selection(countries=("JP",)))
    assert [(a["key"], a["period"], a["count"]) for a in found["anomalies"]] == [
        ("JP", "2017-Q3", 35.0)
    ]
    assert found["anomalies"][0]["expected"] == pytest.approx(10.0)
    assert found["anomalies"][0]["score"] > 3.5


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"dimensions": ["country; DROP TABLE filings"]}, "dimensions[0]"),
        ({"dimensions": ["country"], "measures": ["count(*)"]}, "measures[0]"),
        ({"filters": {"country": "RU'; --"}}, "filters.country"),
        ({"filters": {"country": ["RU", "DE' OR '1'='1"]}}, "filters.country[1]"),
        ({"filters": {"kind": "invention /* x */"}}, "filters.kind"),
        ({"filters": {"1=1": "x"}}, "filters.1=1"),
        ({"filters": {"year": {"from": 2020, "to": 2010}}}, "filters.year.from"),
        ({"order_by": ["count; DROP TABLE filings"]}, "order_by[0]"),
        ({"limit": "10; DROP"}, "limit"),
        ({"format": "xml"}, "format"),
        ({"select": "*"}, "select"),
    ],
)
def test_a_report_names_the_bad_part_and_never_reaches_sql(body: Any, field: str) -> None:
    from ipsim.engine.errors import InvalidInput

    with pytest.raises(InvalidInput) as caught:
        parse_report(body)
    assert caught.value.field == field


def test_a_checked_filter_only_binds_parameters() -> None:
    from ipsim.platform.bi.reports import build_sql

    condition = check_filter("country", ["ru", "DE"], "filters.country")
    sql, parameters = build_sql(Report(("country",), ("count",), (condition,)))
    assert "RU" not in sql and parameters == ["RU", "DE", 10_000]
