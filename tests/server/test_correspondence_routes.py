"""/v1/applications/{id}/messages and …/notifications over the real FastAPI app, on SQLite
and PostgreSQL: who may write and read what, deadlines in the application's status, the SDK,
and every bad input a 400 naming its field."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from ipsim.clients.errors import BadRequest, NotFound, PermissionDenied
from ipsim.clients.http import AsyncClient
from ipsim.config import Settings
from ipsim.platform.filing.notifications import NotifierOptions
from ipsim.platform.services import Platform
from ipsim.server.app import create_app
from ipsim.server.auth import ApiKeys

KEYS = """
alice-key write name=alice
bob-key   write name=bob
reader    read  name=reader
office    admin name=office
"""
BASE = "http://test"
IN_A_MONTH = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
INVENTION: dict[str, Any] = {
    "kind": "invention",
    "title": "Folding bicycle",
    "applicant": {
        "name": "Alice Inventor",
        "country": "RU",
        "type": "individual",
        "callback_url": "http://127.0.0.1:9/hooks",
    },
    "content": {"abstract": "A frame that folds.", "claims": ["1. A folding frame."]},
}
REQUEST = {
    "kind": "office_request",
    "subject": "Claim 1",
    "body": "Clarify.",
    "deadline": IN_A_MONTH,
}


class NoEngine:
    """The correspondence routes never reach the engine."""

    ready = True


@pytest.fixture
def platform(platform_url: str, tmp_path: Path) -> Iterator[Platform]:
    # Private callback addresses refused: the …/notifications test shows the refusal.
    opened = Platform.open(platform_url, tmp_path, notifications=NotifierOptions(secret=b"k"))
    yield opened
    asyncio.run(opened.notifier.close())
    opened.database.dispose()


@pytest.fixture
def app(platform: Platform, tmp_path: Path) -> Any:
    path = tmp_path / "keys"
    path.write_text(KEYS)
    return create_app(NoEngine(), Settings(), ApiKeys.load(path), platform)  # type: ignore[arg-type]


@pytest.fixture
def as_(app: Any) -> Any:
    def client(key: str) -> TestClient:
        headers = {"Authorization": f"Bearer {key}"}
        return TestClient(app, raise_server_exceptions=False, headers=headers)

    return client


@pytest.fixture
def application_id(as_: Any) -> str:
    answer = as_("alice-key").post("/v1/applications", json=INVENTION)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def messages_path(application_id: str) -> str:
    return f"/v1/applications/{application_id}/messages"


def error(answer: Any, status: int) -> str:
    assert answer.status_code == status, answer.text
    message: str = answer.json()["error"]["message"]
    return message


def test_a_request_answered_by_the_applicant_closes_its_deadline_in_the_status(
    as_: Any, application_id: str
) -> None:
    office, alice = as_("office"), as_("alice-key")
    path = messages_path(application_id)
    asked = office.post(path, json=REQUEST)
    assert asked.status_code == 201, asked.text
    request = asked.json()
    assert (request["kind"], request["author"], request["deadline"]) == (
        "office_request",
        "office",
        IN_A_MONTH,
    )
    [deadline] = alice.get(f"/v1/applications/{application_id}").json()["deadlines"]
    assert deadline == {
        "message_id": request["id"],
        "subject": "Claim 1",
        "due": IN_A_MONTH,
        "open": True,
        "overdue": False,
        "answered_by": None,
        "answered_at": None,
    }
    reply = {
        "kind": "applicant_response",
        "subject": "Re",
        "body": "Done.",
        "in_reply_to": request["id"],
    }
    answered = alice.post(path, json=reply)
    assert answered.status_code == 201, answered.text
    [deadline] = office.get(f"/v1/applications/{application_id}").json()["deadlines"]
    assert deadline["open"] is False and deadline["answered_by"] == answered.json()["id"]
    thread = alice.get(path).json()
    assert [m["kind"] for m in thread["messages"]] == ["office_request", "applicant_response"]
    assert thread["next_after"] is None
    history = office.get(f"/v1/applications/{application_id}").json()["history"]
    assert [e["data"]["message_kind"] for e in history if e["kind"] == "message"] == [
        "office_request",
        "applicant_response",
    ]


def test_who_may_write_and_read_the_thread(as_: Any, application_id: str) -> None:
    path = messages_path(application_id)
    note = {"kind": "applicant_note", "subject": "Hello", "body": "A note."}
    notice = {"kind": "office_notice", "subject": "FYI", "body": "A notice."}
    unknown = error(as_("bob-key").get(messages_path("A0000000000000000")), 404)
    # To a stranger the application does not exist, whatever they try.
    assert error(as_("bob-key").get(path), 404) == unknown.replace(
        "A0000000000000000", application_id
    )
    error(as_("bob-key").post(path, json=note), 404)
    error(as_("bob-key").post(path, json=notice), 404)
    error(as_("reader").get(path), 404)
    error(as_("reader").post(path, json=note), 403)  # a read-only key writes nothing
    assert "office" in error(as_("alice-key").post(path, json=notice), 403)
    assert "applicant" in error(as_("office").post(path, json=note), 403)
    assert as_("alice-key").post(path, json=note).status_code == 201
    assert as_("office").post(path, json=notice).status_code == 201
    assert len(as_("office").get(path).json()["messages"]) == 2
    error(as_("bob-key").get(f"/v1/applications/{application_id}/notifications"), 404)


@pytest.mark.parametrize("role", ["office", "alice-key"])
def test_bad_messages_and_queries_are_400s_naming_the_field(
    as_: Any, application_id: str, role: str
) -> None:
    client = as_(role)
    path = messages_path(application_id)
    kind = "office_request" if role == "office" else "applicant_note"
    good = {"kind": kind, "subject": "s", "body": "b"}
    cases: list[tuple[dict[str, Any], str]] = [
        ({**good, "kind": "memo"}, "kind"),
        ({"kind": kind, "body": "b"}, "subject"),
        ({**good, "subject": ""}, "subject"),
        ({**good, "body": 7}, "body"),
        ({**good, "colour": "red"}, "colour"),
        ({**good, "attachments": ["xyz"]}, "attachments[0]"),
        ({**good, "attachments": "ab" * 32}, "attachments"),
        ({**good, "deadline": "2020-01-01"}, "deadline"),
        ({**good, "deadline": "31.12.2099"}, "deadline"),
        ({**good, "in_reply_to": "1"}, "in_reply_to"),
        ({**good, "in_reply_to": 999999}, "in_reply_to"),
    ]
    for body, field in cases:
        assert error(client.post(path, json=body), 400).startswith(f"{field}:"), body
    for query, field in (("limit=0", "limit"), ("after=-1", "after"), ("limit=x", "limit")):
        assert error(client.get(f"{path}?{query}"), 400).startswith(f"query.{field}:")
    assert error(
        client.post(path, content=b"{nope", headers={"Content-Type": "application/json"}), 400
    )
    error(client.post(messages_path("A0000000000000000"), json=good), 404)
    assert client.get(path).json()["messages"] == []


def test_the_sdk_pages_the_thread_and_shows_refused_callbacks(
    app: Any, platform: Platform, application_id: str
) -> None:
    async def scenario() -> None:
        transport = httpx.ASGITransport(app)
        async with (
            AsyncClient(BASE, api_key="office", transport=transport) as office,
            AsyncClient(BASE, api_key="alice-key", transport=transport) as alice,
        ):
            first = await office.post_message(
                application_id, "office_request", "Claim 1", "Clarify.", deadline=IN_A_MONTH
            )
            for i in range(3):
                await alice.post_message(application_id, "applicant_note", f"Note {i}", "text")
            await alice.post_message(
                application_id, "applicant_response", "Re", "Done.", in_reply_to=first["id"]
            )
            page = await alice.list_messages(application_id, limit=3)
            assert [m["subject"] for m in page["messages"]] == ["Claim 1", "Note 0", "Note 1"]
            rest = await alice.list_messages(application_id, after=page["next_after"], limit=3)
            assert [m["subject"] for m in rest["messages"]] == ["Note 2", "Re"]
            assert rest["next_after"] is None
            with pytest.raises(BadRequest, match=r"deadline: only an office_request"):
                await office.post_message(
                    application_id, "office_notice", "s", "b", deadline=IN_A_MONTH
                )
            with pytest.raises(PermissionDenied):
                await alice.post_message(application_id, "office_notice", "s", "b")
            with pytest.raises(NotFound):
                await alice.list_messages("A0000000000000000")
            await platform.notifier.run_once()
            sent = (await alice.list_notifications(application_id))["notifications"]
            assert [n["attempts"] for n in sent] == [1, 1]  # the filing fee, the request
            assert all(n["delivered_at"] is None and n["next_attempt_at"] is None for n in sent)
            assert all("non-public address 127.0.0.1" in n["last_error"] for n in sent)

    asyncio.run(scenario())
