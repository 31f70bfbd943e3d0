"""Watches: standing queries whose new matches are logged durably and, optionally, POSTed.

The engine scores each upserted document against its collection's watches and calls
:meth:`Watches.notify` for every match; this module keeps the watches, their notification
logs and the callback deliveries. Layout under ``root``, one folder per watch so that a
create or delete touches only that watch's files::

    <watch id>/watch.json           the watch, written once (the folder is renamed into place)
    <watch id>/notifications.jsonl  its log: {"notification": …} and {"state": …} lines
    .tmp-…                          a watch being created or deleted; removed on start

Every log line is fsynced before the call that wrote it returns. A delivery attempt appends
a small ``state`` record; start folds those into their notifications, drops a torn last
line, and rewrites (atomically) any log that had either, so a log stays one line per
notification across restarts.

Delivery is at least once: a crash between the receiver's 2xx and the ``delivered`` record
sends that notification again on the next start, so receivers dedupe on the notification
``id``. Deliveries of one watch may arrive out of order.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import os
import secrets
import shutil
import threading
from collections.abc import Coroutine
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from ipsim import __version__
from ipsim.engine.errors import InvalidInput, NotFound
from ipsim.indexers.snapshot import (
    TMP_PREFIX,
    atomic_directory,
    atomic_write_bytes,
    fsync_directory,
    remove_temporaries,
)

log = logging.getLogger(__name__)

WATCH_FILE = "watch.json"
LOG_FILE = "notifications.jsonl"
MAX_URL_CHARS = 2048
MAX_PAGE = 1000
DEFAULT_PAGE = 100
MAX_BACKOFF_S = 300.0
MAX_ERROR_CHARS = 500

NONE, PENDING, DELIVERED, FAILED = "none", "pending", "delivered", "failed"


@dataclass(frozen=True)
class Watch:
    """A standing query on one collection; ``created`` is an ISO 8601 UTC time."""

    id: str
    collection: str
    query: dict[str, Any]
    mode: str | None
    threshold: float
    filter: dict[str, Any] | None
    callback_url: str | None
    created: str


@dataclass(frozen=True)
class Notification:
    """One match of a watch, with the state of its callback delivery.

    ``delivery`` is ``none`` (the watch has no callback), ``pending``, ``delivered`` or
    ``failed`` (retries exhausted); ``attempts`` counts POSTs made; ``last_error`` is the
    error of the latest failed attempt, kept after a later success.
    """

    id: str
    watch_id: str
    document_id: str
    score: float
    detail: dict[str, Any]
    created: str
    delivery: str
    attempts: int
    last_error: str | None

    def payload(self) -> dict[str, Any]:
        """What a callback receives as ``notification``: the match, not its delivery state."""
        return {
            "id": self.id,
            "watch_id": self.watch_id,
            "document_id": self.document_id,
            "score": self.score,
            "detail": self.detail,
            "created": self.created,
        }


@dataclass
class _WatchLog:
    """One watch and its notifications in log order (oldest first), mirrored from disk."""

    watch: Watch
    path: Path
    notes: list[Notification] = field(default_factory=list)
    position: dict[str, int] = field(default_factory=dict)
    latest: dict[str, tuple[str, str]] = field(default_factory=dict)
    """document id → (content key, notification id) of its newest notification."""

    def add(self, note: Notification) -> None:
        self.position[note.id] = len(self.notes)
        self.notes.append(note)
        self.latest[note.document_id] = (_content_key(note.score, note.detail), note.id)

    def find(self, note_id: str) -> Notification | None:
        index = self.position.get(note_id)
        return None if index is None else self.notes[index]

    def update(self, note: Notification) -> None:
        self.notes[self.position[note.id]] = note

    def repeat_of(self, document_id: str, key: str) -> Notification | None:
        """The document's newest notification, if it matched with this same content key."""
        latest = self.latest.get(document_id)
        if latest is None or latest[0] != key:
            return None
        return self.find(latest[1])


