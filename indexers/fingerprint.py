"""Packed fingerprints searched by popcount: Tanimoto / Dice / Tversky similarity and screens.

Rows arrive in the words16 form of :mod:`ipsim.bitwords`: ``[similarity bits | screen
bits]``, so ``dim = (bits + screen_bits) // 16``. Scores read the similarity bits only and
equal RDKit's ``TanimotoSimilarity`` / ``DiceSimilarity`` / ``TverskySimilarity``: the
kernels count bits (:mod:`ipsim.indexers.popcount`), and each hit's score is computed
once, in float64, with RDKit's formula. The screen bits answer "which rows hold every bit
of the query's screen" (the substructure pre-filter).

Rows are kept in blocks sorted by similarity popcount, with the row offset of each
popcount (as FPSim2 and chemfp do). A row of popcount ``b`` can score at most
``bound(a, b)`` against a query of popcount ``a`` (all of the smaller side's bits shared),
so a threshold search scans only the popcounts whose bound reaches the threshold, and a
top-k search visits popcounts by decreasing bound and stops once the bound falls strictly
below the k-th score (an equal bound could still win a tie on the lower label).

Writes are cheap and searches pay for them lazily: an add buffers its rows, a removal
clears the label's live bit (scans skip rows whose label is not live). The first search
after adds sorts the buffered rows into a new block and merges blocks of similar size
(a binary-counter merge: O(log n) blocks, each row copied O(log n) times overall); once
removed rows make up a quarter of the rows, or a removed label is added again, all blocks
are rewritten into one without them.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from typing import Literal, Protocol, Self

import numpy as np
import numpy.typing as npt

from ipsim.bitwords import words16_to_uint64
from ipsim.indexers import hits, popcount
from ipsim.indexers.base import Labels, Metric, SearchHits, Selection, Vectors, parse_device
from ipsim.indexers.fingerprint_gpu import GpuScanner, GpuUnavailable
from ipsim.indexers.index_file import IndexFile, PersistedIndex
from ipsim.indexers.live_labels import (
    LiveLabels,
    as_batch,
    as_queries,
    check_dim,
    check_k,
    check_metric,
)

log = logging.getLogger(__name__)

Measure = Literal["tanimoto", "dice", "tversky"]
MEASURES: tuple[Measure, ...] = ("tanimoto", "dice", "tversky")
_KINDS = {"tanimoto": popcount.TANIMOTO, "dice": popcount.DICE, "tversky": popcount.TVERSKY}

MAX_BITS = 1 << 16
"""Largest similarity or screen part (popcounts and thresholds are int32; 64k bits is far
beyond any chemical fingerprint)."""

_FIRST_STEP_ROWS = popcount.BLOCK_ROWS
_STEP_ROWS = 8 * popcount.BLOCK_ROWS
"""A top-k search scans its best popcounts in steps of about this many rows (the first
smaller: it scans with no threshold) and checks after each whether it can stop: steps long
enough to keep every core busy, short enough to stop soon after the bound allows."""

U64s = npt.NDArray[np.uint64]
I32s = npt.NDArray[np.int32]
I64s = npt.NDArray[np.int64]
F64s = npt.NDArray[np.float64]
Bitmap = npt.NDArray[np.uint8]
_Rows = tuple[npt.NDArray[np.int64], U64s, U64s]
"""Labels, similarity words and screen words of some rows."""


@dataclass(frozen=True)
class SimilarHits:
    """Hits best first (score descending, then label ascending), and how many qualified."""

    labels: Labels
    scores: F64s
    total: int
    """Allowed live fingerprints scoring ≥ the threshold (all of them for threshold 0)."""


def check_bits(dim: int, bits: int, screen_bits: int) -> tuple[int, int]:
    """``(bits, screen_bits)`` when they are multiples of 64 that fill ``dim`` words16.

    ValueError naming the parameter otherwise.
    """
    for name, value, low in (("bits", bits, 64), ("screen_bits", screen_bits, 0)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be an integer, got {value!r}")
        if not low <= value <= MAX_BITS or value % 64:
            raise ValueError(f"{name} must be a multiple of 64 in [{low}, {MAX_BITS}], got {value}")
    if (bits + screen_bits) != 16 * dim:
        raise ValueError(
            f"dim must be (bits + screen_bits) / 16 = {(bits + screen_bits) / 16:g}, got {dim}"
        )
    return bits, screen_bits


def _unit_interval(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return float(value)


def _weight(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not (math.isfinite(float(value)) and float(value) >= 0.0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class _Score:
    """One measure with its weights, in the form the kernels take.

    ``single`` ranks by the float32 rounding of the score, as :class:`SearchHits` reports
    it, so that a top-k agrees with the one ordering rule of :mod:`ipsim.indexers.hits`.
    """

    kind: int
    alpha: float = 1.0
    beta: float = 1.0
    single: bool = False

    def of(self, common: I32s, a: int, counts: I32s) -> F64s:
        """Scores of hits sharing ``common`` bits with rows of popcount ``counts``."""
        return popcount.scores(common, a, counts, self.kind, self.alpha, self.beta, self.single)

    def bounds(self, a: int, bands: I64s) -> F64s:
        """The best score a row of each popcount in ``bands`` can reach."""
        return popcount.bounds(a, bands, self.kind, self.alpha, self.beta, self.single)

    def cmin(self, a: int, bands: I64s, threshold: float, bits: int) -> I32s:
        """Per popcount (index 0..bits): the least intersection reaching ``threshold``.

        Only ``bands`` are filled; other popcounts get ``bits + 1`` (never reached).
        """
        out = np.full(bits + 1, bits + 1, dtype=np.int32)
        popcount.min_common(a, bands, threshold, self.kind, self.alpha, self.beta, self.single, out)
        return out


@dataclass(frozen=True, eq=False)
class _Block:
    """Rows sorted by similarity popcount: rows of popcount ``b`` are ``offsets[b]:offsets[b+1]``.

    Immutable once built (the GPU keeps a device copy per block, keyed by identity).
    """

    labels: I64s
    sim: U64s
    screen: U64s
    counts: I32s
    offsets: I64s
    bands: I64s
    """The popcounts that have rows, ascending."""

    @classmethod
    def of(cls, rows: _Rows, bits: int) -> _Block:
        """A block of these rows (in any order)."""
        labels, sim, screen = rows
        counts = popcount.row_popcounts(np.ascontiguousarray(sim))
        order = np.argsort(counts, kind="stable")
        counts = counts[order]
        offsets = np.zeros(bits + 2, dtype=np.int64)
        np.cumsum(np.bincount(counts, minlength=bits + 1), out=offsets[1:])
        bands = np.flatnonzero(np.diff(offsets)).astype(np.int64)
        return cls(labels[order], sim[order], screen[order], counts, offsets, bands)

    @property
    def size(self) -> int:
        return int(self.labels.size)

    def runs(self, chosen: I64s) -> list[tuple[int, int]]:
        """Row ranges covering the popcounts ``chosen`` (a subset of :attr:`bands`)."""
        idx = np.searchsorted(self.bands, np.sort(chosen))
        runs = np.split(idx, np.flatnonzero(np.diff(idx) != 1) + 1)
        return [
            (int(self.offsets[self.bands[r[0]]]), int(self.offsets[self.bands[r[-1]] + 1]))
            for r in runs
            if r.size
        ]


class _Scanner(Protocol):
    device: str

    def threshold_hits(
        self, block: _Block, query: U64s, mask: Bitmap, cmin: I32s, start: int, stop: int
    ) -> tuple[I64s, I32s]: ...

    def superset_rows(self, block: _Block, query: U64s, mask: Bitmap) -> I64s: ...


class _CpuScanner:
    """The numba kernels, on every core."""

    device = "cpu"

    def threshold_hits(
        self, block: _Block, query: U64s, mask: Bitmap, cmin: I32s, start: int, stop: int
    ) -> tuple[I64s, I32s]:
        return popcount.threshold_hits(
            query, block.sim, block.counts, block.labels, mask, cmin, start, stop
        )

    def superset_rows(self, block: _Block, query: U64s, mask: Bitmap) -> I64s:
        return popcount.superset_rows(query, block.screen, block.labels, mask)


_CPU = _CpuScanner()


def _ranked(labels: Labels, scores: F64s, k: int | None) -> tuple[Labels, F64s]:
    """The best ``k`` (all when None) by score descending, then label ascending."""
    if k is not None and scores.size > k:
        # Everything scoring at least the k-th best score, ties included, then a full sort.
        kth = np.partition(scores, scores.size - k)[scores.size - k]
        keep = scores >= kth
        labels, scores = labels[keep], scores[keep]
    order = np.lexsort((labels, -scores))[:k]
    return labels[order], scores[order]


class _Best:
    """The best ``k`` hits offered so far (score descending, then label ascending)."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.labels: Labels = np.empty(0, dtype=np.int64)
        self.scores: F64s = np.empty(0, dtype=np.float64)

    @property
    def full(self) -> bool:
        return self.labels.size == self.k

    @property
    def kth(self) -> float:
        """The score a new hit must reach to enter (0 while fewer than k are held)."""
        return float(self.scores[-1]) if self.full else 0.0

    def offer(self, labels: Labels, scores: F64s) -> None:
        self.labels, self.scores = _ranked(
            np.concatenate([self.labels, labels]), np.concatenate([self.scores, scores]), self.k
        )


