"""/v1/applications and /v1/attachments over the real FastAPI app, on SQLite and PostgreSQL:
who may see and move what, idempotent filing, the 409/400/413/415 answers and the feed."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from ipsim.config import Settings
from ipsim.platform.filing.attachments import MAX_ATTACHMENT_BYTES
from ipsim.platform.services import Platform
from ipsim.server.app import create_app
from ipsim.server.auth import ApiKeys

KEYS = """
alice-key write name=alice
bob-key   write name=bob
reader    read  name=reader
office    admin name=office
"""
APPLICANT = {"name": "Alice Inventor", "country": "RU", "type": "individual"}
INVENTION: dict[str, Any] = {
    "kind": "invention",
    "title": "Folding bicycle",
    "applicant": APPLICANT,
    "content": {"abstract": "A frame that folds.", "claims": ["1. A folding frame."]},
    "fields": {"docket": "ALICE-1"},
}


class NoEngine:
    """The filing routes never reach the engine."""

    ready = True


@pytest.fixture
def platform(platform_url: str, tmp_path: Path) -> Iterator[Platform]:
    opened = Platform.open(platform_url, tmp_path)
    yield opened
    opened.database.dispose()


@pytest.fixture
def keys(tmp_path: Path) -> ApiKeys:
    path = tmp_path / "keys"
    path.write_text(KEYS)
    return ApiKeys.load(path)


@pytest.fixture
def as_(platform: Platform, keys: ApiKeys) -> Any:
    app = create_app(NoEngine(), Settings(), keys, platform)  # type: ignore[arg-type]

    def client(key: str) -> TestClient:
        headers = {"Authorization": f"Bearer {key}"}
        return TestClient(app, raise_server_exceptions=False, headers=headers)

    return client


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 120, 0)).save(out, format="PNG")
    return out.getvalue()


def error(answer: Any, status: int) -> str:
    assert answer.status_code == status, answer.text
    message: str = answer.json()["error"]["message"]
    return message


def test_filing_answers_201_with_id_status_fees_and_the_owner_and_office_can_read_it(
    as_: Any,
) -> None:
    alice = as_("alice-key")
    answer = alice.post("/v1/applications", json=INVENTION)
    assert answer.status_code == 201, answer.text
    filed = answer.json()
    assert filed["status"] == "received" and filed["owner"] == "alice"
    assert filed["allowed_transitions"] == ["formal_examination", "withdrawn"]
    assert filed["link"] == f"/v1/applications/{filed['id']}" and filed["deadlines"] == []
    assert filed["fields"] == {"docket": "ALICE-1"}
    [fee] = filed["fees"]
    assert fee["event"] == "filing" and fee["currency"] == "RUB"
    assert isinstance(fee["total"], str) and fee["lines"][0]["code"] == "filing"
    assert [e["kind"] for e in filed["history"]] == ["filed", "fees"]
    assert "Idempotent-Replayed" not in answer.headers
    assert alice.get(filed["link"]).json() == filed
    assert as_("office").get(filed["link"]).status_code == 200
    assert "does not exist" in error(as_("bob-key").get(filed["link"]), 404)
    assert error(as_("reader").post("/v1/applications", json=INVENTION), 403)


def test_an_idempotent_retry_answers_the_first_application_and_a_new_body_conflicts(
    as_: Any,
) -> None:
    alice = as_("alice-key")
    headers = {"Idempotency-Key": "order-77"}
    first = alice.post("/v1/applications", json=INVENTION, headers=headers)
    again = alice.post("/v1/applications", json=INVENTION, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    changed = {**INVENTION, "title": "Another bicycle"}
    message = error(alice.post("/v1/applications", json=changed, headers=headers), 409)
    assert "Idempotency-Key" in message and first.json()["id"] in message
    assert alice.get("/v1/applications").json()["total"] == 1


BAD_FILINGS: list[tuple[dict[str, Any], str]] = [
    ({"kind": "copyright"}, "kind"),
    ({"content": {"claims": ["1. x"]}}, "content.abstract"),
    ({"applicant": {**APPLICANT, "country": "XX"}}, "applicant.country"),
    (
        {"kind": "trademark", "content": {"word": "ACME", "nice_classes": [9, 99]}},
        "content.nice_classes[1]",
    ),
    (
        {"kind": "industrial_design", "content": {"locarno": "12-11", "views": ["ab" * 32]}},
        "content.views[0]",
    ),
    ({"title": ""}, "title"),
]


def test_a_bad_filing_is_a_400_naming_the_field(as_: Any) -> None:
    alice = as_("alice-key")
    for change, field in BAD_FILINGS:
        message = error(alice.post("/v1/applications", json={**INVENTION, **change}), 400)
        assert message.startswith(f"{field}:"), message
    assert error(alice.post("/v1/applications", json=[1, 2]), 400)  # not an object
    assert alice.get("/v1/applications").json()["total"] == 0


def test_transitions_office_moves_owner_withdraws_and_the_machine_answers_409(
    as_: Any,
) -> None:
    alice, office = as_("alice-key"), as_("office")
    link = alice.post("/v1/applications", json=INVENTION).json()["link"]
    moves = f"{link}/transitions"
    message = error(office.post(moves, json={"to": "granted"}), 409)
    assert "'received'" in message and "formal_examination, withdrawn" in message
    assert error(office.post(moves, json={"to": "approved"}), 400).startswith("to:")
    assert error(office.post(moves, json={"to": "search", "why": "x"}), 400)
    assert error(alice.post(moves, json={"to": "formal_examination"}), 403)
    assert error(as_("bob-key").post(moves, json={"to": "withdrawn"}), 404)
    moved = office.post(moves, json={"to": "formal_examination", "reason": "documents complete"})
    assert moved.status_code == 200 and moved.json()["status"] == "formal_examination"
    withdrawn = alice.post(moves, json={"to": "withdrawn", "reason": "abandoned"}).json()
    assert withdrawn["status"] == "withdrawn" and withdrawn["allowed_transitions"] == []
    transitions = [
        (e["from_status"], e["to_status"], e["actor"], e["reason"])
        for e in withdrawn["history"]
        if e["kind"] == "transition"
    ]
    assert transitions == [
        ("received", "formal_examination", "office", "documents complete"),
        ("formal_examination", "withdrawn", "alice", "abandoned"),
    ]
    assert "final" in error(office.post(moves, json={"to": "formal_examination"}), 409)


def test_listing_filters_and_shows_own_or_all_to_the_office(as_: Any) -> None:
    alice, bob, office = as_("alice-key"), as_("bob-key"), as_("office")
    mine = alice.post("/v1/applications", json=INVENTION).json()["id"]
    bobs = {**INVENTION, "applicant": {**APPLICANT, "name": "Боб Строитель"}}
    theirs = bob.post("/v1/applications", json=bobs).json()["id"]
    assert [a["id"] for a in alice.get("/v1/applications").json()["applications"]] == [mine]
    everyone = office.get("/v1/applications").json()
    assert everyone["total"] == 2 and {a["id"] for a in everyone["applications"]} == {mine, theirs}
    found = office.get("/v1/applications", params={"applicant": "строитель"}).json()
    assert [a["id"] for a in found["applications"]] == [theirs]
    assert office.get("/v1/applications", params={"since": "2000-01-01"}).json()["total"] == 2
    assert office.get("/v1/applications", params={"since": "2999-01-01"}).json()["total"] == 0
    for params, field in (
        ({"since": "yesterday"}, "since"),
        ({"since": "2025-02-30"}, "since"),
        ({"status": "lost"}, "status"),
        ({"kind": "copyright"}, "kind"),
        ({"limit": 0}, "limit"),
    ):
        message = error(office.get("/v1/applications", params=params), 400)
        assert message.split(":")[0] in (field, f"query.{field}"), message


def test_the_change_feed_pages_by_after_and_shows_own_events_to_owners(as_: Any) -> None:
    alice, bob, office = as_("alice-key"), as_("bob-key"), as_("office")
    first = alice.post("/v1/applications", json=INVENTION).json()["id"]
    second = bob.post("/v1/applications", json=INVENTION).json()["id"]
    office.post(f"/v1/applications/{first}/transitions", json={"to": "formal_examination"})
    feed = office.get("/v1/applications/changes").json()
    seqs = [c["seq"] for c in feed["changes"]]
    assert seqs == sorted(seqs) and feed["next"] == seqs[-1] and len(seqs) == 5
    last = feed["changes"][-1]
    assert (last["application_id"], last["kind"]) == (first, "transition")
    assert (last["from_status"], last["to_status"]) == ("received", "formal_examination")
    page = office.get("/v1/applications/changes", params={"after": seqs[1], "limit": 2}).json()
    assert [c["seq"] for c in page["changes"]] == seqs[2:4] and page["next"] == seqs[3]
    empty = office.get("/v1/applications/changes", params={"after": seqs[-1]}).json()
    assert empty == {"changes": [], "next": seqs[-1]}
    bobs = bob.get("/v1/applications/changes").json()["changes"]
    assert {c["application_id"] for c in bobs} == {second}
    assert error(office.get("/v1/applications/changes", params={"after": -1}), 400)


def test_attachments_upload_download_and_use_in_a_design(as_: Any) -> None:
    alice = as_("alice-key")
    data = png()
    answer = alice.post("/v1/attachments", content=data, headers={"Content-Type": "image/png"})
    assert answer.status_code == 201, answer.text
    stored = answer.json()
    assert stored["size"] == len(data) and stored["media_type"] == "image/png"
    back = as_("reader").get(f"/v1/attachments/{stored['sha256']}")
    assert back.status_code == 200 and back.content == data
    assert back.headers["content-type"] == "image/png"
    design = {
        **INVENTION,
        "kind": "industrial_design",
        "content": {"locarno": ["12-11"], "views": [stored["sha256"]]},
    }
    assert alice.post("/v1/applications", json=design).status_code == 201
    assert error(alice.get(f"/v1/attachments/{'0' * 64}"), 404)


def test_a_wrong_or_oversized_attachment_is_415_or_413_naming_the_field(as_: Any) -> None:
    alice = as_("alice-key")
    pdf = alice.post(
        "/v1/attachments", content=b"%PDF-1.7 ...", headers={"Content-Type": "application/pdf"}
    )
    assert error(pdf, 415).startswith("content_type:")
    lying = alice.post("/v1/attachments", content=png(), headers={"Content-Type": "image/jpeg"})
    assert error(lying, 415).startswith("content_type:")
    huge = png() + b"\0" * MAX_ATTACHMENT_BYTES
    too_big = alice.post("/v1/attachments", content=huge, headers={"Content-Type": "image/png"})
    assert error(too_big, 413).startswith("body:")
    assert error(as_("reader").post("/v1/attachments", content=png()), 403)
