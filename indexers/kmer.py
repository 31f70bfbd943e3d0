"""A k-mer index that proposes sequences worth aligning: the prefilter before Smith–Waterman.

A full Smith–Waterman scan costs every residue of the database per query; this index
touches only the postings of the query's k-mers. Related sequences share short words on
the *same diagonal* (subject position − query position) — an alignment is a run of
diagonals, shifted a little by indels — while chance hits scatter over every diagonal.
So a candidate's score is the most k-mer hits inside any band of ``band`` neighbouring
diagonals (BLAST's and FASTA's observation); ``band=None`` counts every shared k-mer hit
(pairs of equal k-mers), the plain shared-k-mer count.

K-mers are over an alphabet of letter groups: ``"ACGT"`` makes each letter its own code,
``["AST", "C", ...]`` a reduced alphabet where grouped letters are one code. Letters are
case-insensitive; a k-mer holding a letter outside the alphabet (X, N) is skipped.

Layout: postings are (k-mer code, slot, position) triples in sorted *runs* (LSM-style):
``add`` queues, the queue becomes a run at the next query, and a run merges into the one
before it while that one is at most twice its size, so there are O(log n) runs and the
merges cost O(n log n) overall. A query looks its codes up in each run (``searchsorted``)
and a numba kernel gathers the hits and buckets them by slot (a counting sort): the work
follows the postings touched. ``remove`` (and re-adding an id) leaves tombstones, skipped
by the kernel; once dead slots outnumber live ones the runs are rebuilt without them.

Thread safety: concurrent ``candidates`` calls share the read side of a readers-writer
lock; ``add``, ``remove`` and a query's flush of the queue take the write side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit

from ipsim.indexers.rwlock import ReadWriteLock

I32s = npt.NDArray[np.int32]
I64s = npt.NDArray[np.int64]

AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"
MURPHY10 = ["LVIM", "C", "A", "G", "ST", "P", "FYW", "EDNQ", "KR", "H"]
"""Murphy, Wallqvist & Levy's 10-letter reduced amino-acid alphabet (2000): substitutions
common in homologs stay inside a group, so distant relatives keep more shared words."""
NUCLEOTIDES = ["A", "C", "G", "TU"]
COMPACT_AT = 1024
"""Fewest dead slots worth a rebuild."""
MAX_HITS = 50_000_000
"""Most postings one query may read; beyond, its most frequent k-mers are dropped."""


@njit(cache=True)
def _codes(letters: npt.NDArray[np.uint8], table: I64s, k: int, base: int) -> I64s:
    """The code of the k-mer starting at each position (−1: holds an unknown letter)."""
    n = letters.size
    out = np.full(max(n - k + 1, 0), -1, np.int64)
    code, valid = 0, 0  # valid: how many letters back the last unknown letter was
    top = base ** (k - 1)
    for i in range(n):
        c = table[letters[i]]
        if c < 0:
            valid, code = 0, 0
            continue
        code = (code % top) * base + c if valid >= k - 1 else code * base + c
        valid += 1
        if valid >= k:
            out[i - k + 1] = code
    return out


@njit(cache=True)
def _hits(
    slots: I32s, positions: I32s, lo: I64s, hi: I64s, qpos: I64s, live: npt.NDArray[np.bool_]
) -> tuple[I32s, I64s]:
    """Every (slot, diagonal) hit of the query k-mers at ``qpos`` with postings lo..hi."""
    total = 0
    for j in range(lo.size):
        total += hi[j] - lo[j]
    hit_slot = np.empty(total, np.int32)
    hit_diag = np.empty(total, np.int64)
    n = 0
    for j in range(lo.size):
        for p in range(lo[j], hi[j]):
            s = slots[p]
            if live[s]:
                hit_slot[n] = s
                hit_diag[n] = positions[p] - qpos[j]
                n += 1
    return hit_slot[:n], hit_diag[:n]


@njit(cache=True)
def _score(hit_slot: I32s, hit_diag: I64s, nslots: int, band: int) -> tuple[I64s, I32s]:
    """The slots hit and each one's most hits within ``band`` adjacent diagonals (0: all)."""
    counts = np.zeros(nslots + 1, np.int64)
    for s in hit_slot:
        counts[s + 1] += 1
    touched = np.flatnonzero(counts[1:])
    scores = np.zeros(touched.size, np.int32)
    if band == 0:
        for t in range(touched.size):
            scores[t] = counts[touched[t] + 1]
        return touched, scores
    start = np.cumsum(counts)  # counting sort by slot: slot s owns start[s]..start[s+1]
    fill = start[:-1].copy()
    diags = np.empty(hit_diag.size, np.int64)
    for h in range(hit_slot.size):
        s = hit_slot[h]
        diags[fill[s]] = hit_diag[h]
        fill[s] += 1
    for t in range(touched.size):
        s = touched[t]
        d = np.sort(diags[start[s] : start[s + 1]])
        best, left = 0, 0
        for right in range(d.size):  # the widest window of diagonals within the band
            while d[right] - d[left] >= band:
                left += 1
            best = max(best, right - left + 1)
        scores[t] = best
    return touched, scores


