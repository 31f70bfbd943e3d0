"""Popcount kernels over packed fingerprints (numba, compiled to the POPCNT instruction).

Fingerprints are rows of a C-contiguous ``(n, nwords)`` uint64 matrix. The kernels count
bits only: the intersection count ``c = |q & row|`` per row, tested against an integer
threshold ``cmin[|row|]`` (the least ``c`` whose score reaches the caller's threshold, see
:func:`min_common`), and the subset test ``(q & row) == q`` for screening. Scores are then
computed once per hit, in float64, with RDKit's formulas (:func:`similarity`), so every
path (CPU, GPU, pruned or not) turns the same integers into the same scores.

Scans are parallel over blocks of rows (``prange``); a scan that fits one block runs on
the calling thread, which keeps small indexes free of thread-pool overhead. Each block's
hits go to its own slice of the output, compacted afterwards, so no thread waits on
another. The hits come back with the matching rows' labels tested against a label bitmap
(live ∧ allowed, laid out like :class:`~ipsim.indexers.base.Selection`), looked up only for
rows that passed the count test.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import numpy.typing as npt
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

U64s = npt.NDArray[np.uint64]
I32s = npt.NDArray[np.int32]
I64s = npt.NDArray[np.int64]
F64s = npt.NDArray[np.float64]
Bitmap = npt.NDArray[np.uint8]

TANIMOTO, DICE, TVERSKY = 0, 1, 2
"""Measure codes the kernels take (numba compiles them as plain ints)."""

BLOCK_ROWS = 4096
"""Rows per parallel work item: large enough to amortise scheduling, small enough to balance."""

# Concurrent parallel regions from several Python threads crash numba's workqueue layer
# and oversubscribe the cores under omp/tbb; one scan at a time on every core is the
# better schedule anyway. Single-block scans run on the caller's thread, unlocked.
_PARALLEL = threading.Lock()


def _ctpop(typingctx: Any, x: Any) -> Any:
    if not isinstance(x, types.Integer):
        return None

    def codegen(context: Any, builder: ir.IRBuilder, signature: Any, args: Any) -> Any:
        return builder.ctpop(args[0])

    return types.uint64(types.uint64), codegen


popcount64: Any = intrinsic(_ctpop)
"""``popcount64(x)`` in jitted code: LLVM ``ctpop.i64``, one POPCNT (or a vector popcount
where the loop vectorises)."""


@njit(cache=True)
def similarity(c: int, a: int, b: int, kind: int, alpha: float, beta: float) -> float:
    """RDKit's score for ``c`` bits in common, query popcount ``a``, target popcount ``b``.

    The same float64 operations in the same order as RDKit's ``BitOps.cpp`` (no fastmath:
    a fused multiply-add or a reciprocal would move the last bit), with its special
    cases: an empty fingerprint scores 0 (Tanimoto and Dice: when both are empty), and a
    Tversky denominator of 0 (``alpha = beta = 0``, nothing shared) scores 1.
    """
    x, y, z = float(c), float(a), float(b)
    if kind == TANIMOTO:
        return x / float(a + b - c) if a + b > 0 else 0.0
    if kind == DICE:
        return 2.0 * x / (y + z) if y + z > 0.0 else 0.0
    if a == 0 or b == 0:
        return 0.0
    denom = alpha * y + beta * z + (1.0 - alpha - beta) * x
    return x / denom if denom != 0.0 else 1.0


@njit(cache=True)
def _rounded(score: float, single: bool) -> float:
    # ``single``: compare as the float32 the score will be reported in (SearchHits).
    return float(np.float32(score)) if single else score


@njit(cache=True)
def scores(
    common: I32s, a: int, counts: I32s, kind: int, alpha: float, beta: float, single: bool
) -> F64s:
    """:func:`similarity` per hit: ``common[i]`` bits shared with a row of ``counts[i]`` bits."""
    out = np.empty(common.size, np.float64)
    for i in range(common.size):
        out[i] = _rounded(similarity(common[i], a, counts[i], kind, alpha, beta), single)
    return out


@njit(cache=True)
def bounds(a: int, bands: I64s, kind: int, alpha: float, beta: float, single: bool) -> F64s:
    """The best score any row of popcount ``bands[i]`` can reach: ``c = min(a, b)``.

    Every measure here grows with ``c`` for fixed popcounts (Tversky: the derivative is
    ``(αa + βb) / denom² ≥ 0``), so this is a true upper bound; it is also reached, by a
    row that holds all of the query's bits or all of its bits are the query's.
    """
    out = np.empty(bands.size, np.float64)
    for i in range(bands.size):
        b = bands[i]
        out[i] = _rounded(similarity(min(a, b), a, b, kind, alpha, beta), single)
    return out


@njit(cache=True)
def min_common(
    a: int,
    bands: I64s,
    threshold: float,
    kind: int,
    alpha: float,
    beta: float,
    single: bool,
    cmin: I32s,
) -> None:
    """Set ``cmin[b]``, for each ``b`` in ``bands``, to the least ``c`` scoring ≥ ``threshold``.

    ``min(a, b) + 1`` (unreachable) when no ``c`` does. Found by bisection on the exact
    score function, which grows with ``c`` (see :func:`bounds`): the kernels' integer test
    ``c >= cmin[b]`` is then exactly ``score >= threshold``, float rounding included.
    """
    for i in range(bands.size):
        b = bands[i]
        lo, hi = 0, min(a, b) + 1
        while lo < hi:
            mid = (lo + hi) // 2
            if _rounded(similarity(mid, a, b, kind, alpha, beta), single) >= threshold:
                hi = mid
            else:
                lo = mid + 1
        cmin[b] = lo


@njit(cache=True)
def _selected(mask: Bitmap, label: int) -> bool:
    byte = label >> 3
    return byte < mask.size and (mask[byte] >> (label & 7)) & 1 == 1


@njit(cache=True, fastmath=True)
def _threshold_block(
    query: U64s,
    rows: U64s,
    counts: I32s,
    labels: I64s,
    mask: Bitmap,
    cmin: I32s,
    lo: int,
    hi: int,
    pos: I64s,
    common: I32s,
    out: int,
) -> int:
    """Hits of rows ``[lo, hi)`` written from ``pos[out]`` on; returns how many."""
    found = 0
    nwords = query.size
    for i in range(lo, hi):
        c = 0
        for w in range(nwords):
            c += popcount64(query[w] & rows[i, w])
        if c >= cmin[counts[i]] and _selected(mask, labels[i]):
            pos[out + found] = i
            common[out + found] = c
            found += 1
    return found


@njit(cache=True, fastmath=True)
def _superset_block(
    query: U64s,
    words: I64s,
    rows: U64s,
    labels: I64s,
    mask: Bitmap,
    lo: int,
    hi: int,
    pos: I64s,
    out: int,
) -> int:
    """Rows of ``[lo, hi)`` holding every query bit (``words``: the query's non-zero words)."""
    found = 0
    for i in range(lo, hi):
        holds = True
        for w in words:
            if rows[i, w] & query[w] != query[w]:
                holds = False
                break
        if holds and _selected(mask, labels[i]):
            pos[out + found] = i
            found += 1
    return found


@njit(cache=True)
def _compact(found: I64s, out: Any) -> int:
    """Move block ``j``'s ``found[j]`` entries (at ``j * BLOCK_ROWS``) to one prefix of ``out``."""
    total = 0
    for j in range(found.size):
        start = j * BLOCK_ROWS
        for t in range(found[j]):
            out[total + t] = out[start + t]
        total += found[j]
    return total


@njit(cache=True, parallel=True, fastmath=True)
def _threshold_parallel(
    query: U64s,
    rows: U64s,
    counts: I32s,
    labels: I64s,
    mask: Bitmap,
    cmin: I32s,
    start: int,
    stop: int,
    pos: I64s,
    common: I32s,
) -> int:
    nblocks = (stop - start + BLOCK_ROWS - 1) // BLOCK_ROWS
    found = np.empty(nblocks, np.int64)
    for j in prange(nblocks):
        lo = start + j * BLOCK_ROWS
        hi = min(lo + BLOCK_ROWS, stop)
        found[j] = _threshold_block(
            query, rows, counts, labels, mask, cmin, lo, hi, pos, common, j * BLOCK_ROWS
        )
    _compact(found, common)
    return _compact(found, pos)


@njit(cache=True, parallel=True, fastmath=True)
def _superset_parallel(
    query: U64s,
    words: I64s,
    rows: U64s,
    labels: I64s,
    mask: Bitmap,
    start: int,
    stop: int,
    pos: I64s,
) -> int:
    nblocks = (stop - start + BLOCK_ROWS - 1) // BLOCK_ROWS
    found = np.empty(nblocks, np.int64)
    for j in prange(nblocks):
        lo = start + j * BLOCK_ROWS
        hi = min(lo + BLOCK_ROWS, stop)
        found[j] = _superset_block(query, words, rows, labels, mask, lo, hi, pos, j * BLOCK_ROWS)
    return _compact(found, pos)


@njit(cache=True, parallel=True, fastmath=True)
def _popcounts(rows: U64s, out: I32s) -> None:
    for i in prange(rows.shape[0]):
        c = 0
        for w in range(rows.shape[1]):
            c += popcount64(rows[i, w])
        out[i] = c


def row_popcounts(rows: U64s) -> I32s:
    """Bits set in each row."""
    out = np.empty(rows.shape[0], np.int32)
    if rows.shape[0]:
        with _PARALLEL:
            _popcounts(rows, out)
    return out


def threshold_hits(
    query: U64s,
    rows: U64s,
    counts: I32s,
    labels: I64s,
    mask: Bitmap,
    cmin: I32s,
    start: int,
    stop: int,
) -> tuple[I64s, I32s]:
    """Rows ``i`` in ``[start, stop)`` with ``|query & rows[i]| >= cmin[counts[i]]`` and
    ``labels[i]`` set in ``mask``: their positions (ascending) and intersection counts.

    ``query`` has ``rows.shape[1]`` words; ``counts[i]`` is the popcount of ``rows[i]``.
    """
    n = stop - start
    pos = np.empty(n, np.int64)
    common = np.empty(n, np.int32)
    if n <= 0:
        return pos, common
    if n <= BLOCK_ROWS:
        found = _threshold_block(
            query, rows, counts, labels, mask, cmin, start, stop, pos, common, 0
        )
    else:
        with _PARALLEL:
            found = _threshold_parallel(
                query, rows, counts, labels, mask, cmin, start, stop, pos, common
            )
    return pos[:found].copy(), common[:found].copy()


def superset_rows(query: U64s, rows: U64s, labels: I64s, mask: Bitmap) -> I64s:
    """Positions (ascending) of the rows holding every bit of ``query``, label set in ``mask``."""
    n = rows.shape[0]
    pos = np.empty(n, np.int64)
    words = np.flatnonzero(query).astype(np.int64)
    if n == 0:
        return pos
    if n <= BLOCK_ROWS:
        found = _superset_block(query, words, rows, labels, mask, 0, n, pos, 0)
    else:
        with _PARALLEL:
            found = _superset_parallel(query, words, rows, labels, mask, 0, n, pos)
    return pos[:found].copy()
