"""Substructure search: the pattern-fingerprint screen + RDKit confirmation vs a full RDKit scan.

The database is the real NCI (first 5K) and WEHI (10K) structures of ``../shared/data/chemistry``,
optionally repeated ``--copies`` times (both paths grow linearly, so the ratio stands).
Queries are real scaffolds and functional groups, from very common (benzene) to rare
(steroid core, β-lactam). Both paths use the same pre-parsed molecules and one thread:

* full scan: ``HasSubstructMatch`` on every molecule (what a screen must equal);
* screened: ``FingerprintIndex.screen`` (molecules whose pattern bits hold the query's),
  then ``HasSubstructMatch`` on those candidates only.

The hits of both must be identical (the run fails otherwise).

    .venv/bin/python -m benchmarks.bench_substructure [--quick] [--copies N] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import csv
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ipsim.benchmarks import datasets
from ipsim.benchmarks.report import Report, Table, add_common_arguments
from ipsim.indexers.fingerprint import FingerprintIndex
from ipsim.models.base import InvalidContent
from ipsim.models.chemical import ChemicalEncoder

GOAL_SPEEDUP = 10.0
QUERIES: dict[str, dict[str, str]] = {
    "benzene": {"smiles": "c1ccccc1"},
    "carboxylic acid": {"smarts": "[CX3](=O)[OX2H1]"},
    "pyridine": {"smiles": "c1ccncc1"},
    "nitro": {"smarts": "[$([NX3](=O)=O),$([NX3+](=O)[O-])]"},
    "sulfonamide": {"smarts": "S(=O)(=O)N"},
    "indole": {"smiles": "c1ccc2[nH]ccc2c1"},
    "piperazine": {"smiles": "C1CNCCN1"},
    "quinoline": {"smiles": "c1ccc2ncccc2c1"},
    "phosphate ester": {"smarts": "P(=O)(O)(O)O"},
    "steroid core": {"smiles": "C1CCC2C(C1)CCC1C2CCC2CCCC12"},
    "beta-lactam": {"smiles": "O=C1CCN1"},
    "adamantane": {"smiles": "C1C2CC3CC1CC(C2)C3"},
}


def load_smiles(limit: int | None) -> list[str]:
    """NCI 5K and WEHI 10K SMILES, in file order."""
    root = datasets.data_root() / "chemistry"
    smiles = [line.split()[0] for line in (root / "nci_first_5K.smi").read_text().splitlines()]
    with (root / "wehi_mols.csv").open(encoding="utf-8") as f:
        smiles += [row[0] for row in csv.reader(f) if row and row[0].upper() != "SMILES"]
    return smiles[:limit]


def build(
    encoder: ChemicalEncoder, smiles: Sequence[str], copies: int
) -> tuple[FingerprintIndex, list[Any]]:
    """The index of every structure RDKit accepts (``copies`` times), and the molecules."""
    molecules = []
    for text in smiles:
        try:
            molecules.append(encoder.preprocess({"smiles": text}, "document").units[0])
        except InvalidContent:
            continue
    rows = np.tile(encoder.encode(molecules), (copies, 1))
    index = FingerprintIndex(encoder.dim, bits=encoder.bits, screen_bits=encoder.screen_bits)
    index.add(np.arange(rows.shape[0], dtype=np.int64), rows)
    targets = [encoder.target(m.fields["smiles"]) for m in molecules] * copies
    return index, targets


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the report (and append it as Markdown when asked)."""
    report, markdown = run(argv)
    report.publish(markdown)
    return 0


def run(argv: Sequence[str] | None = None) -> tuple[Report, Path | None]:
    """Measure; the report (unpublished) and the ``--markdown`` file (``bench_chem`` joins it)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--copies", type=int, default=1, help="repeat the database N times")
    parser.add_argument("--repeat", type=int, default=3, help="time = best of this many passes")
    args = parser.parse_args(argv)
    encoder = ChemicalEncoder("morgan2-2048")
    index, targets = build(encoder, load_smiles(2000 if args.quick else None), args.copies)
    report = Report(
        f"bench_substructure: screen + confirm vs full scan on {len(targets):,} molecules",
        {
            "database": f"NCI first 5K + WEHI 10K (RDKit-valid), x{args.copies}",
            "screen": f"RDKit PatternFingerprint {encoder.screen_bits} bits, popcount subset test",
            "confirm": "RDKit HasSubstructMatch, one thread, pre-parsed molecules",
            "timing": f"best of {args.repeat} passes",
        },
    )
    report.configure(args)
    report.print_header()
    table = Table(
        "per query",
        ["query", "hits", "candidates", "full scan ms", "screened ms", "speed-up"],
    )
    full_total = screened_total = 0.0
    ratios = []
    for name, content in QUERIES.items():
        query = encoder.substructure_query(content)
        full_hits, full_s = _best(args.repeat, lambda q=query: _full(q, targets))
        hits, screened_s = _best(args.repeat, lambda q=query: _screened(q, index, targets))
        if hits[0] != full_hits[0]:
            raise AssertionError(f"{name}: the screen changed the hits")
        full_total += full_s
        screened_total += screened_s
        ratios.append(full_s / screened_s)
        table.add(name, len(hits[0]), hits[1], full_s * 1e3, screened_s * 1e3, full_s / screened_s)
    geo = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    table.add(
        "all queries",
        None,
        None,
        full_total * 1e3,
        screened_total * 1e3,
        full_total / screened_total,
    )
    report.tables.append(table)
    report.notes.append(
        f"speed-up over the query set: {full_total / screened_total:.1f}x in total time, "
        f"{geo:.1f}x geometric mean (goal >= {GOAL_SPEEDUP:.0f}x); hits identical for every query"
    )
    return report, args.markdown


def _full(query: Any, targets: Sequence[Any]) -> tuple[list[int], int]:
    return [i for i, t in enumerate(targets) if query.matches(t)], len(targets)


def _screened(query: Any, index: FingerprintIndex, targets: Sequence[Any]) -> tuple[list[int], int]:
    candidates = index.screen(query.screen)
    return [int(c) for c in candidates if query.matches(targets[c])], int(candidates.size)


def _best(repeat: int, run: Any) -> tuple[Any, float]:
    best = math.inf
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    return result, best


if __name__ == "__main__":
    raise SystemExit(main())
