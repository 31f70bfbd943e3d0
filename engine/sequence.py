"""Sequence collections: k-mer candidates, then Smith–Waterman with affine gaps.

A query is aligned only with stored sequences of its own kind: proteins with proteins
(BLOSUM62, gap open 11 / extend 1), DNA and RNA with DNA and RNA (match 2 / mismatch −3,
open 5 / extend 2, both strands of the query; U reads as T). Candidates come from a k-mer
index per kind (:class:`ipsim.indexers.kmer.KmerIndex`), kept in memory beside the store:
rebuilt from the stored documents when the collection opens and kept in step after every
write, like the trademark word indexes. The best ``candidates`` of the index (default
:data:`CANDIDATES`, at least four times the page depth) are aligned in parallel, and the
hits are those with an E-value at or under ``max_evalue`` (default 10), ranked by bit
score. A kind of sequence with at most :data:`EXACT_SCAN_RESIDUES` residues in the
collection is not prefiltered: every sequence of it gets a score-only alignment (one
striped profile, about 25 ms for 750 proteins) and the best are aligned again with a
traceback, so small collections answer exactly what a full scan answers
(``benchmarks/bench_sequence.py`` measures what the prefilter loses on larger ones).
Each hit's ``match`` is the alignment: score, bits, E-value, identity, coverages,
positions, strand and the aligned rows.

The residues of every stored sequence are held in memory (about one byte per residue),
so alignments do not read the store.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from typing import Any

import numpy as np

from ipsim.engine.collection import Collection, ExplainedHit, Fetch, Ranking
from ipsim.engine.errors import InvalidInput
from ipsim.engine.types import Document, SearchRequest
from ipsim.engine.validation import integer_option
from ipsim.indexers.filters import Filter
from ipsim.indexers.kmer import KmerIndex
from ipsim.indexers.store import DocHit, Record
from ipsim.models.alignment import (
    DNA,
    PROTEIN,
    Alignment,
    align,
    best_strand,
    reverse_complement,
    scores,
)
from ipsim.models.base import Encoder, InvalidContent, Prepared
from ipsim.models.sequence import SequenceEncoder, SequenceUnit, read_sequence

CANDIDATES = 200
EXACT_SCAN_RESIDUES = 2_000_000
MAX_CANDIDATES = 5000
DEFAULT_MAX_EVALUE = 10.0
QUERY_OPTIONS = ("candidates", "max_evalue")
_WORKERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ipsim-sw")


class SequenceCollection(Collection):
    """Protein, DNA and RNA sequences searched by local alignment."""

    chunked = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(self.encoder, SequenceEncoder):
            raise TypeError(f"sequence collections need a SequenceEncoder, not {self.encoder!r}")
        self._lock = threading.Lock()
        self._residues: dict[str, SequenceUnit] = {}
        self._numbers: dict[str, int] = {}
        self._ids: dict[int, str] = {}
        self._indexes = {False: KmerIndex.protein(), True: KmerIndex.dna()}
        self._sizes = {False: 0, True: 0}
        for doc_id in list(self.store.ids()):
            record = self.store.get(doc_id)
            if record is not None:
                self._index(doc_id, record.payload)

    @classmethod
    def index_for(
        cls, index_type: str, params: dict[str, Any], encoder: Encoder[Any]
    ) -> tuple[str, dict[str, Any]]:
        """The profile vectors go in a flat index: search does not use them."""
        return ("flat", params) if index_type == "auto" and not params else (index_type, params)

    # -- writes --------------------------------------------------------------------------

    def _stored_fields(self, doc: Document, prepared: Prepared[Any]) -> dict[str, Any]:
        """The client's fields plus ``moltype`` and ``length`` (which win a name clash)."""
        (unit,) = prepared.units
        return {**doc.fields, **unit.fields}

    async def _upserted(self, records: Sequence[Record]) -> None:
        await asyncio.to_thread(self._reindex, [(r.id, r.payload) for r in records])

    async def _deleted(self, doc_id: str) -> None:
        await asyncio.to_thread(self._reindex, [(doc_id, None)])

    def _reindex(self, changes: Sequence[tuple[str, dict[str, Any] | None]]) -> None:
        for doc_id, payload in changes:
            self._forget(doc_id)
            if payload is not None:
                self._index(doc_id, payload)

    def _index(self, doc_id: str, payload: dict[str, Any]) -> None:
        unit = read_sequence(payload, "document")
        with self._lock:
            number = self._numbers.setdefault(doc_id, len(self._numbers))
            self._ids[number] = doc_id
            self._residues[doc_id] = unit
            self._indexes[unit.nucleotide].add([number], [_searchable(unit)])
            self._sizes[unit.nucleotide] += len(unit.residues)

    def _forget(self, doc_id: str) -> None:
        with self._lock:
            unit = self._residues.pop(doc_id, None)
            if unit is not None:
                self._indexes[unit.nucleotide].remove([self._numbers[doc_id]])
                self._sizes[unit.nucleotide] -= len(unit.residues)

    # -- search --------------------------------------------------------------------------

    def _check_kind(self, query: SequenceUnit) -> None:
        """Refuse a query of a kind the collection does not hold (rather than answer nothing)."""
        with self._lock:
            ours, others = self._sizes[query.nucleotide], self._sizes[not query.nucleotide]
        if ours == 0 and others > 0:
            kinds = ("protein", "nucleotide")
            kind, held = kinds[::-1] if query.nucleotide else kinds
            raise InvalidInput(
                "query.type",
                f"the query is a {kind} sequence, but this collection holds only {held} "
                "sequences: a query is aligned with sequences of its own kind",
            )

    def _candidates(
        self, strands: Sequence[str], nucleotide: bool, limit: int
    ) -> dict[str, SequenceUnit]:
        """The index's best ``limit`` candidates for any of ``strands`` (caller holds the lock)."""
        found: dict[int, int] = {}
        for strand in strands:
            numbers, counts = self._indexes[nucleotide].candidates(strand, limit)
            for number, count in zip(numbers.tolist(), counts.tolist(), strict=True):
                found[number] = max(found.get(number, 0), count)
        best = sorted(found, key=lambda n: (-found[n], n))[:limit]
        return {self._ids[n]: self._residues[self._ids[n]] for n in best}

    def _plan(self, request: SearchRequest, flt: Filter | None) -> Fetch:
        if request.mode not in (None, "alignment"):
            raise InvalidInput("mode", "sequence collections have one mode: alignment")
        query = dict(request.query)
        options = {key: query.pop(key) for key in QUERY_OPTIONS if key in query}
        try:
            unit = read_sequence(query, "query")
        except InvalidContent as exc:
            raise InvalidInput(f"query.{exc.field}", exc.message) from exc
        self._check_kind(unit)
        depth = integer_option(options, "candidates", CANDIDATES, 1, MAX_CANDIDATES)
        max_evalue = _float_option(options, "max_evalue", DEFAULT_MAX_EVALUE)

        async def fetch(window: int) -> Ranking:
            limit = min(MAX_CANDIDATES, max(depth, 4 * window))
            return await asyncio.to_thread(self._rank, unit, flt, limit, max_evalue, window)

        return fetch

    def _rank(
        self, query: SequenceUnit, flt: Filter | None, limit: int, max_evalue: float, window: int
    ) -> Ranking:
        allowed = self.store.passing_ids(flt) if flt is not None and flt.clauses else None
        strands = [_searchable(query)]
        if query.nucleotide:  # the index holds stored strands as given: look up both of ours
            strands.append(reverse_complement(strands[0]))
        with self._lock:
            database = max(1, self._sizes[query.nucleotide])
            if database <= EXACT_SCAN_RESIDUES:
                units = {
                    doc_id: unit
                    for doc_id, unit in self._residues.items()
                    if unit.nucleotide == query.nucleotide
                }
            else:
                units = self._candidates(strands, query.nucleotide, limit)
        if allowed is not None:
            units = {doc_id: unit for doc_id, unit in units.items() if doc_id in allowed}
        chosen = _best_scoring(query, strands, units, limit)
        aligned = list(_WORKERS.map(lambda doc_id: _align(query, units[doc_id], database), chosen))
        scored = sorted(
            (
                (result.bits, doc_id, result)
                for doc_id, result in zip(chosen, aligned, strict=True)
                if result.evalue <= max_evalue
            ),
            key=lambda t: (-t[0], t[1]),
        )
        top = scored[:window]
        details = {doc_id: result for _, doc_id, result in top}
        hits = self.store.hits_for([(doc_id, bits) for bits, doc_id, _ in top])
        explained: list[DocHit] = [_explained(h, details[h.id]) for h in hits]
        return Ranking(explained, len(scored), complete=len(scored) <= window)


