"""The fee schedule against hand-checked quotes: the packaged, versioned file, the version in
force on a day, reductions and their half-up rounding, and every bad argument named."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ipsim.engine.errors import InvalidInput
from ipsim.platform.filing.fees import DEFAULT_SCHEDULE, FeeSchedule

SCHEDULE = FeeSchedule.load()
V2024 = date(2024, 6, 1)  # version 2024.1
V2025 = date(2025, 2, 1)  # version 2025.1, its first day
V2026 = date(2026, 7, 1)  # version 2026.2, its first day
FULL = ["filing", "search", "examination"]

# (kind, events, arguments, day, expected total): each total worked out by hand from
# fee_schedule.toml, the arithmetic in the comment.
CASES: list[tuple[str, list[str], dict[str, Any], date, str]] = [
    # 3300 (10 claims: none over the threshold)
    ("invention", ["filing"], {"claims": 10}, V2024, "3300.00"),
    # 3300 + 1 × 250
    ("invention", ["filing"], {"claims": 11}, V2024, "3550.00"),
    # filing 3300 + 5 × 250 + search 8000 + examination 13000 + 5 × 800 = 29550
    ("invention", FULL, {"claims": 15}, V2024, "29550.00"),
    # 29550 − 50% (14775)
    ("invention", FULL, {"claims": 15, "applicant_type": "individual"}, V2024, "14775.00"),
    # 29550 − 30% (8865)
    ("invention", FULL, {"claims": 15, "applicant_type": "sme"}, V2024, "20685.00"),
    # grant 3250, flat whatever the claims
    ("invention", ["grant"], {"claims": 40}, V2024, "3250.00"),
    # annuity bands: year 3 → 1000, year 10 → 4000, year 25 → 30000
    ("invention", ["annuity"], {"claims": 1, "year": 3}, V2024, "1000.00"),
    ("invention", ["annuity"], {"claims": 1, "year": 10}, V2024, "4000.00"),
    ("invention", ["annuity"], {"claims": 1, "year": 25}, V2024, "30000.00"),
    # filing 1650 + 2 × 150 + examination 5200 + 2 × 300 + grant 1650 = 9400; − 30% (2820)
    (
        "utility_model",
        ["filing", "examination", "grant"],
        {"claims": 12, "applicant_type": "sme"},
        V2024,
        "6580.00",
    ),
    # utility-model annuity year 1 → 850
    ("utility_model", ["annuity"], {"claims": 3, "year": 1}, V2024, "850.00"),
    # 1650 + 2 additional designs × 850
    ("industrial_design", ["filing"], {"designs": 3}, V2024, "3350.00"),
    # design annuity year 7 (band 5-10) → 2500
    ("industrial_design", ["annuity"], {"year": 7}, V2024, "2500.00"),
    # filing 3500 + 2 × 1000 + examination 11500 + 2 × 2500 + grant 16000 + 2 × 1000 = 40000
    ("trademark", ["filing", "examination", "grant"], {"classes": 3}, V2024, "40000.00"),
    # renewal 20000 for one class
    ("trademark", ["renewal"], {"classes": 1}, V2024, "20000.00"),
    # 2025.1: 3600 + 1 × 300
    ("invention", ["filing"], {"claims": 11}, V2025, "3900.00"),
    # 2026.2: 3852.05 − 50% (1926.025 → 1926.03 half-up; half-even would give 1926.02)
    ("invention", ["filing"], {"claims": 1, "applicant_type": "individual"}, V2026, "1926.02"),
    # 2026.2: 3852.05 + 2 × 321.15 + 16050 + 2 × 963 = 22470.35; − 25% (5617.5875 → 5617.59)
    (
        "invention",
        ["filing", "examination"],
        {"claims": 12, "applicant_type": "sme"},
        V2026,
        "16852.76",
    ),
    # 2026.2: 4119.50 + 1 × 1177 = 5296.50; − 25% (1324.125 → 1324.13; half-even: 1324.12)
    ("trademark", ["filing"], {"classes": 2, "applicant_type": "sme"}, V2026, "3972.37"),
]


@pytest.mark.parametrize(("kind", "events", "arguments", "day", "total"), CASES)
def test_a_quote_matches_the_hand_checked_total(
    kind: str, events: list[str], arguments: dict[str, Any], day: date, total: str
) -> None:
    quote = SCHEDULE.quote(kind, events, on=day, **arguments)
    assert quote.total == Decimal(total)
    assert quote.currency == "RUB"
    assert quote.total == sum(line.amount for line in quote.lines)
    assert all(line.amount == line.quantity * line.unit for line in quote.lines)


def test_the_lines_are_itemised_with_codes_quantities_and_units() -> None:
    quote = SCHEDULE.quote("invention", FULL, claims=15, applicant_type="individual", on=V2024)
    assert [(x.code, x.quantity, str(x.unit), str(x.amount)) for x in quote.lines] == [
        ("filing", 1, "3300.00", "3300.00"),
        ("filing.extra_claims", 5, "250.00", "1250.00"),
        ("search", 1, "8000.00", "8000.00"),
        ("examination", 1, "13000.00", "13000.00"),
        ("examination.extra_claims", 5, "800.00", "4000.00"),
        ("reduction.individual", 1, "-14775.00", "-14775.00"),
    ]
    assert quote.lines[1].description.endswith("each claim over 10")
    assert "50%" in quote.lines[-1].description


def test_json_carries_money_as_strings_and_the_version_in_force() -> None:
    got = SCHEDULE.quote("trademark", ["filing"], classes=2, on=V2024).to_json()
    assert got == {
        "total": "4500.00",
        "currency": "RUB",
        "lines": [
            {
                "code": "filing",
                "description": "Registration of the application and formal examination",
                "quantity": 1,
                "unit": "3500.00",
                "amount": "3500.00",
            },
            {
                "code": "filing.extra_classes",
                "description": "Registration of the application and formal examination:"
                " each class over 1",
                "quantity": 1,
                "unit": "1000.00",
                "amount": "1000.00",
            },
        ],
        "schedule_version": "2024.1",
        "effective_from": "2024-01-01",
        "effective_to": "2025-02-01",
    }


@pytest.mark.parametrize(
    ("day", "version", "total"),
    [
        (date(2025, 1, 31), "2024.1", "3300.00"),  # the day before 2025.1
        (date(2025, 2, 1), "2025.1", "3600.00"),  # its first day
        (date(2026, 6, 30), "2025.1", "3600.00"),  # the day before 2026.2
        (date(2026, 7, 1), "2026.2", "3852.05"),
        (date(2040, 1, 1), "2026.2", "3852.05"),  # the last version stays in force
    ],
)
def test_the_version_in_force_switches_on_its_effective_date(
    day: date, version: str, total: str
) -> None:
    quote = SCHEDULE.quote("invention", ["filing"], claims=1, on=day)
    assert (quote.schedule_version, str(quote.total)) == (version, total)


def test_the_last_version_has_no_end() -> None:
    quote = SCHEDULE.quote("invention", ["filing"], claims=1, on=V2026)
    assert quote.effective_from == V2026 and quote.effective_to is None


def test_a_legal_entity_gets_no_reduction_line() -> None:
    quote = SCHEDULE.quote("invention", ["filing"], claims=1, on=V2024)
    assert [line.code for line in quote.lines] == ["filing"]


@pytest.mark.parametrize(
    ("kind", "events", "arguments", "field"),
    [
        ("patent", ["filing"], {}, "kind"),
        ("invention", [], {"claims": 1}, "events"),
        ("invention", "filing", {"claims": 1}, "events"),
        ("invention", ["fax"], {"claims": 1}, "events[0]"),
        ("invention", ["filing", "filing"], {"claims": 1}, "events[1]"),
        ("invention", ["renewal"], {"claims": 1}, "events[0]"),
        ("trademark", ["annuity"], {"classes": 1}, "events[0]"),
        ("trademark", ["search"], {"classes": 1}, "events[0]"),
        ("invention", ["annuity"], {"claims": 1}, "year"),
        ("invention", ["annuity"], {"claims": 1, "year": 2}, "year"),
        ("invention", ["annuity"], {"claims": 1, "year": 26}, "year"),
        ("utility_model", ["annuity"], {"claims": 1, "year": 11}, "year"),
        ("invention", ["filing"], {"claims": 0}, "claims"),
        ("invention", ["filing"], {"claims": -1}, "claims"),
        ("invention", ["filing"], {"claims": True}, "claims"),
        ("invention", ["filing"], {"claims": 10_001}, "claims"),
        ("invention", ["filing"], {"claims": 1, "classes": -1}, "classes"),
        ("trademark", ["filing"], {"classes": 0}, "classes"),
        ("trademark", ["filing"], {"classes": 46}, "classes"),
        ("industrial_design", ["filing"], {"designs": 0}, "designs"),
        ("invention", ["filing"], {"claims": 1, "applicant_type": "company"}, "applicant_type"),
    ],
)
def test_a_bad_argument_is_named(
    kind: str, events: Any, arguments: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        SCHEDULE.quote(kind, events, on=V2024, **arguments)
    assert caught.value.field == field


def test_annuity_on_a_trademark_points_to_renewal() -> None:
    with pytest.raises(InvalidInput, match="use renewal"):
        SCHEDULE.quote("trademark", ["annuity"], classes=1, on=V2024)


@pytest.mark.parametrize("day", [date(2023, 12, 31), datetime(2024, 6, 1, 12), "2024-06-01"])
def test_a_day_before_the_first_version_or_not_a_date_is_refused(day: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        SCHEDULE.quote("invention", ["filing"], claims=1, on=day)
    assert caught.value.field == "on"


def test_the_packaged_file_says_its_amounts_are_illustrative() -> None:
    header = DEFAULT_SCHEDULE.read_text(encoding="utf-8").splitlines()[0]
    assert "ILLUSTRATIVE" in header and "NOT THE OFFICIAL" in header
    assert [v for v, _ in SCHEDULE.versions] == ["2024.1", "2025.1", "2026.2"]


def _schedule_file(tmp_path: Path, version_body: str) -> Path:
    kinds = "".join(
        f'\n[versions.{kind}]\nfiling = {{ amount = "100.00" }}\n'
        for kind in ("utility_model", "industrial_design", "trademark")
    )
    path = tmp_path / "fees.toml"
    path.write_text(f'format = 1\ncurrency = "RUB"\n{version_body}{kinds}', encoding="utf-8")
    return path


def test_a_custom_schedule_file_is_read(tmp_path: Path) -> None:
    path = _schedule_file(
        tmp_path,
        '[[versions]]\nid = "x"\neffective_from = 2020-01-01\n'
        "[versions.invention]\n"
        'filing = { amount = "10.50", per = "claim", over = 1, each = "1" }\n',
    )
    quote = FeeSchedule.load(path).quote("invention", ["filing"], claims=3, on=date(2020, 1, 1))
    assert quote.total == Decimal("12.50")  # 10.50 + 2 × 1


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        # a float amount would lose kopecks: refused
        ("[versions.invention]\nfiling = { amount = 3300.5 }\n", "versions[0].invention.filing"),
        ('[versions.invention]\nfiling = { amount = "1.005" }\n', "two decimals"),
        (
            '[versions.invention]\nfiling = { amount = "1" }\nfax = { amount = "1" }\n',
            "invention.fax: unknown event",
        ),
        (
            '[versions.invention]\nfiling = { amount = "1", per = "class", each = "1" }\n',
            "counted in claims",
        ),
        (
            '[versions.invention]\nfiling = { amount = "1" }\n'
            'annuity = [{ from = 3, to = 4, amount = "1" }, { from = 6, to = 7, amount = "1" }]\n',
            "annuity[1]",
        ),
    ],
)
def test_a_bad_schedule_file_is_refused_with_the_place(
    tmp_path: Path, body: str, problem: str
) -> None:
    path = _schedule_file(tmp_path, f'[[versions]]\nid = "x"\neffective_from = 2020-01-01\n{body}')
    with pytest.raises(ValueError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        FeeSchedule.load(path)
