"""Real-time indicators of the office's activity, kept current as events happen.

The counters (all over the platform database unless said otherwise; days and months are UTC):

* ``applications_today``: applications filed since midnight;
* ``applications_total``: every application;
* ``in_examination``: applications in ``formal_examination``, ``search`` or
  ``substantive_examination``;
* ``granted_this_month``: transitions into ``granted`` or ``registered`` this month (read
  from the event log, where the moment of the grant is kept);
* ``assessments_queued``: novelty assessments waiting or running;
* ``mean_assessment_seconds``: mean time from start to finish of the last
  :data:`ASSESSMENT_SAMPLE` finished assessments (null before the first);
* ``searches_served``: successful HTTP searches (``/v1/collections/{name}/search`` and the
  one-window ``/v1/search``) served by *this server process* since it started, read from the
  Prometheus histogram the route-metrics middleware feeds (no second counter to keep in step).

How they stay current: :class:`IndicatorBoard` follows ``application_events`` the way the
callback notifier does — it polls ``MAX(seq)`` every ``poll_s`` (one indexed lookup) — and
recomputes the snapshot when the log moved, the search count moved or the day turned; each
recompute bumps a version that waiters (the SSE stream) are woken on. It also calls
``on_change`` (the analytical store's refresh), so the BI figures follow a filing within a
poll. Polling rather than a trigger or LISTEN/NOTIFY: it works the same on SQLite and
PostgreSQL and across server processes sharing a database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

from prometheus_client import REGISTRY
from sqlalchemy import Engine, func, select

from ipsim.platform.database import as_utc, iso_utc
from ipsim.platform.filing.applications import applications_table, events_table
from ipsim.platform.filing.assessment import ACTIVE, DONE, assessments_table

log = logging.getLogger(__name__)

EXAMINATION = ("formal_examination", "search", "substantive_examination")
GRANTS = ("granted", "registered")
ASSESSMENT_SAMPLE = 1000
SEARCH_METRIC = "ipsim_http_request_seconds"
SEARCH_ROUTES = frozenset({"/v1/collections/{name}/search", "/v1/search"})
"""The route templates of searches (server/routes/search.py and federated.py)."""


def searches_served() -> int:
    """Successful HTTP searches this process served, from the Prometheus registry."""
    total = 0.0
    for family in REGISTRY.collect():
        if family.name != SEARCH_METRIC:
            continue
        for sample in family.samples:
            labels = sample.labels
            if (
                sample.name.endswith("_count")
                and labels.get("route") in SEARCH_ROUTES
                and labels.get("status", "").startswith("2")
            ):
                total += sample.value
    return int(total)


class IndicatorBoard:
    """The indicator snapshot, its version, and the loop that keeps both current."""

    def __init__(
        self,
        engine: Engine,
        *,
        on_change: Callable[[], object] | None = None,
        searches: Callable[[], int] = searches_served,
        clock: Callable[[], datetime] | None = None,
        poll_s: float = 1.0,
    ) -> None:
        self._engine = engine
        self._on_change = on_change
        self._searches = searches
        self._clock = clock or (lambda: datetime.now(UTC))
        self._poll_s = poll_s
        self._seen: tuple[Any, ...] | None = None
        self._snapshot: dict[str, Any] = {}
        self._version = 0
        self._changed: asyncio.Condition | None = None
        self._task: asyncio.Task[None] | None = None
        self._poll_lock = threading.Lock()

    @property
    def version(self) -> int:
        return self._version

    def snapshot(self) -> dict[str, Any]:
        """``{"at": iso, "indicators": {...}}`` as last computed (computed now if never)."""
        if not self._snapshot:
            self.poll()
        return self._snapshot

    def compute(self) -> dict[str, Any]:
        """The indicators now, read from the database."""
        now = as_utc(self._clock())
        midnight = datetime.combine(now.date(), time(), UTC)
        month = midnight.replace(day=1)
        apps, events, jobs = applications_table, events_table, assessments_table
        with self._engine.connect() as db:

            def count(table: Any, *where: Any) -> int:
                return int(
                    db.execute(select(func.count()).select_from(table).where(*where)).scalar_one()
                )

            durations = db.execute(
                select(jobs.c.started, jobs.c.finished)
                .where(jobs.c.status == DONE, jobs.c.started.is_not(None))
                .order_by(jobs.c.finished.desc())
                .limit(ASSESSMENT_SAMPLE)
            ).all()
            indicators = {
                "applications_today": count(apps, apps.c.created >= midnight),
                "applications_total": count(apps),
                "in_examination": count(apps, apps.c.status.in_(EXAMINATION)),
                "granted_this_month": count(
                    events,
                    events.c.kind == "transition",
                    events.c.to_status.in_(GRANTS),
                    events.c.at >= month,
                ),
                "assessments_queued": count(jobs, jobs.c.status.in_(ACTIVE)),
                "mean_assessment_seconds": _mean_seconds(durations),
                "searches_served": self._searches(),
            }
        return {"at": iso_utc(now), "indicators": indicators}

    def poll(self) -> bool:
        """One look at the log, the search count and the day; recompute on any change.

        Answers whether the snapshot changed (its version moved)."""
        with self._poll_lock:
            return self._poll()

    def _poll(self) -> bool:
        with self._engine.connect() as db:
            seq = db.execute(select(func.max(events_table.c.seq))).scalar_one()
        seen = (seq, self._searches(), as_utc(self._clock()).date())
        if seen == self._seen:
            return False
        log_moved = self._seen is None or seen[0] != self._seen[0]
        self._seen = seen
        if log_moved and self._on_change is not None:
            self._on_change()
        snapshot = self.compute()
        if snapshot["indicators"] == self._snapshot.get("indicators"):
            return False
        self._snapshot = snapshot
        self._version += 1
        return True

    async def refresh(self) -> int:
        """Poll now (in a worker thread); the version after it."""
        await asyncio.to_thread(self.poll)
        return self._version

    async def wait_change(self, version: int, timeout: float) -> int:
        """The version once it differs from ``version``, or ``version`` after ``timeout`` s.

        Without the follower running (:meth:`start` not called), it polls by itself."""
        if self._task is None or self._changed is None:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while self._version == version and (left := deadline - loop.time()) > 0:
                await asyncio.sleep(min(self._poll_s, left))
                await self.refresh()
            return self._version
        changed = self._changed
        async with changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait_for(lambda: self._version != version), timeout)
        return self._version

    async def start(self) -> None:
        """Start following the log (in the running event loop)."""
        if self._task is None:
            self._changed = asyncio.Condition()
            self._task = asyncio.create_task(self._follow(), name="bi-indicators")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _follow(self) -> None:
        notified = self._version
        while True:
            try:
                await asyncio.to_thread(self.poll)
            except Exception:  # a database hiccup must not end the loop
                log.exception("bi indicators: poll failed")
            # a poll by a request thread may have moved the version too: compare, not trust
            if self._version != notified and self._changed is not None:
                notified = self._version
                async with self._changed:
                    self._changed.notify_all()
            await asyncio.sleep(self._poll_s)


def _mean_seconds(durations: Sequence[Any]) -> float | None:
    spans = [as_utc(finished) - as_utc(started) for started, finished in durations]
    if not spans:
        return None
    return round(sum(spans, timedelta()).total_seconds() / len(spans), 3)


__all__ = ["EXAMINATION", "GRANTS", "IndicatorBoard", "searches_served"]
