"""BI bibliographic records on SQLite and PostgreSQL: validation naming the field, all or
nothing, upserts in place, CSV and JSON Lines import (store, route, SDK and CLI), and the
synthetic demo set: deterministic, idempotent, and shaped as intended."""

from __future__ import annotations

import asyncio
import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from ipsim.clients.cli import CliContext, cli
from ipsim.clients.errors import BadRequest, PermissionDenied
from ipsim.clients.http import AsyncClient
from ipsim.config import Settings
from ipsim.engine.errors import InvalidInput
from ipsim.platform import migrate
from ipsim.platform.bi.concordance import Concordance
from ipsim.platform.bi.demo_data import BURSTS, generate, seed_demo
from ipsim.platform.bi.records import BiRecordStore, read_csv, read_records
from ipsim.platform.database import open_database
from ipsim.platform.filing.notifications import NotifierOptions
from ipsim.platform.services import Platform
from ipsim.server.app import create_app
from ipsim.server.auth import ApiKeys

GOOD: dict[str, Any] = {
    "id": "RU2024100001",
    "kind": "invention",
    "country": "ru",
    "filing_date": "2024-03-15",
    "publication_date": "2025-09-20",
    "ipc": ["A61K0031495000", "A61P 35/00", "A61K 31/495"],
    "status": "search",
}
CSV_TEXT = """id,kind,country,filing_date,publication_date,ipc,status
RU2023000001,invention,RU,2023-01-10,2024-07-12,H01L 21/02;G06F 3/01,granted
DE2023000002,utility_model,de,2023-02-11,,F16H 57/00,
"""
KEYS = "office admin name=office\nclerk write name=clerk\n"
BASE = "http://test"


@pytest.fixture
def store(platform_url: str) -> Iterator[BiRecordStore]:
    engine = open_database(platform_url)
    migrate.upgrade(engine)
    yield BiRecordStore(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def demo() -> list[dict[str, Any]]:
    return generate()


def record(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


# --- the store ----------------------------------------------------------------------


def test_a_record_is_stored_normalised_and_read_back(store: BiRecordStore) -> None:
    assert store.upsert_many([record()]) == 1
    [(stored, written)] = list(store.changed_since())
    assert stored.country == "RU"
    assert stored.ipc == ("A61K 31/495", "A61P 35/00")  # one symbol, two spellings
    assert (stored.filing_date, stored.publication_date) == (date(2024, 3, 15), date(2025, 9, 20))
    assert (stored.source, stored.synthetic, stored.status) == ("import", False, "search")
    assert written.tzinfo is not None
    assert abs(datetime.now(UTC) - written) < timedelta(minutes=1)


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"country": "XX"}, "records[1].country"),
        ({"country": "RUS"}, "records[1].country"),
        ({"filing_date": "2024-02-30"}, "records[1].filing_date"),
        ({"filing_date": "15.03.2024"}, "records[1].filing_date"),
        ({"filing_date": (date.today() + timedelta(days=3)).isoformat()}, "records[1].filing_date"),
        ({"publication_date": "2023-01-01"}, "records[1].publication_date"),
        ({"ipc": ["A61K 31/00", "not a code"]}, "records[1].ipc[1]"),
        ({"ipc": ["A61"]}, "records[1].ipc[0]"),
        ({"ipc": "A61K 31/00"}, "records[1].ipc"),
        ({"kind": "patent"}, "records[1].kind"),
        ({"id": ""}, "records[1].id"),
        ({"id": "x" * 65}, "records[1].id"),
        ({"status": "x" * 41}, "records[1].status"),
        ({"synthetic": "yes"}, "records[1].synthetic"),
        ({"applicant": "Acme"}, "records[1].applicant"),
    ],
)
def test_a_bad_record_is_named_and_nothing_is_written(
    store: BiRecordStore, bad: dict[str, Any], field: str
) -> None:
    batch = [record(id="OK-1"), record(**{"id": "BAD-2", **bad})]
    with pytest.raises(InvalidInput) as caught:
        store.upsert_many(batch)
    assert caught.value.field == field
    assert store.count() == 0  # the good record before it was not written either


def test_a_missing_field_and_a_non_object_are_named(store: BiRecordStore) -> None:
    without_date = {k: v for k, v in GOOD.items() if k != "filing_date"}
    with pytest.raises(InvalidInput, match=r"records\[0\]\.filing_date"):
        store.upsert_many([without_date])
    with pytest.raises(InvalidInput, match=r"records\[0\]: must be an object"):
        store.upsert_many(["RU2024100001"])
    with pytest.raises(InvalidInput, match=r"records\[1\]\.id: RU2024100001 is listed twice"):
        store.upsert_many([record(), record()])


