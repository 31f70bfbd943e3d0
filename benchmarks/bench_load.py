"""Load: sustained mixed traffic at the largest rate the machine holds, then overload.

A real ``ipsim serve`` over the demo collections (``patents``, ``trademarks``,
``molecules``, ``sequences``, ``designs``) on loopback gets open-loop traffic (requests
leave on a fixed schedule, latency counted from when each was due): searches of every
modality and text upserts in the proportions of :data:`benchmarks.load_mix.MIX`.

1. **Steps**: the offered rate starts at ``--start-rate`` and doubles each step (then one
   step half-way above the best) until a step fails: p95 over 1 s, any error, or fewer
   answers than offered. The best step that held is the capacity.
2. **Sustained**: that rate for ``--seconds`` (180 s; ``--quick`` 20 s): throughput,
   p50/p95/p99 and errors by status, per kind of request and overall. Goal: no error
   other than 429, p95 under 1 s.
3. **Overload** (:mod:`benchmarks.load_overload`): a second server on the same data with
   ``IPSIM_MAX_QUEUE=16`` gets a quiet baseline of text searches, then bursts of text
   searches at 2x, 5x and 10x the mixed capacity. Goal: the excess gets 429 with an integer
   ``Retry-After`` >= 1, nothing else fails, and the admitted requests keep their latency
   (p95 within 3x the quiet p95). For contrast, the largest burst also goes to a server
   with the default queue.

``--data-from DIR`` copies a demo data directory built before (``ipsim serve --demo``)
instead of building the demo (about 1.5 min). Results: ``benchmarks/results/load-cpu.json``
and a latency histogram (``load-latency-cpu.png``).

    python -m benchmarks.bench_load [--quick] [--seconds N] [--data-from DIR] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ipsim.benchmarks import load_overload, plots
from ipsim.benchmarks.load_mix import MIX, MODALITY, DemoQueries, MixedTraffic
from ipsim.benchmarks.open_loop import CallFn, Outcomes, offer
from ipsim.benchmarks.report import Report, Table, add_common_arguments
from ipsim.benchmarks.server import ServerProcess, running_server

P95_LIMIT_S = 1.0
HELD_SHARE = 0.95
"""A step holds when at least this share of the offered requests is answered 2xx."""
STEP_P95_S = 0.5
"""A step holds only with p95 under this: a short step does not show a queue that grows
slowly, so it keeps a margin below the sustained goal."""
BURST_FACTORS = (2, 5, 10)
"""Overload bursts at these multiples of the mixed capacity."""
MAX_STEPS = 8


@dataclass(frozen=True)
class Step:
    """One offered rate and what came of it."""

    rate: float
    outcomes: Outcomes
    held: bool


def holds(outcomes: Outcomes) -> bool:
    """No error at all, p95 within the limit, and (nearly) every request answered."""
    latency = outcomes.latency()
    return (
        not outcomes.statuses()
        and latency is not None
        and latency.p95_ms <= STEP_P95_S * 1000
        and outcomes.ok >= HELD_SHARE * outcomes.sent
    )


def server_cpu_s(server: ServerProcess) -> float:
    """User + system CPU seconds of the server process so far (Linux ``/proc``)."""
    try:
        fields = Path(f"/proc/{server.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(url: str, call: CallFn, rate: float, seconds: float) -> Outcomes:
    """One open-loop run."""
    return asyncio.run(offer(url, call, rate=rate, seconds=seconds, max_in_flight=512))


def find_capacity(
    url: str, traffic: MixedTraffic, start_rate: float, step_s: float
) -> tuple[list[Step], float]:
    """Double the offered rate until a step fails, then try half-way; the best held rate."""
    steps: list[Step] = []
    best = 0.0
    rate = start_rate
    first = 0
    for _ in range(MAX_STEPS):
        outcomes = run(url, _numbered(traffic, first), rate, step_s)
        first += outcomes.sent
        steps.append(Step(rate, outcomes, holds(outcomes)))
        print(f"  step {rate:g} req/s: {_summary(outcomes)}", flush=True)
        time.sleep(2.0)  # let the server drain before the next step
        if not steps[-1].held:
            break
        best = rate
        rate *= 2
    if best > 0 and not steps[-1].held:
        rate = best * 1.5
        outcomes = run(url, _numbered(traffic, first), rate, step_s)
        steps.append(Step(rate, outcomes, holds(outcomes)))
        print(f"  step {rate:g} req/s: {_summary(outcomes)}", flush=True)
        time.sleep(2.0)
        if steps[-1].held:
            best = rate
    return steps, best


def _numbered(call: CallFn, first: int) -> CallFn:
    """``call`` numbered from ``first`` (each step sends new requests)."""
    return lambda n: call(first + n)


def _only(traffic: MixedTraffic, label: str, first: int) -> CallFn:
    """Requests of one kind, numbered from ``first``."""
    return lambda n: traffic.request(label, first + n)


def _summary(outcomes: Outcomes) -> str:
    latency = outcomes.latency()
    p95 = f"p95 {latency.p95_ms:.0f} ms" if latency else "no answers"
    statuses = dict(outcomes.statuses())
    return f"{outcomes.ok}/{outcomes.sent} ok, {p95}, errors {statuses or 'none'}"


def _row(table: Table, label: str, share: str, outcomes: Outcomes) -> None:
    latency = outcomes.latency()
    statuses = outcomes.statuses()
    table.add(
        label,
        share,
        outcomes.sent,
        outcomes.ok,
        outcomes.throughput,
        latency.p50_ms if latency else None,
        latency.p95_ms if latency else None,
        latency.p99_ms if latency else None,
        statuses.get("429", 0),
        ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items()) if s != "429") or "0",
    )


def sustained_table(outcomes: Outcomes, rate: float, seconds: float) -> Table:
    """Per kind of request, per modality and overall."""
    table = Table(
        f"Sustained mixed traffic: {rate:g} req/s offered for {seconds:g} s",
        [
            "requests",
            "share",
            "sent",
            "ok",
            "ok/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "429",
            "other errors",
        ],
    )
    total = sum(MIX.values())
    for label, share in MIX.items():
        _row(table, label, f"{share / total:.0%}", outcomes.only(label))
    for modality in dict.fromkeys(MODALITY.values()):
        labels = [label for label, m in MODALITY.items() if m == modality]
        part = sum(MIX[label] for label in labels) / total
        chosen = Outcomes([o for o in outcomes.items if o.label in labels], outcomes.elapsed_s)
        _row(table, f"all {modality}", f"{part:.0%}", chosen)
    _row(table, "overall", "100%", outcomes)
    return table


def steps_table(steps: Sequence[Step], step_s: float) -> Table:
    """One row per offered rate."""
    table = Table(
        f"Finding the capacity: open-loop steps of {step_s:g} s",
        ["offered req/s", "sent", "ok", "ok/s", "p50 ms", "p95 ms", "p99 ms", "errors", "held"],
    )
    for step in steps:
        latency = step.outcomes.latency()
        statuses = step.outcomes.statuses()
        table.add(
            step.rate,
            step.outcomes.sent,
            step.outcomes.ok,
            step.outcomes.throughput,
            latency.p50_ms if latency else None,
            latency.p95_ms if latency else None,
            latency.p99_ms if latency else None,
            ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items())) or "0",
            "yes" if step.held else "no",
        )
    return table


def prepare_data(workdir: Path, data_from: Path | None) -> Path:
    """A demo data directory: a copy of ``data_from``, or the demo built by a first start."""
    data = workdir / "data"
    if data_from is not None:
        shutil.copytree(data_from, data)
        return data
    print("building the demo collections (about 1.5 min) ...", flush=True)
    with running_server(data, {"IPSIM_DEMO": "true"}, timeout=900):
        pass
    return data


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the report (and append it as Markdown when asked)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument(
        "--seconds", type=float, help="sustained run length (default 180; quick 20)"
    )
    parser.add_argument(
        "--step-seconds", type=float, help="length of a capacity step (15; quick 4)"
    )
    parser.add_argument("--start-rate", type=float, default=4.0, help="first offered req/s")
    parser.add_argument("--data-from", type=Path, metavar="DIR", help="copy this demo data dir")
    args = parser.parse_args(argv)
    seconds = args.seconds or (20.0 if args.quick else 180.0)
    step_s = args.step_seconds or (4.0 if args.quick else 15.0)
    quiet_s, burst_s = (4.0, 3.0) if args.quick else (10.0, 5.0)
    queries = DemoQueries.load()
    total = sum(MIX.values())
    mix = ", ".join(f"{label} {share / total:.0%}" for label, share in MIX.items())

    report = Report(
        "bench_load: sustained mixed traffic and overload on loopback",
        {
            "server": "ipsim serve (HTTP) over the demo collections, on 127.0.0.1, "
            + (f"data copied from {args.data_from}" if args.data_from else "demo built fresh"),
            "traffic": f"open-loop (fixed schedule, latency from when a request was due), "
            f"one keep-alive HTTP/1.1 connection per request in flight, k=10; mix: {mix}",
            "queries": f"from demo/: {queries.sizes()}; varied so repeats are rare (see "
            "benchmarks/load_mix.py)",
            "capacity": f"steps of {step_s:g} s from {args.start_rate:g} req/s, doubling, then "
            f"half-way above the best; a step holds with no error, p95 <= {STEP_P95_S:g} s and "
            f">= {HELD_SHARE:.0%} answered",
            "sustained": f"{seconds:g} s at the best step's rate",
            "overload": f"a second server with IPSIM_MAX_QUEUE={load_overload.QUEUE}: "
            f"{quiet_s:g} s of text searches at {load_overload.QUIET_RATE:g} req/s, then "
            f"{burst_s:g} s bursts of text searches at "
            f"{', '.join(f'{f}x' for f in BURST_FACTORS)} the mixed capacity, at most "
            f"{load_overload.MAX_IN_FLIGHT} in flight; the largest burst again against a server "
            "with the default queue (4096)",
        },
    )
    report.configure(args)
    report.print_header()

    with tempfile.TemporaryDirectory(prefix="ipsim-load-") as tmp:
        data = prepare_data(Path(tmp), args.data_from)
        traffic = MixedTraffic(queries, tag=str(int(time.time())))
        with running_server(data, {"IPSIM_DEMO": "true"}) as server:
            print("\nwarm-up: every kind once ...", flush=True)
            for i, label in enumerate(MIX):
                run(server.url, _only(traffic, label, 9_000_000 + 10 * i), 1.0, 1.0)
            print("capacity steps ...", flush=True)
            steps, best = find_capacity(server.url, traffic, args.start_rate, step_s)
            rate = best or args.start_rate / 2
            print(f"sustained {rate:g} req/s for {seconds:g} s ...", flush=True)
            cpu_before = server_cpu_s(server)
            sustained = run(server.url, _numbered(traffic, 50_000_000), rate, seconds)
            server_cpu = server_cpu_s(server) - cpu_before
            print(f"  {_summary(sustained)}", flush=True)
        burst_rates = [factor * rate for factor in BURST_FACTORS]
        print(f"overload (IPSIM_MAX_QUEUE={load_overload.QUEUE}) ...", flush=True)
        overload = load_overload.measure(
            data, traffic, burst_rates, quiet_s=quiet_s, burst_s=burst_s
        )
        print("the largest burst against the default queue ...", flush=True)
        overload = dataclasses.replace(
            overload,
            unbounded=load_overload.measure_default_queue(data, traffic, burst_rates[-1], burst_s),
        )

    report.tables.append(steps_table(steps, step_s))
    report.tables.append(sustained_table(sustained, rate, seconds))
    report.tables.append(load_overload.table(overload, burst_s))
    plots.latency_histogram(
        report.plot_path("latency"),
        {
            modality: [
                o.latency_s * 1e3 for o in sustained.items if o.ok and MODALITY[o.label] == modality
            ]
            for modality in dict.fromkeys(MODALITY.values())
        },
        f"Latency under sustained mixed traffic ({rate:g} req/s, {seconds:g} s)",
    )
    add_notes(report, steps, sustained, overload, best, rate, server_cpu, seconds)
    report.publish(args.markdown)
    return 0


def add_notes(
    report: Report,
    steps: Sequence[Step],
    sustained: Outcomes,
    overload: load_overload.Overload,
    best: float,
    rate: float,
    server_cpu: float,
    seconds: float,
) -> None:
    """Goals met or not, with the figures that decide them."""
    latency = sustained.latency()
    p95 = latency.p95_ms if latency else float("nan")
    others = sustained.errors_other_than(("429",))
    if best == 0:
        report.notes.append(
            f"No step held, not even the first; the sustained run used {rate:g} req/s."
        )
    met = others == 0 and p95 <= P95_LIMIT_S * 1000
    report.notes.append(
        f"Sustained goal (0 errors other than 429, p95 <= {P95_LIMIT_S:g} s): "
        f"{'MET' if met else 'NOT MET'} — {sustained.ok:,} of {sustained.sent:,} answered 2xx at "
        f"{sustained.throughput:.1f} req/s, p95 {p95:.0f} ms, {others} other errors, "
        f"{sustained.statuses().get('429', 0)} x 429."
    )
    runs = [*(step.outcomes for step in steps), sustained, overload.quiet]
    runs += [burst.outcomes for burst in overload.bursts]
    if overload.unbounded is not None:
        runs.append(overload.unbounded.outcomes)
    for outcomes in runs:
        for (label, status), detail in outcomes.error_examples().items():
            report.notes.append(f"Error {status} on {label}: {detail}")
    report.notes.extend(load_overload.notes(overload))
    report.notes.append(
        f"Server CPU during the sustained run: {server_cpu:.0f} s in {seconds:g} s "
        f"({server_cpu / seconds:.2f} cores); the load generator ran on the same machine "
        f"({sustained.client_cpu_s:.1f} s CPU) and resent {sustained.reconnects} requests on a "
        "new connection after a reused keep-alive connection failed."
    )


if __name__ == "__main__":
    raise SystemExit(main())
