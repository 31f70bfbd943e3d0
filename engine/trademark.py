"""Trademark collections: word marks by spelling, phonetics and meaning; figurative marks.

- ``spelling``: candidates share character trigrams of the folded spelling (an n-gram
  index, not a scan), then rank by edit similarity; ``total`` counts the candidates
  (:data:`MIN_CANDIDATES` at least) scoring at least :data:`SPELLING_FLOOR`.
- ``phonetic``: the same over cross-script phonetic keys (``PRO100`` and ``про сто`` share
  one), ranked by key similarity; each hit names the two keys compared.
- ``semantic``: the text encoder's vectors of the word and its readings (the vector
  index, inner product on the meaning part only).
- ``image``: the figurative encoder's parts; ``strategy`` picks the part.
- ``all``: the modes the query can run, fused: a mark scores its best similarity in any
  mode (a mark that sounds the same is a conflict however it is spelled), ties broken
  by reciprocal-rank fusion (``rrf``, which favours marks several modes rank high); each
  hit lists the modes that ranked it, with their rank and score.

After every upsert the new marks are scored against the collection's watches; a mark
scoring at or above a watch's threshold becomes a notification.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import numpy as np

from ipsim.engine.collection import Collection, ExplainedHit, Fetch, Ranking, Vector
from ipsim.engine.errors import InvalidInput, NotFound
from ipsim.engine.trademark_query import TrademarkQuery, parse_trademark_query
from ipsim.engine.types import Document, SearchRequest
from ipsim.engine.watches import Watch, Watches
from ipsim.indexers.filters import Filter, both, parse_filter
from ipsim.indexers.ngram import NgramIndex
from ipsim.indexers.store import DocHit, Record
from ipsim.models.base import Encoder, InvalidContent, Prepared
from ipsim.models.phonetics import phonetic_similarity, spelling_similarity
from ipsim.models.trademark import MEANING, Mark, TrademarkEncoder
from ipsim.models.trademark_fields import check_trademark_fields

SPELLING_FLOOR = 0.5
MIN_CANDIDATES = 2000
"""Spelling and phonetic rankings re-score the marks sharing the most n-grams with the
query, this many at least (and 8 per hit asked for), not every mark sharing one."""
PHONETIC_FLOOR = 0.6
RRF_K = 60
FUSION_DEPTH = 100
"""Each mode ranks at least this deep before fusion, so a mark second in one mode and
absent from another's first page still fuses fairly."""

_Query = tuple[Mark, Vector]
T = TypeVar("T")