def test_upserting_again_updates_in_place(store: BiRecordStore) -> None:
    assert store.upsert_many([record(), record(id="RU2024100002")]) == 2
    first_write = {r.id: at for r, at in store.changed_since()}
    assert store.upsert_many([record(status="granted")], source="csv") == 1
    assert store.count() == 2
    changed = list(store.changed_since(first_write["RU2024100001"]))
    assert [(r.id, r.status, r.source) for r, _ in changed] == [("RU2024100001", "granted", "csv")]


# --- files ----------------------------------------------------------------------------


def test_csv_text_and_file_import_the_same_records(store: BiRecordStore, tmp_path: Path) -> None:
    from_text = read_csv(CSV_TEXT)
    path = tmp_path / "records.csv"
    path.write_text("\ufeff" + CSV_TEXT, encoding="utf-8")  # as spreadsheets save it
    assert read_csv(path) == from_text
    assert from_text[1] == {
        "id": "DE2023000002",
        "kind": "utility_model",
        "country": "de",
        "filing_date": "2023-02-11",
        "ipc": ["F16H 57/00"],
    }
    assert store.upsert_many(from_text, source="csv") == 2
    stored = {r.id: r for r, _ in store.changed_since()}
    assert stored["RU2023000001"].ipc == ("H01L 21/02", "G06F 3/01")
    assert stored["DE2023000002"].country == "DE"
    assert stored["DE2023000002"].publication_date is None


def test_a_csv_without_a_required_column_is_refused() -> None:
    with pytest.raises(InvalidInput, match="csv: missing column country"):
        read_csv("id,kind,filing_date,ipc\nX1,invention,2020-01-01,A61K 31/00\n")


def test_json_lines_are_read_and_a_bad_line_is_named() -> None:
    lines = json.dumps(GOOD) + "\n\n" + json.dumps(record(id="RU2")) + "\n"
    assert [r["id"] for r in read_records(lines.encode(), "jsonl")] == ["RU2024100001", "RU2"]
    with pytest.raises(InvalidInput, match="line 2: not JSON"):
        read_records(b'{"id": "a"}\n{"id": \n', "jsonl")
    with pytest.raises(InvalidInput, match="line 1: must be a JSON object"):
        read_records(b"[1, 2]\n", "jsonl")
    with pytest.raises(InvalidInput, match="format: must be one of csv, jsonl"):
        read_records(b"", "xml")
    with pytest.raises(InvalidInput, match="body: must be UTF-8"):
        read_records(b"\xff\xfe\x00", "csv")


# --- the route, the SDK and the CLI ----------------------------------------------------


class NoEngine:
    """The import route never reaches the engine."""

    ready = True


@pytest.fixture
def platform(platform_url: str, tmp_path: Path) -> Iterator[Platform]:
    opened = Platform.open(platform_url, tmp_path, notifications=NotifierOptions(secret=b"k"))
    yield opened
    asyncio.run(opened.notifier.close())
    opened.database.dispose()


@pytest.fixture
def app(platform: Platform, tmp_path: Path) -> Any:
    keys = tmp_path / "keys"
    keys.write_text(KEYS)
    return create_app(NoEngine(), Settings(), ApiKeys.load(keys), platform)  # type: ignore[arg-type]


def office(app: Any) -> TestClient:
    headers = {"Authorization": "Bearer office"}
    return TestClient(app, raise_server_exceptions=False, headers=headers)


