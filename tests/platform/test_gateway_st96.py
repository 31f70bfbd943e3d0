"""ST.96 / GBD reading and writing, the record ↔ document mapping, CSV/JSON Lines, and
hostile XML: every refusal names the problem (and the element and line where there is one)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from support.data import shared_data
from support.gateway_samples import (
    BILLION_LAUGHS,
    PATENT_XML,
    QUADRATIC,
    TRADEMARK_XML,
    XXE_FILE,
    XXE_NETWORK,
)

from ipsim.engine.errors import InvalidInput
from ipsim.platform.gateway.formats import get_format, read_xml
from ipsim.platform.gateway.records import (
    GoodsServices,
    PatentRecord,
    TrademarkRecord,
    from_document,
    to_document,
)
from ipsim.platform.gateway.st96 import write_st96
from ipsim.platform.gateway.xml_safety import XmlLimits, XmlRejected, parse_untrusted

GBD = shared_data("ip", "gbd_trademark_records")

EXPECTED_TRADEMARK = TrademarkRecord(
    office="EM",
    application_number="018123456",
    application_date="2019-09-13",
    registration_number="018123456",
    registration_date="2020-01-24",
    expiry_date="2029-09-13",
    status="Registered",
    mark_text="Blue Heron",
    language="en",
    goods_services=(GoodsServices(25, "Clothing; footwear.", "en"), GoodsServices(9)),
    vienna_codes=("03.07.16", "26.01.01"),
    applicants=("Heron Apparel GmbH",),
    representatives=("Muster & Partner",),
)
EXPECTED_PATENT = PatentRecord(
    office="EP",
    application_number="19812345.6",
    filing_date="2019-11-05",
    publication_number="3876543",
    publication_date="2021-09-08",
    title="Folding bicycle frame",
    abstract="A frame that folds at the seat tube.",
    language="en",
    ipc=("B62K 15/00", "B62K 19/02"),
    applicants=("Velo AG",),
    inventors=("Ada Rad",),
)


def assert_same_fields(got: object, want: object) -> None:
    assert type(got) is type(want)
    for field in dataclasses.fields(want):  # type: ignore[arg-type]
        assert getattr(got, field.name) == getattr(want, field.name), field.name


@pytest.mark.parametrize(
    ("xml", "expected"), [(TRADEMARK_XML, EXPECTED_TRADEMARK), (PATENT_XML, EXPECTED_PATENT)]
)
def test_st96_round_trip_keeps_every_field(xml: bytes, expected: object) -> None:
    [record] = read_xml(xml)
    assert_same_fields(record, expected)
    [again] = read_xml(write_st96([record]))
    assert_same_fields(again, expected)
    kind = "trademark" if isinstance(record, TrademarkRecord) else "patent"
    assert_same_fields(from_document(kind, to_document(record)), expected)


def test_documents_use_the_engine_field_names() -> None:
    trademark = to_document(EXPECTED_TRADEMARK)
    assert trademark.id == "EM-018123456"
    assert trademark.content == {"word": "Blue Heron"}
    assert trademark.fields["nice_classes"] == [9, 25]
    assert trademark.fields["vienna_codes"] == ["03.07.16", "26.01.01"]
    assert trademark.fields["office"] == "EM"
    assert trademark.fields["registered"] == "2020-01-24"
    assert trademark.fields["filed"] == "2019-09-13"
    assert trademark.fields["owner"] == "Heron Apparel GmbH"
    patent = to_document(EXPECTED_PATENT)
    assert patent.content == {
        "text": "Folding bicycle frame\n\nA frame that folds at the seat tube."
    }
    assert patent.fields["ipc"] == ["B62K 15/00", "B62K 19/02"]
    assert patent.fields["country"] == "EP"


@pytest.mark.skipif(not GBD.is_dir(), reason="shared GBD records absent")
def test_real_gbd_records_read_and_round_trip_as_st96() -> None:
    files = sorted(GBD.rglob("*.xml"))
    assert len(files) >= 20
    for path in files:
        records = read_xml(path.read_bytes())
        assert records, path
        assert read_xml(write_st96(records)) == records, path
    [mg] = read_xml((GBD / "mgtm" / "test.xml").read_bytes())
    assert isinstance(mg, TrademarkRecord)
    assert (mg.office, mg.application_number, mg.mark_text) == ("MG", "MG/M/2018/516", "chicetnic")
    assert mg.nice_classes == [14, 18, 21, 24, 25]
    assert mg.vienna_codes == ("03.11.10", "27.05.01", "27.05.08")
    assert mg.applicants == ("RAMIANDRISOA Hery Gedeon",)
    assert mg.status == "Registered" and mg.expiry_date == "2028-07-04"
    [il] = read_xml((GBD / "iltm" / "markfeature.xml").read_bytes())
    assert isinstance(il, TrademarkRecord)
    assert (il.office, il.application_number, il.mark_text) == ("IL", "180001", "BABY MONET")
    assert il.application_date == "2005-04-17" and il.nice_classes == [16]
    assert il.representatives == ("Luzzatto & Luzzatto",)


def test_figurative_mark_without_text_is_read_but_not_indexed() -> None:
    xml = TRADEMARK_XML.replace(b"Blue  Heron", b"")
    [record] = read_xml(xml)
    assert isinstance(record, TrademarkRecord) and record.mark_text is None
    with pytest.raises(InvalidInput, match="figurative"):
        to_document(record)


@pytest.mark.parametrize("name", ["csv", "jsonl"])
def test_csv_and_jsonl_round_trip(name: str) -> None:
    fmt = get_format(name, writing=True)
    assert fmt.read is not None and fmt.write is not None
    records = [EXPECTED_TRADEMARK, EXPECTED_PATENT]
    assert fmt.read(fmt.write(records)) == records


def test_unknown_format_is_named() -> None:
    with pytest.raises(InvalidInput) as caught:
        get_format("st36")
    assert caught.value.field == "format"
    with pytest.raises(InvalidInput, match="st96"):
        get_format("gbd", writing=True)


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        (b"<com:RegistrationOfficeCode>EM", b"<com:RegistrationOfficeCode>EUR", "line 4",
         "two-letter"),
        (b"2019-09-13</tmk:ApplicationDate>", b"13.09.2019</tmk:ApplicationDate>",
         "ApplicationDate (line 8)", "date"),
        (b"<tmk:ClassNumber>25", b"<tmk:ClassNumber>46", "ClassNumber (line 22)", "Nice"),
        (b"<com:CategoryCode>03.07.16", b"<com:CategoryCode>heron", "CategoryCode (line 18)",
         "Vienna"),
        (b"<com:ApplicationNumberText>018123456</com:ApplicationNumberText>", b"",
         "ApplicationNumberText", "required"),
    ],
)  # fmt: skip
def test_structural_errors_name_element_and_line(
    old: bytes, new: bytes, field: str, message: str
) -> None:
    assert old in TRADEMARK_XML
    with pytest.raises(InvalidInput) as caught:
        read_xml(TRADEMARK_XML.replace(old, new))
    assert field in str(caught.value.field), caught.value.field
    assert message in str(caught.value)


def test_not_st96_is_refused_naming_the_root() -> None:
    with pytest.raises(InvalidInput) as caught:
        read_xml(b"<?xml version='1.0'?>\n<html><body/></html>")
    assert "html (line 2)" in str(caught.value.field)


# --- hostile XML ---------------------------------------------------------------------------

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE x SYSTEM "http://example.com/evil.dtd"><x/>"""


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (BILLION_LAUGHS, "DTDs and entity declarations are not allowed (line 2)"),
        (QUADRATIC, "DTDs and entity declarations are not allowed"),
        (XXE_FILE, "DTDs and entity declarations are not allowed"),
        (XXE_NETWORK, "DTDs and entity declarations are not allowed"),
        (EXTERNAL_DTD, "DTDs and entity declarations are not allowed"),
        (b"<x>" * 100 + b"</x>" * 100, "nested 65 deep, more than 64"),
        (b"<x>caf\xe9</x>", "invalid UTF-8 at byte 6 (line 1)"),
        (b"<x><y></x>", "not well-formed XML at line 1"),
        (BILLION_LAUGHS.decode().encode("utf-16-le"), "must be UTF-8"),
        (b"   ", "the document is empty"),
    ],
)
def test_hostile_xml_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(XmlRejected) as caught:
        parse_untrusted(data)
    assert caught.value.field == "xml"
    assert message in str(caught.value)


def test_too_large_is_refused_before_parsing() -> None:
    with pytest.raises(XmlRejected, match="more than 1000"):
        parse_untrusted(b"<x>" + b"a" * 2000 + b"</x>", XmlLimits(max_bytes=1000))


def test_deep_nesting_names_the_element_and_line(tmp_path: Path) -> None:
    data = b"".join(b"<d%d>\n" % i for i in range(70)) + b"".join(
        b"</d%d>" % i for i in reversed(range(70))
    )
    with pytest.raises(XmlRejected, match=r"element <d64> at line 65"):
        parse_untrusted(data)
