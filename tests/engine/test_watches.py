"""Watches on disk and on the wire: the registry, the notification log across restarts, and
callback delivery to a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ipsim.engine.errors import InvalidInput, NotFound
from ipsim.engine.watches import LOG_FILE, Notification, Watch, Watches

QUERY = {"word": "ACME"}


class Receiver:
    """A minimal HTTP/1.1 server that answers each POST with the next scripted status
    (then 200 for ever), optionally after a delay, and records the JSON bodies it got."""

    def __init__(self, statuses: list[int] | None = None, delay_s: float = 0.0) -> None:
        self.statuses = list(statuses or [])
        self.delay_s = delay_s
        self.bodies: list[dict[str, Any]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}/hook"

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            self.bodies.append(json.loads(await reader.readexactly(length)))
            await asyncio.sleep(self.delay_s)
            status = self.statuses.pop(0) if self.statuses else 200
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
            )
            await writer.drain()
        finally:
            self.in_flight -= 1
            writer.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = Receiver()
    await server.start()
    yield server
    await server.close()


async def opened(root: Path, **options: Any) -> Watches:
    watches = Watches(root, **options)
    await watches.start()
    return watches


def new_watch(
    watches: Watches, callback_url: str | None = None, collection: str = "marks"
) -> Watch:
    return watches.create(
        collection=collection,
        query=QUERY,
        mode="phonetic",
        threshold=0.8,
        filter={"class": 25},
        callback_url=callback_url,
    )


async def settled(watches: Watches, watch_id: str, count: int = 1) -> list[Notification]:
    """Wait (at most 10 s) until ``count`` notifications exist and none is pending."""
    deadline = time.monotonic() + 10
    while True:
        notes, _ = watches.notifications(watch_id)
        if len(notes) >= count and all(n.delivery != "pending" for n in notes):
            return notes
        assert time.monotonic() < deadline, f"still pending: {notes}"
        await asyncio.sleep(0.02)


# --- registry -----------------------------------------------------------------------


async def test_a_watch_is_kept_as_given_and_survives_a_restart(tmp_path: Path) -> None:
    watches = await opened(tmp_path)
    watch = new_watch(watches, callback_url="https://example.test/hook?x=1")
    assert watch.id.startswith("w_") and watch.created.endswith("Z")
    assert watches.get(watch.id) == watch
    await watches.close()

    again = await opened(tmp_path)
    assert again.get(watch.id) == watch
    assert again.for_collection("marks") == [watch]
    assert again.for_collection("other") == []
    await again.close()


async def test_delete_removes_the_watch_and_its_log_for_good(tmp_path: Path) -> None:
    watches = await opened(tmp_path)
    kept, gone = new_watch(watches), new_watch(watches)
    await watches.notify(gone, "T1", 0.9, {})
    watches.delete(gone.id)
    with pytest.raises(NotFound):
        watches.get(gone.id)
    with pytest.raises(NotFound):
        watches.delete(gone.id)
    with pytest.raises(NotFound):
        await watches.notify(gone, "T2", 0.9, {})
    await watches.close()

    assert sorted(p.name for p in tmp_path.iterdir()) == [kept.id]
    again = await opened(tmp_path)
    assert [w.id for w in again.for_collection("marks")] == [kept.id]
    await again.close()


async def test_dropping_a_collection_drops_only_its_watches(tmp_path: Path) -> None:
    watches = await opened(tmp_path)
    mine = [new_watch(watches, collection="marks") for _ in range(3)]
    other = new_watch(watches, collection="logos")
    watches.drop_collection("marks")
    for watch in mine:
        with pytest.raises(NotFound):
            watches.get(watch.id)
    assert watches.for_collection("logos") == [other]
    await watches.close()


@pytest.mark.parametrize("threshold", [True, "0.5", -0.01, 1.01, float("nan"), None])
async def test_threshold_must_be_a_number_from_0_to_1(tmp_path: Path, threshold: Any) -> None:
    watches = Watches(tmp_path)
    with pytest.raises(InvalidInput) as caught:
        watches.create(
            collection="marks",
            query=QUERY,
            mode=None,
            threshold=threshold,
            filter=None,
            callback_url=None,
        )
    assert caught.value.field == "threshold"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.test/hook",
        "/hook",
        "example.test/hook",
        "http://",
        "http://exa mple.test/",
        "http://example.test/\n",
        "http://example.test/" + "a" * 2030,
        42,
    ],
)
async def test_callback_url_must_be_an_absolute_http_url(tmp_path: Path, url: Any) -> None:
    watches = Watches(tmp_path)
    with pytest.raises(InvalidInput) as caught:
        new_watch(watches, callback_url=url)
    assert caught.value.field == "callback_url"


async def test_integer_thresholds_and_the_longest_url_are_accepted(tmp_path: Path) -> None:
    watches = Watches(tmp_path)
    url = "https://example.test/" + "a" * (2048 - len("https://example.test/"))
    watch = watches.create(
        collection="marks", query=QUERY, mode=None, threshold=1, filter=None, callback_url=url
    )
    assert watch.threshold == 1.0 and isinstance(watch.threshold, float)
    assert watch.callback_url == url


# --- the notification log -----------------------------------------------------------


async def test_notifications_page_oldest_first_and_survive_a_restart(tmp_path: Path) -> None:
    watches = await opened(tmp_path)
    watch = new_watch(watches)
    made = [await watches.notify(watch, f"T{i}", 0.8 + i / 100, {"i": i}) for i in range(5)]
    assert all(n.delivery == "none" and n.attempts == 0 for n in made)

    page, total = watches.notifications(watch.id, offset=1, limit=2)
    assert total == 5 and page == made[1:3]
    await watches.close()

    again = await opened(tmp_path)
    assert again.notifications(watch.id) == (made, 5)
    assert again.notifications(watch.id, offset=5) == ([], 5)
    await again.close()


@pytest.mark.parametrize(("offset", "limit", "field"), [(-1, 10, "offset"), (0, 0, "limit")])
async def test_notification_pages_are_checked(
    tmp_path: Path, offset: int, limit: int, field: str
) -> None:
    watches = Watches(tmp_path)
    watch = new_watch(watches)
    with pytest.raises(InvalidInput) as caught:
        watches.notifications(watch.id, offset=offset, limit=limit)
    assert caught.value.field == field
    with pytest.raises(InvalidInput):
        watches.notifications(watch.id, limit=1001)
    with pytest.raises(NotFound):
        watches.notifications("w_missing")


async def test_the_same_match_again_is_not_news_but_a_changed_one_is(tmp_path: Path) -> None:
    watches = await opened(tmp_path)
    watch = new_watch(watches)
    first = await watches.notify(watch, "T1", 0.9, {"word": "ACME"})
    assert await watches.notify(watch, "T1", 0.9, {"word": "ACME"}) == first
    changed = await watches.notify(watch, "T1", 0.85, {"word": "ACMEE"})
    other_doc = await watches.notify(watch, "T2", 0.9, {"word": "ACME"})
    assert len({first.id, changed.id, other_doc.id}) == 3
    await watches.close()

    again = await opened(tmp_path)  # the dedupe memory is rebuilt from the log
    assert await again.notify(watch, "T1", 0.85, {"word": "ACMEE"}) == changed
    assert again.notifications(watch.id)[1] == 3
    await again.close()


async def test_a_torn_last_line_is_dropped_and_the_log_stays_appendable(tmp_path: Path) -> None:
    watches = await opened(tmp_path)
    watch = new_watch(watches)
    kept = await watches.notify(watch, "T1", 0.9, {})
    await watches.close()
    log = tmp_path / watch.id / LOG_FILE
    with log.open("ab") as file:
        file.write(b'{"notification": {"id": "n_torn", "watc')

    again = await opened(tmp_path)
    assert again.notifications(watch.id) == ([kept], 1)
    later = await again.notify(watch, "T2", 0.9, {})
    await again.close()

    third = await opened(tmp_path)
    assert third.notifications(watch.id) == ([kept, later], 2)
    assert len(log.read_bytes().splitlines()) == 2
    await third.close()


async def test_leftovers_of_an_interrupted_create_or_delete_are_removed(tmp_path: Path) -> None:
    (tmp_path / ".tmp-w_half-123").mkdir()
    (tmp_path / ".tmp-deleted-w_old").mkdir()
    (tmp_path / ".tmp-deleted-w_old" / "watch.json").write_text("{}")
    watches = await opened(tmp_path)
    assert list(tmp_path.iterdir()) == []
    await watches.close()


# --- delivery -----------------------------------------------------------------------


async def test_a_callback_is_retried_until_it_succeeds(tmp_path: Path, receiver: Receiver) -> None:
    receiver.statuses = [503, 500]
    watches = await opened(tmp_path, backoff_s=0.01)
    watch = new_watch(watches, callback_url=receiver.url)
    note = await watches.notify(watch, "T1", 0.93, {"word": "ACME"})
    assert note.delivery == "pending"

    [done] = await settled(watches, watch.id)
    assert (done.delivery, done.attempts) == ("delivered", 3)
    assert done.last_error is not None and "HTTP 500" in done.last_error
    assert len(receiver.bodies) == 3
    assert receiver.bodies[-1] == {"watch_id": watch.id, "notification": note.payload()}
    assert note.payload()["score"] == 0.93 and note.payload()["document_id"] == "T1"
    await watches.close()

    again = await opened(tmp_path)  # the delivered state was logged
    assert again.notifications(watch.id)[0] == [done]
    await again.close()
    assert len(receiver.bodies) == 3


async def test_a_callback_fails_after_its_retries(tmp_path: Path, receiver: Receiver) -> None:
    receiver.statuses = [500] * 10
    watches = await opened(tmp_path, retries=2, backoff_s=0.01)
    watch = new_watch(watches, callback_url=receiver.url)
    await watches.notify(watch, "T1", 0.9, {})
    [done] = await settled(watches, watch.id)
    assert (done.delivery, done.attempts) == ("failed", 3)
    assert done.last_error is not None and done.last_error.startswith("HTTP 500")
    assert len(receiver.bodies) == 3
    await watches.close()


async def test_an_unreachable_callback_fails_with_the_connection_error(tmp_path: Path) -> None:
    closed = Receiver()
    await closed.start()
    url = closed.url
    await closed.close()  # nothing listens on that port now
    watches = await opened(tmp_path, retries=1, backoff_s=0.01)
    watch = new_watch(watches, callback_url=url)
    await watches.notify(watch, "T1", 0.9, {})
    [done] = await settled(watches, watch.id)
    assert (done.delivery, done.attempts) == ("failed", 2)
    assert done.last_error is not None and done.last_error.startswith("ConnectError")
    await watches.close()


async def test_a_slow_callback_times_out_and_never_blocks_notify(
    tmp_path: Path, receiver: Receiver
) -> None:
    receiver.delay_s = 5.0
    watches = await opened(tmp_path, retries=0, timeout_s=0.3)
    watch = new_watch(watches, callback_url=receiver.url)
    await watches.notify(watch, "T1", 0.9, {})
    [note], _ = watches.notifications(watch.id)
    assert (note.delivery, note.attempts) == ("pending", 0)  # notify did not wait for it
    [done] = await settled(watches, watch.id)
    assert (done.delivery, done.last_error) == ("failed", "no answer within 0.3 s")
    await watches.close()


async def test_deliveries_run_at_most_concurrency_at_once(
    tmp_path: Path, receiver: Receiver
) -> None:
    receiver.delay_s = 0.1
    watches = await opened(tmp_path, concurrency=2)
    watch = new_watch(watches, callback_url=receiver.url)
    for i in range(6):
        await watches.notify(watch, f"T{i}", 0.9, {})
    notes = await settled(watches, watch.id, count=6)
    assert {n.delivery for n in notes} == {"delivered"}
    assert receiver.most_in_flight == 2
    assert sorted(b["notification"]["document_id"] for b in receiver.bodies) == [
        f"T{i}" for i in range(6)
    ]
    await watches.close()


async def test_pending_deliveries_resume_after_a_stop(tmp_path: Path, receiver: Receiver) -> None:
    receiver.statuses = [503]
    watches = await opened(tmp_path, backoff_s=60)  # the retry would come long after close
    watch = new_watch(watches, callback_url=receiver.url)
    await watches.notify(watch, "T1", 0.9, {})
    deadline = time.monotonic() + 10
    while watches.notifications(watch.id)[0][0].attempts == 0:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    await watches.close()
    [stopped] = watches.notifications(watch.id)[0]
    assert (stopped.delivery, stopped.attempts) == ("pending", 1)

    again = await opened(tmp_path)
    [done] = await settled(again, watch.id)
    assert (done.delivery, done.attempts, done.id) == ("delivered", 2, stopped.id)
    assert len(receiver.bodies) == 2
    await again.close()


async def test_a_deleted_watch_is_not_delivered(tmp_path: Path, receiver: Receiver) -> None:
    receiver.statuses = [503]
    watches = await opened(tmp_path, backoff_s=0.2)
    watch = new_watch(watches, callback_url=receiver.url)
    await watches.notify(watch, "T1", 0.9, {})
    deadline = time.monotonic() + 10
    while not receiver.bodies:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    watches.delete(watch.id)
    await asyncio.sleep(0.5)  # past the retry's backoff
    assert len(receiver.bodies) == 1
    assert list(tmp_path.iterdir()) == []
    await watches.close()
