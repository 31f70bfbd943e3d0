"""A bounded HTTP load generator: N requests from C concurrent async clients, loopback only.

Every run stops by itself after ``requests`` requests or ``max_seconds``, whichever comes
first; it sends only to the URL it is given, which benchmarks take from a server they
started on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

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
    """POST ``requests`` requests with ``concurrency`` clients in flight; stop at the deadline."""
    check_loopback(url)
    if requests < 1 or concurrency < 1 or max_seconds <= 0:
        raise ValueError("requests, concurrency and max_seconds must be positive")
    result = LoadResult(latencies=[])
    next_number = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120.0) as client:
        started = time.perf_counter()
        deadline = started + max_seconds
        cpu_started = time.process_time()

        async def worker() -> None:
            nonlocal next_number
            while next_number < requests and time.perf_counter() < deadline:
                number = next_number
                next_number += 1
                path, body = request(number)
                sent = time.perf_counter()
                try:
                    response = await client.post(path, json=dict(body))
                except httpx.HTTPError as exc:
                    result.errors[type(exc).__name__] += 1
                    continue
                if response.is_success:
                    result.latencies.append(time.perf_counter() - sent)
                else:
                    result.errors[str(response.status_code)] += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        result.elapsed_s = time.perf_counter() - started
        result.client_cpu_s = time.process_time() - cpu_started
    return result
