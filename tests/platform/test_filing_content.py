"""What a filing must hold per kind: normalised values, and every bad input named by its path."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ipsim.engine.errors import InvalidInput
from ipsim.platform.filing.content import COUNTRIES, parse_filing

SHA = "ab" * 32
APPLICANT = {"name": "ООО «Ромашка»", "country": "ru", "type": "sme"}
GOOD: dict[str, dict[str, Any]] = {
    "invention": {
        "abstract": "A folding bicycle frame.",
        "claims": ["1. A frame that folds.", "2. The frame of claim 1, of aluminium."],
        "ipc": ["b62k15/00", "B62K 15/006"],
    },
    "utility_model": {"abstract": "A hinge.", "claims": ["1. A hinge."]},
    "industrial_design": {"locarno": "12.11", "views": [SHA]},
    "trademark": {"word": "ROMASHKA", "nice_classes": [30, 5], "vienna": ["5.3.13"]},
}


def body(of: str, **changes: Any) -> dict[str, Any]:
    filing: dict[str, Any] = {
        "kind": of,
        "title": f"A {of}",
        "applicant": dict(APPLICANT),
        "content": copy.deepcopy(GOOD[of]),
    }
    for path, value in changes.items():
        target = filing
        *parents, last = path.split("__")
        for part in parents:
            target = target[part]
        if value is ...:
            del target[last]
        else:
            target[last] = value
    return filing


def test_a_good_filing_of_each_kind_is_normalised() -> None:
    invention = parse_filing(body("invention"))
    assert invention.applicant == {"name": "ООО «Ромашка»", "country": "RU", "type": "sme"}
    assert invention.content["ipc"] == ["B62K 15/00", "B62K 15/006"]
    assert invention.claims == 2 and invention.classes == 0 and invention.attachment_refs() == []
    design = parse_filing(body("industrial_design"))
    assert design.content["locarno"] == ["12-11"]
    assert [(u.field, u.sha256) for u in design.attachment_refs()] == [("content.views[0]", SHA)]
    mark = parse_filing(body("trademark"))
    assert mark.content == {"word": "ROMASHKA", "nice_classes": [30, 5], "vienna": ["05.03.13"]}
    assert mark.classes == 2
    image_mark = parse_filing(body("trademark", content__word=..., content__image=SHA))
    assert [u.allowed for u in image_mark.attachment_refs()] == [frozenset({"image"})]


def test_the_fingerprint_is_equal_for_the_same_meaning_and_differs_otherwise() -> None:
    one = parse_filing(body("invention"))
    same = parse_filing(body("invention", applicant__country="RU"))
    other = parse_filing(body("invention", title="Another"))
    assert one.fingerprint() == same.fingerprint() != other.fingerprint()


@pytest.mark.parametrize(
    ("kind", "changes", "field"),
    [
        ("invention", {"kind": "copyright"}, "kind"),
        ("invention", {"kind": ...}, "kind"),
        ("invention", {"title": "  "}, "title"),
        ("invention", {"title": "x" * 501}, "title"),
        ("invention", {"content": ...}, "content"),
        ("invention", {"extra": 1}, "extra"),
        ("invention", {"content__abstract": ...}, "content.abstract"),
        ("invention", {"content__claims": []}, "content.claims"),
        ("invention", {"content__claims": ["ok", "ok", " "]}, "content.claims[2]"),
        ("invention", {"content__claims": ["x"] * 501}, "content.claims"),
        ("invention", {"content__ipc": ["B62K", "Q99"]}, "content.ipc[1]"),
        ("invention", {"content__ipc": ["B62"]}, "content.ipc[0]"),
        ("invention", {"content__views": [SHA]}, "content.views"),
        ("utility_model", {"content__claims": "1. A hinge."}, "content.claims"),
        ("industrial_design", {"content__views": []}, "content.views"),
        ("industrial_design", {"content__views": ["photo.png"]}, "content.views[0]"),
        ("industrial_design", {"content__locarno": ["12-11", "40-01"]}, "content.locarno[1]"),
        ("industrial_design", {"content__locarno": ...}, "content.locarno"),
        ("trademark", {"content__word": ...}, "content.word"),
        ("trademark", {"content__nice_classes": []}, "content.nice_classes"),
        ("trademark", {"content__nice_classes": [3, 46]}, "content.nice_classes[1]"),
        ("trademark", {"content__nice_classes": [0]}, "content.nice_classes[0]"),
        ("trademark", {"content__nice_classes": [3, 9, 3]}, "content.nice_classes[2]"),
        ("trademark", {"content__nice_classes": ["9"]}, "content.nice_classes[0]"),
        ("trademark", {"content__vienna": ["31.01"]}, "content.vienna[0]"),
        ("trademark", {"applicant__country": "XX"}, "applicant.country"),
        ("trademark", {"applicant__country": "RUS"}, "applicant.country"),
        ("trademark", {"applicant__type": "company"}, "applicant.type"),
        ("trademark", {"applicant__name": ...}, "applicant.name"),
        ("trademark", {"applicant__email": "nobody"}, "applicant.email"),
        ("trademark", {"applicant__callback_url": "ftp://x.example"}, "applicant.callback_url"),
        ("trademark", {"applicant__phone": "1"}, "applicant.phone"),
        ("trademark", {"applicant": "ACME"}, "applicant"),
        (
            "trademark",
            {"representative": {"name": "P. Attorney"}},
            "representative.registration_number",
        ),
        ("trademark", {"fields": {"docket": {"nested": 1}}}, "fields.docket"),
        ("trademark", {"fields": {"bad key!": 1}}, "fields"),
        ("trademark", {"fields": {f"k{i}": i for i in range(51)}}, "fields"),
        ("trademark", {"fields": {"note": "x" * 1001}}, "fields.note"),
    ],
)
def test_a_bad_filing_is_an_invalid_input_naming_its_path(
    kind: str, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_filing(body(kind, **changes))
    assert caught.value.field == field, caught.value.message


def test_an_unknown_kind_lists_the_kinds() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_filing(body("invention", kind="copyright"))
    for kind in ("invention", "utility_model", "industrial_design", "trademark"):
        assert kind in caught.value.message


def test_the_country_list_is_iso_3166_alpha_2() -> None:
    assert len(COUNTRIES) == 249
    assert {"RU", "US", "DE", "CN", "SS", "XK"} & COUNTRIES == {"RU", "US", "DE", "CN", "SS"}
    assert all(len(code) == 2 and code.isupper() for code in COUNTRIES)
