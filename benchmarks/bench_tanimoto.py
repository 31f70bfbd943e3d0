"""Tanimoto search speed: ipsim's popcount kernels and FingerprintIndex beside RDKit.

Fingerprints are RDKit Morgan radius 2 (1024 and 2048 bits) of the real molecules of the
shared data (NCI first 5K + WEHI 10K: about 15k structures), cached under ``var/bench/`` as
packed-bit ``.npy`` files (``--fingerprints FILE.npy`` reads such a file instead, so this runs
where RDKit is absent). Throughput needs more rows than that: the real set is tiled to
``--rows`` (default 1,000,000), so the popcount distribution is the real one but every
fingerprint occurs ~65 times; hit counts grow with the copies, pruning ratios do not.
Queries are fingerprints of the real set (seed 0).

* RDKit ``BulkTanimotoSimilarity`` over the real set, one core: the baseline.
* The kernel's full scan (every row's intersection count, tested against threshold 0.7, no
  popcount pruning), on one thread and on every core; also every score computed (threshold 0).
* ``FingerprintIndex.similar``: threshold 0.7 with popcount pruning vs the same scan of every
  row, and top-10 with pruning vs a full scan; rows scanned per query; memory per fingerprint.
* ``--device cuda``: the same scans on the GPU (CuPy), checked to return the same hits.

    .venv/bin/python -m benchmarks.bench_tanimoto [--rows N] [--bits 1024,2048]
        [--device cuda] [--fingerprints FILE.npy] [--quick] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import csv
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from ipsim.benchmarks.report import Report, Table, add_common_arguments
from ipsim.bitwords import bits_to_words16, words16_to_uint64
from ipsim.indexers import popcount
from ipsim.indexers.fingerprint import FingerprintIndex
from ipsim.indexers.fingerprint_gpu import GpuScanner, cuda_device_count

Packed = npt.NDArray[np.uint8]
U64s = npt.NDArray[np.uint64]

CHEMFP_PER_CORE = 130e6
"""chemfp's published Tanimoto rate per core, 1024-bit fingerprints."""
GOAL_PER_CORE = 65e6
GOAL_X_RDKIT = 5.0
THRESHOLD = 0.7
K = 10
_ADD_CHUNK = 100_000


@dataclass(frozen=True, eq=False)
class Rows:
    """A matrix of fingerprints in the form the scanners take (no screen bits).

    Compared by identity: the GPU scanner keeps one device copy per object."""

    sim: U64s
    counts: npt.NDArray[np.int32]
    labels: npt.NDArray[np.int64]
    screen: U64s = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "screen", np.empty((self.sim.shape[0], 0), dtype=np.uint64))


def _molecules(root: Path) -> list[str]:
    """SMILES of the NCI 5K (``SMILES<TAB>id``) and WEHI (``"SMILES","id"``) sets."""
    chemistry = root / "chemistry"
    smiles = [line.split("\t")[0] for line in (chemistry / "nci_first_5K.smi").open()]
    with (chemistry / "wehi_mols.csv").open(newline="") as f:
        smiles += [row[0] for row in csv.reader(f) if row]
    return smiles


def real_fingerprints(bits: int) -> Packed:
    """Morgan radius-2 fingerprints of the real molecules, packed little-endian (cached)."""
    from ipsim.benchmarks import datasets

    path = datasets.cache_dir() / f"tanimoto-morgan2-{bits}.npy"
    if path.exists():
        cached: Packed = np.load(path)
        return cached
    from rdkit import Chem, rdBase
    from rdkit.Chem import rdFingerprintGenerator

    rdBase.DisableLog("rdApp.*")
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=bits)
    mols = [Chem.MolFromSmiles(s) for s in _molecules(datasets.data_root())]
    rows = [generator.GetFingerprintAsNumPy(m) for m in mols if m is not None]
    packed = np.packbits(np.array(rows, dtype=bool), axis=1, bitorder="little")
    np.save(path.with_suffix(".tmp.npy"), packed)
    path.with_suffix(".tmp.npy").replace(path)
    return packed


def load_fingerprints(path: Path) -> Packed:
    """A ``(n, bits / 8)`` uint8 ``.npy`` of packed fingerprints (bits a multiple of 64)."""
    packed = np.load(path)
    if packed.dtype != np.uint8 or packed.ndim != 2 or packed.shape[1] % 8:
        raise SystemExit(f"{path}: want (n, bits/8) uint8 with bits a multiple of 64")
    return np.asarray(packed)


