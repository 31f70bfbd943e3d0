"""The attorney register on SQLite and PostgreSQL: Cyrillic search in any case, the filters,
pagination, upserts in place, the demo register seeded idempotently, and bad input named."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from ipsim.engine.errors import InvalidInput, NotFound
from ipsim.platform import migrate
from ipsim.platform.database import open_database
from ipsim.platform.filing.attorneys import AttorneyRegister, attorneys_table, read_csv
from ipsim.platform.filing.demo_attorneys import DEMO_COUNT, generate, seed_demo_register

RECORDS: list[dict[str, Any]] = [
    {
        "registration_number": "101",
        "name": "Петров Иван Сергеевич",
        "region": "RU-MOW",
        "specializations": ["inventions", "utility_models"],
        "languages": ["ru", "en"],
        "email": "petrov@firm.example",
        "phone": "+7 (495) 555-01-01",
    },
    {
        "registration_number": "102",
        "name": "ПЕТРОВА Анна Ильинична",
        "region": "RU-SPE",
        "specializations": ["trademarks"],
        "languages": ["ru"],
    },
    {
        "registration_number": "103",
        "name": "Семёнов Олег Борисович",
        "region": "RU-NVS",
        "specializations": ["industrial_designs"],
        "languages": ["ru", "de"],
    },
    {
        "registration_number": "104",
        "name": "Anna Schmidt",
        "region": "RU-MOW",
        "specializations": ["trademarks", "inventions"],
        "languages": ["en", "de"],
    },
    {
        "registration_number": "105",
        "name": "Петровский Юрий Павлович",
        "region": "RU-MOW",
        "specializations": ["utility_models"],
        "languages": ["ru"],
        "status": "suspended",
    },
]


@pytest.fixture
def register(platform_url: str) -> Iterator[AttorneyRegister]:
    """The register on a fresh database (SQLite and PostgreSQL in turn), with RECORDS."""
    engine = open_database(platform_url)
    migrate.upgrade(engine)
    register = AttorneyRegister(engine)
    assert register.upsert_many(RECORDS) == len(RECORDS)
    yield register
    engine.dispose()


def _numbers(register: AttorneyRegister, **query: Any) -> list[str]:
    found, total = register.search(**query)
    assert total == len(found)
    return [attorney.registration_number for attorney in found]


# Each table below runs on one database per backend (a fresh PostgreSQL database costs ~1 s).
NAME_SEARCHES = [
    ("петров", ["101", "102"]),  # Петров and ПЕТРОВА, not the suspended Петровский
    ("ПЕТРОВ", ["101", "102"]),
    ("Петрова", ["102"]),
    ("иван петров", ["101"]),  # every word, any order
    ("семенов", ["103"]),  # ё is searched as е
    ("СЕМЁНОВ олег", ["103"]),
    ("SCHMIDT", ["104"]),
    ("anna", ["104"]),  # Latin only: Анна is another script
    ("_", []),  # LIKE wildcards are literal
    ("%", []),
    ("  ", ["104", "101", "102", "103"]),  # a blank query is no filter
]


def test_name_search_folds_case_in_cyrillic_and_latin(register: AttorneyRegister) -> None:
    for q, expected in NAME_SEARCHES:
        assert _numbers(register, q=q) == expected, q


FILTERS = [
    ({"region": "RU-MOW"}, ["104", "101"]),
    ({"region": "mow"}, ["104", "101"]),
    ({"region": "москва"}, ["104", "101"]),
    ({"region": "RU-MOW", "status": "any"}, ["104", "101", "105"]),
    ({"specialization": "trademarks"}, ["104", "102"]),
    ({"specialization": "utility_models"}, ["101"]),
    ({"specialization": "utility_models", "status": "any"}, ["101", "105"]),
    ({"language": "de"}, ["104", "103"]),
    ({"status": "suspended"}, ["105"]),
    ({"q": "петров", "status": "any"}, ["101", "102", "105"]),
    ({"q": "anna", "region": "RU-SPE"}, []),
    ({"region": "RU-MOW", "specialization": "inventions", "language": "ru"}, ["101"]),
]


def test_filters_combine(register: AttorneyRegister) -> None:
    for query, expected in FILTERS:
        assert _numbers(register, **query) == expected, query


def test_a_record_comes_back_with_its_region_name(register: AttorneyRegister) -> None:
    got = register.get("101").to_json()
    assert got == {
        "registration_number": "101",
        "name": "Петров Иван Сергеевич",
        "region": "RU-MOW",
        "region_name": "Москва",
        "specializations": ["inventions", "utility_models"],
        "languages": ["ru", "en"],
        "status": "active",
        "email": "petrov@firm.example",
        "phone": "+7 (495) 555-01-01",
        "demo": False,
    }
    with pytest.raises(NotFound):
        register.get("999")
    with pytest.raises(InvalidInput) as caught:
        register.get("../101")
    assert caught.value.field == "registration_number"


def test_an_upsert_updates_in_place(register: AttorneyRegister) -> None:
    changed = {**RECORDS[0], "region": "RU-TA", "status": "revoked", "phone": None}
    assert register.upsert_many([changed]) == 1
    got = register.get("101")
    assert (got.region, got.status, got.phone) == ("RU-TA", "revoked", None)
    assert _numbers(register, status="any") == ["104", "101", "102", "105", "103"]


def test_a_bad_record_writes_nothing(register: AttorneyRegister) -> None:
    new = {**RECORDS[1], "registration_number": "200"}
    bad = {**RECORDS[2], "registration_number": "201", "region": "RU-XX"}
    with pytest.raises(InvalidInput) as caught:
        register.upsert_many([new, bad])
    assert caught.value.field == "records[1].region"
    with pytest.raises(NotFound):
        register.get("200")


BAD_RECORDS = [
    ({"name": " "}, "records[0].name"),
    ({"registration_number": "12 34"}, "records[0].registration_number"),
    ({"specializations": []}, "records[0].specializations"),
    ({"specializations": ["patents"]}, "records[0].specializations[0]"),
    ({"languages": ["RU"]}, "records[0].languages[0]"),
    ({"status": "retired"}, "records[0].status"),
    ({"email": "not-an-email"}, "records[0].email"),
    ({"demo": "yes"}, "records[0].demo"),
    ({"nickname": "x"}, "records[0].nickname"),
]


def test_a_bad_field_of_a_record_is_named(register: AttorneyRegister) -> None:
    for change, field in BAD_RECORDS:
        with pytest.raises(InvalidInput) as caught:
            register.upsert_many([{**RECORDS[0], **change}])
        assert caught.value.field == field, change
    assert register.get("101").name == RECORDS[0]["name"]


def test_a_number_listed_twice_is_refused(register: AttorneyRegister) -> None:
    with pytest.raises(InvalidInput) as caught:
        register.upsert_many([RECORDS[0], RECORDS[0]])
    assert caught.value.field == "records"


BAD_SEARCHES = [
    ({"region": "RU-XX"}, "region"),
    ({"specialization": "patents"}, "specialization"),
    ({"language": "eng"}, "language"),
    ({"status": "retired"}, "status"),
    ({"limit": 0}, "limit"),
    ({"limit": 101}, "limit"),
    ({"offset": -1}, "offset"),
    ({"q": "x" * 201}, "q"),
    ({"q": "a\x00b"}, "q"),
]


def test_a_bad_search_parameter_is_named(register: AttorneyRegister) -> None:
    for query, field in BAD_SEARCHES:
        with pytest.raises(InvalidInput) as caught:
            register.search(**query)
        assert caught.value.field == field, query


def test_demo_seeding_is_idempotent_and_pages_cover_the_register(
    register: AttorneyRegister,
) -> None:
    assert seed_demo_register(register) == DEMO_COUNT
    first = register.search(q="demo", status="any")  # no name holds "demo"
    assert first == ([], 0)
    everyone, total = register.search(status="any", limit=100)
    assert total == DEMO_COUNT + len(RECORDS)
    assert seed_demo_register(register) == DEMO_COUNT  # a second start
    with register._engine.connect() as db:
        rows = db.execute(select(func.count()).select_from(attorneys_table)).scalar_one()
    assert rows == DEMO_COUNT + len(RECORDS)

    pages = [register.search(status="any", offset=o, limit=100) for o in (0, 100, 200)]
    assert [len(page) for page, _ in pages] == [100, 100, 5]
    assert all(count == DEMO_COUNT + len(RECORDS) for _, count in pages)
    numbers = [a.registration_number for page, _ in pages for a in page]
    assert len(set(numbers)) == len(numbers) == DEMO_COUNT + len(RECORDS)
    assert pages[0][0] == everyone  # the same order after the second seeding
    demo = [a for page, _ in pages for a in page if a.registration_number.startswith("DEMO-")]
    assert len(demo) == DEMO_COUNT and all(a.demo for a in demo)
    assert register.search(status="any", offset=205, limit=10) == ([], DEMO_COUNT + len(RECORDS))


def test_the_demo_generator_is_deterministic_and_valid() -> None:
    records = generate()
    assert records == generate()
    assert len(records) == DEMO_COUNT
    assert len({r["registration_number"] for r in records}) == DEMO_COUNT
    assert all(r["demo"] is True and r["email"].endswith("@demo.example") for r in records)
    cyrillic = [r for r in records if "а" <= r["name"][0].lower() <= "я"]
    assert 100 < len(cyrillic) < DEMO_COUNT  # Russian names mostly, some Latin ones
    assert len({r["region"] for r in records}) > 10
    assert generate(seed=1) != records


def test_a_register_csv_is_imported(register: AttorneyRegister, tmp_path: Path) -> None:
    path = tmp_path / "register.csv"
    path.write_text(
        "registration_number,name,region,specializations,languages,status,email\n"
        "1234,Ёлкина Мария Петровна,RU-TA,trademarks; industrial_designs,ru;en,active,\n"
        "1235,Гусев Пётр,Москва,inventions,ru,revoked,gusev@firm.example\n",
        encoding="utf-8",
    )
    assert register.upsert_many(read_csv(path)) == 2
    (found,), _ = register.search(q="елкина")
    assert found.specializations == ("trademarks", "industrial_designs")
    assert (found.region, found.email, found.demo) == ("RU-TA", None, False)
    assert register.get("1235").region == "RU-MOW"