@dataclass
class _Run:
    """Postings sorted by k-mer code: ``codes[i]`` occurs in ``slots[i]`` at ``positions[i]``."""

    codes: I64s
    slots: I32s
    positions: I32s

    @staticmethod
    def sorted(codes: I64s, slots: I32s, positions: I32s) -> _Run:
        order = np.argsort(codes, kind="stable")
        return _Run(codes[order], slots[order], positions[order])

    @staticmethod
    def merged(runs: Sequence[_Run]) -> _Run:
        cat = [
            np.concatenate([getattr(r, f) for r in runs]) for f in ("codes", "slots", "positions")
        ]
        return _Run.sorted(*cat)

    def alive(self, keep: npt.NDArray[np.bool_], renumber: I32s) -> _Run:
        """The postings of kept slots, slots renumbered."""
        mask = keep[self.slots]
        return _Run(self.codes[mask], renumber[self.slots[mask]], self.positions[mask])


class KmerIndex:
    """Sequences by shared k-mers on nearby diagonals: candidates for alignment."""

    def __init__(self, k: int, alphabet: str | Sequence[str], band: int | None = 16) -> None:
        groups = list(alphabet)
        if not groups or any(not isinstance(g, str) or not g for g in groups):
            raise ValueError("alphabet must be non-empty letters or letter groups")
        letters = "".join(groups).upper()
        if len(set(letters)) != len(letters) or not letters.isascii():
            raise ValueError(f"alphabet letters must be distinct ASCII, got {alphabet!r}")
        if isinstance(k, bool) or not isinstance(k, int) or k < 1 or len(groups) ** k >= 2**62:
            raise ValueError(f"k must be a positive integer with |alphabet|^k < 2^62, got {k!r}")
        if band is not None and (isinstance(band, bool) or not isinstance(band, int) or band < 1):
            raise ValueError(f"band must be a positive integer or None, got {band!r}")
        self.k, self.band = k, band
        self.alphabet = groups
        self._table = np.full(256, -1, np.int64)
        for code, group in enumerate(groups):
            for letter in group:
                self._table[ord(letter.upper())] = self._table[ord(letter.lower())] = code
        self._lock = ReadWriteLock()
        self._slot_of: dict[int, int] = {}
        self._slot_ids = np.zeros(0, np.int64)
        self._live = np.zeros(0, np.bool_)
        self._runs: list[_Run] = []
        self._queue: list[tuple[I64s, int]] = []  # (codes, slot) not yet in a run

    @classmethod
    def protein(cls, k: int = 3, band: int | None = 16, reduced: bool = False) -> KmerIndex:
        """Amino-acid k-mers: the 20 standard letters, or the :data:`MURPHY10` groups."""
        return cls(k, MURPHY10 if reduced else AMINO_ACIDS, band)

    @classmethod
    def dna(cls, k: int = 11, band: int | None = 16) -> KmerIndex:
        """Nucleotide k-mers, U as T; ambiguity codes break k-mers. One strand: query the
        reverse complement too."""
        return cls(k, NUCLEOTIDES, band)

    def __len__(self) -> int:
        """Sequences held."""
        return len(self._slot_of)

    def codes(self, sequence: str) -> I64s:
        """The k-mer code at each position of ``sequence`` (−1 where a letter is unknown)."""
        letters = np.frombuffer(sequence.encode("ascii", "replace"), np.uint8)
        return _codes(letters, self._table, self.k, len(self.alphabet))

    def add(self, ids: Sequence[int], sequences: Sequence[str]) -> None:
        """Index ``sequences[i]`` as ``ids[i]``, replacing what an id had."""
        if isinstance(sequences, str) or len(ids) != len(sequences):
            raise ValueError("ids and sequences must be sequences of the same length")
        if len(set(int(i) for i in ids)) != len(ids):
            raise ValueError("ids must be distinct")
        coded = [self.codes(s) for s in sequences]
        with self._lock.write():
            self._drop([int(i) for i in ids])
            first = self._slot_ids.size
            self._slot_ids = np.concatenate([self._slot_ids, np.asarray(ids, np.int64)])
            self._live = np.concatenate([self._live, np.ones(len(ids), np.bool_)])
            for offset, (doc_id, codes) in enumerate(zip(ids, coded, strict=True)):
                self._slot_of[int(doc_id)] = first + offset
                self._queue.append((codes, first + offset))

    def remove(self, ids: Sequence[int]) -> None:
        """Forget these ids (unknown ones are ignored)."""
        with self._lock.write():
            self._drop([int(i) for i in ids])

    def candidates(self, query: str, limit: int) -> tuple[I64s, I32s]:
        """The ``limit`` ids with the best scores, best first (ties by id), and the scores.

        Only ids sharing at least one k-mer with ``query`` are candidates.
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be a positive integer, got {limit!r}")
        codes = self.codes(query)
        qpos = np.flatnonzero(codes >= 0)
        codes = codes[qpos]
        if self._queue:
            with self._lock.write():
                self._flush()
        with self._lock.read():
            slots, scores = self._scores(codes, qpos)
            ids = self._slot_ids[slots]
        return _top(ids, scores, limit)

    # -- helpers ------------------------------------------------------------------------

    def _scores(self, codes: I64s, qpos: I64s) -> tuple[I64s, I32s]:
        """Slots hit by the query k-mers and their scores (under the read lock)."""
        bounds = [
            (
                run,
                np.searchsorted(run.codes, codes, "left"),
                np.searchsorted(run.codes, codes, "right"),
            )
            for run in self._runs
        ]
        reads = sum((hi - lo for _, lo, hi in bounds), np.zeros(codes.size, np.int64))
        keep = np.ones(codes.size, np.bool_)
        if reads.sum() > MAX_HITS:  # a low-complexity query: drop its most frequent words
            order = np.argsort(reads, kind="stable")
            keep[order[np.cumsum(reads[order]) > MAX_HITS]] = False
        parts = [
            _hits(run.slots, run.positions, lo[keep], hi[keep], qpos[keep], self._live)
            for run, lo, hi in bounds
        ]
        hit_slot = np.concatenate([p[0] for p in parts] or [np.zeros(0, np.int32)])
        hit_diag = np.concatenate([p[1] for p in parts] or [np.zeros(0, np.int64)])
        result: tuple[I64s, I32s] = _score(hit_slot, hit_diag, self._live.size, self.band or 0)
        return result

    def _drop(self, ids: Sequence[int]) -> None:
        """Tombstone these ids' slots; rebuild once the dead outnumber the live."""
        for doc_id in ids:
            slot = self._slot_of.pop(doc_id, None)
            if slot is not None:
                self._live[slot] = False
        dead = self._live.size - len(self._slot_of)
        if dead >= COMPACT_AT and dead > len(self._slot_of):
            self._compact()

    def _compact(self) -> None:
        """Drop dead slots from the runs and the queue, numbering live ones afresh."""
        renumber = (np.cumsum(self._live) - 1).astype(np.int32)
        self._runs = [run.alive(self._live, renumber) for run in self._runs]
        self._runs = [_Run.merged(self._runs)] if self._runs else []
        self._queue = [(c, int(renumber[s])) for c, s in self._queue if self._live[s]]
        self._slot_ids = self._slot_ids[self._live]
        self._slot_of = {int(i): s for s, i in enumerate(self._slot_ids.tolist())}
        self._live = np.ones(self._slot_ids.size, np.bool_)

    def _flush(self) -> None:
        """Make the queue a run; merge runs while the one before is at most twice as big."""
        if not self._queue:
            return
        valid = [(codes >= 0, codes, slot) for codes, slot in self._queue]
        run = _Run.sorted(
            np.concatenate([codes[ok] for ok, codes, _ in valid]),
            np.concatenate([np.full(ok.sum(), slot, np.int32) for ok, _, slot in valid]),
            np.concatenate([np.flatnonzero(ok).astype(np.int32) for ok, _, _ in valid]),
        )
        self._queue = []
        self._runs.append(run)
        while len(self._runs) > 1 and self._runs[-2].codes.size <= 2 * self._runs[-1].codes.size:
            last = self._runs.pop()
            self._runs[-1] = _Run.merged([self._runs[-1], last])


def _top(ids: I64s, scores: I32s, limit: int) -> tuple[I64s, I32s]:
    """The best ``limit`` by score, ties by id."""
    if scores.size > limit:
        kth = np.partition(scores, scores.size - limit)[scores.size - limit]
        keep = scores >= kth
        ids, scores = ids[keep], scores[keep]
    order = np.lexsort((ids, -scores.astype(np.int64)))[:limit]
    return ids[order].astype(np.int64), scores[order].astype(np.int32)
