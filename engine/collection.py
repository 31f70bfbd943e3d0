"""A collection: an encoder (through its batcher), a durable store, and the query pipeline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from ipsim.engine import metrics
from ipsim.engine.batcher import DynamicBatcher
from ipsim.engine.code_filters import split_under, under_clause
from ipsim.engine.errors import InvalidInput, StorageFull
from ipsim.engine.pages import PageCache, RankedList, canonical, window_for
from ipsim.engine.types import (
    ChunkRef,
    CollectionInfo,
    Depiction,
    Document,
    Hit,
    SearchRequest,
    SearchResult,
)
from ipsim.engine.validation import check_document_id, check_fields
from ipsim.indexers.filters import Filter, FilterError, parse_filter
from ipsim.indexers.store import CollectionStore, DocHit, Record, StoreFull
from ipsim.models.base import Encoder, InvalidContent, Prepared, pooled

Vector = npt.NDArray[np.float32]


@dataclass(frozen=True)
class _SearchUnit:
    """One query of an index-search batch; units sharing (window, filter) share a call."""

    vector: Vector
    window: int
    flt: Filter | None
    filter_key: str


@dataclass(frozen=True)
class Ranking:
    """One ranking of a query at some depth: hits best first, the filtered total.

    ``complete`` says the hits are every hit there is (not a top-k cut); ``truncated``
    that a budget (time, hit count) stopped the search early, so ``total`` is a lower bound.
    """

    hits: list[DocHit]
    total: int
    complete: bool = False
    truncated: bool = False
    missing_shards: tuple[int, ...] = ()
    """Index shards that did not answer: the ranking lacks their documents."""


@dataclass(frozen=True)
class ExplainedHit(DocHit):
    """A hit that says how it matched (which modes, which keys were compared)."""

    match: dict[str, Any] | None = None


Fetch = Callable[[int], Awaitable[Ranking]]
"""Ranks a query ``window`` deep; what a collection's query plan hands the pager."""


