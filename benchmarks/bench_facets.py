"""Facet counts from the field index vs a scan of every document's fields.

A store of ``--docs`` documents (default 100,000; 4-dim vectors, the counting never looks at
them) whose ``ipc`` field holds 1–5 real IPC codes drawn from the full WIPO scheme
(``ip/ipc/wipo_ipc_all.tsv``, 75k codes) with a Zipf-like skew, each written in one of the
three spellings (``A61K 31/495``, ``A61K31/495``, ``A61K0031495000``), plus a flat
``country`` (8 values) and a ``year``. Every facet is timed warm (median of ``--repeat``)
and cold (the first call after a write, which rebuilds the field's flat postings), with and
without a filter, beside the brute-force baseline: parsing every document's codes and
counting distinct children per document, over the already-decoded fields in memory. The two
must give identical counts.

    .venv/bin/python -m benchmarks.bench_facets [--docs N] [--repeat R] [--quick]
        [--markdown FILE]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ipsim.benchmarks.datasets import data_root, read_text
from ipsim.benchmarks.report import Report, Table, add_common_arguments
from ipsim.engine.classification import IPC
from ipsim.engine.facets import FacetResult, FacetSpec, facet_counts, facet_spec
from ipsim.indexers.filters import Filter, parse_filter
from ipsim.indexers.store import CollectionStore, Record, StoreOptions

COUNTRIES = ("RU", "US", "CN", "DE", "JP", "KR", "FR", "GB")
BATCH = 5000


def load_ipc_codes(root: Path | None = None) -> list[str]:
    """Every code of ``ip/ipc/wipo_ipc_all.tsv`` in file order (some codes appear twice)."""
    path = (root or data_root()) / "ip" / "ipc" / "wipo_ipc_all.tsv"
    return [line.partition("\t")[0] for line in read_text(path).splitlines() if "\t" in line]


def spellings(code: str) -> list[str]:
    """The three ways documents write a code: printed, without the space, WIPO's 14 chars."""
    path = IPC.parse(code)
    assert path is not None
    printed = path[-1]
    if len(path) < 4:
        return [printed]
    subclass, _, group = printed.partition(" ")
    main, _, sub = group.partition("/")
    packed = f"{subclass}{int(main):04d}{sub.ljust(6, '0')}"
    return [printed, printed.replace(" ", ""), packed]


def make_fields(docs: int, codes: Sequence[str], rng: np.random.Generator) -> list[dict[str, Any]]:
    """Each document's fields: 1–5 skewed real codes in mixed spellings, country, year."""
    order = rng.permutation(len(codes))
    weights = 1.0 / (np.arange(len(codes)) + 20.0)
    weights /= weights.sum()
    per_doc = np.minimum(rng.geometric(0.5, docs), 5)
    drawn = order[rng.choice(len(codes), size=int(per_doc.sum()), p=weights)]
    forms = rng.integers(0, 3, size=drawn.size)
    written = []
    for i, form in zip(drawn, forms, strict=True):
        forms_of = spellings(codes[i])
        written.append(forms_of[form % len(forms_of)])
    fields, at = [], 0
    for n in per_doc:
        fields.append(
            {
                "ipc": written[at : at + n],
                "country": COUNTRIES[int(rng.integers(len(COUNTRIES)))],
                "year": int(rng.integers(1990, 2025)),
            }
        )
        at += n
    return fields


def build_store(path: Path, fields: Sequence[dict[str, Any]]) -> CollectionStore:
    store = CollectionStore.create(
        path,
        dim=4,
        metric="ip",
        index_type="flat",
        index_params={},
        shards=1,
        meta={},
        options=StoreOptions(group_commit_ms=0.0, fsync=False, snapshot_every=10**9),
    )
    vector = np.ones((1, 4), dtype=np.float32)
    for start in range(0, len(fields), BATCH):
        chunk = fields[start : start + BATCH]
        store.upsert(
            [Record(f"d{start + i}", vector, [(0, 1)], f, {}) for i, f in enumerate(chunk)]
        )
    return store


def brute_force(
    fields: Sequence[dict[str, Any]], spec: FacetSpec, passes: Callable[[dict[str, Any]], bool]
) -> Counter[object]:
    """The baseline: every passing document's values, parsed and counted once per child."""
    counts: Counter[object] = Counter()
    system = spec.system
    parent = () if system is None or spec.prefix is None else IPC.parse(spec.prefix) or ()
    for doc in fields:
        if not passes(doc):
            continue
        values = doc.get(spec.field)
        values = values if isinstance(values, list) else [values]
        if system is None:
            counts.update(set(values))
            continue
        children = set()
        for value in values:
            path = system.parse(value)
            child = None if path is None else system.child(path, parent)
            if child is not None:
                children.add(child)
        counts.update(children)
    return counts


def median_ms(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1e3)
    return statistics.median(times)