def _best_scoring(
    query: SequenceUnit, strands: Sequence[str], units: dict[str, SequenceUnit], limit: int
) -> list[str]:
    """The ``limit`` ids with the best score-only alignment (either strand), best first."""
    ids = sorted(units)
    if len(ids) <= limit:
        return ids
    subjects = [_searchable(units[doc_id]) for doc_id in ids]
    scoring = DNA if query.nucleotide else PROTEIN
    best = np.max([scores(strand, subjects, scoring) for strand in strands], axis=0)
    order = np.lexsort((np.arange(len(ids)), -best))[:limit]
    return [ids[i] for i in order]


def _searchable(unit: SequenceUnit) -> str:
    return unit.residues.replace("U", "T") if unit.nucleotide else unit.residues


def _align(query: SequenceUnit, subject: SequenceUnit, database: int) -> Alignment:
    if query.nucleotide:
        return best_strand(_searchable(query), _searchable(subject), database_size=database)
    return align(query.residues, subject.residues, PROTEIN, database_size=database)


def _explained(hit: DocHit, alignment: Alignment) -> ExplainedHit:
    return ExplainedHit(
        hit.id, hit.score, hit.unit, hit.span, hit.fields, match={"alignment": asdict(alignment)}
    )


def _float_option(options: dict[str, Any], name: str, default: float) -> float:
    value = options.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise InvalidInput(f"query.{name}", "must be a positive number")
    return float(value)


__all__ = ["CANDIDATES", "SequenceCollection"]