def best_seconds(run: Callable[[], object], repeat: int) -> float:
    """The fastest of ``repeat`` runs (the one least disturbed by other work)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def rdkit_rate(real: Packed, queries: Packed) -> float | None:
    """RDKit BulkTanimotoSimilarity comparisons per second over ``real`` (None without RDKit)."""
    try:
        from rdkit import DataStructs
    except ImportError:
        return None
    fps = [DataStructs.CreateFromBinaryText(row.tobytes()) for row in real]
    probes = [DataStructs.CreateFromBinaryText(row.tobytes()) for row in queries]
    seconds = best_seconds(lambda: [DataStructs.BulkTanimotoSimilarity(p, fps) for p in probes], 3)
    return len(probes) * len(fps) / seconds


def _cmin(query: U64s, bits: int, threshold: float) -> npt.NDArray[np.int32]:
    """The kernel's integer thresholds for every popcount."""
    a = int(np.bitwise_count(query).sum())
    out = np.zeros(bits + 1, dtype=np.int32)
    popcount.min_common(a, np.arange(bits + 1), threshold, popcount.TANIMOTO, 1.0, 1.0, False, out)
    return out


@dataclass
class Measured:
    """One fingerprint size's results."""

    bits: int
    scans: list[tuple[str, str, int, float]] = field(default_factory=list)
    """(what, device, threads (0: GPU), rows per second)."""
    queries: list[tuple[str, str, float, float, float]] = field(default_factory=list)
    """(query, device, seconds per query, rows scanned per query, hits per query)."""
    bytes_per_fp: float = 0.0
    checks: list[tuple[str, bool]] = field(default_factory=list)


