"""Sequence search: the k-mer prefilter + Smith–Waterman vs a full Smith–Waterman scan.

The database is the real proteins of ``../shared/data/sequences`` (Pfam seed members, which
carry family labels, and 500 UniProt proteins), tiled ``--copies`` times: copy c > 0 of a
protein has 5% of its residues substituted, so the database grows without holding exact
duplicates. Queries are real proteins of the database mutated to 10, 20, 30 and 40%
divergence (per residue: a random substitution, or, one time in five, an insertion or a
deletion). Per query, one thread:

* full scan: :func:`ipsim.models.alignment.scores` (parasail striped SW, BLOSUM62 11/1,
  cached query profile) on every sequence; its top 10 is the reference;
* prefiltered: :meth:`KmerIndex.candidates` (top N), then the same SW on those only.

Recall@10 is the share of the full scan's top 10 among the N candidates (the SW re-ranks
them exactly, so that is the share the prefiltered search returns); "significant" counts
only full-scan top-10 hits with E ≤ 1e-3, the ones an examiner would look at. Family
precision@10 is the share of a Pfam query's top 10 in its own family, for both paths.

Results: ``benchmarks/results/seq-cpu.json`` and recall against queries/s per divergence
(``seq-cpu.png``).

    ipsim bench seq [--quick] [--copies N] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from ipsim.benchmarks import datasets, plots
from ipsim.benchmarks.report import Report, Table, add_common_arguments
from ipsim.indexers.kmer import AMINO_ACIDS, KmerIndex
from ipsim.models.alignment import PROTEIN, evalue, scores

GOAL_SPEEDUP = 10.0
GOAL_RECALL = 0.95
DIVERGENCES = (0.1, 0.2, 0.3, 0.4)
LIMITS = (50, 100, 200)
TOP = 10
SIGNIFICANT = 1e-3


@dataclass
class Protein:
    name: str
    family: str | None
    sequence: str


def read_fasta(path: str) -> list[tuple[str, str]]:
    """(header, sequence) pairs of a FASTA file."""
    records: list[tuple[str, list[str]]] = []
    for line in datasets.read_text(datasets.data_root() / path).splitlines():
        if line.startswith(">"):
            records.append((line[1:].strip(), []))
        elif records and line.strip():
            records[-1][1].append(line.strip())
    return [(header, "".join(parts)) for header, parts in records]


def load_proteins() -> list[Protein]:
    """Pfam seed proteins (with their family) and the 500 UniProt queries."""
    out = []
    for header, seq in read_fasta("sequences/pfam_seed_sequences.fasta"):
        tags = dict(t.split("=", 1) for t in header.split()[1:] if "=" in t)
        if tags.get("mol") == "protein":
            out.append(Protein(header.split()[0], tags.get("family"), seq))
    for header, seq in read_fasta("sequences/mmseqs2_uniprot_query500.fasta"):
        out.append(Protein(header.split()[0], None, seq))
    return out


def mutate(seq: str, divergence: float, rng: np.random.Generator) -> str:
    """``seq`` with a share ``divergence`` of positions changed (4:1 substitutions : indels)."""
    out: list[str] = []
    for letter in seq:
        if rng.random() >= divergence:
            out.append(letter)
            continue
        kind = rng.random()
        if kind < 0.8:
            out.append(AMINO_ACIDS[rng.integers(20)])
        elif kind < 0.9:
            out += [letter, AMINO_ACIDS[rng.integers(20)]]
        # else: deleted
    return "".join(out)


def tiled(proteins: Sequence[Protein], copies: int, rng: np.random.Generator) -> list[Protein]:
    """The proteins, then ``copies - 1`` lightly substituted copies of them."""
    out = list(proteins)
    for _ in range(copies - 1):
        out += [Protein(p.name, p.family, _substituted(p.sequence, 0.05, rng)) for p in proteins]
    return out


def _substituted(seq: str, rate: float, rng: np.random.Generator) -> str:
    return "".join(AMINO_ACIDS[rng.integers(20)] if rng.random() < rate else c for c in seq)


def top(ids: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """The ``n`` ids of highest value, ties by id."""
    order = np.lexsort((ids, -values.astype(np.int64)))[:n]
    return np.asarray(ids[order])


@dataclass
class Row:
    """Sums over one divergence level's queries."""

    queries: int = 0
    full_s: float = 0.0
    prefilter_s: dict[int, float] = field(default_factory=dict)
    recall: dict[int, float] = field(default_factory=dict)
    significant: dict[int, list[int]] = field(default_factory=dict)  # [found, of]
    family_full: list[int] = field(default_factory=lambda: [0, 0])
    family_pre: list[int] = field(default_factory=lambda: [0, 0])


