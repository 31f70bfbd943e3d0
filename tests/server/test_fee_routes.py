"""/v1/fees and /v1/attorneys over the real FastAPI app and a real SQLite platform database,
through plain HTTP and through both SDK clients; every bad query parameter is a 400 naming it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ipsim.clients.http import AsyncClient, Client
from ipsim.config import Settings
from ipsim.platform.database import database_url
from ipsim.platform.filing.demo_attorneys import DEMO_COUNT, generate, seed_demo_register
from ipsim.platform.filing.fees import OFFICE_TIME
from ipsim.platform.services import Platform
from ipsim.server.app import create_app

BASE = "http://ipsim.test"


class NoEngine:
    """These routes never reach the engine."""

    ready = True


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    opened = Platform.open(database_url(None, tmp_path), tmp_path)
    seed_demo_register(opened.attorneys)
    yield opened
    opened.database.dispose()


@pytest.fixture
def app(platform: Platform) -> FastAPI:
    return create_app(NoEngine(), Settings(), None, platform)  # type: ignore[arg-type]


@pytest.fixture
def http(app: FastAPI) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)


def _error(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_argument"
    message: str = error["message"]
    return message


# --- fees -----------------------------------------------------------------------------


def test_a_quote_is_itemised_with_money_as_strings(http: TestClient) -> None:
    got = http.get(
        "/v1/fees",
        params={
            "kind": "invention",
            "events": "filing, search,examination",
            "claims": 15,
            "applicant_type": "individual",
            "on": "2024-06-01",
        },
    )
    assert got.status_code == 200
    body = got.json()
    # filing 3300 + 5 × 250 + search 8000 + examination 13000 + 5 × 800 = 29550; − 50%
    assert body["total"] == "14775.00"
    assert [(line["code"], line["amount"]) for line in body["lines"]] == [
        ("filing", "3300.00"),
        ("filing.extra_claims", "1250.00"),
        ("search", "8000.00"),
        ("examination", "13000.00"),
        ("examination.extra_claims", "4000.00"),
        ("reduction.individual", "-14775.00"),
    ]
    assert (body["currency"], body["schedule_version"], body["on"]) == (
        "RUB",
        "2024.1",
        "2024-06-01",
    )
    assert (body["effective_from"], body["effective_to"]) == ("2024-01-01", "2025-02-01")
    assert "not the official" in body["notice"]


def test_the_schedule_switches_on_its_effective_date(http: TestClient) -> None:
    def total(day: str) -> tuple[str, str]:
        body = http.get(f"/v1/fees?kind=invention&claims=1&on={day}").json()
        return body["schedule_version"], body["total"]

    assert total("2025-01-31") == ("2024.1", "3300.00")
    assert total("2025-02-01") == ("2025.1", "3600.00")


def test_the_defaults_are_filing_today_in_moscow(http: TestClient, platform: Platform) -> None:
    today = datetime.now(OFFICE_TIME).date()
    body = http.get("/v1/fees?kind=trademark&classes=1").json()
    expected = platform.fees.quote("trademark", ["filing"], classes=1, on=today)
    assert body["on"] == today.isoformat()
    assert [line["code"] for line in body["lines"]] == ["filing"]
    assert (body["schedule_version"], body["total"]) == (
        expected.schedule_version,
        str(expected.total),
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("claims=1", "kind"),  # missing
        ("kind=patent", "kind"),
        ("kind=invention&claims=1&events=filing,,grant", "events"),
        ("kind=invention&claims=1&events=fax", "events[0]"),
        ("kind=trademark&classes=1&events=filing,annuity", "events[1]"),
        ("kind=invention&claims=abc", "claims"),
        ("kind=invention&claims=-1", "claims"),
        ("kind=invention", "claims"),  # an invention has at least one claim
        ("kind=trademark&classes=46", "classes"),
        ("kind=industrial_design&designs=0", "designs"),
        ("kind=invention&claims=1&events=annuity", "year"),
        ("kind=invention&claims=1&events=annuity&year=x", "year"),
        ("kind=invention&claims=1&applicant_type=company", "applicant_type"),
        ("kind=invention&claims=1&on=2024-13-01", "on"),
        ("kind=invention&claims=1&on=20240601", "on"),
        ("kind=invention&claims=1&on=2023-12-31", "on"),  # before the first schedule
    ],
)
def test_a_bad_fee_parameter_is_a_400_naming_it(http: TestClient, query: str, field: str) -> None:
    message = _error(http.get(f"/v1/fees?{query}"))
    # FastAPI's own checks say "query.claims: …", the schedule's "claims: …"
    assert message.removeprefix("query.").startswith(f"{field}:"), message


# --- attorneys ------------------------------------------------------------------------


def test_the_register_is_searched_in_cyrillic_and_labelled_demo(http: TestClient) -> None:
    demo = next(r for r in generate() if r["status"] == "active" and "ов " in r["name"])
    surname = demo["name"].split()[0]
    got = http.get("/v1/attorneys", params={"q": surname.upper()})
    assert got.status_code == 200
    body = got.json()
    assert demo["registration_number"] in [a["registration_number"] for a in body["attorneys"]]
    assert all(surname.lower() in a["name"].lower() for a in body["attorneys"])
    assert body["total"] == len(body["attorneys"])
    assert body["demo"] is True and "Demo data" in body["notice"]
    assert all(a["demo"] for a in body["attorneys"])


def test_filters_and_pages(http: TestClient) -> None:
    records = generate()
    in_moscow = [
        r
        for r in records
        if r["region"] == "RU-MOW"
        and "trademarks" in r["specializations"]
        and r["status"] == "active"
    ]
    body = http.get("/v1/attorneys?region=ru-mow&specialization=trademarks&limit=100").json()
    assert body["total"] == len(in_moscow) > 0
    assert {a["registration_number"] for a in body["attorneys"]} == {
        r["registration_number"] for r in in_moscow
    }
    assert all(a["region_name"] == "Москва" for a in body["attorneys"])

    first = http.get("/v1/attorneys?status=any&limit=60").json()
    second = http.get("/v1/attorneys?status=any&limit=60&offset=60").json()
    assert first["total"] == second["total"] == DEMO_COUNT
    names = [a["name"] for a in first["attorneys"] + second["attorneys"]]
    assert len(names) == 120 and len({a["registration_number"] for a in first["attorneys"]}) == 60
    active = http.get("/v1/attorneys?limit=1").json()["total"]
    assert active == sum(r["status"] == "active" for r in records)


def test_one_attorney_by_number(http: TestClient) -> None:
    got = http.get("/v1/attorneys/DEMO-0001")
    assert got.status_code == 200
    assert got.json()["registration_number"] == "DEMO-0001" and got.json()["demo"] is True
    assert http.get("/v1/attorneys/1234567").status_code == 404
    assert _error(http.get("/v1/attorneys/a%20b")).startswith("registration_number:")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("region=XX", "region"),
        ("specialization=patents", "specialization"),
        ("language=eng", "language"),
        ("status=retired", "status"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=abc", "limit"),
        ("offset=-1", "offset"),
        (f"q={'x' * 201}", "q"),
    ],
)
def test_a_bad_attorney_parameter_is_a_400_naming_it(
    http: TestClient, query: str, field: str
) -> None:
    message = _error(http.get(f"/v1/attorneys?{query}"))
    assert message.removeprefix("query.").startswith(f"{field}:"), message


# --- the SDK --------------------------------------------------------------------------


class _ViaTestClient(httpx.BaseTransport):
    """Hands the blocking SDK's requests to the app through Starlette's test client."""

    def __init__(self, app: FastAPI) -> None:
        self._client = TestClient(app, raise_server_exceptions=False)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = self._client.request(
            request.method, str(request.url), headers=request.headers, content=request.read()
        )
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


def _check_sdk_answers(quote: dict[str, Any], page: dict[str, Any], one: dict[str, Any]) -> None:
    # trademark, 3 classes: filing 3500 + 2 × 1000 + grant 16000 + 2 × 1000 = 23500; − 30%
    assert (quote["total"], quote["schedule_version"]) == ("16450.00", "2024.1")
    assert page["total"] == DEMO_COUNT and len(page["attorneys"]) == 5
    assert one["registration_number"] == "DEMO-0002"


def test_the_blocking_sdk(app: FastAPI) -> None:
    with Client(BASE, transport=_ViaTestClient(app)) as client:
        quote = client.fees(
            "trademark", ["filing", "grant"], classes=3, applicant_type="sme", on="2024-06-01"
        )
        page = client.attorneys(status="any", limit=5, offset=10)
        one = client.get_attorney("DEMO-0002")
    _check_sdk_answers(quote, page, one)


async def test_the_async_sdk(app: FastAPI) -> None:
    async with AsyncClient(BASE, transport=httpx.ASGITransport(app)) as client:
        quote = await client.fees(
            "trademark", ("filing", "grant"), classes=3, applicant_type="sme", on=date(2024, 6, 1)
        )
        page = await client.attorneys(status="any", limit=5)
        one = await client.get_attorney("DEMO-0002")
        with pytest.raises(Exception, match="region"):
            await client.attorneys(region="nowhere")
    _check_sdk_answers(quote, page, one)
