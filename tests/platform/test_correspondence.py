"""Correspondence threads over a real database (SQLite and PostgreSQL): order, paging,
deadlines from open to answered, overdue, the message events, and every bad input."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from ipsim.engine.errors import InvalidInput, NotFound
from ipsim.platform.filing.applications import events_table
from ipsim.platform.filing.content import parse_filing
from ipsim.platform.filing.correspondence import (
    MAX_ATTACHMENTS,
    MAX_SUBJECT_CHARS,
    CorrespondenceStore,
    NewMessage,
)
from ipsim.platform.filing.notifications import NotifierOptions
from ipsim.platform.services import Platform

TODAY = datetime.now(UTC).date()
DIGEST = "ab" * 32


def filing() -> dict[str, object]:
    return {
        "kind": "invention",
        "title": "Folding bicycle",
        "applicant": {"name": "Ivanova", "country": "RU", "type": "individual"},
        "content": {"abstract": "A bicycle that folds.", "claims": ["A folding frame."]},
    }


@pytest.fixture
def platform(platform_url: str, tmp_path: Path) -> Iterator[Platform]:
    opened = Platform.open(platform_url, tmp_path, notifications=NotifierOptions(secret=b"k"))
    yield opened
    opened.database.dispose()


@pytest.fixture
def application_id(platform: Platform) -> str:
    return platform.applications.file("alice", parse_filing(filing())).application.id


def request(subject: str = "Clarify claim 1", due: date | None = None) -> NewMessage:
    due = due or TODAY + timedelta(days=30)
    return NewMessage("office_request", subject, "Please clarify.", deadline=due.isoformat())


def test_the_thread_comes_back_oldest_first_page_by_page(
    platform: Platform, application_id: str
) -> None:
    store = platform.correspondence
    posted = [
        store.post(application_id, "office", NewMessage("office_notice", f"Notice {i}", "text"))
        for i in range(5)
    ]
    assert [m.id for m in posted] == sorted(m.id for m in posted)
    page, more = store.thread(application_id, limit=2)
    assert [m.subject for m in page] == ["Notice 0", "Notice 1"] and more
    page, more = store.thread(application_id, after=page[-1].id, limit=2)
    assert [m.subject for m in page] == ["Notice 2", "Notice 3"] and more
    page, more = store.thread(application_id, after=page[-1].id, limit=2)
    assert [m.subject for m in page] == ["Notice 4"] and not more
    assert store.thread(application_id, after=posted[-1].id) == ([], False)
    other = platform.applications.file("bob", parse_filing(filing())).application.id
    assert store.thread(other) == ([], False)


def test_a_message_is_kept_as_written_with_its_event(
    platform: Platform, application_id: str
) -> None:
    message = platform.correspondence.post(
        application_id,
        "alice",
        NewMessage("applicant_note", "New address", "Line 1\nLine 2", [DIGEST, DIGEST]),
    )
    assert (message.kind, message.author, message.body) == (
        "applicant_note",
        "alice",
        "Line 1\nLine 2",
    )
    assert message.attachments == [DIGEST]  # a digest listed twice is kept once
    assert message.deadline is None and message.in_reply_to is None
    assert message.created.endswith("Z")
    with platform.database.connect() as db:
        events = db.execute(
            select(events_table).where(
                events_table.c.application_id == application_id, events_table.c.kind == "message"
            )
        ).all()
    assert [(e.actor, e.data) for e in events] == [
        (
            "alice",
            {"message_id": message.id, "message_kind": "applicant_note", "subject": "New address"},
        )
    ]


def test_a_deadline_is_open_until_answered_then_closed(
    platform: Platform, application_id: str
) -> None:
    store = platform.correspondence
    due = TODAY + timedelta(days=10)
    asked = store.post(application_id, "office", request(due=due))
    assert asked.deadline == due.isoformat()
    [deadline] = store.deadlines(application_id)
    assert (deadline.message_id, deadline.due, deadline.open, deadline.overdue) == (
        asked.id,
        due.isoformat(),
        True,
        False,
    )
    answer = store.post(
        application_id,
        "alice",
        NewMessage("applicant_response", "Re: claim 1", "Clarified.", in_reply_to=asked.id),
    )
    assert answer.in_reply_to == asked.id
    [deadline] = store.deadlines(application_id)
    assert not deadline.open and not deadline.overdue
    assert deadline.answered_by == answer.id and deadline.answered_at is not None
    second = store.post(
        application_id,
        "alice",
        NewMessage("applicant_response", "Re: claim 1 again", "More.", in_reply_to=asked.id),
    )
    [deadline] = store.deadlines(application_id)
    assert deadline.answered_by == answer.id != second.id  # the first answer closed it
    thread, _ = store.thread(application_id)
    assert thread[0].answered_by == answer.id


def test_overdue_is_computed_against_today_and_open_ones_come_first(
    platform: Platform, application_id: str
) -> None:
    store = platform.correspondence
    late = store.post(application_id, "office", request("Late", TODAY + timedelta(days=2)))
    later = store.post(application_id, "office", request("Later", TODAY + timedelta(days=5)))
    answered = store.post(application_id, "office", request("Answered", TODAY + timedelta(days=1)))
    store.post(
        application_id,
        "alice",
        NewMessage("applicant_response", "Done", "Done.", in_reply_to=answered.id),
    )
    store.post(application_id, "office", NewMessage("office_request", "No deadline", "Tell us."))
    on = {d.message_id: d for d in store.deadlines(application_id, today=TODAY)}
    assert not any(d.overdue for d in on.values())
    after = store.deadlines(application_id, today=TODAY + timedelta(days=3))
    assert [(d.message_id, d.open, d.overdue) for d in after] == [
        (late.id, True, True),
        (later.id, True, False),
        (answered.id, False, False),
    ]
    # The due day itself is still in time.
    on_day = {
        d.message_id: d.overdue
        for d in store.deadlines(application_id, today=TODAY + timedelta(days=5))
    }
    assert on_day[later.id] is False


BAD_MESSAGES = [
    (NewMessage("office_memo", "s", "b"), "kind"),
    (NewMessage(None, "s", "b"), "kind"),
    (NewMessage("office_notice", "  ", "b"), "subject"),
    (NewMessage("office_notice", "a\nb", "b"), "subject"),
    (NewMessage("office_notice", "s" * (MAX_SUBJECT_CHARS + 1), "b"), "subject"),
    (NewMessage("office_notice", "s", ""), "body"),
    (NewMessage("office_notice", "s", "bell\x07"), "body"),
    (NewMessage("office_notice", "s", 5), "body"),
    (NewMessage("office_notice", "s", "b", "ab" * 32), "attachments"),
    (NewMessage("office_notice", "s", "b", [DIGEST, "AB" * 32]), "attachments[1]"),
    (NewMessage("office_notice", "s", "b", [DIGEST] * (MAX_ATTACHMENTS + 1)), "attachments"),
    (NewMessage("office_notice", "s", "b", deadline="2999-01-01"), "deadline"),
    (NewMessage("office_request", "s", "b", deadline=TODAY.isoformat()), "deadline"),
    (NewMessage("office_request", "s", "b", deadline="2020-01-01"), "deadline"),
    (NewMessage("office_request", "s", "b", deadline="2031-02-30"), "deadline"),
    (NewMessage("office_request", "s", "b", deadline="next week"), "deadline"),
    (NewMessage("office_request", "s", "b", deadline="9999-01-01"), "deadline"),
    (NewMessage("office_request", "s", "b", deadline=20310101), "deadline"),
    (NewMessage("applicant_response", "s", "b"), "in_reply_to"),
    (NewMessage("applicant_note", "s", "b", in_reply_to=0), "in_reply_to"),
    (NewMessage("applicant_note", "s", "b", in_reply_to=True), "in_reply_to"),
    (NewMessage("applicant_note", "s", "b", in_reply_to=10**6), "in_reply_to"),
]


def test_a_bad_message_is_refused_naming_its_field(platform: Platform, application_id: str) -> None:
    for message, field in BAD_MESSAGES:  # one database for all: a fresh one costs a second
        with pytest.raises(InvalidInput) as caught:
            platform.correspondence.post(application_id, "alice", message)
        assert caught.value.field == field, message
    assert platform.correspondence.thread(application_id) == ([], False)


def test_a_reply_must_belong_to_the_thread_and_a_response_answer_a_request(
    platform: Platform, application_id: str
) -> None:
    store = platform.correspondence
    other = platform.applications.file("bob", parse_filing(filing())).application.id
    elsewhere = store.post(other, "office", request())
    notice = store.post(application_id, "office", NewMessage("office_notice", "FYI", "text"))
    for target in (elsewhere.id, notice.id):
        with pytest.raises(InvalidInput) as caught:
            store.post(
                application_id,
                "alice",
                NewMessage("applicant_response", "Re", "text", in_reply_to=target),
            )
        assert caught.value.field == "in_reply_to"
    assert store.deadlines(other)[0].open  # a reply from another thread closed nothing


def test_an_unknown_application_is_not_found(platform: Platform) -> None:
    with pytest.raises(NotFound):
        platform.correspondence.post("A0000000000000000", "office", request())
    with pytest.raises(InvalidInput) as caught:
        CorrespondenceStore(platform.database).thread("A0000000000000000", limit=0)
    assert caught.value.field == "limit"