def test_the_route_imports_csv_and_json_lines_for_admins_only(app: Any, platform: Platform) -> None:
    client = office(app)
    answer = client.post("/v1/bi/records", content=CSV_TEXT, headers={"Content-Type": "text/csv"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"imported": 2}
    lines = json.dumps(GOOD) + "\n"
    answer = client.post("/v1/bi/records?format=jsonl", content=lines)
    assert answer.json() == {"imported": 1}
    assert platform.bi_records.count(source="csv") == 2
    assert platform.bi_records.count(source="jsonl") == 1
    clerk = TestClient(app, headers={"Authorization": "Bearer clerk"})
    refused = clerk.post("/v1/bi/records?format=csv", content=CSV_TEXT)
    assert refused.status_code == 403


def test_the_route_names_a_bad_record_and_a_missing_format(app: Any, platform: Platform) -> None:
    client = office(app)
    bad = CSV_TEXT.replace("de,2023-02-11", "XX,2023-02-11")
    answer = client.post("/v1/bi/records?format=csv", content=bad)
    assert answer.status_code == 400
    assert answer.json()["error"]["message"].startswith("records[1].country:")
    assert platform.bi_records.count() == 0
    answer = client.post("/v1/bi/records", content=CSV_TEXT)  # no format, no CSV content type
    assert answer.status_code == 400
    assert answer.json()["error"]["message"].startswith("format:")


async def test_the_sdk_imports_and_raises_the_servers_errors(app: Any) -> None:
    transport = httpx.ASGITransport(app=app)
    async with AsyncClient(BASE, api_key="office", transport=transport) as client:
        assert await client.import_bi_records(CSV_TEXT.encode(), "csv") == {"imported": 2}
        with pytest.raises(BadRequest, match=r"records\[0\]\.kind"):
            await client.import_bi_records(b'{"id": "A1", "kind": "x"}\n', "jsonl")
    async with AsyncClient(BASE, api_key="clerk", transport=transport) as client:
        with pytest.raises(PermissionDenied):
            await client.import_bi_records(CSV_TEXT.encode(), "csv")


def test_the_cli_imports_a_file_by_its_extension(
    app: Any, platform: Platform, tmp_path: Path
) -> None:
    server = office(app)

    def forward(request: httpx.Request) -> httpx.Response:
        answer = server.request(
            request.method,
            str(request.url.copy_with(scheme="http", host="testserver", port=None)),
            content=request.content,
            headers={"Content-Type": request.headers["content-type"]},
        )
        return httpx.Response(answer.status_code, content=answer.content, headers=answer.headers)

    path = tmp_path / "export.csv"
    path.write_text(CSV_TEXT)
    context = CliContext(transport=httpx.MockTransport(forward))
    result = CliRunner().invoke(cli, ["bi", "import", str(path)], obj=context)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "imported 2 records from export.csv"
    assert platform.bi_records.count(source="csv") == 2
    unknown = tmp_path / "export.txt"
    unknown.write_text(CSV_TEXT)
    result = CliRunner().invoke(cli, ["bi", "import", str(unknown)], obj=context)
    assert result.exit_code == 2
    assert "--format" in result.output


# --- the demo set ---------------------------------------------------------------------


def test_the_demo_set_is_deterministic_and_labelled_synthetic(demo: list[dict[str, Any]]) -> None:
    assert len(demo) == 20_000
    assert generate(500, seed=7) == generate(500, seed=7)
    assert generate(500, seed=7) != generate(500, seed=8)
    assert all(r["synthetic"] is True and r["source"] == "demo" for r in demo)
    assert [r["id"] for r in demo[:2]] == ["DEMO-000001", "DEMO-000002"]
    assert len({r["id"] for r in demo}) == len(demo)
    years = Counter(int(r["filing_date"][:4]) for r in demo)
    assert sorted(years) == list(range(2010, 2026))
    assert years[2025] > 1.3 * years[2010]  # filings grow


def test_the_demo_mix_is_shaped_as_intended(demo: list[dict[str, Any]]) -> None:
    concordance = Concordance.load()
    countries = Counter(r["country"] for r in demo)
    assert [c for c, _ in countries.most_common(5)] == ["US", "CN", "JP", "DE", "KR"]
    assert countries["RU"] > 300
    sectors: dict[str, Counter[str]] = defaultdict(Counter)
    for r in demo:
        for field, weight in concordance.weights(r["ipc"]).items():
            sector = concordance.field(field).sector
            sectors[r["country"]][sector] += weight
            sectors["world"][sector] += weight

    def share(country: str, sector: str) -> float:
        return sectors[country][sector] / sum(sectors[country].values())

    assert share("KR", "Electrical engineering") > share("world", "Electrical engineering") + 0.08
    assert share("DE", "Mechanical engineering") > share("world", "Mechanical engineering") + 0.08
    assert share("RU", "Chemistry") > share("world", "Chemistry") + 0.1
    assert 0.3 < share("world", "Electrical engineering") < 0.5
    quarters = Counter((int(r["filing_date"][5:7]) - 1) // 3 + 1 for r in demo)
    assert quarters[4] > 1.2 * quarters[3]  # the year-end rush


def test_the_planted_bursts_stand_out_of_their_series(demo: list[dict[str, Any]]) -> None:
    concordance = Concordance.load()
    for burst in BURSTS:
        per_quarter: Counter[str] = Counter()
        for r in demo:
            if r["country"] != burst.country:
                continue
            quarter = f"{r['filing_date'][:4]}-Q{(int(r['filing_date'][5:7]) - 1) // 3 + 1}"
            per_quarter[quarter] += concordance.weights(r["ipc"]).get(burst.field, 0.0)
        neighbours = [
            per_quarter[f"{year}-Q{q}"]
            for year in (burst.year - 1, burst.year, burst.year + 1)
            for q in (1, 2, 3, 4)
            if f"{year}-Q{q}" != burst.period
        ]
        typical = sorted(neighbours)[len(neighbours) // 2]
        assert per_quarter[burst.period] > 3 * typical + 10, burst


def test_seeding_the_demo_twice_writes_once(store: BiRecordStore) -> None:
    assert seed_demo(store, n=1500, seed=3) == 1500
    assert seed_demo(store, n=1500, seed=3) == 0
    assert store.count() == store.count(source="demo") == 1500
    assert all(r.synthetic for r, _ in store.changed_since())
