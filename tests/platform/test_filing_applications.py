"""Applications on SQLite and PostgreSQL: filing, idempotency under concurrent retries, the
status machine applied exhaustively, fees by the schedule of the day, tracking and the feed."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from ipsim.engine.errors import Conflict, InvalidInput, NotFound
from ipsim.platform import migrate
from ipsim.platform.database import open_database, writer
from ipsim.platform.filing.applications import (
    ApplicationStore,
    applications_table,
    parse_since,
    record_event,
)
from ipsim.platform.filing.attachments import AttachmentStore
from ipsim.platform.filing.content import Filing, parse_filing
from ipsim.platform.filing.fees import FeeSchedule
from ipsim.platform.filing.states import FINAL, INITIAL, KINDS, STATES, machine_for

SCHEDULE = FeeSchedule.load()
STL = b"solid t\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nendloop\nendfacet\nendsolid t\n"


@dataclass
class Clock:
    now: datetime = datetime(2025, 6, 2, 9, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Stores:
    engine: Engine
    applications: ApplicationStore
    attachments: AttachmentStore
    clock: Clock
    view_sha: str


@pytest.fixture
def stores(platform_url: str, tmp_path: Path) -> Iterator[Stores]:
    engine = open_database(platform_url)
    migrate.upgrade(engine)
    attachments = AttachmentStore(engine, tmp_path)
    clock = Clock()
    view = attachments.put(STL, "model/stl", "alice").sha256
    yield Stores(
        engine, ApplicationStore(engine, attachments, SCHEDULE, clock), attachments, clock, view
    )
    engine.dispose()


def filing(kind: str, view_sha: str = "0" * 64, **extra: Any) -> Filing:
    content: dict[str, Any] = {
        "invention": {"abstract": "A folding frame.", "claims": ["1. A frame.", "2. It folds."]},
        "utility_model": {"abstract": "A hinge.", "claims": ["1. A hinge."]},
        "industrial_design": {"locarno": "12-11", "views": [view_sha]},
        "trademark": {"word": "ROMASHKA", "nice_classes": [30, 5]},
    }[kind]
    applicant = {"name": extra.pop("name", "Ромашка LLC"), "country": "RU", "type": "legal_entity"}
    return parse_filing(
        {"kind": kind, "title": f"A {kind}", "applicant": applicant, "content": content, **extra}
    )


def file(stores: Stores, kind: str = "invention", owner: str = "alice", **extra: Any) -> str:
    return stores.applications.file(owner, filing(kind, stores.view_sha, **extra)).application.id


def count_applications(engine: Engine) -> int:
    with engine.connect() as db:
        return int(db.execute(select(func.count()).select_from(applications_table)).scalar_one())


# --- filing -------------------------------------------------------------------------


def test_a_filed_application_is_received_with_its_filing_fee_and_first_event(
    stores: Stores,
) -> None:
    filed = stores.applications.file("alice", filing("invention"))
    application = filed.application
    assert not filed.replayed
    assert application.id.startswith("A") and len(application.id) == 17
    assert int(application.id[1:], 16) >= 0
    assert (application.status, application.owner, application.kind) == (
        "received",
        "alice",
        "invention",
    )
    assert application.created == stores.clock.now
    assert stores.applications.get(application.id) == application
    [fee] = stores.applications.fees(application.id)
    # 2025.1 schedule, invention filing: 3600.00, 2 claims (none over 10), no reduction
    assert (fee.event, fee.total, fee.currency, fee.schedule_version) == (
        "filing",
        Decimal("3600.00"),
        "RUB",
        "2025.1",
    )
    assert fee.to_json()["total"] == "3600.00" and fee.to_json()["event"] == "filing"
    kinds = [(e.kind, e.to_status, e.actor) for e in stores.applications.history(application.id)]
    assert kinds == [("filed", "received", "alice"), ("fees", None, "alice")]


def test_attachments_must_exist_and_be_of_the_right_family(stores: Stores) -> None:
    assert file(stores, "industrial_design")  # the stored STL view
    with pytest.raises(InvalidInput) as caught:
        stores.applications.file("alice", filing("industrial_design", "f" * 64))
    assert caught.value.field == "content.views[0]" and "uploaded" in caught.value.message
    mark = filing("trademark", content={"image": stores.view_sha, "nice_classes": [9]})
    with pytest.raises(InvalidInput) as wrong:
        stores.applications.file("alice", mark)
    assert wrong.value.field == "content.image" and "model/stl" in wrong.value.message
    assert count_applications(stores.engine) == 1


# --- idempotency --------------------------------------------------------------------


def test_a_keyed_retry_answers_the_first_application_and_another_body_is_a_conflict(
    stores: Stores,
) -> None:
    first = stores.applications.file("alice", filing("invention"), idempotency_key="k-1")
    again = stores.applications.file("alice", filing("invention"), idempotency_key="k-1")
    assert again.replayed and again.application == first.application
    other_owner = stores.applications.file("bob", filing("invention"), idempotency_key="k-1")
    assert not other_owner.replayed and other_owner.application.id != first.application.id
    with pytest.raises(Conflict) as caught:
        stores.applications.file("alice", filing("trademark"), idempotency_key="k-1")
    assert (
        "Idempotency-Key" in caught.value.message and first.application.id in caught.value.message
    )
    with pytest.raises(InvalidInput) as bad:
        stores.applications.file("alice", filing("invention"), idempotency_key="ключ")
    assert bad.value.field == "Idempotency-Key"
    assert count_applications(stores.engine) == 2


def test_eight_concurrent_retries_with_one_key_make_exactly_one_application(
    stores: Stores,
) -> None:
    barrier = threading.Barrier(8)

    def post(_: int) -> tuple[str, bool]:
        barrier.wait()
        filed = stores.applications.file("alice", filing("trademark"), idempotency_key="retry")
        return filed.application.id, filed.replayed

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(post, range(8)))
    assert len({application_id for application_id, _ in answers}) == 1
    assert sorted(replayed for _, replayed in answers) == [False] + [True] * 7
    assert count_applications(stores.engine) == 1
    assert len(stores.applications.fees(answers[0][0])) == 1


# --- the status machine -------------------------------------------------------------


def _paths(kind: str) -> dict[str, list[str]]:
    """The shortest path of transitions from ``received`` to each status."""
    machine, paths, todo = machine_for(kind), {INITIAL: list[str]()}, deque([INITIAL])
    while todo:
        status = todo.popleft()
        for following in machine.allowed(status):
            if following not in paths:
                paths[following] = [*paths[status], following]
                todo.append(following)
    return paths


def _in_status(stores: Stores, kind: str, path: list[str]) -> str:
    application_id = file(stores, kind)
    for status in path:
        stores.applications.transition(application_id, status, "office")
    return application_id


@pytest.mark.parametrize("kind", KINDS)
def test_every_forbidden_transition_is_a_conflict_and_every_allowed_one_succeeds(
    stores: Stores, kind: str
) -> None:
    store = stores.applications
    for status, path in _paths(kind).items():
        application_id = _in_status(stores, kind, path)
        allowed = machine_for(kind).allowed(status)
        for target in STATES:
            if target in allowed:
                continue
            with pytest.raises(Conflict) as caught:
                store.transition(application_id, target, "office")
            assert repr(status) in caught.value.message, (status, target)
            assert store.get(application_id).status == status
        for i, target in enumerate(allowed):
            moving = application_id if i == len(allowed) - 1 else _in_status(stores, kind, path)
            moved = store.transition(moving, target, "office", f"to {target}")
            assert moved.status == target and store.get(moving).status == target
            last = [e for e in store.history(moving) if e.kind == "transition"][-1]
            assert (last.from_status, last.to_status, last.actor, last.reason) == (
                status,
                target,
                "office",
                f"to {target}",
            )
        if status in FINAL:
            assert allowed == ()


def test_an_unknown_status_or_reason_or_application_is_refused(stores: Stores) -> None:
    application_id = file(stores)
    with pytest.raises(InvalidInput) as caught:
        stores.applications.transition(application_id, "approved", "office")
    assert caught.value.field == "to"
    with pytest.raises(InvalidInput) as reason:
        stores.applications.transition(application_id, "withdrawn", "office", " ")
    assert reason.value.field == "reason"
    with pytest.raises(NotFound):
        stores.applications.transition("A0000000000000000", "withdrawn", "office")
    assert stores.applications.get(application_id).status == "received"


def test_of_two_concurrent_transitions_from_one_status_exactly_one_wins(stores: Stores) -> None:
    for _ in range(3):
        application_id = file(stores)
        barrier = threading.Barrier(2)

        def move(
            target: str, application_id: str = application_id, barrier: threading.Barrier = barrier
        ) -> str:
            barrier.wait()
            try:
                return stores.applications.transition(application_id, target, "office").status
            except Conflict:
                return "conflict"

        with ThreadPoolExecutor(2) as pool:
            outcomes = sorted(pool.map(move, ["formal_examination", "withdrawn"]))
        assert outcomes in (["conflict", "formal_examination"], ["conflict", "withdrawn"])
        winner = next(o for o in outcomes if o != "conflict")
        assert stores.applications.get(application_id).status == winner
        moves = [e for e in stores.applications.history(application_id) if e.kind == "transition"]
        assert [e.to_status for e in moves] == [winner]


# --- fees ---------------------------------------------------------------------------


def test_fees_of_later_events_use_the_schedule_in_force_on_their_day(stores: Stores) -> None:
    # The office's calendar is Moscow's: 20:00 UTC on 30 June is still 30 June there, 21:00
    # UTC is already 1 July, when 2026.2 comes into force.
    stores.clock.now = datetime(2026, 6, 30, 20, 0, tzinfo=UTC)  # 2025.1 still in force
    application_id = file(stores, "trademark")
    stores.applications.transition(application_id, "formal_examination", "office")
    stores.clock.now = datetime(2026, 6, 30, 21, 0, tzinfo=UTC)  # 2026.2 from this day
    stores.applications.transition(application_id, "substantive_examination", "office")
    fees = stores.applications.fees(application_id)
    # 2025.1 trademark filing: 3850.00 + 1 class over one × 1100.00 = 4950.00
    # 2026.2 trademark examination: 13535.50 + 1 class over one × 2942.50 = 16478.00
    assert [(f.event, f.schedule_version, f.total) for f in fees] == [
        ("filing", "2025.1", Decimal("4950.00")),
        ("examination", "2026.2", Decimal("16478.00")),
    ]
    fee_events = [e.data for e in stores.applications.history(application_id) if e.kind == "fees"]
    assert [d and d["total"] for d in fee_events] == ["4950.00", "16478.00"]


def test_an_invention_pays_search_examination_and_grant_on_entering_them(stores: Stores) -> None:
    application_id = _in_status(
        stores,
        "invention",
        [
            "formal_examination",
            "search",
            "substantive_examination",
            "decision_to_grant",
            "granted",
        ],
    )
    events = [f.event for f in stores.applications.fees(application_id)]
    assert events == ["filing", "search", "examination", "grant"]


# --- tracking and the change feed ---------------------------------------------------


def test_find_filters_by_owner_status_applicant_kind_and_since(stores: Stores) -> None:
    early = file(stores, "invention", name="Иванов Иван")
    stores.clock.now = datetime(2025, 7, 1, tzinfo=UTC)
    mark = file(stores, "trademark", owner="bob", name="ACME 100%_Corp")
    stores.applications.transition(early, "withdrawn", "alice")
    find = stores.applications.find
    assert [a.id for a in find()[0]] == [mark, early]  # newest first
    assert find(owner="bob")[1] == 1
    assert [a.id for a in find(status="withdrawn")[0]] == [early]
    assert [a.id for a in find(applicant="ИВАНОВ")[0]] == [early]  # Cyrillic, any case
    assert [a.id for a in find(applicant="100%_c")[0]] == [mark]  # LIKE characters are literal
    assert find(applicant="100%%")[1] == 0
    assert [a.id for a in find(kind="trademark")[0]] == [mark]
    since = parse_since("2025-07-01")
    assert {a.id for a in find(since=since)[0]} == {early, mark}  # early changed status then
    assert find(since=parse_since("2025-07-01T00:00:01+00:00"))[1] == 0
    assert [a.id for a in find(limit=1, offset=1)[0]] == [early]
    for bad, field in (
        ({"status": "lost"}, "status"),
        ({"kind": "copyright"}, "kind"),
        ({"applicant": " "}, "applicant"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
    ):
        with pytest.raises(InvalidInput) as caught:
            find(**bad)
        assert caught.value.field == field
    with pytest.raises(InvalidInput) as caught:
        parse_since("2025-13-01")
    assert caught.value.field == "since"


def test_the_change_feed_is_in_seq_order_pages_by_after_and_filters_by_owner(
    stores: Stores,
) -> None:
    one = file(stores, "invention")
    two = file(stores, "trademark", owner="bob")
    stores.applications.transition(one, "formal_examination", "office", "complete")
    stores.applications.transition(two, "withdrawn", "bob")
    changes = stores.applications.changes
    every = changes(0, 100)
    seqs = [e.seq for e in every]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs) == 6
    assert [(e.application_id, e.kind) for e in every] == [
        (one, "filed"),
        (one, "fees"),
        (two, "filed"),
        (two, "fees"),
        (one, "transition"),
        (two, "transition"),
    ]
    first, rest = changes(0, 4), changes(every[3].seq, 100)
    assert first + rest == every
    assert changes(every[-1].seq, 100) == []
    assert [e.application_id for e in changes(0, 100, owner="bob")] == [two, two, two]
    assert every[4].to_json()["at"].endswith("Z") and every[4].reason == "complete"
    with pytest.raises(InvalidInput) as caught:
        changes(-1, 10)
    assert caught.value.field == "after"


def test_an_open_appending_transaction_holds_back_the_next_append(stores: Stores) -> None:
    """Events commit in seq order, so a reader following ``after`` can never skip one."""
    application_id = file(stores)
    other = file(stores, "trademark")
    done = threading.Event()
    with writer(stores.engine).begin() as db:
        held = record_event(db, application_id, "message", "office", {"n": 1})
        thread = threading.Thread(
            target=lambda: (stores.applications.transition(other, "withdrawn", "alice"), done.set())
        )
        thread.start()
        assert not done.wait(0.5), "a second append went ahead of an uncommitted one"
        assert stores.applications.changes(held - 1, 10) == []  # not committed: not visible
    thread.join(10)
    assert done.is_set()
    tail = stores.applications.changes(held - 1, 10)
    assert tail[0].seq == held and all(e.seq > held for e in tail[1:])
    assert [e.kind for e in tail] == ["message", "transition"]


def test_record_event_refuses_an_unknown_kind(stores: Stores) -> None:
    application_id = file(stores)
    with pytest.raises(ValueError, match="event kind"), writer(stores.engine).begin() as db:
        record_event(db, application_id, "gossip", "office", None)


def test_get_visible_hides_other_owners_applications(stores: Stores) -> None:
    application_id = file(stores)
    store = stores.applications
    assert store.get_visible(application_id, "alice", office=False).id == application_id
    assert store.get_visible(application_id, "boss", office=True).id == application_id
    with pytest.raises(NotFound):
        store.get_visible(application_id, "mallory", office=False)
    with pytest.raises(NotFound):
        store.get("A" + "0" * 16)
