"""Callback notifications to a real HTTP receiver on a real database (SQLite, PostgreSQL):
what is sent and signed, retries with back-off, restarts, two notifiers at once, the SSRF
guard and the signing key."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from ipsim.config import Settings
from ipsim.platform.filing.content import parse_filing
from ipsim.platform.filing.correspondence import NewMessage
from ipsim.platform.filing.notifications import (
    ID_HEADER,
    SIGNATURE_HEADER,
    Notifier,
    NotifierOptions,
    Refused,
    Round,
    load_secret,
    notifications_table,
    notifier_options,
    resolve_callback,
    sign,
)
from ipsim.platform.services import Platform

SECRET = b"test-secret"
IN_A_MONTH = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
FAST = NotifierOptions(secret=SECRET, allow_private=True, backoff_s=0.05, timeout_s=5.0)


@dataclass
class Receiver:
    """A real HTTP server: answers each POST with the next scripted status (then 200)."""

    statuses: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            status = self.statuses.pop(0) if self.statuses else 200
            self.received.append((headers, body, status))
            return status

    def delivered(self) -> list[dict[str, Any]]:
        """The bodies answered with a 2xx, as JSON."""
        return [json.loads(body) for _, body, status in self.received if status < 300]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = state.answer(dict(self.headers.items()), body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/ipsim"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def platform(platform_url: str, tmp_path: Path) -> Iterator[Platform]:
    opened = Platform.open(platform_url, tmp_path, notifications=FAST)
    yield opened
    asyncio.run(opened.notifier.close())
    opened.database.dispose()


def file(platform: Platform, callback_url: str | None) -> str:
    applicant: dict[str, Any] = {"name": "Ivanova", "country": "RU", "type": "individual"}
    if callback_url:
        applicant["callback_url"] = callback_url
    body = {
        "kind": "invention",
        "title": "Folding bicycle",
        "applicant": applicant,
        "content": {"abstract": "A bicycle that folds.", "claims": ["A folding frame."]},
    }
    return platform.applications.file("alice", parse_filing(body)).application.id


def run(notifier: Notifier) -> Round:
    return asyncio.run(notifier.run_once())


def drain(notifier: Notifier, application_id: str, rounds: int = 50) -> None:
    """Run rounds until none of the application's notifications is due again."""

    async def loop() -> None:
        for _ in range(rounds):
            await notifier.run_once()
            if all(d.next_attempt_at is None for d in notifier.deliveries(application_id)):
                return
            await asyncio.sleep(0.05)  # the back-off
        raise AssertionError("notifications still pending")

    asyncio.run(loop())


def test_office_events_reach_the_callback_signed_and_once(
    platform: Platform, receiver: Receiver
) -> None:
    application_id = file(platform, receiver.url)
    silent = file(platform, None)
    platform.applications.transition(application_id, "formal_examination", "office", "complete")
    platform.applications.transition(silent, "formal_examination", "office")
    asked = platform.correspondence.post(
        application_id,
        "office",
        NewMessage("office_request", "Clarify", "Claim 1?", deadline=IN_A_MONTH),
    )
    platform.correspondence.post(application_id, "alice", NewMessage("applicant_note", "Hi", "x"))
    first = run(platform.notifier)
    assert first.delivered == first.queued == 3 and first.failed == 0  # fees, transition, request
    bodies = sorted(receiver.delivered(), key=lambda b: b["id"])  # sent concurrently
    assert [b["event"] for b in bodies] == ["fees", "transition", "message"]
    assert {b["application_id"] for b in bodies} == {application_id}
    transition = bodies[1]
    assert (transition["from_status"], transition["to_status"], transition["reason"]) == (
        "received",
        "formal_examination",
        "complete",
    )
    assert bodies[2]["data"]["message_id"] == asked.id
    assert bodies[2]["data"]["message_kind"] == "office_request"
    assert transition["link"] == f"/v1/applications/{application_id}"
    assert len({b["id"] for b in bodies}) == 3
    for headers, body, _ in receiver.received:
        expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers[SIGNATURE_HEADER], expected)
        assert headers[ID_HEADER] == str(json.loads(body)["id"])
        assert headers["Content-Type"] == "application/json"
    assert run(platform.notifier) == Round(0, 0, 0)
    assert len(receiver.received) == 3
    [delivery, *_] = platform.notifier.deliveries(application_id)
    assert delivery.attempts == 1 and delivery.delivered_at and delivery.last_error is None
    assert platform.notifier.deliveries(silent) == []


def test_a_failing_receiver_gets_it_once_successfully_after_retries(
    platform: Platform, receiver: Receiver
) -> None:
    application_id = file(platform, receiver.url)
    receiver.statuses = [500, 503]
    drain(platform.notifier, application_id)
    [delivery] = platform.notifier.deliveries(application_id)  # the filing fee
    assert delivery.attempts == 3 and delivery.delivered_at is not None
    assert [status for _, _, status in receiver.received] == [500, 503, 200]
    assert len({body for _, body, _ in receiver.received}) == 1  # the same bytes every time
    assert len(receiver.delivered()) == 1


