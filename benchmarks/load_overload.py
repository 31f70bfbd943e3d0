"""The overload part of the load benchmark: a small queue, bursts far above capacity.

A server started with ``IPSIM_MAX_QUEUE`` small gets a quiet baseline of text searches,
then bursts of text searches at several multiples of the measured capacity. What the
engine cannot queue must come back at once as 429 with a ``Retry-After`` of whole seconds
(>= 1); nothing else may fail; and the requests it admits should keep their quiet latency,
since a bounded queue is what bounds their wait.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ipsim.benchmarks.load_mix import MixedTraffic
from ipsim.benchmarks.open_loop import CLIENT_LIMIT, Outcomes, offer
from ipsim.benchmarks.report import Table
from ipsim.benchmarks.server import running_server

QUEUE = 16
QUIET_RATE = 5.0
ADMITTED_P95_FACTOR = 3.0
"""Admitted requests "keep their latency" when their p95 is within this factor of quiet."""
MAX_IN_FLIGHT = 512


@dataclass(frozen=True)
class Burst:
    """One burst: its offered rate and what came back."""

    rate: float
    outcomes: Outcomes

    @property
    def rejected(self) -> int:
        """429 answers."""
        return self.outcomes.statuses().get("429", 0)

    @property
    def valid_retry_after(self) -> int:
        """429 answers whose ``Retry-After`` is an integer >= 1."""
        return sum(
            1
            for o in self.outcomes.items
            if o.status == "429"
            and (o.retry_after or "").isdigit()
            and int(o.retry_after or 0) >= 1
        )

    @property
    def not_sent(self) -> int:
        """Requests this side never sent: too many already in flight."""
        return self.outcomes.statuses().get(CLIENT_LIMIT, 0)

    @property
    def other_errors(self) -> int:
        """Failures other than 429 (and other than requests never sent)."""
        return self.outcomes.errors_other_than(("429", CLIENT_LIMIT))

    def keeps_latency(self, quiet: Outcomes) -> bool:
        """Admitted p95 within :data:`ADMITTED_P95_FACTOR` of the quiet p95."""
        calm, busy = quiet.latency(), self.outcomes.latency()
        return (
            calm is not None
            and busy is not None
            and busy.p95_ms <= ADMITTED_P95_FACTOR * calm.p95_ms
        )


@dataclass(frozen=True)
class Overload:
    """The quiet baseline and the bursts."""

    quiet: Outcomes
    bursts: list[Burst]
    unbounded: Burst | None = None
    """The largest burst again, against a server with the default queue (for contrast)."""


def measure(
    data: Path, traffic: MixedTraffic, rates: Sequence[float], *, quiet_s: float, burst_s: float
) -> Overload:
    """Start a server with ``IPSIM_MAX_QUEUE``; quiet text searches, then one burst per rate."""
    with running_server(data, {"IPSIM_MAX_QUEUE": str(QUEUE)}) as server:
        _run(server.url, traffic, 10_000_000, 2.0, 2.0)  # warm-up
        quiet = _run(server.url, traffic, 20_000_000, QUIET_RATE, quiet_s)
        print(f"  quiet {QUIET_RATE:g} req/s: {quiet.ok}/{quiet.sent} ok", flush=True)
        bursts = []
        for i, rate in enumerate(rates):
            outcomes = _run(server.url, traffic, 30_000_000 + 1_000_000 * i, rate, burst_s)
            bursts.append(Burst(rate, outcomes))
            statuses = dict(outcomes.statuses())
            print(f"  burst {rate:g} req/s: {outcomes.ok} admitted, {statuses}", flush=True)
            time.sleep(3.0)  # the queue drains before the next burst
    return Overload(quiet, bursts)


def measure_default_queue(data: Path, traffic: MixedTraffic, rate: float, burst_s: float) -> Burst:
    """The same kind of burst against a server with the default queue (4096 items)."""
    with running_server(data) as server:
        _run(server.url, traffic, 10_000_000, 2.0, 2.0)  # warm-up
        outcomes = _run(server.url, traffic, 40_000_000, rate, burst_s)
        statuses = dict(outcomes.statuses())
        print(f"  default queue, burst {rate:g} req/s: {outcomes.ok} admitted, {statuses}")
    return Burst(rate, outcomes)


def _run(url: str, traffic: MixedTraffic, first: int, rate: float, seconds: float) -> Outcomes:
    searches = traffic.text_searches(first)
    return asyncio.run(
        offer(url, searches, rate=rate, seconds=seconds, max_in_flight=MAX_IN_FLIGHT)
    )


def table(overload: Overload, burst_s: float) -> Table:
    """Quiet vs each burst: admitted latency and what was turned away."""
    result = Table(
        f"Overload: IPSIM_MAX_QUEUE={QUEUE}, text searches, bursts of {burst_s:g} s",
        ["phase", "offered req/s", "sent", "admitted", "p50 ms", "p95 ms", "p99 ms", "429",
         "429 with Retry-After >= 1", "not sent (client limit)", "other errors"],
    )  # fmt: skip
    rows: list[tuple[str, float, Outcomes, Burst | None]]
    rows = [("quiet baseline", QUIET_RATE, overload.quiet, None)]
    rows += [("burst", b.rate, b.outcomes, b) for b in overload.bursts]
    if overload.unbounded is not None:
        rows.append(("burst, default queue", overload.unbounded.rate, overload.unbounded.outcomes,
                     overload.unbounded))  # fmt: skip
    for phase, rate, outcomes, burst in rows:
        latency = outcomes.latency()
        statuses = outcomes.statuses()
        others = {s: n for s, n in statuses.items() if s not in ("429", CLIENT_LIMIT)}
        result.add(
            phase,
            rate,
            outcomes.sent,
            outcomes.ok,
            latency.p50_ms if latency else None,
            latency.p95_ms if latency else None,
            latency.p99_ms if latency else None,
            statuses.get("429", 0),
            burst.valid_retry_after if burst else None,
            statuses.get(CLIENT_LIMIT, 0),
            ", ".join(f"{s}: {n}" for s, n in sorted(others.items())) or "0",
        )
    return result


def notes(overload: Overload) -> list[str]:
    """Goals met or not, with the figures."""
    rejected = sum(b.rejected for b in overload.bursts)
    valid = sum(b.valid_retry_after for b in overload.bursts)
    others = sum(b.other_errors for b in overload.bursts)
    sent = sum(b.outcomes.sent for b in overload.bursts)
    rejects_well = rejected > 0 and valid == rejected and others == 0
    lines = [
        f"Overload goal 1 (the excess gets 429 with an integer Retry-After >= 1, nothing else "
        f"fails): {'MET' if rejects_well else 'NOT MET'} — {rejected:,} of {sent:,} burst "
        f"requests got 429, {valid:,} of them with a valid Retry-After; {others} other errors."
    ]
    quiet = overload.quiet.latency()
    for burst in overload.bursts:
        busy = burst.outcomes.latency()
        if quiet is None or busy is None:
            lines.append(f"Burst {burst.rate:g} req/s: no admitted requests to compare.")
            continue
        kept = burst.keeps_latency(overload.quiet)
        bound = queue_bound_ms(burst, quiet.p95_ms)
        lines.append(
            f"Overload goal 2 at {burst.rate:g} req/s (admitted p95 <= {ADMITTED_P95_FACTOR:g}x "
            f"quiet p95): {'MET' if kept else 'NOT MET'} — admitted p50/p95 "
            f"{busy.p50_ms:.0f}/{busy.p95_ms:.0f} ms vs quiet {quiet.p50_ms:.0f}/"
            f"{quiet.p95_ms:.0f} ms ({burst.rejected:,} rejected, {burst.not_sent:,} not sent); "
            f"the wait a full queue allows (quiet p95 + 2 x {QUEUE} items at the admitted "
            f"{burst.outcomes.throughput:.0f} req/s) is {bound:.0f} ms."
        )
    if overload.unbounded is not None:
        busy = overload.unbounded.outcomes.latency()
        shown = f"p50/p95 {busy.p50_ms:,.0f}/{busy.p95_ms:,.0f} ms" if busy else "no answers"
        lines.append(
            f"For contrast, the same {overload.unbounded.rate:g} req/s burst against the default "
            f"queue (4096 items): {overload.unbounded.outcomes.ok:,} admitted, {shown}, "
            f"{overload.unbounded.rejected:,} x 429."
        )
    return lines


def queue_bound_ms(burst: Burst, quiet_p95_ms: float) -> float:
    """Quiet p95 plus the time to encode a full queue and the batch ahead of it."""
    rate = burst.outcomes.throughput
    return quiet_p95_ms + (2 * QUEUE / rate * 1000 if rate > 0 else float("inf"))