def run_query(
    query: str,
    family: str | None,
    db: Sequence[Protein],
    index: KmerIndex,
    residues: int,
    row: Row,
) -> None:
    """Time the full scan and each prefiltered search of ``query``; add to ``row``."""
    subjects = [p.sequence for p in db]
    all_ids = np.arange(len(db), dtype=np.int64)
    started = time.perf_counter()
    full = scores(query, subjects, PROTEIN)
    row.full_s += time.perf_counter() - started
    reference = top(all_ids, full, TOP)
    significant = {
        int(i)
        for i in reference
        if evalue(int(full[i]), len(query), residues, PROTEIN) <= SIGNIFICANT
    }
    row.queries += 1
    for limit in LIMITS:
        started = time.perf_counter()
        ids, _ = index.candidates(query, limit)
        found = scores(query, [subjects[i] for i in ids], PROTEIN)
        best = top(ids, found, TOP)
        row.prefilter_s[limit] = row.prefilter_s.get(limit, 0.0) + time.perf_counter() - started
        hit = set(ids.tolist())
        row.recall[limit] = row.recall.get(limit, 0.0) + len(hit & set(reference.tolist())) / TOP
        counts = row.significant.setdefault(limit, [0, 0])
        counts[0] += len(hit & significant)
        counts[1] += len(significant)
        if family is not None and limit == LIMITS[1]:
            row.family_pre[0] += sum(db[i].family == family for i in best)
            row.family_pre[1] += len(best)
    if family is not None:
        row.family_full[0] += sum(db[i].family == family for i in reference)
        row.family_full[1] += len(reference)


def _describe(k: int, band: int, reduced: bool) -> str:
    words = f"{'Murphy-10' if reduced else 'exact'} {k}-mers"
    if band:
        return f"{words}, score = most hits within a diagonal band of {band}"
    return f"{words}, score = shared hit count"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--copies", type=int, default=20, help="tile the database N times")
    parser.add_argument("--queries", type=int, default=30, help="queries per divergence level")
    parser.add_argument("--k", type=int, default=3, help="k-mer length")
    parser.add_argument("--band", type=int, default=16, help="diagonal band (0: plain count)")
    parser.add_argument("--reduced", action="store_true", help="Murphy 10-letter alphabet")
    args = parser.parse_args(argv)
    copies, nq = (2, 6) if args.quick else (args.copies, args.queries)
    rng = np.random.default_rng(6)
    proteins = load_proteins()
    db = tiled(proteins, copies, rng)
    residues = sum(len(p.sequence) for p in db)
    index = KmerIndex.protein(args.k, band=args.band or None, reduced=args.reduced)
    started = time.perf_counter()
    index.add(list(range(len(db))), [p.sequence for p in db])
    index.candidates(db[0].sequence, 1)  # flush (and numba compilation, if not cached)
    build_s = time.perf_counter() - started
    report = Report(
        f"bench_sequence: k-mer prefilter + SW vs full SW scan on {len(db):,} proteins",
        {
            "database": f"{len(proteins)} real proteins (Pfam seed + UniProt 500) x{copies} "
            f"(copies 5% substituted), {residues:,} residues",
            "queries": f"{nq} per divergence, database proteins mutated (4:1 subst. : indel)",
            "prefilter": _describe(args.k, args.band, args.reduced),
            "alignment": "parasail sw_striped_profile_16, BLOSUM62, gaps 11/1, one thread",
            "index build": f"{build_s:.2f} s (incl. any numba compilation)",
        },
        bench="seq",
    )
    report.configure(args)
    report.print_header()
    table = Table(
        "per divergence level (means per query)",
        ["divergence", "N", "recall@10", "signif. recall", "full ms", "prefiltered ms", "speed-up"],
    )
    family = Table(
        "family precision@10 (Pfam queries)",
        ["divergence", "full scan", f"prefilter N={LIMITS[1]}"],
    )
    query_pool = rng.permutation(len(proteins))
    curves: dict[str, tuple[list[float], list[float]]] = {}
    for divergence in tqdm(DIVERGENCES, desc="divergence levels", leave=False):
        row = Row()
        for i in query_pool[:nq]:
            source = proteins[int(i)]
            query = mutate(source.sequence, divergence, rng)
            run_query(query, source.family, db, index, residues, row)
        full_ms = row.full_s / row.queries * 1e3
        for limit in LIMITS:
            pre_ms = row.prefilter_s[limit] / row.queries * 1e3
            found, of = row.significant[limit]
            recall, qps = curves.setdefault(f"{divergence:.0%} divergence", ([], []))
            recall.append(row.recall[limit] / row.queries)
            qps.append(1e3 / pre_ms)
            table.add(
                f"{divergence:.0%}",
                limit,
                row.recall[limit] / row.queries,
                found / of if of else None,
                full_ms,
                pre_ms,
                full_ms / pre_ms,
            )
        fam = (row.family_full, row.family_pre)
        family.add(f"{divergence:.0%}", *(a / b if b else None for a, b in fam))
        query_pool = np.roll(query_pool, -nq)
        curves[f"{divergence:.0%} divergence"][0].append(1.0)
        curves[f"{divergence:.0%} divergence"][1].append(1e3 / full_ms)
    report.tables += [table, family]
    plots.recall_qps(
        report.plot_path(),
        curves,
        f"k-mer prefilter (N = {', '.join(map(str, LIMITS))}) and full SW scan (recall 1) "
        f"on {len(db):,} proteins",
        recall_label="recall@10 of the full scan's top 10",
    )
    report.notes.append(
        f"goal: >= {GOAL_SPEEDUP:.0f}x faster at recall@10 >= {GOAL_RECALL}; "
        f"the database is tiled x{copies} so that a scan is long enough for the gap to show"
    )
    report.publish(args.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