def test_the_back_off_doubles_and_a_receiver_that_never_answers_is_given_up(
    platform_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    options = NotifierOptions(secret=SECRET, allow_private=True, backoff_s=60, max_attempts=2)
    platform = Platform.open(platform_url, tmp_path, notifications=options)
    try:
        application_id = file(platform, receiver.url)
        receiver.statuses = [500, 500]
        before = datetime.now(UTC)
        assert run(platform.notifier) == Round(queued=1, delivered=0, failed=1)
        [delivery] = platform.notifier.deliveries(application_id)
        assert delivery.attempts == 1 and delivery.last_error == "HTTP 500 Internal Server Error"
        due = datetime.fromisoformat(delivery.next_attempt_at or "")
        assert before + timedelta(seconds=59) < due < before + timedelta(seconds=65)
        assert run(platform.notifier) == Round(0, 0, 0)  # not due yet
        _force_due(platform)
        assert run(platform.notifier).failed == 1
        [delivery] = platform.notifier.deliveries(application_id)
        assert delivery.attempts == 2 and delivery.next_attempt_at is None  # given up
        _force_due(platform)
        assert run(platform.notifier) == Round(0, 0, 0)
        assert len(receiver.received) == 2
    finally:
        platform.database.dispose()


def _force_due(platform: Platform) -> None:
    """Move every pending retry to now (the test does not wait a minute)."""
    table = notifications_table
    with platform.database.begin() as db:
        db.execute(
            update(table)
            .where(table.c.next_attempt_at.is_not(None))
            .values(next_attempt_at=datetime.now(UTC))
        )


def test_a_restarted_notifier_resumes_without_resending(
    platform: Platform, receiver: Receiver
) -> None:
    first = file(platform, receiver.url)
    assert run(platform.notifier).delivered == 1
    second = file(platform, receiver.url)
    restarted = Notifier(platform.database, FAST)
    try:
        assert run(restarted) == Round(queued=1, delivered=1, failed=0)
        assert run(restarted) == Round(0, 0, 0)
    finally:
        asyncio.run(restarted.close())
    assert [b["application_id"] for b in receiver.delivered()] == [first, second]


def test_two_notifiers_on_one_database_send_each_notification_once(
    platform: Platform, receiver: Receiver
) -> None:
    for _ in range(6):
        file(platform, receiver.url)
    other = Notifier(platform.database, FAST)

    async def both() -> list[Round]:
        rounds = []
        for _ in range(3):
            rounds += await asyncio.gather(platform.notifier.run_once(), other.run_once())
        await other.close()
        return rounds

    rounds = asyncio.run(both())
    assert sum(r.queued for r in rounds) == 6 and sum(r.delivered for r in rounds) == 6
    sent = [json.loads(body)["id"] for _, body, _ in receiver.received]
    assert len(sent) == len(set(sent)) == 6  # each one, once


def test_a_private_callback_address_is_refused_unless_allowed(
    platform_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    guarded = NotifierOptions(secret=SECRET)
    platform = Platform.open(platform_url, tmp_path, notifications=guarded)
    try:
        application_id = file(platform, receiver.url)
        assert run(platform.notifier) == Round(queued=1, delivered=0, failed=1)
        [delivery] = platform.notifier.deliveries(application_id)
        assert delivery.next_attempt_at is None  # given up at once: no retry will help
        assert "non-public address 127.0.0.1" in (delivery.last_error or "")
        assert receiver.received == []
    finally:
        platform.database.dispose()


def test_the_signing_key_is_made_once_and_kept_private(tmp_path: Path) -> None:
    key = load_secret(None, tmp_path)
    assert len(key) == 64 and load_secret(None, tmp_path) == key
    assert stat.S_IMODE((tmp_path / "callback-secret").stat().st_mode) == 0o600
    assert load_secret("configured", tmp_path) == b"configured"
    assert sign(b"k", b"{}") == "sha256=" + hmac.new(b"k", b"{}", hashlib.sha256).hexdigest()
    configured = notifier_options(
        Settings(data=tmp_path, callback_secret="s3cret", callback_allow_private=True)
    )
    assert (configured.secret, configured.allow_private) == (b"s3cret", True)
    assert notifier_options(Settings(data=tmp_path)) == NotifierOptions(secret=key)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://10.1.2.3/",
        "http://192.168.0.10/",
        "http://169.254.169.254/latest/meta-data",  # the cloud metadata service
        "http://100.64.0.1/",  # carrier-grade NAT
        "http://[::1]/",
        "http://[fd00::1]/",
        "http://[::ffff:10.0.0.1]/",  # IPv4-mapped: checked as IPv4
        "http://0.0.0.0/",
        "ftp://203.0.113.9/",
    ],
)
def test_the_ssrf_guard_refuses_non_public_destinations(url: str) -> None:
    with pytest.raises(Refused):
        asyncio.run(resolve_callback(httpx.URL(url), allow_private=False))


def test_the_ssrf_guard_lets_public_and_allowed_private_addresses_through() -> None:
    public = asyncio.run(resolve_callback(httpx.URL("https://8.8.8.8/hook"), allow_private=False))
    assert [str(a) for a in public] == ["8.8.8.8"]
    private = asyncio.run(resolve_callback(httpx.URL("http://10.1.2.3/"), allow_private=True))
    assert [str(a) for a in private] == ["10.1.2.3"]
