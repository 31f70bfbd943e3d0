"""Trademark document fields: every rule, its normal form, and the errors that name the field."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from support.data import shared_data

from ipsim.models.base import InvalidContent
from ipsim.models.trademark_fields import (
    DATE_FIELDS,
    MAX_VIENNA_CODES,
    REGISTERS,
    check_trademark_fields,
    vienna_code,
)

GBD_RECORDS = shared_data("ip", "gbd_trademark_records")


def _refused(fields: Any, field: str, *words: str) -> None:
    """``fields`` is refused, naming ``field`` and saying each of ``words``."""
    with pytest.raises(InvalidContent) as caught:
        check_trademark_fields(fields)
    assert caught.value.field == field
    for word in words:
        assert word in caught.value.message, caught.value.message


def test_known_fields_normalised_and_others_untouched() -> None:
    extra = {"nested": [1, {"a": None}]}
    fields = {
        "register": "international",
        "status": "  pending ",
        "nice_classes": [35, 9, 42],
        "vienna_codes": ["27.5.1", "03.01.08"],
        "owner": " ООО «Ромашка» ",
        "number": 2024700001,
        "filed": "2024-02-29",
        "custom": extra,
    }
    original = dict(fields)
    out = check_trademark_fields(fields)
    assert out == {
        "register": "international",
        "status": "pending",
        "nice_classes": [9, 35, 42],
        "vienna_codes": ["03.01.08", "27.05.01"],
        "owner": "ООО «Ромашка»",
        "number": "2024700001",
        "filed": "2024-02-29",
        "custom": extra,
    }
    assert out["custom"] is extra
    assert fields == original  # the caller's mapping is not changed
    assert check_trademark_fields(out) == out  # the normal form is a fixed point
    assert check_trademark_fields({}) == {}


def test_fields_must_be_an_object() -> None:
    _refused(["register"], "fields", "object", "list")


@pytest.mark.parametrize("register", REGISTERS)
def test_every_register_is_accepted(register: str) -> None:
    assert check_trademark_fields({"register": register}) == {"register": register}


@pytest.mark.parametrize("bad", ["RU", "eu", "", " ru", 1, None, ["ru"]])
def test_unknown_registers_are_refused(bad: Any) -> None:
    _refused({"register": bad}, "register", "ru, international, well_known", repr(bad))


def test_status_is_a_short_free_string() -> None:
    assert check_trademark_fields({"status": "x" * 64})["status"] == "x" * 64
    assert check_trademark_fields({"status": "Опротестован"})["status"] == "Опротестован"
    _refused({"status": "x" * 65}, "status", "64", "65")
    _refused({"status": " \t"}, "status", "empty")
    _refused({"status": 3}, "status", "string", "int")


def test_nice_classes_sorted_and_checked_one_by_one() -> None:
    assert check_trademark_fields({"nice_classes": (45, 1)})["nice_classes"] == [1, 45]
    assert check_trademark_fields({"nice_classes": []})["nice_classes"] == []
    _refused({"nice_classes": [3, 0]}, "nice_classes[1]", "1 to 45", "0")
    _refused({"nice_classes": [46]}, "nice_classes[0]", "46")
    _refused({"nice_classes": [9, True]}, "nice_classes[1]", "True")
    _refused({"nice_classes": ["9"]}, "nice_classes[0]", "'9'")
    _refused({"nice_classes": [9.0]}, "nice_classes[0]", "9.0")
    _refused({"nice_classes": [25, 9, 25]}, "nice_classes[2]", "repeats nice_classes[0]")
    _refused({"nice_classes": 9}, "nice_classes", "list", "int")
    _refused({"nice_classes": "9, 25"}, "nice_classes", "list", "str")


@pytest.mark.parametrize(
    ("given", "code"),
    [
        ("03.01.08", "03.01.08"),
        ("3.1.8", "03.01.08"),
        ("5.3", "05.03"),  # as Israel's records write divisions
        ("27", "27"),
        ("29.01.12", "29.01.12"),
        ("18.01.00", "18.01"),  # as Papua New Guinea's records write a division
        ("26.00.00", "26"),
        ("01", "01"),
        (" 24.17 ", "24.17"),
    ],
)
def test_vienna_codes_zero_padded(given: str, code: str) -> None:
    assert vienna_code(given) == code
    assert check_trademark_fields({"vienna_codes": [given]})["vienna_codes"] == [code]


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ("03.01.08A", ["CC.DD.SS", "digits only"]),  # the auxiliary marker is not code
        ("A 03.01.08", ["digits only"]),
        ("03-01-08", ["CC.DD.SS"]),
        ("03.01.08.01", ["CC.DD.SS"]),
        ("03.001.08", ["CC.DD.SS"]),
        ("", ["CC.DD.SS"]),
        ("٣.١", ["CC.DD.SS"]),  # digits, but not ASCII ones
        ("30.01.01", ["01 to 29"]),
        ("00.01", ["01 to 29"]),
        ("00", ["01 to 29"]),
        ("18.00.05", ["zero division"]),
        (3, ["string"]),
        (3.1, ["string", "3.1"]),
    ],
)
def test_vienna_codes_refused(bad: Any, words: list[str]) -> None:
    _refused({"vienna_codes": ["01.01.01", bad]}, "vienna_codes[1]", repr(bad), *words)


def test_vienna_code_lists() -> None:
    codes = check_trademark_fields({"vienna_codes": ["27.05.01", "3.1.8", "03.01"]})
    assert codes["vienna_codes"] == ["03.01", "03.01.08", "27.05.01"]
    _refused({"vienna_codes": ["3.1.8", "03.01.08"]}, "vienna_codes[1]", "repeats vienna_codes[0]")
    _refused({"vienna_codes": "03.01.08"}, "vienna_codes", "list")
    many = [f"{c:02d}.{d:02d}" for c in range(1, 30) for d in range(1, 10)]
    assert len(many) > MAX_VIENNA_CODES
    _refused({"vienna_codes": many}, "vienna_codes", str(MAX_VIENNA_CODES))


def _recorded_vienna_codes() -> list[str]:
    """Every Vienna code in the real office records (ST.66 CategoryCode, Israel's VIENNATYPE)."""
    codes = []
    for path in sorted(GBD_RECORDS.rglob("*.xml")):
        for element in ET.parse(path).iter():
            if element.tag.split("}")[-1] in ("CategoryCode", "VIENNATYPE") and element.text:
                codes.append(element.text)
    return codes


@pytest.mark.skipif(not GBD_RECORDS.exists(), reason="shared GBD trademark records absent")
def test_vienna_codes_of_real_office_records() -> None:
    recorded = _recorded_vienna_codes()
    assert len(recorded) >= 10
    for given in recorded:
        code = vienna_code(given)
        assert re.fullmatch(r"[0-9]{2}(\.[0-9]{2}){0,2}", code), code
        numbers = [int(part) for part in given.split(".")]
        while numbers[-1] == 0:
            numbers.pop()
        assert [int(part) for part in code.split(".")] == numbers


def test_owner_is_a_non_empty_string() -> None:
    assert check_trademark_fields({"owner": " Acme GmbH "})["owner"] == "Acme GmbH"
    _refused({"owner": ""}, "owner", "empty")
    _refused({"owner": "x" * 1001}, "owner", "1000")
    _refused({"owner": ["Acme"]}, "owner", "string", "list")


def test_number_is_stored_as_a_string() -> None:
    assert check_trademark_fields({"number": 0})["number"] == "0"
    assert check_trademark_fields({"number": " 2024/0001 "})["number"] == "2024/0001"
    _refused({"number": -5}, "number", "negative", "-5")
    _refused({"number": True}, "number", "string or an integer", "bool")
    _refused({"number": 12.0}, "number", "float")
    _refused({"number": ""}, "number", "empty")
    _refused({"number": "9" * 65}, "number", "64")


@pytest.mark.parametrize("name", DATE_FIELDS)
def test_dates_are_iso_calendar_days(name: str) -> None:
    assert check_trademark_fields({name: "2024-02-29"}) == {name: "2024-02-29"}
    for bad in ("2023-02-29", "2024-13-01", "2024-04-31", "0000-01-01"):
        _refused({name: bad}, name, "calendar", bad)
    for bad in ("2024-1-5", "20240105", "2024-01-05T00:00:00Z", "05.01.2024", "２０２４-01-05"):
        _refused({name: bad}, name, "YYYY-MM-DD", bad)
    _refused({name: 20240105}, name, "YYYY-MM-DD", "20240105")