class Bench:
    """The scans and queries of one fingerprint size over ``real`` tiled to ``rows`` rows."""

    def __init__(self, real: Packed, rows: int, n_queries: int, repeat: int) -> None:
        self.bits = real.shape[1] * 8
        self.repeat = repeat
        tiled = np.resize(real, (rows, real.shape[1]))
        words = words16_to_uint64(bits_to_words16(tiled))
        self.data = Rows(words, popcount.row_popcounts(words), np.arange(rows, dtype=np.int64))
        self.mask = np.full((rows + 7) // 8, 0xFF, dtype=np.uint8)
        picks = np.random.default_rng(0).choice(real.shape[0], size=n_queries, replace=False)
        self.rows16 = bits_to_words16(real[picks])
        self.queries = words16_to_uint64(self.rows16)
        self.cmins = [_cmin(q, self.bits, THRESHOLD) for q in self.queries]
        self.index = FingerprintIndex(self.bits // 16, bits=self.bits)
        for start in range(0, rows, _ADD_CHUNK):
            chunk = tiled[start : start + _ADD_CHUNK]
            self.index.add(np.arange(start, start + chunk.shape[0]), bits_to_words16(chunk))
        self.index.similar(self.rows16[0], k=1)  # sorts the rows into a block
        self.out = Measured(self.bits, bytes_per_fp=self.index.nbytes / self.index.ntotal)

    @property
    def rows(self) -> int:
        return int(self.data.labels.size)

    def scan(self, q: U64s, cmin: npt.NDArray[np.int32]) -> tuple[Any, Any]:
        """The kernel over every row: positions and intersections of the rows passing ``cmin``."""
        d = self.data
        return popcount.threshold_hits(q, d.sim, d.counts, d.labels, self.mask, cmin, 0, self.rows)

    def every_score(self, q: U64s) -> Any:
        pos, common = self.scan(q, np.zeros(self.bits + 1, dtype=np.int32))
        a = int(np.bitwise_count(q).sum())
        counts = self.data.counts[pos]
        return pos, popcount.scores(common, a, counts, popcount.TANIMOTO, 1.0, 1.0, False)

    def full_scan_top_k(self, q: U64s) -> int:
        pos, scores = self.every_score(q)
        best = np.argpartition(-scores, K)[:K]
        return int(pos[best][np.lexsort((pos[best], -scores[best]))].size)

    def scan_rates(self) -> None:
        """Rows per second of the kernel's full scan, one thread and every core."""
        cores = numba.get_num_threads()
        pairs = list(zip(self.queries, self.cmins, strict=True))
        for threads in sorted({1, cores}):
            numba.set_num_threads(threads)
            seconds = best_seconds(lambda: [self.scan(q, c) for q, c in pairs], self.repeat)
            rate = self.rows * len(pairs) / seconds
            self.out.scans.append((f"kernel, threshold {THRESHOLD}", "cpu", threads, rate))
        numba.set_num_threads(cores)
        seconds = best_seconds(lambda: [self.every_score(q) for q in self.queries], self.repeat)
        rate = self.rows * len(self.queries) / seconds
        self.out.scans.append(("kernel + every score (float64)", "cpu", cores, rate))

    def timed(self, name: str, device: str, run: Callable[[npt.NDArray[Any]], int]) -> None:
        """Seconds, rows scanned and hits per query of ``run`` over the query rows."""
        before = self.index.rows_scanned
        hits = [run(row) for row in self.rows16]  # the warm-up pass counts the rows scanned
        scanned = (self.index.rows_scanned - before) / len(self.rows16)
        seconds = best_seconds(lambda: [run(row) for row in self.rows16], self.repeat)
        per_query = seconds / len(self.rows16)
        self.out.queries.append((name, device, per_query, scanned, float(np.mean(hits))))

    def index_queries(self, device: str) -> list[Any]:
        """Threshold and top-k through the index on ``device``; returns the answers."""
        index = self.index.to(device)
        self.timed(
            f"threshold {THRESHOLD}, pruned",
            index.device,
            lambda r: index.similar(r, k=None, threshold=THRESHOLD).total,
        )
        self.timed(f"top-{K}, pruned", index.device, lambda r: index.similar(r, k=K).labels.size)
        return [
            (index.similar(r, k=K), index.similar(r, k=None, threshold=THRESHOLD))
            for r in self.rows16
        ]

    def unpruned_queries(self) -> None:
        """The same answers from the kernel over every row (what pruning saves)."""
        pairs = list(zip(self.queries, self.cmins, strict=True))
        runs: dict[str, Callable[[U64s, Any], int]] = {
            f"threshold {THRESHOLD}, every row": lambda q, c: int(self.scan(q, c)[0].size),
            f"top-{K}, every row": lambda q, c: self.full_scan_top_k(q),
        }
        for name, run in runs.items():
            hits = [run(q, c) for q, c in pairs]
            seconds = best_seconds(
                lambda run=run: [run(q, c) for q, c in pairs],  # type: ignore[misc]
                self.repeat,
            )
            per_query = seconds / len(pairs)
            self.out.queries.append(
                (name, "cpu", per_query, float(self.rows), float(np.mean(hits)))
            )
        pruned = [self.index.similar(r, k=None, threshold=THRESHOLD).total for r in self.rows16]
        every = [int(self.scan(q, c)[0].size) for q, c in pairs]
        self.out.checks.append(
            (f"threshold {THRESHOLD}: pruned hits == every-row hits", pruned == every)
        )

    def gpu(self, cpu_answers: list[Any]) -> None:
        """The CUDA kernel's full-scan rate and hits, and the index's answers, against the CPU's."""
        scanner = GpuScanner(0)
        pairs = list(zip(self.queries, self.cmins, strict=True))

        def run() -> list[Any]:
            return [
                scanner.threshold_hits(self.data, q, self.mask, c, 0, self.rows) for q, c in pairs
            ]

        found = run()  # also copies the rows to the device
        seconds = best_seconds(run, self.repeat)
        rate = self.rows * len(pairs) / seconds
        self.out.scans.append((f"kernel, threshold {THRESHOLD}", scanner.device, 0, rate))
        same = all(
            np.array_equal(g[0], c[0]) and np.array_equal(g[1], c[1])
            for g, c in zip(found, (self.scan(q, c) for q, c in pairs), strict=True)
        )
        self.out.checks.append(("CUDA kernel hits == CPU kernel hits", same))
        gpu_answers = self.index_queries("cuda")
        same = all(
            np.array_equal(g.labels, c.labels) and np.array_equal(g.scores, c.scores)
            for gs, cs in zip(gpu_answers, cpu_answers, strict=True)
            for g, c in zip(gs, cs, strict=True)
        )
        self.out.checks.append(("CUDA index answers == CPU index answers", same))
        self.index.to("cpu")


def measure(real: Packed, rows: int, n_queries: int, repeat: int, cuda: bool) -> Measured:
    """Every measurement for one fingerprint size."""
    bench = Bench(real, rows, n_queries, repeat)
    bench.scan_rates()
    answers = bench.index_queries("cpu")
    bench.unpruned_queries()
    if cuda:
        bench.gpu(answers)
    return bench.out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the report (and append it as Markdown when asked)."""
    report, markdown = run(argv)
    report.publish(markdown)
    return 0


def run(argv: Sequence[str] | None = None) -> tuple[Report, Path | None]:
    """Measure; the report (unpublished) and the ``--markdown`` file (``bench_chem`` joins it)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--rows", type=int, help="rows scanned (default 1,000,000; quick 100,000)")
    parser.add_argument("--bits", default="1024,2048", help="fingerprint sizes (comma list)")
    parser.add_argument("--queries", type=int, default=20, help="query fingerprints")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="also time CUDA")
    parser.add_argument(
        "--fingerprints", type=Path, metavar="FILE.npy", help="packed fingerprints to use instead"
    )
    args = parser.parse_args(argv)
    if args.device == "cuda" and cuda_device_count() == 0:
        raise SystemExit("--device cuda: CuPy (or a CUDA device) is missing")
    rows = args.rows or (100_000 if args.quick else 1_000_000)
    repeat = 2 if args.quick else 3
    if args.fingerprints:
        sets = [load_fingerprints(args.fingerprints)]
        source = f"{args.fingerprints} ({sets[0].shape[0]:,} fingerprints)"
    else:
        sets = [real_fingerprints(int(b)) for b in args.bits.split(",")]
        source = f"RDKit Morgan r=2 of NCI 5K + WEHI 10K ({sets[0].shape[0]:,} molecules)"
    report = Report(
        f"bench_tanimoto: popcount scans over {rows:,} fingerprints",
        {
            "fingerprints": f"{source}, tiled to {rows:,} rows (each ~{rows // sets[0].shape[0]} "
            "times: real popcount spread, copies of real molecules)",
            "queries": f"{args.queries} fingerprints of the real set; rates are best of {repeat}",
            "threads": f"numba, {numba.get_num_threads()} threads",
            "rdkit baseline": "DataStructs.BulkTanimotoSimilarity over the real set, one core",
        },
    )
    report.configure(args)
    report.print_header()
    baseline = {fps.shape[1] * 8: rdkit_rate(fps, fps[: min(5, fps.shape[0])]) for fps in sets}
    results = []
    for fps in sets:
        print(f"{fps.shape[1] * 8} bits ...", flush=True)
        results.append(measure(fps, rows, args.queries, repeat, args.device == "cuda"))
    publish(report, results, baseline)
    return report, args.markdown


def publish(report: Report, results: list[Measured], baseline: dict[int, float | None]) -> None:
    """The tables and the goal notes."""
    scans = Table(
        "Full scans (every row): fingerprints per second",
        [
            "bits",
            "path",
            "device",
            "threads",
            "M fps/s",
            "GB/s",
            "M fps/s/core",
            "x RDKit",
            "/ chemfp",
        ],
    )
    for r in results:
        rdkit = baseline[r.bits]
        if rdkit is not None:
            scans.add(
                r.bits,
                "RDKit BulkTanimotoSimilarity",
                "cpu",
                1,
                rdkit / 1e6,
                None,
                rdkit / 1e6,
                1.0,
                None,
            )
        for what, device, threads, rate in r.scans:
            per_core = rate / threads if threads else None
            scans.add(
                r.bits,
                what,
                device,
                threads or "-",
                rate / 1e6,
                rate * r.bits / 8 / 1e9,
                None if per_core is None else per_core / 1e6,
                None if rdkit is None or per_core is None else per_core / rdkit,
                None if per_core is None or r.bits != 1024 else per_core / CHEMFP_PER_CORE,
            )
    queries = Table(
        "Queries (mean per query)",
        ["bits", "query", "device", "ms", "rows scanned", "share scanned", "hits"],
    )
    for r in results:
        rows = max(q[3] for q in r.queries)
        for name, device, seconds, scanned, hits in r.queries:
            queries.add(r.bits, name, device, seconds * 1e3, scanned, scanned / rows, hits)
    memory = Table("Memory", ["bits", "bytes per fingerprint in the index"])
    for r in results:
        memory.add(r.bits, r.bytes_per_fp)
    report.tables += [scans, queries, memory]
    for r in results:
        single = next(rate for what, d, t, rate in r.scans if d == "cpu" and t == 1)
        rdkit = baseline[r.bits]
        report.notes.append(
            f"{r.bits} bits: one thread scans {single / 1e6:.0f} M fps/s "
            f"(goal {GOAL_PER_CORE / 1e6:.0f} M/s per core: "
            f"{'met' if single >= GOAL_PER_CORE else 'NOT met'})"
            + (
                ""
                if rdkit is None
                else f"; {single / rdkit:.1f}x RDKit (goal {GOAL_X_RDKIT:.0f}x: "
                f"{'met' if single >= GOAL_X_RDKIT * rdkit else 'NOT met'})"
            )
        )
        for what, ok in r.checks:
            report.notes.append(f"{r.bits} bits: {what}: {'yes' if ok else 'NO'}")


if __name__ == "__main__":
    raise SystemExit(main())
