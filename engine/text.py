"""Text collections: dense (the sentence model), lexical (BM25) or hybrid search modes.

- ``dense`` (the default; no mode means this too): the vector index, as for every vector
  collection.
- ``lexical``: BM25 over the collection's chunks (:mod:`ipsim.indexers.lexical`: Russian
  lemmas, English stems), so an exact rare term (a part number, a compound name) that the
  sentence model blurs is found. A hit's chunk is its best-scoring chunk; ``total``
  counts the documents matching any query term.
- ``hybrid``: both, each ranked :data:`FUSION_DEPTH` deep (or the page depth if deeper),
  fused by a convex combination of min-max normalised scores:
  ``weight · dense' + (1 − weight) · lexical'``, where ``x'`` maps each list's lowest
  score to 0 and its highest to 1, and a document absent from a list scores 0 there.
  ``query.weight`` in [0, 1] is the dense share. Normalised scores rather than
  reciprocal-rank fusion: they keep how far ahead a document is (the one document holding
  the query's rare term stays far ahead), the weight has a plain meaning, and weight 1
  (0) gives exactly the dense (lexical) order. Bruch et al. (2023, "An analysis of fusion
  functions for hybrid retrieval") found convex combinations at least as good as RRF; on
  our labelled titles min-max equals z-scores and beats weighted RRF, and on the Lee
  ratings it beats both (``benchmarks/RESULTS.md``, issue 7).
  Ties go to the heavier branch's rank, then id. ``total`` is the dense total (every
  document passing the filter has a dense score). Fused scores are relative to the
  query's own lists, so they rank within a query but do not compare across queries.
- :data:`DEFAULT_WEIGHT` 0.7: on the labelled English titles every dense share from 0.7
  up is within 0.003 of dense alone on every measure (``benchmarks/bench_hybrid.py``;
  the short titles hold little that BM25 sees and the model misses), and 0.7 is the
  smallest such share; the lexical 0.3 is what lifts the one document holding an exact
  code above the model's lookalikes.

The filter applies inside both branches: the vector search's own selection, and the
lexical branch keeps only ids passing it. The lexical index is caught up with the store
when the collection opens and after every write.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from typing import Any

from ipsim.engine.collection import Collection, ExplainedHit, Fetch, Ranking
from ipsim.engine.errors import InvalidInput
from ipsim.engine.fusion import min_max
from ipsim.engine.types import SearchRequest
from ipsim.indexers.filters import Filter
from ipsim.indexers.lexical import LexicalIndex
from ipsim.indexers.store import DocHit, Record

MODES = ("dense", "lexical", "hybrid")
DEFAULT_WEIGHT = 0.7
FUSION_DEPTH = 100
"""Each branch ranks at least this deep before fusion, so a document second in one
branch and just past the other's first page still fuses fairly."""


class TextCollection(Collection):
    """A text collection with a BM25 index beside the vector index; see the module docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lexical = LexicalIndex(self.store)

    async def close(self) -> None:
        await super().close()
        await asyncio.to_thread(self.lexical.close)

    async def destroy(self) -> None:
        await asyncio.to_thread(self.lexical.close, clean=False)
        await super().destroy()

    async def _upserted(self, records: Sequence[Record]) -> None:
        await asyncio.to_thread(self.lexical.sync, [r.id for r in records])

    async def _deleted(self, doc_id: str) -> None:
        await asyncio.to_thread(self.lexical.sync, [doc_id])

    # -- query plans ---------------------------------------------------------------------

    def _plan(self, request: SearchRequest, flt: Filter | None) -> Fetch:
        mode = request.mode or "dense"
        if mode not in MODES:
            raise InvalidInput("mode", f"text collections search in modes {', '.join(MODES)}")
        query = dict(request.query)
        if "weight" in query and mode != "hybrid":
            raise InvalidInput("query.weight", "applies only to mode hybrid")
        weight = _weight(query.pop("weight", DEFAULT_WEIGHT))
        dense = self._nearest(lambda: self._query_vector(query), flt)
        if mode == "dense":
            return dense
        lexical = self._lexical(query, flt)
        if mode == "lexical":
            return lexical

        async def hybrid(window: int) -> Ranking:
            depth = max(window, FUSION_DEPTH)
            near, terms = await asyncio.gather(dense(depth), lexical(depth))
            fused: list[DocHit] = list(fuse(near.hits, terms.hits, weight)[:window])
            return Ranking(fused, near.total, missing_shards=near.missing_shards)

        return hybrid

    def _lexical(self, query: dict[str, Any], flt: Filter | None) -> Fetch:
        async def fetch(window: int) -> Ranking:
            # Validated as a dense query is, so the same bad input gets the same 400.
            await asyncio.to_thread(self._prepare, query, "query", "query")
            return await asyncio.to_thread(self._bm25, str(query["text"]), flt, window)

        return fetch

    def _bm25(self, text: str, flt: Filter | None, window: int) -> Ranking:
        allowed = self.store.passing_ids(flt) if flt is not None and flt.clauses else None
        answer = self.lexical.search(text, window, allowed)
        found = {h.id: h for h in answer.hits}
        # The store has the fields (and drops an id deleted since the lexical search).
        hits = [
            DocHit(h.id, h.score, found[h.id].unit, found[h.id].span, h.fields)
            for h in self.store.hits_for([(h.id, h.score) for h in answer.hits])
        ]
        return Ranking(hits, answer.total, complete=answer.total <= window)


def fuse(dense: Sequence[DocHit], lexical: Sequence[DocHit], weight: float) -> list[ExplainedHit]:
    """The two rankings fused (see the module docstring), best first, each hit explained."""
    branches = (dense, lexical)
    by_id = [{h.id: h for h in hits} for hits in branches]
    normalised = [_normalised(hits) for hits in branches]
    shares = (weight, 1.0 - weight)
    parts = {
        doc_id: tuple(
            share * n.get(doc_id, 0.0) for share, n in zip(shares, normalised, strict=True)
        )
        for doc_id in by_id[0] | by_id[1]
    }
    fused = {doc_id: sum(p) for doc_id, p in parts.items()}
    rank = {h.id: r for r, h in enumerate(branches[0 if weight >= 0.5 else 1])}
    order = sorted(fused, key=lambda d: (-fused[d], rank.get(d, math.inf), d))
    out: list[ExplainedHit] = []
    for doc_id in order:
        # The chunk shown is the one of the branch that gave the document more.
        lexical_more = doc_id not in by_id[0] or (
            doc_id in by_id[1] and parts[doc_id][1] > parts[doc_id][0]
        )
        source = by_id[1 if lexical_more else 0][doc_id]
        match = {
            "mode": "hybrid",
            "weight": weight,
            "dense": by_id[0][doc_id].score if doc_id in by_id[0] else None,
            "lexical": by_id[1][doc_id].score if doc_id in by_id[1] else None,
        }
        out.append(
            ExplainedHit(doc_id, fused[doc_id], source.unit, source.span, source.fields, match)
        )
    return out


def _normalised(hits: Sequence[DocHit]) -> dict[str, float]:
    """Min-max over the list: lowest 0, highest 1; a list of equal scores is all 1."""
    return dict(min_max([(h.id, h.score) for h in hits]))


def _weight(value: Any) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1
    if not ok or not math.isfinite(float(value)):
        raise InvalidInput("query.weight", "must be a number from 0 to 1 (the dense share)")
    return float(value)


__all__ = ["DEFAULT_WEIGHT", "FUSION_DEPTH", "MODES", "TextCollection", "fuse"]
