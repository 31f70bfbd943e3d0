"""A character n-gram inverted index for short strings (word marks, phonetic keys).

Similarity is Dice on gram multisets, ``2·shared / (|q| + |s|)``. Each string is padded
with ``n - 1`` begin and ``n - 1`` end markers (code points beyond Unicode, so no string
holds them): a one-letter mark still has ``n`` grams, and shared first and last letters
count. The empty string has no grams: it shares nothing, so it is never found and finds
nothing. Strings are indexed as given; folding case or script is the caller's business.

Multisets become sets by numbering repeats: the k-th ``"ana"`` of a string is its own
token ``("ana", k)``, so counting shared tokens counts ``min`` of the two multiplicities.
A gram packs into one int64 (21 bits a code point), hence ``n`` is 1, 2 or 3.

Postings are string ids per token, in one pool where each token owns a segment. A query
reads the segments of its tokens, counting per string, and scores only the strings met:
the work follows the postings touched, not the collection. Tokenising, posting and
scoring run in numba kernels (a Python loop over postings would be the bottleneck):
``add`` queues its strings, which are posted in one batch once :data:`FLUSH_AT` are queued
or a query comes. ``remove`` leaves tombstones; once dead strings outnumber live ones
(and number at least :data:`COMPACT_AT`), everything live is indexed afresh.

Thread safety: any number of concurrent ``candidates`` calls; ``add``, ``remove`` and a
query's posting of queued strings take the write side of a readers-writer lock. The
``allowed`` callback runs outside the lock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

from ipsim.indexers.rwlock import ReadWriteLock

I32s = npt.NDArray[np.int32]
I64s = npt.NDArray[np.int64]
F64s = npt.NDArray[np.float64]

FLUSH_AT = 4096
"""Queued strings that make ``add`` index the queue itself (bounds a query's flush)."""
COMPACT_AT = 4096
"""Fewest dead strings worth a rebuild."""

_BITS = 21
_BEGIN, _END = 0x110000, 0x110001
_EMPTY = -1
_SLOTS = 1 << 10
_SLACK = 1 << 16
"""Pool elements beyond twice the postings tolerated before a repack."""


@njit(cache=True)
def _slot(keys: I64s, vals: I32s, key: int) -> int:
    """The slot holding ``key`` in an open-addressing table, or the empty one it belongs in."""
    mask = keys.size - 1
    h = np.uint64(key)  # splitmix64's finaliser: every key bit reaches the low bits
    h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    i = np.int64((h ^ (h >> np.uint64(31))) & np.uint64(mask))
    while vals[i] != _EMPTY and keys[i] != key:
        i = (i + 1) & mask
    return int(i)


@njit(cache=True)
def _table(token_keys: I64s, ntokens: int, size: int) -> tuple[I64s, I32s]:
    """A table of ``size`` slots holding tokens ``0 .. ntokens-1``."""
    keys = np.zeros(size, np.int64)
    vals = np.full(size, _EMPTY, np.int32)
    for t in range(ntokens):
        i = _slot(keys, vals, token_keys[t])
        keys[i] = token_keys[t]
        vals[i] = t
    return keys, vals


@njit(cache=True)
def _tokenize(
    cps: Any,
    lengths: I64s,
    offsets: I64s,
    n: int,
    keys: I64s,
    vals: I32s,
    token_keys: I64s,
    ntokens: int,
    insert: bool,
    tokens: I32s,
    begin: int,
) -> tuple[int, int]:
    """Write the tokens of strings ``begin ..`` (code points end to end in ``cps``).

    String ``i`` has ``lengths[i]`` code points and tokens ``tokens[offsets[i]:offsets[i+1]]``.
    Returns the first string not done and the token count: an inserting run stops before
    a string that might overfill the table (at most one new token a gram), for the caller
    to make room. The arrays are never reallocated here, which keeps the loop tight.
    """
    start = lengths[:begin].sum()
    firsts = np.empty(tokens.size, np.int32)  # each position's repeat-0 token
    for i in range(begin, lengths.size):
        length, base, grams = lengths[i], offsets[i], offsets[i + 1] - offsets[i]
        if insert and (2 * (ntokens + grams) > keys.size or ntokens + grams > token_keys.size):
            return i, ntokens
        for g in range(grams):
            key = 0
            for j in range(n):
                p = g - (n - 1) + j
                c = _BEGIN if p < 0 else (_END if p >= length else int(cps[start + p]))
                key = (key << _BITS) | c
            while True:  # the gram's token, then for a recurrence the recurrence's own
                slot = _slot(keys, vals, key)
                if vals[slot] == _EMPTY and insert:
                    token_keys[ntokens], keys[slot], vals[slot] = key, key, ntokens
                    ntokens += 1
                t = vals[slot]
                if key < 0:
                    break
                firsts[base + g] = t
                repeat = 0
                for h in range(g):
                    if t != _EMPTY and firsts[base + h] == t:
                        repeat += 1
                if not repeat:
                    break
                key = -((int(t) << 31) | repeat) - 1  # negative: never a gram's key
            tokens[base + g] = t
        start += length
    return lengths.size, ntokens


@njit(cache=True)
def _move(source: I32s, target: I32s, start: I64s, fill: I64s, moving: I64s, to: I64s) -> None:
    """Copy the postings of tokens ``moving`` from ``source`` to ``target`` at ``to``."""
    for k in range(moving.size):
        t = moving[k]
        target[to[k] : to[k] + fill[t]] = source[start[t] : start[t] + fill[t]]
        start[t] = to[k]


@njit(cache=True)
def _post(pool: I32s, start: I64s, fill: I64s, tokens: I32s, offsets: I64s, first: int) -> None:
    """Post string ``first + i`` under ``tokens[offsets[i]:offsets[i+1]]`` (room assured)."""
    for i in range(offsets.size - 1):
        for o in range(offsets[i], offsets[i + 1]):
            t = tokens[o]
            pool[start[t] + fill[t]] = first + i
            fill[t] += 1


@njit(cache=True)
def _best(
    pool: I32s,
    start: I64s,
    fill: I64s,
    tokens: I32s,
    offsets: I64s,
    string_grams: I64s,
    string_slot: I32s,
    slot_live: Any,
    counts: I32s,
    best: F64s,
) -> I64s:
    """Score the strings sharing tokens with each query; keep each slot's best in ``best``.

    Query ``q`` has tokens ``tokens[offsets[q]:offsets[q+1]]`` (-1: unknown, shared by
    nobody). ``counts`` (one per string) and ``best`` (one per slot) are zero on entry;
    returns the slots scored. The work follows the postings read, not the collection.
    """
    hit = np.empty(counts.size, np.int64)  # one query's strings, in the order first met
    scored = np.empty(best.size, np.int64)
    nscored = 0
    for q in range(offsets.size - 1):
        found = 0
        for o in range(offsets[q], offsets[q + 1]):
            t = tokens[o]
            if t == _EMPTY:
                continue
            for p in range(start[t], start[t] + fill[t]):
                s = pool[p]
                if counts[s] == 0:
                    hit[found] = s
                    found += 1
                counts[s] += 1
        size = offsets[q + 1] - offsets[q]
        for k in range(found):
            s = hit[k]
            slot = string_slot[s]
            if slot_live[slot]:
                dice = 2.0 * counts[s] / (size + string_grams[s])
                if best[slot] == 0.0:
                    scored[nscored] = slot
                    nscored += 1
                best[slot] = max(best[slot], dice)
            counts[s] = 0
    return scored[:nscored]


def _code_points(texts: Sequence[str]) -> tuple[npt.NDArray[np.uint32], I64s]:
    """All strings' code points end to end, and each string's length."""
    joined = "".join(texts).encode("utf-32-le", "surrogatepass")
    lengths = np.fromiter(map(len, texts), np.int64, len(texts))
    return np.frombuffer(joined, np.uint32), lengths


def _resized(a: npt.NDArray[Any], size: int) -> npt.NDArray[Any]:
    """``a`` with room for at least ``size`` elements (doubling, zero-filled tail)."""
    if size <= a.size:
        return a
    out = np.zeros(max(size, 2 * a.size), a.dtype)
    out[: a.size] = a
    return out


def _starts(sizes: I64s, base: int) -> I64s:
    """Where segments of ``sizes`` begin when laid end to end from ``base``."""
    return base + np.cumsum(sizes) - sizes


class _Grams:
    """Tokens (grams, with repeats numbered) and their postings: string ids in a pool.

    Each token owns a segment of the pool; a segment short of room moves to the end with
    at least double the room, and the pool is laid out afresh once abandoned segments
    make it more than twice the postings (plus :data:`_SLACK`).
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self._keys, self._vals = _table(np.zeros(0, np.int64), 0, _SLOTS)
        self._token_keys = np.zeros(_SLOTS // 2, np.int64)
        self._ntokens = 0
        self._pool = np.zeros(_SLACK, np.int32)
        self._used = 0
        self._postings = 0
        self._start = np.zeros(0, np.int64)
        self._fill = np.zeros(0, np.int64)
        self._room = np.zeros(0, np.int64)

    def tokens(self, texts: Sequence[str], insert: bool) -> tuple[I32s, I64s]:
        """Tokens of ``texts`` end to end, and each text's offsets; unknown ones -1 unless
        ``insert`` (only under the write lock)."""
        cps, lengths = _code_points(texts)
        offsets = np.zeros(len(texts) + 1, np.int64)
        np.cumsum(np.where(lengths > 0, lengths + self.n - 1, 0), out=offsets[1:])
        tokens = np.empty(offsets[-1], np.int32)
        done = 0
        while True:
            table = (self._keys, self._vals, self._token_keys, self._ntokens)
            done, ntokens = _tokenize(cps, lengths, offsets, self.n, *table, insert, tokens, done)
            if insert:
                self._ntokens = ntokens
            if done == len(texts):
                return tokens, offsets
            self._make_room(int(offsets[done + 1] - offsets[done]))

    def _make_room(self, grams: int) -> None:
        """Room for ``grams`` more tokens, the table at most half full."""
        want = self._ntokens + grams
        self._token_keys = _resized(self._token_keys, want)
        size = self._keys.size
        while 2 * want > size:
            size *= 2
        if size > self._keys.size:
            self._keys, self._vals = _table(self._token_keys, self._ntokens, size)

    def post(self, tokens: I32s, offsets: I64s, first: int) -> None:
        """Post string ``first + i`` under the tokens of text ``i`` of a :meth:`tokens` call."""
        grown = self._ntokens - self._start.size
        if grown > 0:
            zeros = np.zeros(grown, np.int64)
            self._start, self._fill, self._room = (
                np.concatenate([a, zeros]) for a in (self._start, self._fill, self._room)
            )
        need = self._fill + np.bincount(tokens, minlength=self._ntokens)
        moving = np.flatnonzero(need > self._room)
        room = np.maximum(np.maximum(4, 2 * self._room[moving]), need[moving])
        to = _starts(room, self._used)
        self._used += int(room.sum())
        self._pool = _resized(self._pool, self._used)
        _move(self._pool, self._pool, self._start, self._fill, moving, to)
        self._room[moving] = room
        _post(self._pool, self._start, self._fill, tokens, offsets, first)
        self._postings += tokens.size
        if self._used > 2 * self._postings + _SLACK:
            self._repack()

    def _repack(self) -> None:
        """Lay the segments out again, each with a quarter more room than it holds."""
        self._room = self._fill + self._fill // 4 + 1
        to = _starts(self._room, 0)
        self._used = int(self._room.sum())
        pool = np.empty(self._used, np.int32)
        _move(self._pool, pool, self._start, self._fill, np.arange(self._ntokens), to)
        self._pool = pool

    def best(
        self, texts: Sequence[str], grams: I64s, slot: I32s, live: npt.NDArray[np.bool_], slots: int
    ) -> tuple[I64s, F64s]:
        """The live slots (of ``slots``) whose strings share grams with any of ``texts``, and
        each one's best Dice score; string ``i`` has ``grams[i]`` grams and belongs to
        ``slot[i]``, which counts if ``live[slot[i]]``."""
        tokens, offsets = self.tokens(texts, insert=False)
        counts = np.zeros(grams.size, np.int32)  # calloc: untouched pages cost nothing
        best = np.zeros(slots, np.float64)
        args = (self._pool, self._start, self._fill, tokens, offsets, grams, slot, live)
        scored = _best(*args, counts, best)
        return scored, best[scored]


def _strings(texts: Sequence[str], what: str) -> list[str]:
    """``texts`` as a list, or ValueError naming ``what`` (a bare str is one mistake away)."""
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise ValueError(f"{what} must be a sequence of strings, got {type(texts).__name__}")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(f"{what}[{i}] must be a string, got {type(text).__name__}")
    return list(texts)


class NgramIndex:
    """Short strings (marks, phonetic keys) by shared character n-grams."""

    def __init__(self, n: int = 3) -> None:
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 3:
            raise ValueError(f"n must be 1, 2 or 3, got {n!r}")
        self.n = n
        self._lock = ReadWriteLock()
        # Every add makes a slot (a version of a document) whose strings get consecutive
        # ids; removing or replacing the document kills the slot (a tombstone).
        self._docs: dict[str, tuple[int, int, int]] = {}  # doc id -> (slot, first, count)
        self._slot_doc: list[str] = []
        self._slot_count: list[int] = []
        self._slot_live = np.zeros(0, np.bool_)
        self._texts: list[str] = []
        self._dead = 0  # strings of dead slots
        # Strings before ``_indexed`` (of slots before ``_posted_slots``) are posted; the
        # rest are queued.
        self._grams = _Grams(n)
        self._indexed = 0
        self._posted_slots = 0
        self._string_slot = np.zeros(0, np.int32)
        self._string_grams = np.zeros(0, np.int64)

    def __len__(self) -> int:
        """Documents held (one with no or only empty strings too)."""
        return len(self._docs)

    def add(self, doc_id: str, texts: Sequence[str]) -> None:
        """Index ``texts`` (variants, keys) as ``doc_id``'s strings, replacing any it had."""
        if not isinstance(doc_id, str) or not doc_id:
            raise ValueError(f"doc_id must be a non-empty string, got {doc_id!r}")
        strings = _strings(texts, "texts")
        with self._lock.write():
            self._drop(doc_id)
            slot = len(self._slot_doc)
            self._docs[doc_id] = (slot, len(self._texts), len(strings))
            self._slot_doc.append(doc_id)
            self._slot_count.append(len(strings))
            self._slot_live = _resized(self._slot_live, slot + 1)
            self._slot_live[slot] = True
            self._texts.extend(strings)
            self._compact_if_due()
            if len(self._texts) - self._indexed >= FLUSH_AT:
                self._flush()

    def remove(self, doc_id: str) -> None:
        """Forget ``doc_id``'s strings (unknown ids are ignored)."""
        with self._lock.write():
            self._drop(doc_id)
            self._compact_if_due()

    def candidates(
        self,
        queries: Sequence[str],
        limit: int,
        allowed: Callable[[str], bool] | None = None,
    ) -> list[tuple[str, float]]:
        """Documents by their best Dice similarity between any query and any of their strings.

        Best first, ties by doc id; at most ``limit``. ``allowed`` is asked about doc ids in
        that order until ``limit`` pass (outside the index's lock). Documents sharing no gram
        with any query are not candidates: no queries, or only empty ones, give ``[]``.
        """
        strings = _strings(queries, "queries")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be a positive integer, got {limit!r}")
        if self._indexed < len(self._texts):
            with self._lock.write():
                self._flush()
        with self._lock.read():
            slots, scores = self._grams.best(
                strings,
                self._string_grams[: self._indexed],
                self._string_slot,
                self._slot_live,
                len(self._slot_doc),
            )
            names = self._slot_doc  # compaction replaces the list, appends keep its prefix
        return _ranked(slots, scores, names, limit, allowed)

    # -- under the write lock -----------------------------------------------------------

    def _drop(self, doc_id: str) -> None:
        """Kill ``doc_id``'s live slot, if it has one."""
        old = self._docs.pop(doc_id, None)
        if old is not None:
            slot, _, count = old
            self._slot_live[slot] = False
            self._dead += count

    def _compact_if_due(self) -> None:
        """Index the live strings afresh once dead ones outnumber them."""
        if self._dead < COMPACT_AT or self._dead <= len(self._texts) - self._dead:
            return
        texts: list[str] = []
        docs: dict[str, tuple[int, int, int]] = {}
        for slot, (doc_id, (_, first, count)) in enumerate(self._docs.items()):
            docs[doc_id] = (slot, len(texts), count)
            texts.extend(self._texts[first : first + count])
        self._docs, self._slot_doc, self._texts = docs, list(docs), texts
        self._slot_count = [count for _, _, count in docs.values()]
        self._slot_live = np.ones(len(docs), np.bool_)
        self._dead = 0
        self._grams = _Grams(self.n)
        self._indexed = self._posted_slots = 0
        self._flush()

    def _flush(self) -> None:
        """Post the queued strings."""
        first, end = self._indexed, len(self._texts)
        if first == end:
            return
        tokens, offsets = self._grams.tokens(self._texts[first:], insert=True)
        self._grams.post(tokens, offsets, first)
        slots = np.arange(self._posted_slots, len(self._slot_doc), dtype=np.int32)
        self._string_slot = _resized(self._string_slot, end)
        self._string_slot[first:end] = np.repeat(slots, self._slot_count[self._posted_slots :])
        self._string_grams = _resized(self._string_grams, end)
        self._string_grams[first:end] = np.diff(offsets)
        self._indexed, self._posted_slots = end, len(self._slot_doc)


def _ranked(
    slots: I64s,
    scores: F64s,
    names: list[str],
    limit: int,
    allowed: Callable[[str], bool] | None,
) -> list[tuple[str, float]]:
    """The first ``limit`` allowed candidates, best score first, ties by doc id.

    Rounds take the best ``limit``, then 4, 16, … times as many (with every tie of the
    last), so a selective ``allowed`` costs more rounds, not a sort of every candidate.
    """
    out: list[tuple[str, float]] = []
    depth = limit
    while scores.size and len(out) < limit:
        top = np.ones(scores.size, np.bool_)
        if depth < scores.size:
            top = scores >= np.partition(scores, scores.size - depth)[scores.size - depth]
        _walk(slots[top], scores[top], names, limit, allowed, out)
        slots, scores = slots[~top], scores[~top]
        depth *= 4
    return out


def _walk(
    slots: I64s,
    scores: F64s,
    names: list[str],
    limit: int,
    allowed: Callable[[str], bool] | None,
    out: list[tuple[str, float]],
) -> None:
    """Append to ``out``, up to ``limit``, the allowed of these candidates in rank order.

    Equal fractions divide to equal floats, so ties are exact; a tie group is sorted by
    name only when reached.
    """
    order = np.argsort(-scores, kind="stable")
    slots, scores = slots[order], scores[order]
    ends = [*(np.flatnonzero(np.diff(scores)) + 1).tolist(), scores.size]
    begin = 0
    for end in ends:
        score = float(scores[begin])
        for name in sorted(names[s] for s in slots[begin:end].tolist()):
            if allowed is None or allowed(name):
                out.append((name, score))
                if len(out) == limit:
                    return
        begin = end