class TrademarkCollection(Collection):
    """A collection of word and figurative marks; see the module docstring."""

    chunked = False
    watchable = True

    def __init__(self, *args: Any, watches: Watches | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(self.encoder, TrademarkEncoder):
            raise TypeError(f"trademark collections need a TrademarkEncoder, not {self.encoder!r}")
        self.marks: TrademarkEncoder = self.encoder
        self.watches = watches
        self._spelling = NgramIndex(3)
        self._phonetic = NgramIndex(3)
        self._keys: dict[str, tuple[str, list[str]]] = {}
        self._lock = threading.Lock()
        self._watch_queries: dict[str, _Query] = {}
        hits, _ = self.store.matching(None)
        for hit in hits:
            self._index_word(hit.id, hit.fields)

    @classmethod
    def index_for(
        cls, index_type: str, params: dict[str, Any], encoder: Encoder[Any]
    ) -> tuple[str, dict[str, Any]]:
        """Exact inner product unless asked otherwise: one vector holds every part."""
        return ("flat", params) if index_type == "auto" and not params else (index_type, params)

    # -- writes --------------------------------------------------------------------------

    def _check_fields(self, fields: Any, where: str) -> None:
        super()._check_fields(fields, where)
        try:
            check_trademark_fields(fields)
        except InvalidContent as exc:
            raise InvalidInput(f"{where}.{exc.field}", exc.message) from exc

    def _stored_fields(self, doc: Document, prepared: Prepared[Any]) -> dict[str, Any]:
        """The client's fields (normalised) plus the derived ones (which win a name clash)."""
        (mark,) = prepared.units
        return {**check_trademark_fields(doc.fields), **mark.fields}

    async def _upserted(self, records: Sequence[Record]) -> None:
        await asyncio.to_thread(self._reindex, [r.id for r in records])
        if self.watches is not None:
            for watch in self.watches.for_collection(self.name):
                await self._check_watch(watch, records)

    async def _deleted(self, doc_id: str) -> None:
        await asyncio.to_thread(self._reindex, [doc_id])

    def _reindex(self, ids: Sequence[str]) -> None:
        """Bring the word indexes in line with the store for ``ids`` (as the store has them
        now: concurrent writes of one id finish in any order, the store's last one wins)."""
        with self._lock:
            for doc_id in ids:
                self._spelling.remove(doc_id)
                self._phonetic.remove(doc_id)
                self._keys.pop(doc_id, None)
        # Fields only: Store.get would copy every vector and payload (images) too.
        for hit in self.store.hits_for([(doc_id, 0.0) for doc_id in ids]):
            self._index_word(hit.id, hit.fields)

    def _index_word(self, doc_id: str, fields: dict[str, Any]) -> None:
        if not fields.get("has_word"):
            return
        spelling, keys = str(fields["word_spelling"]), list(fields["word_phonetic"])
        with self._lock:
            self._spelling.add(doc_id, [spelling])
            self._phonetic.add(doc_id, keys)
            self._keys[doc_id] = (spelling, keys)

    # -- query plans ---------------------------------------------------------------------

    def _plan(self, request: SearchRequest, flt: Filter | None) -> Fetch:
        query = parse_trademark_query(request.mode, request.query)
        prepared = _Once(lambda: self._prepare_query(query))
        if query.mode == "all":
            return self._fused(query, prepared, flt)
        return self._single(query, query.mode, prepared, flt)

    async def _prepare_query(self, query: TrademarkQuery) -> _Query:
        prepared = await asyncio.to_thread(self._prepare, query.content, "query", "query")
        (mark,) = prepared.units
        (row,) = await self.batcher.submit([mark])
        return mark, row

    def _single(
        self,
        query: TrademarkQuery,
        mode: str,
        prepared: _Once[_Query],
        flt: Filter | None,
    ) -> Fetch:
        if mode in ("spelling", "phonetic"):

            async def by_keys(window: int) -> Ranking:
                mark, _ = await prepared.get()
                return await asyncio.to_thread(self._by_keys, mode, mark, flt, window)

            return by_keys
        part = MEANING if mode == "semantic" else query.strategy
        present = parse_filter({"has_word" if mode == "semantic" else "has_image": True})
        combined = both(flt, present)

        async def vector() -> Vector:
            _, row = await prepared.get()
            return self.marks.query_part(row, part)

        nearest = self._nearest(vector, combined)
        detail = {"mode": mode} | ({"strategy": part} if mode == "image" else {})

        async def explained(window: int) -> Ranking:
            found = await nearest(window)
            hits: list[DocHit] = [_explained(h, h.score, dict(detail)) for h in found.hits]
            return Ranking(hits, found.total, found.complete, found.truncated)

        return explained

    def _by_keys(self, mode: str, mark: Mark, flt: Filter | None, window: int) -> Ranking:
        """Spelling or phonetic ranking: n-gram candidates, exact similarity, floor, cut."""
        allowed = self.store.passing_ids(flt).__contains__ if flt is not None else None
        scored: list[tuple[float, str, dict[str, Any]]] = []
        with self._lock:
            if mode == "spelling":
                key = str(mark.fields["word_spelling"])
                found = self._spelling.candidates([key], _candidates(window), allowed)
                for doc_id, _ in found:
                    theirs = self._keys[doc_id][0]
                    score = spelling_similarity(key, theirs)
                    if score >= SPELLING_FLOOR:
                        scored.append((score, doc_id, {"query": key, "mark": theirs}))
            else:
                keys = list(mark.fields["word_phonetic"])
                found = self._phonetic.candidates(keys, _candidates(window), allowed)
                for doc_id, _ in found:
                    match = phonetic_similarity(keys, self._keys[doc_id][1])
                    if match.score >= PHONETIC_FLOOR:
                        detail = {"query_key": match.query_key, "mark_key": match.mark_key}
                        scored.append((match.score, doc_id, detail))
        scored.sort(key=lambda t: (-t[0], t[1]))
        top = scored[:window]
        hits = self.store.hits_for([(doc_id, score) for score, doc_id, _ in top])
        details = {doc_id: {"mode": mode, **detail} for _, doc_id, detail in top}
        explained: list[DocHit] = [_explained(h, h.score, details[h.id]) for h in hits]
        return Ranking(explained, len(scored))

    def _fused(self, query: TrademarkQuery, prepared: _Once[_Query], flt: Filter | None) -> Fetch:
        singles = {mode: self._single(query, mode, prepared, flt) for mode in query.modes}

        async def fetch(window: int) -> Ranking:
            depth = max(window, FUSION_DEPTH)
            rankings = await asyncio.gather(*(single(depth) for single in singles.values()))
            best: dict[str, float] = {}
            fused: dict[str, float] = {}
            modes: dict[str, dict[str, Any]] = {}
            hits: dict[str, DocHit] = {}
            for mode, ranking in zip(singles, rankings, strict=True):
                for rank, hit in enumerate(ranking.hits, start=1):
                    best[hit.id] = max(best.get(hit.id, 0.0), hit.score)
                    fused[hit.id] = fused.get(hit.id, 0.0) + 1.0 / (RRF_K + rank)
                    detail = hit.match if isinstance(hit, ExplainedHit) and hit.match else {}
                    entry = {"rank": rank, "score": hit.score}
                    entry |= {k: v for k, v in detail.items() if k != "mode"}
                    modes.setdefault(hit.id, {})[mode] = entry
                    hits.setdefault(hit.id, hit)
            order = sorted(fused, key=lambda doc_id: (-best[doc_id], -fused[doc_id], doc_id))
            ranked: list[DocHit] = [
                _explained(
                    hits[doc_id],
                    best[doc_id],
                    {"mode": "all", "rrf": fused[doc_id], "modes": modes[doc_id]},
                )
                for doc_id in order[:window]
            ]
            return Ranking(ranked, len(order))

        return fetch

    # -- watches -------------------------------------------------------------------------

    async def validate_watch(self, query: dict[str, Any], mode: str | None, raw: Any) -> None:
        """Raise InvalidInput when a watch's query, mode or filter could not run here."""
        parsed = parse_trademark_query(mode, query)
        self.parse_filter(raw)
        await asyncio.to_thread(self._prepare, parsed.content, "query", "query")

    async def _check_watch(self, watch: Watch, records: Sequence[Record]) -> None:
        assert self.watches is not None
        query = parse_trademark_query(watch.mode, watch.query)
        if watch.id not in self._watch_queries:  # a watch's query never changes
            self._watch_queries[watch.id] = await self._prepare_query(query)
        mark, row = self._watch_queries[watch.id]
        flt = self.parse_filter(watch.filter)
        passing = await asyncio.to_thread(self.store.passing_ids, flt) if flt else None
        for record in records:
            if passing is not None and record.id not in passing:
                continue
            scores = self._pair_scores(query, mark, row, record)
            if not scores:
                continue
            best = max(scores.values())
            if best >= watch.threshold:
                try:
                    await self.watches.notify(watch, record.id, best, {"modes": scores})
                except NotFound:  # the watch was deleted while this upsert ran
                    return

    def _pair_scores(
        self, query: TrademarkQuery, mark: Mark, row: Vector, record: Record
    ) -> dict[str, float]:
        """The query's score against one mark in each mode it runs (what a search would give)."""
        fields, vector = record.fields, record.vectors[0]
        scores: dict[str, float] = {}
        for mode in query.modes:
            if mode in ("spelling", "phonetic", "semantic") and not fields.get("has_word"):
                continue
            if mode == "image" and not fields.get("has_image"):
                continue
            if mode == "spelling":
                ours, theirs = mark.fields["word_spelling"], fields["word_spelling"]
                scores[mode] = spelling_similarity(ours, theirs)
            elif mode == "phonetic":
                match = phonetic_similarity(mark.fields["word_phonetic"], fields["word_phonetic"])
                scores[mode] = match.score
            else:
                part = self.marks.parts[MEANING if mode == "semantic" else query.strategy]
                scores[mode] = float(np.dot(row[part], vector[part]))
        return scores


class _Once(Generic[T]):
    """An awaitable computed once, on first use, shared by every mode of one query."""

    def __init__(self, make: Callable[[], Awaitable[T]]) -> None:
        self._make = make
        self._task: asyncio.Future[T] | None = None

    async def get(self) -> T:
        if self._task is None:
            self._task = asyncio.ensure_future(self._make())
        return await self._task


def _candidates(window: int) -> int:
    return max(MIN_CANDIDATES, 8 * window)


def _explained(hit: DocHit, score: float, match: dict[str, Any]) -> ExplainedHit:
    return ExplainedHit(hit.id, float(score), hit.unit, hit.span, hit.fields, match)
