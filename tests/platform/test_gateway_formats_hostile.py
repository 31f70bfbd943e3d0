"""The JSON Lines and CSV readers of the gateway refuse what a client can send with a 400
naming the line and field, never a 500 (found by the hostile-input tests): binary bodies,
fields over the CSV size limit, deep JSON, unhashable or mistyped values."""

from __future__ import annotations

import json

import pytest

from ipsim.engine.errors import InvalidInput
from ipsim.platform.gateway.formats import get_format
from ipsim.platform.gateway.records import PatentRecord, TrademarkRecord


def read(fmt: str, data: bytes) -> list[object]:
    reader = get_format(fmt).read
    assert reader is not None
    return list(reader(data))


def jsonl(*records: object) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_binary_body_is_refused_naming_the_line(fmt: str) -> None:
    with pytest.raises(InvalidInput, match="not UTF-8") as caught:
        read(fmt, b"kind\n\nPK\x03\x04\x14\x00\x00\x00\x08\x00\xda\xff")
    assert caught.value.field == "line 3"


def test_a_csv_field_over_the_size_limit_is_refused() -> None:
    with pytest.raises(InvalidInput, match="not CSV"):
        read("csv", b"kind,office\ntrademark," + b"x" * 200_000 + b"\n")


def test_deeply_nested_json_lines_are_refused() -> None:
    with pytest.raises(InvalidInput, match="nested too deeply") as caught:
        read("jsonl", b"[" * 100_000 + b"]" * 100_000 + b"\n")
    assert caught.value.field == "line 1"


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"kind": ["trademark"]}, "line 1.kind"),
        ({"kind": {"a": 1}}, "line 1.kind"),
        ({"kind": "trademark", "office": "EM", "application_number": "1",
          "goods_services": [{"bogus": 1}]}, "line 1"),
        ({"kind": "trademark", "office": "EM", "application_number": "1",
          "goods_services": [{"nice_class": "9"}]}, "line 1.goods_services[0].nice_class"),
        ({"kind": "trademark", "office": "EM", "application_number": "1",
          "goods_services": [3]}, "line 1.goods_services[0]"),
        ({"kind": "patent", "office": 5, "application_number": "1"}, "line 1.office"),
        ({"kind": "patent", "office": "EP", "application_number": None},
         "line 1.application_number"),
        ({"kind": "patent", "office": "EP", "application_number": "1", "ipc": 7}, "line 1.ipc"),
        ({"kind": "trademark", "office": "EM", "application_number": "1", "goods_services": 3},
         "line 1.goods_services"),
        ({"kind": "patent", "office": "EP", "application_number": "1", "ipc": [7]}, "line 1.ipc"),
        ({"kind": "patent", "office": "EP", "application_number": "1", "title": {"a": 1}},
         "line 1.title"),
    ],
)  # fmt: skip
def test_a_mistyped_record_is_refused_naming_the_field(record: object, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        read("jsonl", jsonl(record))
    assert caught.value.field == field


def test_well_typed_records_still_read() -> None:
    records = read(
        "jsonl",
        jsonl(
            {"kind": "patent", "office": "EP", "application_number": "1", "ipc": ["A61K"]},
            {
                "kind": "trademark",
                "office": "EM",
                "application_number": "2",
                "registration_date": None,
                "goods_services": [{"nice_class": 9, "text": "software"}],
            },
        ),
    )
    assert isinstance(records[0], PatentRecord) and records[0].ipc == ("A61K",)
    assert isinstance(records[1], TrademarkRecord) and records[1].nice_classes == [9]
