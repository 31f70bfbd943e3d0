"""Dynamic batching: many requests' units → one call (an encode on the device, an index search).

Requests queue their units; a single worker takes up to ``max_batch_size`` of them as
soon as the batch is full or the oldest unit has waited ``max_delay_ms``, runs them in
one call on a dedicated thread, and hands each request its results. While a batch runs,
the next one fills, so under load batches are full without any waiting. A bounded queue
gives back-pressure (``Overloaded`` → 429 / RESOURCE_EXHAUSTED). A batch that fails is
retried request by request, so one bad input fails only its own request (Triton's rule).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ipsim.engine import metrics
from ipsim.engine.errors import Overloaded

T = TypeVar("T")
R = TypeVar("R")
BatchFn = Callable[[Sequence[T]], Sequence[R]]
"""Runs a batch: one result per unit, in order (a 2-D array is a sequence of rows)."""


@dataclass(frozen=True)
class BatchPolicy:
    """When to cut a batch: pure, so it is tested with a fake clock."""

    max_batch_size: int = 64
    max_delay_s: float = 0.002

    def due(self, queued: int, oldest_at: float | None, now: float) -> bool:
        """A batch is due when it is full or its oldest unit has waited long enough."""
        if queued == 0 or oldest_at is None:
            return False
        return queued >= self.max_batch_size or now - oldest_at >= self.max_delay_s

    def wait(self, oldest_at: float, now: float) -> float:
        """Seconds until the oldest unit's delay runs out (0 if it already has)."""
        return max(0.0, oldest_at + self.max_delay_s - now)


@dataclass
class _Request(Generic[T, R]):
    units: Sequence[T]
    future: asyncio.Future[list[R]]
    enqueued_at: float
    taken: int = 0  # units handed to a batch so far
    results: list[R] = field(default_factory=list)


@dataclass(frozen=True)
class _Slice(Generic[T, R]):
    request: _Request[T, R]
    start: int
    stop: int


class DynamicBatcher(Generic[T, R]):
    """Batches the units of concurrent requests for one encoder (or one index)."""

    def __init__(
        self,
        name: str,
        run: BatchFn[T, R],
        *,
        max_batch_size: int = 64,
        max_delay_ms: float = 2.0,
        max_queue: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.policy = BatchPolicy(max_batch_size, max_delay_ms / 1000.0)
        self.max_queue = max_queue
        self._run_fn = run
        self._clock = clock
        self._pending: deque[_Request[T, R]] = deque()
        self._queued = 0
        self._wakeup = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"batch-{name}")
        self._batch_seconds = 0.05  # running estimate, for Retry-After

    @property
    def queue_depth(self) -> int:
        """Units waiting for a batch."""
        return self._queued

    def start(self) -> None:
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Finish what is queued, then stop the worker and its thread."""
        if self._worker is not None:
            while self._pending:
                await asyncio.sleep(0.005)
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        self._executor.shutdown(wait=True)

    async def submit(self, units: Sequence[T]) -> list[R]:
        """Run ``units`` (batched with other requests'); one result per unit, in order."""
        if not units:
            raise ValueError("submit needs at least one unit")
        if self._queued and self._queued + len(units) > self.max_queue:
            metrics.REJECTED.labels(self.name).inc()
            batches_ahead = self._queued / self.policy.max_batch_size
            raise Overloaded(
                f"encoder {self.name!r} queue is full ({self._queued} units waiting)",
                retry_after=max(1.0, round(batches_ahead * self._batch_seconds, 1)),
            )
        self.start()
        future: asyncio.Future[list[R]] = asyncio.get_running_loop().create_future()
        self._pending.append(_Request(units, future, self._clock()))
        self._queued += len(units)
        metrics.QUEUE_DEPTH.labels(self.name).set(self._queued)
        self._wakeup.set()
        return await future

    async def _run(self) -> None:
        while True:
            if not self._pending:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            now = self._clock()
            oldest = self._pending[0].enqueued_at
            if not self.policy.due(self._queued, oldest, now):
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self.policy.wait(oldest, now))
                continue
            await self._run_batch(self._take())

    def _take(self) -> list[_Slice[T, R]]:
        """Cut up to ``max_batch_size`` units from the head of the queue."""
        room = self.policy.max_batch_size
        slices: list[_Slice[T, R]] = []
        while self._pending and room:
            request = self._pending[0]
            count = min(room, len(request.units) - request.taken)
            slices.append(_Slice(request, request.taken, request.taken + count))
            request.taken += count
            room -= count
            if request.taken == len(request.units):
                self._pending.popleft()
        taken = sum(s.stop - s.start for s in slices)
        self._queued -= taken
        metrics.QUEUE_DEPTH.labels(self.name).set(self._queued)
        return slices

    async def _run_batch(self, slices: list[_Slice[T, R]]) -> None:
        live = [s for s in slices if not s.request.future.done()]
        if not live:
            return
        units = [u for s in live for u in s.request.units[s.start : s.stop]]
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        try:
            results = await loop.run_in_executor(self._executor, self._run_fn, units)
        except Exception:
            await self._run_one_by_one(live)
            return
        elapsed = time.perf_counter() - started
        self._batch_seconds = 0.8 * self._batch_seconds + 0.2 * elapsed
        metrics.BATCH_SIZE.labels(self.name).observe(len(units))
        metrics.BATCH_SECONDS.labels(self.name).observe(elapsed)
        offset = 0
        for s in live:
            count = s.stop - s.start
            self._deliver(s, results[offset : offset + count])
            offset += count

    async def _run_one_by_one(self, slices: list[_Slice[T, R]]) -> None:
        """The batch failed: find whose input did it, and fail only that request."""
        loop = asyncio.get_running_loop()
        for s in slices:
            if s.request.future.done():
                continue
            units = s.request.units[s.start : s.stop]
            started = time.perf_counter()
            try:
                results = await loop.run_in_executor(self._executor, self._run_fn, units)
            except Exception as exc:
                self._fail(s.request, exc)
            else:
                metrics.BATCH_SIZE.labels(self.name).observe(len(units))
                metrics.BATCH_SECONDS.labels(self.name).observe(time.perf_counter() - started)
                self._deliver(s, results)

    def _fail(self, request: _Request[T, R], exc: Exception) -> None:
        if not request.future.done():
            request.future.set_exception(exc)
        if request.taken < len(request.units):  # drop its units still queued
            self._queued -= len(request.units) - request.taken
            request.taken = len(request.units)
            self._pending.remove(request)

    def _deliver(self, s: _Slice[T, R], results: Sequence[R]) -> None:
        request = s.request
        if request.future.done():
            return
        if len(results) != s.stop - s.start:
            message = f"batch returned {len(results)} results for {s.stop - s.start} units"
            self._fail(request, RuntimeError(message))
            return
        request.results.extend(results)
        if len(request.results) == len(request.units):
            request.future.set_result(request.results)