class Collection:
    """One named collection of one modality."""

    chunked = True
    """Whether hits say which chunk of the document matched (text does; molecules do not)."""
    watchable = False
    """Whether clients may watch it for new documents close to a query (trademarks)."""

    def __init__(
        self,
        name: str,
        store: CollectionStore,
        encoder: Encoder[Any],
        batcher: DynamicBatcher[Any, Vector],
        pages: PageCache[DocHit],
        *,
        max_search_batch: int = 64,
        max_search_queue: int = 4096,
    ) -> None:
        self.name = name
        self.store = store
        self.encoder = encoder
        self.batcher = batcher
        self._pages = pages
        # Concurrent queries meet in one FAISS call (a matrix product for flat indexes).
        # No added delay: queries that arrive while a search runs form the next batch.
        self._searches: DynamicBatcher[_SearchUnit, Ranking] = DynamicBatcher(
            f"search-{name}",
            self._search_batch,
            max_batch_size=max_search_batch,
            max_delay_ms=0,
            max_queue=max_search_queue,
        )

    async def close(self) -> None:
        """Stop the search batcher and close the store (snapshot if anything changed)."""
        await self._searches.stop()
        await asyncio.to_thread(self.store.close)

    async def destroy(self) -> None:
        """Stop the search batcher and remove the collection's files."""
        await self._searches.stop()
        await asyncio.to_thread(self.store.destroy)

    @classmethod
    def index_for(
        cls, index_type: str, params: dict[str, Any], encoder: Encoder[Any]
    ) -> tuple[str, dict[str, Any]]:
        """The index family and parameters for a new collection, from the client's spec.

        Raise InvalidInput when this kind of collection cannot use what was asked for.
        """
        return index_type, params

    @property
    def modality(self) -> str:
        return str(self.store.meta["modality"])

    def info(self) -> CollectionInfo:
        return CollectionInfo(
            name=self.name,
            modality=self.modality,
            count=len(self.store),
            dim=self.store.dim,
            index=self.store.index_description(),
            shards=self.store.shards,
            model=self.encoder.name,
        )

    async def upsert(self, documents: Sequence[Document]) -> int:
        """Validate all, encode all (batched), then log and index them in one write."""
        prepared = await asyncio.to_thread(self._prepare_documents, documents)
        units = [u for p in prepared for u in p.units]
        vectors = np.stack(await self.batcher.submit(units))
        records, offset = [], 0
        for doc, prep in zip(documents, prepared, strict=True):
            count = len(prep.units)
            records.append(
                Record(
                    id=doc.id,
                    vectors=vectors[offset : offset + count],
                    spans=[(s.start, s.end) for s in prep.spans],
                    fields=self._stored_fields(doc, prep),
                    payload=doc.content,
                )
            )
            offset += count
        await _writing(self.store.upsert, records)
        metrics.INDEX_SIZE.labels(self.name).set(len(self.store))
        await self._upserted(records)
        return len(records)

    async def _upserted(self, records: Sequence[Record]) -> None:
        """Called once ``records`` are durable and searchable (modalities keep side indexes)."""

    def _prepare_documents(self, documents: Sequence[Document]) -> list[Prepared[Any]]:
        seen: set[str] = set()
        prepared = []
        for i, doc in enumerate(documents):
            where = f"documents[{i}]"
            check_document_id(doc.id, f"{where}.id")
            if doc.id in seen:
                raise InvalidInput(f"{where}.id", f"duplicate id {doc.id!r} in this request")
            seen.add(doc.id)
            self._check_fields(doc.fields, f"{where}.fields")
            try:
                prepared.append(self._prepare(doc.content, f"{where}.content", "document"))
            except InvalidInput as exc:  # name the document too: batches are large
                raise InvalidInput(
                    exc.field or where, f"document {doc.id!r}: {exc.detail}"
                ) from exc
        return prepared

    def _check_fields(self, fields: Any, where: str) -> None:
        """Raise InvalidInput for fields this collection cannot store (modalities add rules)."""
        check_fields(fields, where)

    def _stored_fields(self, doc: Document, prepared: Prepared[Any]) -> dict[str, Any]:
        """The fields stored with a document: the client's (modalities may add derived ones)."""
        return doc.fields

    def _prepare(self, content: Any, where: str, purpose: Any) -> Prepared[Any]:
        if not isinstance(content, dict):
            raise InvalidInput(where, "must be an object")
        try:
            return self.encoder.preprocess(content, purpose)
        except InvalidContent as exc:
            raise InvalidInput(f"{where}.{exc.field}", exc.message) from exc

    async def get(self, doc_id: str) -> Document | None:
        record = await asyncio.to_thread(self.store.get, doc_id)
        if record is None:
            return None
        return Document(id=record.id, content=record.payload, fields=record.fields)

    async def delete(self, doc_id: str) -> bool:
        deleted = await _writing(self.store.delete, [doc_id])
        metrics.INDEX_SIZE.labels(self.name).set(len(self.store))
        if deleted:
            await self._deleted(doc_id)
        return deleted > 0

    async def _deleted(self, doc_id: str) -> None:
        """Called once ``doc_id`` is deleted (modalities keep side indexes)."""

    async def search(self, request: SearchRequest) -> SearchResult:
        started = time.perf_counter()
        flt = self.parse_filter(request.filter)
        fetch = self._plan(request, flt)
        needed = request.offset + request.k
        key = (self.name, canonical(request.query), canonical(request.filter), request.mode)
        version = self.store.version
        ranked = self._pages.get(key, version)
        missing: tuple[int, ...] = ()
        if ranked is None or (len(ranked.hits) < needed and not ranked.exhausted):
            window = window_for(needed)
            found = await fetch(window)
            missing = found.missing_shards
            if ranked is None or missing:
                ranked = RankedList(version, total=found.total, truncated=found.truncated)
            ranked.extend(found.hits, asked=window, complete=found.complete)
            if not missing:  # a partial ranking is served, never cached
                self._pages.put(key, ranked)
        page = ranked.hits[request.offset : needed]
        took = time.perf_counter() - started
        metrics.SEARCH_SECONDS.labels(self.name).observe(took)
        return SearchResult(
            hits=[self._hit(h) for h in page],
            total=ranked.total,
            took_ms=took * 1000.0,
            truncated=ranked.truncated,
            missing_shards=missing,
        )

    def _plan(self, request: SearchRequest, flt: Filter | None) -> Fetch:
        """Validate the request's mode and query options; return how to rank it.

        Vector collections have one plan: encode the query, then a batched index search.
        Modalities with search modes override this.
        """
        if request.mode is not None:
            raise InvalidInput("mode", f"{self.modality} collections have no search modes")
        return self._nearest(lambda: self._query_vector(request.query), flt)

    def _nearest(self, query: Callable[[], Awaitable[Vector]], flt: Filter | None) -> Fetch:
        """Rank by the index's own metric against the vector ``query`` makes (batched)."""
        filter_key = repr(flt)

        async def fetch(window: int) -> Ranking:
            vector = await query()
            (found,) = await self._searches.submit([_SearchUnit(vector, window, flt, filter_key)])
            return found

        return fetch

    def _search_batch(self, units: Sequence[_SearchUnit]) -> list[Ranking]:
        """One store search per distinct (window, filter) among the batch's queries."""
        groups: dict[tuple[int, str], list[int]] = {}
        for i, unit in enumerate(units):
            groups.setdefault((unit.window, unit.filter_key), []).append(i)
        results: dict[int, Ranking] = {}
        for members in groups.values():
            first = units[members[0]]
            queries = np.stack([units[i].vector for i in members])
            answer = self.store.search_reported(queries, first.window, first.flt)
            for i, found in zip(members, answer.hits, strict=True):
                results[i] = Ranking(found, answer.total, missing_shards=answer.missing_shards)
        return [results[i] for i in range(len(units))]

    def _hit(self, h: DocHit) -> Hit:
        chunk = ChunkRef(h.unit, *h.span) if self.chunked else None
        match = h.match if isinstance(h, ExplainedHit) else None
        return Hit(id=h.id, score=float(h.score), fields=h.fields, chunk=chunk, match=match)

    async def validate_watch(self, query: dict[str, Any], mode: str | None, raw: Any) -> None:
        """Raise InvalidInput when a watch's query, mode or filter could not run here."""
        raise InvalidInput("collection", f"{self.modality} collections cannot be watched")

    async def depict(self, doc_id: str, form: str) -> Depiction:
        """A drawing of a stored document (chemical structures, meshes); others have none."""
        raise InvalidInput("depict", f"{self.modality} collections have no depictions")

    async def depict_query(self, query: Any) -> Depiction:
        """A drawing of a query (chemical structures); other collections have none."""
        raise InvalidInput("collection", f"{self.modality} collections cannot draw a query")

    def parse_filter(self, raw: Any) -> Filter | None:
        """A client's filter, parsed; ``under`` conditions resolved against the stored codes."""
        if raw is None:
            return None
        rest, unders = split_under(raw)
        try:
            flt = parse_filter(rest)
        except FilterError as exc:
            raise InvalidInput(exc.field, exc.message) from exc
        clauses = [under_clause(u, self.store.field_values(u.field)) for u in unders]
        return Filter(flt.clauses + tuple(clauses))

    async def _query_vector(self, query: Any) -> Vector:
        prepared = await asyncio.to_thread(self._prepare, query, "query", "query")
        # A whole document as the query: one vector, the normalised mean of its chunks.
        return pooled(await self.batcher.submit(prepared.units))


_A = TypeVar("_A")
_R = TypeVar("_R")


async def _writing(write: Callable[[_A], _R], argument: _A) -> _R:
    """Run a store write in a thread; a full disk is the client's 507, not a server fault."""
    try:
        return await asyncio.to_thread(write, argument)
    except StoreFull as exc:
        raise StorageFull(str(exc)) from exc