class Watches:
    """The watch registry of one data directory, its notification logs and deliveries.

    Thread-safe: the synchronous methods may run on the event loop or in worker threads.
    ``start`` must run (in the loop that will deliver) before ``notify``. A callback POST
    gets ``timeout_s`` in all; a failed one is retried ``retries`` times, the n-th retry
    ``backoff_s * 2**(n-1)`` seconds (at most 300) after the failure; at most
    ``concurrency`` POSTs are in flight. ``client`` is used as given and not closed.
    """

    def __init__(
        self,
        root: Path,
        *,
        retries: int = 5,
        backoff_s: float = 0.5,
        timeout_s: float = 5.0,
        concurrency: int = 8,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if retries < 0 or backoff_s < 0 or timeout_s <= 0 or concurrency < 1:
            raise ValueError("need retries >= 0, backoff_s >= 0, timeout_s > 0, concurrency >= 1")
        self._root = root
        self._retries = retries
        self._backoff_s = backoff_s
        self._timeout_s = timeout_s
        self._concurrency = concurrency
        self._client = client
        self._owns_client = client is None
        self._logs: dict[str, _WatchLog] = {}
        self._lock = threading.Lock()
        self._queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()

    # --- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Load every watch and log; resume the deliveries a stop or crash left pending."""
        logs = await asyncio.to_thread(self._load)
        with self._lock:
            self._logs = logs
        self._queue = asyncio.Queue()  # the pending ones are all queued again from the logs
        if self._client is None:
            self._client = httpx.AsyncClient(headers={"User-Agent": f"ipsim/{__version__}"})
        for watch_log in logs.values():
            for note in watch_log.notes:
                if note.delivery == PENDING:
                    self._queue.put_nowait((watch_log.watch.id, note.id))
        for _ in range(self._concurrency):
            self._spawn(self._deliver_forever())

    async def close(self) -> None:
        """Stop delivering; what was not delivered yet stays pending on disk."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    # --- the registry ---------------------------------------------------------------

    def create(
        self,
        *,
        collection: str,
        query: dict[str, Any],
        mode: str | None,
        threshold: float,
        filter: dict[str, Any] | None,
        callback_url: str | None,
    ) -> Watch:
        """Store a new watch; the caller has checked the query, mode and filter already.

        Raise ``InvalidInput`` for a threshold outside [0, 1] or a callback URL that is not
        an absolute http(s) URL of at most 2048 characters.
        """
        watch = Watch(
            id=_new_id("w_"),
            collection=collection,
            query=query,
            mode=mode,
            threshold=check_threshold(threshold),
            filter=filter,
            callback_url=check_callback_url(callback_url),
            created=_now(),
        )
        body = _json_bytes(asdict(watch))
        folder = self._root / watch.id
        with self._lock:
            with atomic_directory(folder) as temp:
                (temp / WATCH_FILE).write_bytes(body)
                (temp / LOG_FILE).touch()
            self._logs[watch.id] = _WatchLog(watch, folder / LOG_FILE)
        return watch

    def get(self, watch_id: str) -> Watch:
        """Raise ``NotFound``."""
        with self._lock:
            return self._log_of(watch_id).watch

    def delete(self, watch_id: str) -> None:
        """Remove a watch with its notifications; pending deliveries are dropped."""
        grave = self._root / f"{TMP_PREFIX}deleted-{watch_id}"
        with self._lock:
            self._log_of(watch_id)
            os.rename(self._root / watch_id, grave)  # the commit point
            fsync_directory(self._root)
            del self._logs[watch_id]
        shutil.rmtree(grave, ignore_errors=True)

    def for_collection(self, collection: str) -> list[Watch]:
        """The collection's watches, oldest first."""
        with self._lock:
            watches = [wl.watch for wl in self._logs.values() if wl.watch.collection == collection]
        return sorted(watches, key=lambda watch: watch.created)

    def drop_collection(self, collection: str) -> None:
        """Delete every watch of a collection that is being deleted."""
        for watch in self.for_collection(collection):
            with contextlib.suppress(NotFound):  # deleted meanwhile
                self.delete(watch.id)

    # --- notifications --------------------------------------------------------------

    async def notify(
        self, watch: Watch, document_id: str, score: float, detail: dict[str, Any]
    ) -> Notification:
        """Log a match durably and schedule its callback; never waits for the delivery.

        A document upserted again with the same score and ``detail`` as its newest
        notification of this watch is not news: that notification is returned and nothing
        is logged or sent. Raise ``NotFound`` when the watch was deleted meanwhile, and
        ``ValueError`` or ``TypeError`` (before writing anything) for a score or detail that
        JSON cannot hold.
        """
        note, new = await asyncio.to_thread(self._store, watch.id, document_id, score, detail)
        if new and note.delivery == PENDING:
            self._queue.put_nowait((note.watch_id, note.id))
        return note

    def notifications(
        self, watch_id: str, *, offset: int = 0, limit: int = DEFAULT_PAGE
    ) -> tuple[list[Notification], int]:
        """A page of a watch's notifications, oldest first (so offsets stay put as new
        ones arrive), and their total. Raise ``NotFound`` or ``InvalidInput``."""
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise InvalidInput("offset", "must be an integer of at least 0")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
            raise InvalidInput("limit", f"must be an integer from 1 to {MAX_PAGE}")
        with self._lock:
            notes = self._log_of(watch_id).notes
            return notes[offset : offset + limit], len(notes)

    def _store(
        self, watch_id: str, document_id: str, score: float, detail: dict[str, Any]
    ) -> tuple[Notification, bool]:
        key = _content_key(score, detail)
        with self._lock:
            watch_log = self._log_of(watch_id)
            repeat = watch_log.repeat_of(document_id, key)
            if repeat is not None:
                return repeat, False
            note = Notification(
                id=_new_id("n_"),
                watch_id=watch_id,
                document_id=document_id,
                score=score,
                detail=detail,
                created=_now(),
                delivery=PENDING if watch_log.watch.callback_url else NONE,
                attempts=0,
                last_error=None,
            )
            _append(watch_log.path, _json_line({"notification": asdict(note)}))
            watch_log.add(note)
            return note, True

    def _log_of(self, watch_id: str) -> _WatchLog:
        watch_log = self._logs.get(watch_id)
        if watch_log is None:
            raise NotFound(f"watch {watch_id!r} does not exist")
        return watch_log

    # --- delivery -------------------------------------------------------------------

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver_forever(self) -> None:
        while True:
            watch_id, note_id = await self._queue.get()
            try:
                await self._deliver(watch_id, note_id)
            except Exception:  # one bad delivery must not stop the worker
                log.exception("delivering notification %s of watch %s failed", note_id, watch_id)

    async def _deliver(self, watch_id: str, note_id: str) -> None:
        with self._lock:
            watch_log = self._logs.get(watch_id)
            note = watch_log.find(note_id) if watch_log else None
        if watch_log is None or note is None or note.delivery != PENDING:
            return  # the watch was deleted meanwhile
        url = watch_log.watch.callback_url
        assert url is not None  # only notifications of watches with a URL are pending
        error = await self._post(url, {"watch_id": watch_id, "notification": note.payload()})
        attempts = note.attempts + 1
        if error is None:
            delivery = DELIVERED
        elif attempts > self._retries:
            delivery = FAILED
            log.warning("gave up on the callback of watch %s to %s: %s", watch_id, url, error)
        else:
            delivery = PENDING
            log.info("callback of watch %s to %s will be retried: %s", watch_id, url, error)
        done = replace(
            note, delivery=delivery, attempts=attempts, last_error=error or note.last_error
        )
        await asyncio.to_thread(self._record, done)
        if delivery == PENDING:
            delay = min(self._backoff_s * 2 ** (attempts - 1), MAX_BACKOFF_S)
            self._spawn(self._retry_later(watch_id, note_id, delay))

    async def _retry_later(self, watch_id: str, note_id: str, delay: float) -> None:
        await asyncio.sleep(delay)
        self._queue.put_nowait((watch_id, note_id))

    async def _post(self, url: str, payload: dict[str, Any]) -> str | None:
        """POST the payload; None on a 2xx answer, else what went wrong."""
        if self._client is None:
            raise RuntimeError("Watches.start() was not called")
        try:
            async with (
                asyncio.timeout(self._timeout_s),
                self._client.stream("POST", url, json=payload) as response,
            ):
                if response.is_success:
                    return None
                return f"HTTP {response.status_code} {response.reason_phrase}".strip()
        except TimeoutError:
            return f"no answer within {self._timeout_s:g} s"
        except httpx.HTTPError as exc:
            detail = str(exc)
            error = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
            return error[:MAX_ERROR_CHARS]

    def _record(self, note: Notification) -> None:
        """Log a delivery's new state (unless the watch is gone) and mirror it in memory."""
        state = {
            "id": note.id,
            "delivery": note.delivery,
            "attempts": note.attempts,
            "last_error": note.last_error,
        }
        with self._lock:
            watch_log = self._logs.get(note.watch_id)
            if watch_log is None:
                return
            _append(watch_log.path, _json_line({"state": state}))
            watch_log.update(note)

    # --- loading --------------------------------------------------------------------

    def _load(self) -> dict[str, _WatchLog]:
        self._root.mkdir(parents=True, exist_ok=True)
        remove_temporaries(self._root)
        logs: dict[str, _WatchLog] = {}
        for folder in sorted(self._root.iterdir()):
            if not folder.is_dir() or folder.name.startswith("."):
                continue
            try:
                watch = Watch(**json.loads((folder / WATCH_FILE).read_bytes()))
            except (OSError, ValueError, TypeError) as exc:
                log.error("skipping watch folder %s: unreadable %s (%s)", folder, WATCH_FILE, exc)
                continue
            if watch.id != folder.name:
                log.error("skipping watch folder %s: it holds watch %r", folder, watch.id)
                continue
            logs[watch.id] = _read_log(watch, folder / LOG_FILE)
        return logs


def _read_log(watch: Watch, path: Path) -> _WatchLog:
    """Fold a watch's log into memory; rewrite it when it had state records or damage."""
    watch_log = _WatchLog(watch, path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = b""
    *lines, torn = data.split(b"\n")
    rewrite = bool(torn)
    if torn:
        log.warning("%s: dropped a torn last record (%d bytes)", path, len(torn))
    for number, line in enumerate(lines, start=1):
        try:
            was_notification = _apply(watch_log, json.loads(line))
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("%s:%d: skipped an unreadable record (%s)", path, number, exc)
            was_notification = False
        rewrite = rewrite or not was_notification  # state records and bad lines: compact
    if rewrite or not path.exists():
        body = b"".join(_json_line({"notification": asdict(n)}) for n in watch_log.notes)
        atomic_write_bytes(path, body)
    return watch_log


def _apply(watch_log: _WatchLog, record: Any) -> bool:
    """Fold one log record in; True for a notification, False for a state update."""
    if "notification" in record:
        watch_log.add(Notification(**record["notification"]))
        return True
    state = dict(record["state"])
    note = watch_log.find(state.pop("id"))
    if note is not None:  # else a state record of a notification dropped as unreadable
        watch_log.update(replace(note, **state))
    return False


def _append(path: Path, line: bytes) -> None:
    """Append one record and fsync it; on failure cut the file back so no torn line stays
    in front of the next record."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        start = os.lseek(fd, 0, os.SEEK_END)
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)
            raise
    finally:
        os.close(fd)


# --- values -------------------------------------------------------------------------


def check_threshold(threshold: object) -> float:
    """A watch's threshold: a number from 0 to 1 (not a boolean)."""
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not math.isfinite(threshold)
        or not 0 <= threshold <= 1
    ):
        raise InvalidInput("threshold", "must be a number from 0 to 1")
    return float(threshold)


def check_callback_url(url: object) -> str | None:
    """None, or an absolute http(s) URL of at most 2048 characters without spaces."""
    if url is None:
        return None
    message = "must be an absolute http or https URL"
    if not isinstance(url, str):
        raise InvalidInput("callback_url", message)
    if len(url) > MAX_URL_CHARS:
        raise InvalidInput("callback_url", f"must be at most {MAX_URL_CHARS} characters")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise InvalidInput("callback_url", "must not contain spaces or control characters")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise InvalidInput("callback_url", f"{message} ({exc})") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise InvalidInput("callback_url", message)
    return url


def _content_key(score: float, detail: dict[str, Any]) -> str:
    """Equal for the same match found again (an unchanged document upserted again)."""
    canonical = json.dumps({"score": score, "detail": detail}, sort_keys=True, allow_nan=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _json_bytes(value: dict[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def _json_line(value: dict[str, Any]) -> bytes:
    return _json_bytes(value) + b"\n"


def _new_id(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(12)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


__all__ = [
    "Notification",
    "Watch",
    "Watches",
    "check_callback_url",
    "check_threshold",
]
