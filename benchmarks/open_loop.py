"""Open-loop HTTP load at a fixed offered rate, loopback only, bounded in time.

:func:`benchmarks.load.run_load` is closed-loop: each client waits for its answer before
sending again, so a slow server slows the load down and hides its own queueing. Here
requests leave on a fixed schedule (``rate`` per second) whatever the server does, and
each latency is counted from the moment its request was *due*, so time a request spent
waiting for a free connection on this side counts too (no coordinated omission).

Every run stops sending after ``seconds``, then waits at most ``drain_s`` for answers;
what is still unanswered is counted as ``timeout``. More than ``max_in_flight``
outstanding requests are not sent but counted as ``client-limit``.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ipsim.benchmarks.load import check_loopback
from ipsim.benchmarks.metrics import Latency

TIMEOUT = "timeout"
CLIENT_LIMIT = "client-limit"
MAX_IDLE_S = 2.0
DETAIL_CHARS = 300


@dataclass(frozen=True)
class Call:
    """One request to send: a label for the report, the method, path and JSON body."""

    label: str
    method: str
    path: str
    body: bytes


CallFn = Callable[[int], Call]
"""Request number → the request to send."""


@dataclass(frozen=True)
class Outcome:
    """What came back for one request."""

    label: str
    status: str
    """The HTTP status (``"200"``, ``"429"``…), an exception name, ``timeout`` or
    ``client-limit``."""
    latency_s: float
    """From when the request was due to the end of its answer (NaN when none came)."""
    retry_after: str | None = None
    """The ``Retry-After`` header of the answer, when it had one."""
    detail: str | None = None
    """The start of the body of an error answer other than 429 (what went wrong)."""

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return self.status.isdigit() and 200 <= int(self.status) < 300


@dataclass
class Outcomes:
    """The outcomes of one run and how long it sent for."""

    items: list[Outcome] = field(default_factory=list)
    elapsed_s: float = 0.0
    client_cpu_s: float = 0.0
    reconnects: int = 0
    """Requests resent once on a new connection after a reused one failed."""

    def only(self, label: str) -> Outcomes:
        """The outcomes of one label (same elapsed time)."""
        chosen = [o for o in self.items if o.label == label]
        return Outcomes(chosen, self.elapsed_s, self.client_cpu_s)

    @property
    def sent(self) -> int:
        """Requests due in the run."""
        return len(self.items)

    @property
    def ok(self) -> int:
        """Requests answered with 2xx."""
        return sum(1 for o in self.items if o.ok)

    @property
    def throughput(self) -> float:
        """2xx answers per second of sending time."""
        return self.ok / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def statuses(self) -> Counter[str]:
        """How many requests ended with each status other than 2xx."""
        return Counter(o.status for o in self.items if not o.ok)

    def errors_other_than(self, allowed: Iterable[str] = ("429",)) -> int:
        """Failed requests whose status is not one of ``allowed``."""
        keep = set(allowed)
        return sum(n for status, n in self.statuses().items() if status not in keep)

    def error_examples(self) -> dict[tuple[str, str], str]:
        """One error body per (label, status), for answers other than 2xx and 429."""
        examples: dict[tuple[str, str], str] = {}
        for o in self.items:
            if o.detail is not None:
                examples.setdefault((o.label, o.status), o.detail)
        return examples

    def latency(self) -> Latency | None:
        """Percentiles of the 2xx answers (None when there were none)."""
        seconds = [o.latency_s for o in self.items if o.ok]
        return Latency.of(seconds) if seconds else None


async def offer(
    url: str,
    call: CallFn,
    *,
    rate: float,
    seconds: float,
    max_in_flight: int = 256,
    drain_s: float = 30.0,
) -> Outcomes:
    """Send ``call(0)``, ``call(1)``… at ``rate`` per second for ``seconds``; collect outcomes."""
    check_loopback(url)
    if rate <= 0 or seconds <= 0 or max_in_flight < 1 or drain_s <= 0:
        raise ValueError("rate, seconds, max_in_flight and drain_s must be positive")
    parts = urlsplit(url)
    pool = _Pool(parts.hostname or "127.0.0.1", parts.port or 80)
    results = Outcomes()
    tasks: set[asyncio.Task[None]] = set()
    due: dict[asyncio.Task[None], tuple[Call, float]] = {}
    cpu_started = time.process_time()
    started = time.perf_counter()
    count = int(rate * seconds)
    for number in range(count):
        scheduled = started + number / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        request = call(number)
        if len(tasks) >= max_in_flight:
            results.items.append(Outcome(request.label, CLIENT_LIMIT, float("nan")))
            continue
        task = asyncio.create_task(_one(pool, request, scheduled, results))
        tasks.add(task)
        due[task] = (request, scheduled)
        task.add_done_callback(tasks.discard)
    results.elapsed_s = max(time.perf_counter() - started, count / rate)
    if tasks:
        _, late = await asyncio.wait(set(tasks), timeout=drain_s)
        for task in late:
            task.cancel()
            results.items.append(Outcome(due[task][0].label, TIMEOUT, float("nan")))
        await asyncio.gather(*late, return_exceptions=True)
    pool.close()
    results.client_cpu_s = time.process_time() - cpu_started
    return results


async def _one(pool: _Pool, request: Call, scheduled: float, results: Outcomes) -> None:
    for attempt in range(2):
        connection: _Connection | None = None
        try:
            connection = await pool.take()
            status, retry_after, body = await connection.send(request)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            if connection is not None:
                connection.close()
                if connection.used and attempt == 0:
                    # The server may close a keep-alive connection as we reuse it: resend
                    # once on a new one, as HTTP clients do, and count it.
                    results.reconnects += 1
                    continue
            results.items.append(Outcome(request.label, type(exc).__name__, float("nan")))
            return
        except asyncio.CancelledError:
            if connection is not None:
                connection.close()
            raise
        pool.give_back(connection)
        latency = time.perf_counter() - scheduled
        detail = body[:DETAIL_CHARS].decode(errors="replace") if status >= 300 else None
        if status == 429:
            detail = None
        results.items.append(Outcome(request.label, str(status), latency, retry_after, detail))
        return


class _Pool:
    """Idle keep-alive connections to one server; a new one when none is idle.

    A connection idle for longer than :data:`MAX_IDLE_S` is dropped rather than reused: the
    server closes idle keep-alive connections (uvicorn after 5 s) and a request sent as it
    does so is lost.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._idle: list[tuple[float, _Connection]] = []
        self._all: list[_Connection] = []

    async def take(self) -> _Connection:
        while self._idle:
            since, connection = self._idle.pop()
            if time.perf_counter() - since <= MAX_IDLE_S:
                return connection
            connection.close()
        reader, writer = await asyncio.open_connection(self.host, self.port)
        connection = _Connection(self.host, reader, writer)
        self._all.append(connection)
        return connection

    def give_back(self, connection: _Connection) -> None:
        connection.used = True
        self._idle.append((time.perf_counter(), connection))

    def close(self) -> None:
        for connection in self._all:
            connection.close()
        self._idle.clear()
        self._all.clear()


@dataclass
class _Connection:
    """One keep-alive HTTP/1.1 connection: send a request, read its whole answer."""

    host: str
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    used: bool = False
    """It has answered a request before (a failure on it may be a closed keep-alive)."""

    async def send(self, request: Call) -> tuple[int, str | None, bytes]:
        """The answer's status, its ``Retry-After`` header (None when absent) and body."""
        head = (
            f"{request.method} {request.path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(request.body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + request.body)
        await self.writer.drain()
        lines = (await self.reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
        status = int(lines[0].split()[1])
        length, retry_after = 0, None
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            key = name.strip().lower()
            if key == b"content-length":
                length = int(value)
            elif key == b"retry-after":
                retry_after = value.strip().decode()
        body = await self.reader.readexactly(length)
        return status, retry_after, body

    def close(self) -> None:
        self.writer.close()