SPECS = (("ipc", None), ("ipc", "A61K"), ("ipc", "A61K 31/00"), ("country", None))
FILTERS: tuple[tuple[str, dict[str, Any] | None, Callable[[dict[str, Any]], bool]], ...] = (
    ("none", None, lambda d: True),
    ("country=DE", {"country": "DE"}, lambda d: d["country"] == "DE"),
    ("year 2010-2014", {"year": {"gte": 2010, "lte": 2014}}, lambda d: 2010 <= d["year"] <= 2014),
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--docs", type=int, default=100_000, help="documents in the store")
    parser.add_argument("--repeat", type=int, default=20, help="warm timings per facet")
    args = parser.parse_args(argv)
    docs, repeat = (5_000, 3) if args.quick else (args.docs, args.repeat)
    rng = np.random.default_rng(7)
    codes = load_ipc_codes()
    fields = make_fields(docs, codes, rng)
    specs = [facet_spec(name, prefix) for name, prefix in SPECS]
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        store = build_store(Path(tmp) / "facets", fields)
        build_s = time.perf_counter() - started
        report = Report(
            f"bench_facets: facet counts over {docs:,} documents",
            {
                "documents": f"{docs:,}, {sum(len(f['ipc']) for f in fields):,} IPC codes "
                f"({len({c for f in fields for c in f['ipc']}):,} distinct strings) drawn "
                f"from the {len(codes):,} real codes, three spellings",
                "store build": f"{build_s:.1f} s (upserts of {BATCH:,}, no fsync)",
                "warm": f"median of {repeat} calls",
                "after a write": "first call after a 1-document upsert + delete (deltas read)",
            },
        )
        report.configure(args)
        report.print_header()
        try:
            report.tables += [
                first_calls(store, specs),
                timings(store, fields, specs, repeat),
                ingestion(store, fields, specs[1], rounds=max(3, repeat)),
            ]
        finally:
            store.close()
    report.notes.append(
        "counts equal the brute-force scan's in every timed case (checked); the scan is the "
        "best case for it: fields already decoded in memory, codes parsed through a warm cache"
    )
    report.publish(args.markdown)
    return 0


def first_calls(store: CollectionStore, specs: Sequence[FacetSpec]) -> Table:
    """The first count of each facet, in order: it flattens the field's postings (first
    facet of the field) and buckets every distinct value (parsing codes, cold at first)."""
    table = Table("first call of each facet after the store is built (ms)", ["facet", "ms"])
    for spec in specs:
        started = time.perf_counter()
        facet_counts(store, [spec], None)
        table.add(_name(spec), (time.perf_counter() - started) * 1e3)
    return table


def timings(
    store: CollectionStore, fields: list[dict[str, Any]], specs: Sequence[FacetSpec], repeat: int
) -> Table:
    table = Table(
        "facet timings (ms)",
        ["facet", "filter", "children", "warm", "after a write", "scan baseline", "speed-up"],
    )
    for spec in specs:
        for label, raw, passes in FILTERS:
            flt = None if raw is None else parse_filter(raw)
            table.add(_name(spec), label, *measure(store, fields, spec, flt, passes, repeat))
            print(f"  {_name(spec):24} {label:16} {table.rows[-1][3:5]}", flush=True)
    return table


def ingestion(
    store: CollectionStore, fields: list[dict[str, Any]], spec: FacetSpec, rounds: int
) -> Table:
    """Facet counts between upserts of 100 new documents (deltas grow, then a rebuild)."""
    table = Table(
        f"{_name(spec)} counted after each of {rounds} upserts of 100 new documents (ms)",
        ["median", "max"],
    )
    vector = np.ones((1, 4), dtype=np.float32)
    times = []
    for i in range(rounds):
        batch = [
            Record(f"new{i}-{j}", vector, [(0, 1)], fields[(i * 100 + j) % len(fields)], {})
            for j in range(100)
        ]
        store.upsert(batch)
        started = time.perf_counter()
        facet_counts(store, [spec], None)
        times.append((time.perf_counter() - started) * 1e3)
    table.add(statistics.median(times), max(times))
    store.delete([f"new{i}-{j}" for i in range(rounds) for j in range(100)])
    return table


def measure(
    store: CollectionStore,
    fields: list[dict[str, Any]],
    spec: FacetSpec,
    flt: Filter | None,
    passes: Callable[[dict[str, Any]], bool],
    repeat: int,
) -> tuple[int, float, float, float, float]:
    """(children, warm ms, after-a-write ms, scan ms, speed-up) of one facet, counts checked."""
    expected = brute_force(fields, spec, passes)
    check(facet_counts(store, [spec], flt)[spec.field], expected, spec)
    warm = median_ms(lambda: facet_counts(store, [spec], flt), repeat)
    cold = cold_ms(store, fields[0], lambda: facet_counts(store, [spec], flt))
    check(facet_counts(store, [spec], flt)[spec.field], expected, spec)
    scan = median_ms(lambda: brute_force(fields, spec, passes), max(1, repeat // 5))
    return len(expected), warm, cold, scan, scan / warm


def _name(spec: FacetSpec) -> str:
    return spec.field + (f" under {spec.prefix}" if spec.prefix else "")


def cold_ms(store: CollectionStore, fields: dict[str, Any], run: Callable[[], object]) -> float:
    """The first call after a write (a document added and deleted: the same state again)."""
    store.upsert([Record("touch", np.ones((1, 4), np.float32), [(0, 1)], fields, {})])
    store.delete(["touch"])
    started = time.perf_counter()
    run()
    return (time.perf_counter() - started) * 1e3


def check(result: FacetResult, expected: Counter[object], spec: FacetSpec) -> None:
    """The index's counts equal the scan's, and it lists the largest (ties aside)."""
    listed = {v.value: v.count for v in result.values}
    unlisted = [n for value, n in expected.items() if value not in listed]
    if (
        any(expected.get(value) != n for value, n in listed.items())
        or len(listed) != min(spec.limit, len(expected))
        or result.other != len(unlisted)
        or (unlisted and max(unlisted) > min(listed.values()))
    ):
        raise AssertionError(f"{spec}: index {listed} (+{result.other}) != scan {expected}")


if __name__ == "__main__":
    raise SystemExit(main())
