"""A bounded HTTP load generator: N requests from C concurrent async clients, loopback only.

Every run stops by itself after ``requests`` requests or ``max_seconds``, whichever comes
first; it sends only to the URL it is given, which benchmarks take from a server they
started on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ipsim.benchmarks.metrics import Latency

RequestFn = Callable[[int], tuple[str, Mapping[str, Any]]]
"""Request number → (path, JSON body) of a POST."""

_LOOPBACK = ("127.", "localhost", "[::1]")


@dataclass
class LoadResult:
    """What a load run did: latencies of the successful requests and counts of the rest."""

    latencies: list[float]
    errors: Counter[str] = field(default_factory=Counter)
    elapsed_s: float = 0.0
    client_cpu_s: float = 0.0

    @property
    def ok(self) -> int:
        """Requests answered with 2xx."""
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        """Successful requests per second of wall time."""
        return self.ok / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def latency(self) -> Latency:
        """Percentiles of the successful requests."""
        return Latency.of(self.latencies)


def check_loopback(url: str) -> None:
    """Refuse any target that is not this machine."""
    host = urlsplit(url).netloc
    if not host.startswith(_LOOPBACK):
        raise ValueError(f"load is only ever sent to loopback addresses, not {url!r}")


async def run_load(
    url: str, request: RequestFn, *, requests: int, concurrency: int, max_seconds: float
) -> LoadResult:
    """POST ``requests`` requests with ``concurrency`` clients in flight; stop at the deadline.

    Each client is one keep-alive HTTP/1.1 connection driven by plain asyncio streams, as
    wrk does: a full HTTP client library costs more CPU per request than the server's own
    handling, and on a 2-core machine that CPU is taken from the server being measured.
    """
    check_loopback(url)
    if requests < 1 or concurrency < 1 or max_seconds <= 0:
        raise ValueError("requests, concurrency and max_seconds must be positive")
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    result = LoadResult(latencies=[])
    next_number = 0
    started = time.perf_counter()
    deadline = started + max_seconds
    cpu_started = time.process_time()

    async def worker() -> None:
        nonlocal next_number
        connection: _Connection | None = None
        while next_number < requests and time.perf_counter() < deadline:
            number = next_number
            next_number += 1
            path, body = request(number)
            sent = time.perf_counter()
            try:
                if connection is None:
                    connection = await _Connection.open(host, port)
                status = await connection.post(path, json.dumps(dict(body)).encode())
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                result.errors[type(exc).__name__] += 1
                if connection is not None:
                    connection.close()
                connection = None
                continue
            if 200 <= status < 300:
                result.latencies.append(time.perf_counter() - sent)
            else:
                result.errors[str(status)] += 1
        if connection is not None:
            connection.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.elapsed_s = time.perf_counter() - started
    result.client_cpu_s = time.process_time() - cpu_started
    return result


@dataclass
class _Connection:
    """One keep-alive HTTP/1.1 connection that POSTs JSON and reads whole answers."""

    host: str
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    @classmethod
    async def open(cls, host: str, port: int) -> _Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(host, reader, writer)

    async def post(self, path: str, body: bytes) -> int:
        """Send one request, read the full answer, return its status."""
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        await self.writer.drain()
        lines = (await self.reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()
