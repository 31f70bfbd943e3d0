"""/v1/bi over the real FastAPI app on SQLite and PostgreSQL: the answers' shapes and values,
every bad parameter a 400 naming it, reports in JSON and CSV, indicators that follow filings,
and the server-sent-event stream over a real uvicorn server."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from ipsim.clients.errors import BadRequest
from ipsim.clients.http import AsyncClient, Client, JSONObject
from ipsim.config import Settings
from ipsim.platform.services import Platform
from ipsim.server.app import create_app

APPLICANT = {"name": "Alice Inventor", "country": "DE", "type": "individual"}
INVENTION: dict[str, Any] = {
    "kind": "invention",
    "title": "Folding bicycle",
    "applicant": APPLICANT,
    "content": {"abstract": "A frame.", "claims": ["1. A frame."], "ipc": ["B62K 15/00"]},
}


class NoEngine:
    """The BI routes never reach the engine."""

    ready = True


def records() -> list[dict[str, Any]]:
    """RU: 3 in computer technology (6) in 2019-2020, 1 split 6/semiconductors (8);
    DE: 2 in transport (32); one trademark without IPC."""
    rows = [
        ("R1", "RU", date(2019, 2, 1), ["G06F 3/00"]),
        ("R2", "RU", date(2019, 8, 1), ["G06F 17/00"]),
        ("R3", "RU", date(2020, 1, 5), ["G06N 3/08"]),
        ("R4", "RU", date(2020, 6, 5), ["G06F 3/00", "H01L 21/00"]),
        ("D1", "DE", date(2019, 3, 1), ["B60K 1/00"]),
        ("D2", "DE", date(2020, 4, 1), ["B62D 1/00"]),
    ]
    out = [
        {"id": i, "kind": "invention", "country": c, "filing_date": d, "ipc": ipc}
        for i, c, d, ipc in rows
    ]
    out.append({"id": "T1", "kind": "trademark", "country": "DE", "filing_date": date(2020, 1, 1)})
    return out


@pytest.fixture
def platform(platform_url: str, tmp_path: Path) -> Iterator[Platform]:
    opened = Platform.open(platform_url, tmp_path)
    opened.bi_records.upsert_many(records(), source="csv")
    yield opened
    opened.bi.store.close()
    opened.database.dispose()


@pytest.fixture
def client(platform: Platform) -> TestClient:
    app = create_app(NoEngine(), Settings(), None, platform)  # type: ignore[arg-type]
    return TestClient(app, raise_server_exceptions=False)


def error(answer: httpx.Response, field: str) -> None:
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["error"]["code"] == "invalid_argument"
    assert body["error"]["message"].startswith(f"{field}:"), body


def test_technology_fields_compare_countries_with_fractional_counts(client: TestClient) -> None:
    answer = client.get("/v1/bi/technology-fields?country=ru,DE&from=2019&to=2020").json()
    assert answer["countries"] == ["RU", "DE"]
    assert (answer["from"], answer["to"], answer["method"]) == (2019, 2020, "fractional")
    assert answer["totals"] == {"RU": 4.0, "DE": 2.0}  # the trademark has no field
    rows = {(r["country"], r["field"]): r for r in answer["rows"]}
    assert len(rows) == 70
    assert rows[("RU", 6)]["count"] == 3.5
    assert rows[("RU", 6)]["share"] == 0.875
    assert rows[("RU", 6)]["field_name"] == "Computer technology"
    assert rows[("RU", 6)]["sector"] == "Electrical engineering"
    assert rows[("RU", 8)]["count"] == 0.5
    assert rows[("DE", 32)]["count"] == 2.0 and rows[("DE", 32)]["share"] == 1.0
    only_2019 = client.get("/v1/bi/technology-fields?country=RU&from=2019&to=2019").json()
    assert only_2019["totals"] == {"RU": 2.0}


def test_trends_and_anomalies_answer_their_shapes(client: TestClient) -> None:
    trends = client.get("/v1/bi/trends?by=country&period=year&country=RU,DE").json()
    assert (trends["by"], trends["period"]) == ("country", "year")
    series = {s["key"]: s for s in trends["series"]}
    assert [(p["period"], p["count"]) for p in series["DE"]["points"]] == [
        ("2019", 1.0),
        ("2020", 2.0),  # whole applications: the trademark counts here
    ]
    assert series["DE"]["points"][1]["growth"] == 1.0
    assert series["RU"]["trend"]["method"] == "ols-log"
    fields = client.get("/v1/bi/trends?by=field&period=quarter&field=6").json()
    (computer,) = fields["series"]
    assert computer["label"] == "Computer technology"
    assert computer["points"][0]["period"] == "2019-Q1"
    anomalies = client.get("/v1/bi/anomalies?by=field&period=year").json()
    assert anomalies["threshold"] == 3.5
    assert "robust" in anomalies["method"]
    assert anomalies["anomalies"] == []  # two points per series: nothing to judge


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/v1/bi/technology-fields?country=XX", "country[0]"),
        ("/v1/bi/technology-fields?country=RU,%22country;%20DROP%20TABLE%22", "country[1]"),
        ("/v1/bi/technology-fields?from=2020&to=2010", "from"),
        ("/v1/bi/technology-fields?from=twenty", "from"),
        ("/v1/bi/technology-fields?to=99999", "to"),
        ("/v1/bi/technology-fields?contry=RU", "contry"),
        ("/v1/bi/technology-fields?kind=Invention'--", "kind[0]"),
        ("/v1/bi/trends?by=applicant", "by"),
        ("/v1/bi/trends?period=month", "period"),
        ("/v1/bi/trends?field=36", "field[0]"),
        ("/v1/bi/trends?field=6;1", "field"),
        ("/v1/bi/anomalies?threshold=abc", "threshold"),
        ("/v1/bi/anomalies?threshold=0.1", "threshold"),
        ("/v1/bi/indicators?x=1", "x"),
    ],
)
def test_every_bad_parameter_is_a_400_naming_it(client: TestClient, url: str, field: str) -> None:
    error(client.get(url), field)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"dimensions": ["country; DROP TABLE filings"]}, "dimensions[0]"),
        ({"dimensions": ["applicant"]}, "dimensions[0]"),
        ({"measures": ["sum(weight)"]}, "measures[0]"),
        ({"filters": {"country": "RU' OR 1=1 --"}}, "filters.country"),
        ({"filters": {"status": "received /* */"}}, "filters.status"),
        ({"filters": {"year": {"from": "2019"}}}, "filters.year.from"),
        ({"order_by": ['"count"; --']}, "order_by[0]"),
        ({"limit": 0}, "limit"),
        ({"format": "xlsx"}, "format"),
        ({"sql": "SELECT 1"}, "sql"),
    ],
)
def test_bad_reports_are_400s_naming_the_part(client: TestClient, body: Any, field: str) -> None:
    error(client.post("/v1/bi/query", json=body), field)
    # and the store is intact after every attempt
    check = client.post("/v1/bi/query", json={"measures": ["applications"]})
    assert check.json()["rows"] == [[7]]


def test_a_report_as_json_and_as_csv(client: TestClient) -> None:
    body: dict[str, Any] = {
        "dimensions": ["country", "field"],
        "measures": ["count", "applications", "share"],
        "filters": {"country": ["RU"], "year": {"from": 2019, "to": 2020}},
        "order_by": ["-count"],
    }
    answer = client.post("/v1/bi/query", json=body).json()
    assert answer["columns"] == ["country", "field", "field_name", "count", "applications", "share"]
    assert answer["rows"] == [
        ["RU", 6, "Computer technology", 3.5, 4, 0.875],
        ["RU", 8, "Semiconductors", 0.5, 1, 0.125],
    ]
    exported = client.post("/v1/bi/query", json={**body, "format": "csv"})
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(exported.text)))
    assert table[0] == answer["columns"]
    assert table[1] == ["RU", "6", "Computer technology", "3.5", "4", "0.875"]


def test_indicators_follow_a_filing(client: TestClient) -> None:
    before = client.get("/v1/bi/indicators").json()["indicators"]
    assert before["applications_today"] == 0
    filed = client.post("/v1/applications", json=INVENTION)
    assert filed.status_code == 201, filed.text
    after = client.get("/v1/bi/indicators").json()
    assert after["indicators"]["applications_today"] == 1
    assert after["indicators"]["applications_total"] == 1
    assert after["at"].endswith("Z")
    moved = client.post(
        f"/v1/applications/{filed.json()['id']}/transitions", json={"to": "formal_examination"}
    )
    assert moved.status_code == 200, moved.text
    assert client.get("/v1/bi/indicators").json()["indicators"]["in_examination"] == 1
    # the analytical store followed the filing too (transport: field 32)
    report = {"dimensions": ["source", "field"], "filters": {"source": "filing"}}
    assert client.post("/v1/bi/query", json=report).json()["rows"] == [
        ["filing", 32, "Transport", 1.0]
    ]


class LiveServer:
    """The app on a real uvicorn server in a thread (the SSE stream needs real sockets)."""

    def __init__(self, platform: Platform) -> None:
        app = create_app(NoEngine(), Settings(), None, platform)  # type: ignore[arg-type]
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def open_connections(self) -> int:
        return len(self.server.server_state.connections)

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def next_event(lines: Iterator[str]) -> dict[str, Any]:
    event: dict[str, str] = {}
    for line in lines:
        if not line:
            if "data" in event:
                assert event["event"] == "indicators"
                data: dict[str, Any] = json.loads(event["data"])
                return data
            continue
        key, _, value = line.partition(": ")
        event[key] = value
    raise AssertionError("the stream ended")


def test_the_indicator_stream_sends_an_update_after_a_filing(platform: Platform) -> None:
    live = LiveServer(platform)
    with live as url:
        with (
            httpx.Client(base_url=url, timeout=20) as reader,
            httpx.Client(base_url=url) as filer,
            reader.stream("GET", "/v1/bi/indicators/stream") as stream,
        ):
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.iter_lines()
            first = next_event(lines)
            assert first["indicators"]["applications_total"] == 0
            assert filer.post("/v1/applications", json=INVENTION).status_code == 201
            second = next_event(lines)
            assert second["indicators"]["applications_total"] == 1
            assert second["indicators"]["applications_today"] == 1
        # both clients went away: the server lets go of the stream's connection too
        deadline = time.monotonic() + 10
        while live.open_connections() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert live.open_connections() == 0


def test_the_sdk_clients_call_every_bi_route(platform: Platform) -> None:
    with LiveServer(platform) as url, Client(url) as client:
        fields = client.bi_technology_fields(["RU"], year_from=2019, year_to=2020)
        assert fields["totals"] == {"RU": 4.0}
        trends = client.bi_trends("field", "year", fields=[6], countries=["RU"])
        assert [p["count"] for p in trends["series"][0]["points"]] == [2.0, 1.5]
        assert client.bi_anomalies(countries=["RU"], threshold=4.0)["threshold"] == 4.0
        assert client.bi_indicators()["indicators"]["applications_total"] == 0
        report = {"dimensions": ["kind"], "measures": ["applications"]}
        assert client.bi_query(report) == {
            "columns": ["kind", "applications"],
            "rows": [["invention", 6], ["trademark", 1]],
        }
        assert client.bi_query({**report, "format": "csv"}) == (
            "kind,applications\ninvention,6\ntrademark,1\n"
        )
        with pytest.raises(BadRequest, match="country"):
            client.bi_technology_fields(["XX"])

        async def asynchronous() -> JSONObject | str:
            async with AsyncClient(url) as sdk:
                await sdk.bi_trends("country", "quarter", countries=["DE"])
                return await sdk.bi_query(report)

        assert asyncio.run(asynchronous()) == client.bi_query(report)