class FingerprintIndex(PersistedIndex):
    """Exact similarity search and screening over packed fingerprints (see the module doc).

    Searches may run concurrently with each other; writes are serialised by the caller
    and exclusive with searches (the store's contract).
    """

    family = "fingerprint"

    def __init__(
        self, dim: int, metric: Metric = "tanimoto", *, bits: int, screen_bits: int = 0
    ) -> None:
        self.dim = check_dim(dim)
        self.metric = check_metric(metric, ("tanimoto",))
        self.bits, self.screen_bits = check_bits(self.dim, bits, screen_bits)
        self._sim_words = self.bits // 64
        self._screen_words = self.screen_bits // 64
        self._live = LiveLabels()
        # Removed labels whose rows may still sit in a block (scans skip them as not live).
        self._removed = LiveLabels()
        self._blocks: list[_Block] = []
        self._pending: list[_Rows] = []
        self._refresh = threading.Lock()
        self._scanner: _Scanner = _CPU
        self.rows_scanned = 0
        """Rows compared so far (statistics, for pruning; approximate under concurrency)."""

    # -- the VectorIndex seam ---------------------------------------------------------------

    @property
    def ntotal(self) -> int:
        """Number of live fingerprints."""
        return self._live.count

    @property
    def exact(self) -> bool:
        """Every search is exhaustive (pruning skips only rows that cannot qualify)."""
        return True

    @property
    def device(self) -> str:
        """Where scans run: ``cpu`` or ``cuda:N``."""
        return self._scanner.device

    @property
    def nbytes(self) -> int:
        """Host memory held: rows, labels, popcounts, offsets, buffered adds, label bitmaps."""
        blocks = sum(
            a.nbytes
            for b in self._blocks
            for a in (b.labels, b.sim, b.screen, b.counts, b.offsets, b.bands)
        )
        pending = sum(a.nbytes for rows in self._pending for a in rows)
        bitmaps = self._live.selection().bits.nbytes + self._removed.selection().bits.nbytes
        return int(blocks + pending + bitmaps)

    def add(self, labels: Labels, vectors: Vectors) -> None:
        """Add words16 rows under new labels (ValueError for a live label or a bad row)."""
        lab, vec = as_batch(labels, vectors, self.dim)
        words = words16_to_uint64(vec)
        if self._removed.count and self._removed.contains(lab).any():
            # The label's old row must be gone before its new one arrives: liveness is per
            # label, so a stale row would come back to life.
            self._compact()
        self._live.insert(lab)
        self._pending.append((lab, words[:, : self._sim_words], words[:, self._sim_words :]))

    def remove(self, labels: Labels) -> None:
        """Forget these labels; unknown ones are ignored."""
        self._removed.insert(self._live.discard(labels))

    def search(self, queries: Vectors, k: int, allowed: Selection | None = None) -> SearchHits:
        """Top-k by Tanimoto per query row, scores as float32."""
        words = words16_to_uint64(as_queries(queries, self.dim))
        k = check_k(k)
        out = hits.empty_hits(words.shape[0], k)
        blocks, mask = self._current(), self._mask(allowed)
        score = _Score(popcount.TANIMOTO, single=True)
        for i, row in enumerate(words):
            labels, scores = self._top_k(blocks, self._sim(row), score, k, mask)
            out.labels[i, : labels.size] = labels
            out.scores[i, : labels.size] = scores
        return out

    def to(self, device: str) -> Self:
        """Scan on ``cuda:N`` (CuPy) or ``cpu``; stays where it is when CUDA is unavailable."""
        gpu = parse_device(device)
        if gpu is None:
            self._scanner = _CPU
        elif self._scanner.device != f"cuda:{gpu}":
            try:
                self._scanner = GpuScanner(gpu)
            except GpuUnavailable as e:
                log.warning(
                    "cannot move fingerprint index to %s, staying on %s: %s", device, self.device, e
                )
        return self

    def describe(self) -> dict[str, object]:
        """``{"type": "fingerprint", "bits", "screen_bits", "device"}``."""
        return {
            "type": self.family,
            "bits": self.bits,
            "screen_bits": self.screen_bits,
            "device": self.device,
        }

    def dump(self) -> IndexFile:
        """The live rows as uint64 words with their labels."""
        labels, sim, screen = self._gather(self._pending, self._blocks)
        return IndexFile(
            family=self.family,
            meta={
                "dim": self.dim,
                "metric": self.metric,
                "bits": self.bits,
                "screen_bits": self.screen_bits,
            },
            arrays={"labels": labels, "words": np.concatenate([sim, screen], axis=1)},
        )

    @classmethod
    def restore(cls, file: IndexFile) -> Self:
        """Rebuild from :meth:`dump`'s output."""
        meta = file.meta
        index = cls(
            int(meta["dim"]),
            check_metric(str(meta["metric"]), ("tanimoto",)),
            bits=int(meta["bits"]),
            screen_bits=int(meta["screen_bits"]),
        )
        labels = np.asarray(file.arrays["labels"], dtype=np.int64)
        words = np.asarray(file.arrays["words"])
        if words.dtype != np.uint64 or words.shape != (labels.size, index.dim // 4):
            raise ValueError(
                f"fingerprint index file: words of shape {words.shape} ({words.dtype})"
            )
        index._live = LiveLabels.of(labels)
        rows = (labels, words[:, : index._sim_words], words[:, index._sim_words :])
        index._blocks = [_Block.of(rows, index.bits)] if labels.size else []
        return index

    # -- the chemistry queries --------------------------------------------------------------

    def similar(
        self,
        query: Vectors,
        *,
        k: int | None,
        threshold: float = 0.0,
        measure: Measure = "tanimoto",
        alpha: float = 1.0,
        beta: float = 1.0,
        allowed: Selection | None = None,
    ) -> SimilarHits:
        """Fingerprints scoring ≥ ``threshold`` against one query row, best first, at most ``k``.

        ``measure`` is RDKit's Tanimoto, Dice or Tversky (``alpha`` weighs the query's own
        bits, ``beta`` the target's). With ``threshold`` 0 and a ``k`` this is a pruned top-k
        and ``total`` is the number of allowed live fingerprints; otherwise every
        fingerprint in reach of the threshold is scored, and ``total`` counts the hits.
        """
        row = self._row(query, "query")
        if k is not None:
            k = check_k(k)
        threshold = _unit_interval("threshold", threshold)
        if measure not in _KINDS:
            raise ValueError(f"measure must be one of {', '.join(MEASURES)}, got {measure!r}")
        score = _Score(_KINDS[measure], _weight("alpha", alpha), _weight("beta", beta))
        blocks, mask = self._current(), self._mask(allowed)
        if threshold == 0.0 and k is not None:
            labels, scores = self._top_k(blocks, self._sim(row), score, k, mask)
            total = self._live.count if allowed is None else self._live.count_in(allowed)
            return SimilarHits(labels, scores, total)
        labels, scores = self._at_least(blocks, self._sim(row), score, threshold, mask)
        best_labels, best_scores = _ranked(labels, scores, k)
        return SimilarHits(best_labels, best_scores, int(labels.size))

    def screen(self, query: Vectors, allowed: Selection | None = None) -> Labels:
        """Labels (ascending) whose screen bits hold every screen bit of the query row."""
        if not self.screen_bits:
            raise ValueError("screen: this index has no screen bits (screen_bits=0)")
        row = self._row(query, "query")
        screen = np.ascontiguousarray(row[self._sim_words :])
        mask = self._mask(allowed)
        found = []
        for block in self._current():
            self.rows_scanned += block.size
            found.append(block.labels[self._scanner.superset_rows(block, screen, mask)])
        return np.sort(np.concatenate([np.empty(0, dtype=np.int64), *found]))

    # -- scans --------------------------------------------------------------------------

    def _sim(self, row: U64s) -> U64s:
        return np.ascontiguousarray(row[: self._sim_words])

    def _scan(
        self, block: _Block, query: U64s, mask: Bitmap, cmin: I32s, run: tuple[int, int]
    ) -> tuple[Labels, I32s, I32s]:
        """Labels, intersections and popcounts of the rows in ``run`` passing ``cmin``, ``mask``."""
        start, stop = run
        self.rows_scanned += stop - start
        pos, common = self._scanner.threshold_hits(block, query, mask, cmin, start, stop)
        return block.labels[pos], common, block.counts[pos]

    def _at_least(
        self, blocks: list[_Block], query: U64s, score: _Score, threshold: float, mask: Bitmap
    ) -> tuple[Labels, F64s]:
        """Every allowed live row scoring ≥ ``threshold`` (unordered)."""
        a = int(np.bitwise_count(query).sum())
        labels, scores = [np.empty(0, dtype=np.int64)], [np.empty(0, dtype=np.float64)]
        for block in blocks:
            in_reach = block.bands[score.bounds(a, block.bands) >= threshold]
            cmin = score.cmin(a, in_reach, threshold, self.bits)
            for run in block.runs(in_reach):
                found, common, counts = self._scan(block, query, mask, cmin, run)
                labels.append(found)
                scores.append(score.of(common, a, counts))
        return np.concatenate(labels), np.concatenate(scores)

    def _top_k(
        self, blocks: list[_Block], query: U64s, score: _Score, k: int, mask: Bitmap
    ) -> tuple[Labels, F64s]:
        """The best ``k`` allowed live rows, visiting popcounts by decreasing bound."""
        a = int(np.bitwise_count(query).sum())
        best = _Best(k)
        for block in blocks:
            bound = score.bounds(a, block.bands)
            order = np.argsort(-bound, kind="stable")
            ends = np.cumsum(np.diff(block.offsets)[block.bands[order]])
            done, step = 0, _FIRST_STEP_ROWS
            while done < order.size:
                if best.full and bound[order[done]] < best.kth:
                    break
                scanned = int(ends[done - 1]) if done else 0
                end = max(done + 1, int(np.searchsorted(ends, scanned + step)) + 1)
                chosen = order[done:end]
                chosen = chosen[bound[chosen] >= best.kth]
                cmin = score.cmin(a, block.bands[chosen], best.kth, self.bits)
                for run in block.runs(block.bands[chosen]):
                    found, common, counts = self._scan(block, query, mask, cmin, run)
                    best.offer(found, score.of(common, a, counts))
                done, step = end, _STEP_ROWS
        return best.labels, best.scores

    # -- state --------------------------------------------------------------------------

    def _row(self, query: Vectors, name: str) -> U64s:
        """One words16 row (shape ``(dim,)`` or ``(1, dim)``) as uint64 words."""
        q = np.asarray(query)
        if q.ndim == 2 and q.shape[0] == 1:
            q = q[0]
        if q.shape != (self.dim,):
            raise ValueError(f"{name} must be one row of {self.dim} words16 values, got {q.shape}")
        try:
            words = words16_to_uint64(q.reshape(1, -1))
        except ValueError as e:
            raise ValueError(f"{name}: {e}") from e
        row: U64s = words[0]
        return row

    def _mask(self, allowed: Selection | None) -> Bitmap:
        """A fresh bitmap of the labels a scan may return: live, and in ``allowed`` if given."""
        live = self._live.selection().bits
        if allowed is None:
            return live.copy()
        n = min(live.size, allowed.bits.size)
        return np.bitwise_and(live[:n], allowed.bits[:n])

    def _current(self) -> list[_Block]:
        """The blocks to scan, after folding in the writes since the last search."""
        with self._refresh:
            if self._pending:
                self._blocks.append(_Block.of(self._gather(self._pending, []), self.bits))
                self._pending = []
                while len(self._blocks) > 1 and self._blocks[-2].size <= 2 * self._blocks[-1].size:
                    newest = self._blocks.pop()
                    merged = self._gather([], [self._blocks[-1], newest])
                    self._blocks[-1] = _Block.of(merged, self.bits)
            if 4 * self._removed.count > sum(b.size for b in self._blocks):
                self._compact()
            return list(self._blocks)

    def _compact(self) -> None:
        """Rewrite every row into one block, without the removed ones."""
        rows = self._gather(self._pending, self._blocks)
        self._blocks = [_Block.of(rows, self.bits)] if rows[0].size else []
        self._pending = []
        self._removed = LiveLabels()

    def _gather(self, pending: list[_Rows], blocks: list[_Block]) -> _Rows:
        """The live rows among these buffered adds and blocks."""
        parts = [*pending, *((b.labels, b.sim, b.screen) for b in blocks)]
        labels = np.concatenate([np.empty(0, dtype=np.int64), *(p[0] for p in parts)])
        sim = np.concatenate([np.empty((0, self._sim_words), np.uint64), *(p[1] for p in parts)])
        screen = np.concatenate(
            [np.empty((0, self._screen_words), np.uint64), *(p[2] for p in parts)]
        )
        live = self._live.contains(labels)
        return labels[live], sim[live], screen[live]
