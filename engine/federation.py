"""One window over several collections and servers: fan a query out, fuse what comes back.

A request names collections: ``patents`` is a collection of this engine, ``eapo:patents``
one of the remote source ``eapo`` (configured in the settings). Every source is asked for
the same ranked window, concurrently, each under its own time-out; the answers are fused
(:mod:`ipsim.engine.fusion`) and paged. A source that fails or is too slow is left out and
the answer says so (``partial``, and a report per source) — a search across offices must
not fail because one office is down. Only when every source fails is the search an error.
A collection in cluster mode whose index shards did not all answer is ``partial`` too: its
hits are in the fusion, its report names the ``missing_shards``.

Pages stay stable the way a single collection's do (:mod:`ipsim.engine.pages`): the fused
list of a query is cached and a deeper page extends it with documents it does not hold
yet. The cache is keyed by the local collections' versions; remote collections cannot say
when they change, so a list holding them is kept for ``REMOTE_PAGE_TTL_S`` at most. Partial
answers are never cached.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

from ipsim.engine.errors import InvalidInput, NotReady
from ipsim.engine.facets import MAX_LIMIT as MAX_FACET_LIMIT
from ipsim.engine.facets import FacetResult, FacetSpec, merge_facets, parse_facets
from ipsim.engine.fusion import FUSION_METHODS, FusionMethod, fuse
from ipsim.engine.grouping import grouped_page, parse_grouping
from ipsim.engine.pages import PageCache, RankedList, canonical, window_for
from ipsim.engine.sources import Source, SourceFailure
from ipsim.engine.types import JSON, Hit, SearchRequest, SearchResult
from ipsim.engine.validation import check_collection_name, check_page

MAX_COLLECTIONS = 16
REMOTE_PAGE_TTL_S = 30.0
LOCAL = ""
"""The name of this engine's own source."""


@dataclass(frozen=True)
class MultiSearchRequest:
    """One query over several collections, already shape-checked by the server."""

    collections: tuple[str, ...]
    query: JSON
    k: int = 10
    offset: int = 0
    filter: JSON | None = None
    mode: str | None = None
    fusion: str = "rrf"
    weights: Mapping[str, float] | None = None
    """Per collection (as named in ``collections``); 1 for those not named."""
    timeout_ms: float | None = None
    """Per source; the federation's default when not given."""
    group_by: str | None = None
    group_size: int | None = None
    facets: Any = None
    """Facets counted over every collection together (as in a single search)."""


@dataclass(frozen=True)
class SourcedHit:
    """A fused hit: the collection it came from, its own hit, and its fused score."""

    collection: str
    hit: Hit
    score: float

    @property
    def id(self) -> str:
        """Unique across the window (the pager keys on it)."""
        return f"{self.collection}/{self.hit.id}"


@dataclass(frozen=True)
class SourceReport:
    """How one collection's source answered: ``ok``, ``partial`` (some index shards did
    not answer: ``missing_shards``), ``timeout`` or ``failed``."""

    collection: str
    status: str
    took_ms: float
    total: int | None = None
    code: str | None = None
    message: str | None = None
    facets_counted: bool | None = None
    """Whether its facet counts are in the sums (None: no facets were asked for)."""
    missing_shards: tuple[int, ...] = ()
    """Its index shards that did not answer (cluster mode); its hits lack their documents."""

    @property
    def answered(self) -> bool:
        """Whether its hits are in the fusion (all of them, or all its answering shards')."""
        return self.status in ("ok", "partial")


@dataclass(frozen=True)
class SourcedGroup:
    value: Any
    hits: list[SourcedHit]


@dataclass(frozen=True)
class MultiSearchResult:
    """A page of fused hits; ``total`` sums the totals of the sources that answered."""

    hits: list[SourcedHit]
    total: int
    took_ms: float
    partial: bool
    sources: list[SourceReport]
    fusion: str
    truncated: bool = False
    groups: list[SourcedGroup] | None = None
    facets: dict[str, FacetResult] | None = None


@dataclass(frozen=True)
class _Target:
    collection: str
    """As the request named it (``eapo:patents``)."""
    source: Source
    name: str
    """The collection's name at its source (``patents``)."""
    weight: float


@dataclass
class _Window:
    """Every source's answer for one window depth."""

    hits: list[SourcedHit]
    exhausted: bool
    reports: list[SourceReport]
    total: int
    truncated: bool

    @property
    def partial(self) -> bool:
        return any(r.status != "ok" for r in self.reports)


@dataclass
class _FusedList(RankedList[SourcedHit]):
    """A cached fused ranking and how its sources answered."""

    reports: list[SourceReport] = field(default_factory=list)

    def window(self) -> _Window:
        return _Window(self.hits, self.exhausted, self.reports, self.total, self.truncated)


class Federation:
    """Searches collections of this engine and of remote sources as one."""

    def __init__(
        self,
        local: Source,
        remotes: Mapping[str, Source] | None = None,
        *,
        timeout_ms: float = 5000.0,
        max_k: int = 1000,
    ) -> None:
        self._sources: dict[str, Source] = {LOCAL: local, **(remotes or {})}
        self.timeout_ms = timeout_ms
        self.max_k = max_k
        self._pages: PageCache[SourcedHit] = PageCache()

    async def close(self) -> None:
        """Close every source's connections."""
        for source in self._sources.values():
            await source.close()

    @property
    def remote_names(self) -> list[str]:
        return sorted(name for name in self._sources if name != LOCAL)

    async def search(self, request: MultiSearchRequest) -> MultiSearchResult:
        """Raise ``InvalidInput`` for a bad request or a query a local collection refuses,
        ``NotFound`` for an unknown local collection, ``NotReady`` when every source failed.
        """
        started = time.perf_counter()
        targets = self._targets(request)
        check_page(request.k, request.offset, max_k=self.max_k, max_offset=self.max_k)
        if request.offset + request.k > self.max_k:
            raise InvalidInput("offset", f"offset + k must be at most {self.max_k}")
        if request.fusion not in FUSION_METHODS:
            raise InvalidInput("fusion", f"must be one of {', '.join(FUSION_METHODS)}")
        timeout = _timeout_s(request.timeout_ms, self.timeout_ms)
        grouping = parse_grouping(request.group_by, request.group_size)
        specs = parse_facets(request.facets) if request.facets is not None else None
        for target in targets:
            await target.source.check(target.name)
        counting = (
            asyncio.create_task(_count_facets(targets, specs, request.filter, timeout))
            if specs is not None
            else None
        )

        windows: list[_Window] = []

        async def rank(depth: int) -> tuple[list[SourcedHit], bool]:
            windows.append(await self._ranked(request, targets, depth, timeout))
            return windows[-1].hits, windows[-1].exhausted

        groups: list[SourcedGroup] | None = None
        truncated = False
        try:
            if grouping is None:
                hits, _ = await rank(request.offset + request.k)
                hits = hits[request.offset : request.offset + request.k]
            else:
                page = await grouped_page(
                    rank,
                    grouping,
                    offset=request.offset,
                    k=request.k,
                    max_depth=self.max_k,
                    fields_of=lambda h: h.hit.fields,
                    identity_of=lambda h: h.id,
                )
                groups = [SourcedGroup(g.value, g.hits) for g in page.groups]
                hits = [h for g in groups for h in g.hits]
                truncated = page.truncated
            counted = await counting if counting is not None else None
        finally:
            _settle(counting)
        last = windows[-1]
        if not any(r.answered for r in last.reports):
            raise NotReady("every source failed: " + "; ".join(_describe(r) for r in last.reports))
        reports, facets = last.reports, None
        if counted is not None and specs is not None:
            facets, reports = counted.merged(specs), counted.mark(reports)
        return MultiSearchResult(
            hits=hits,
            total=last.total,
            took_ms=(time.perf_counter() - started) * 1000.0,
            partial=any(r.status != "ok" or r.facets_counted is False for r in reports),
            sources=reports,
            fusion=request.fusion,
            truncated=truncated or last.truncated,
            groups=groups,
            facets=facets,
        )

    def _targets(self, request: MultiSearchRequest) -> list[_Target]:
        if not isinstance(request.query, dict):
            raise InvalidInput("query", "must be an object")
        names = request.collections
        if not 0 < len(names) <= MAX_COLLECTIONS:
            raise InvalidInput("collections", f"must name 1 to {MAX_COLLECTIONS} collections")
        weights = dict(request.weights or {})
        for key, weight in weights.items():
            if key not in names:
                raise InvalidInput(f"weights.{key}", "is not one of the searched collections")
            if isinstance(weight, bool) or not isinstance(weight, int | float):
                raise InvalidInput(f"weights.{key}", "must be a number")
            if not math.isfinite(weight) or weight < 0:
                raise InvalidInput(f"weights.{key}", "must be a finite number >= 0")
        targets = []
        for i, named in enumerate(names):
            where = f"collections[{i}]"
            if names.index(named) != i:
                raise InvalidInput(where, f"{named!r} is named twice")
            source_name, _, name = named.rpartition(":")
            source = self._sources.get(source_name)
            if source is None:
                known = ", ".join(self.remote_names) or "none are configured"
                raise InvalidInput(where, f"unknown source {source_name!r} (sources: {known})")
            check_collection_name(name, where)
            targets.append(_Target(named, source, name, float(weights.get(named, 1.0))))
        return targets

    async def _ranked(
        self, request: MultiSearchRequest, targets: Sequence[_Target], needed: int, timeout: float
    ) -> _Window:
        """The fused list at least ``needed`` deep, from the page cache when it can be."""
        key = (
            "federated",
            tuple(t.collection for t in targets),
            canonical(request.query),
            canonical(request.filter),
            request.mode,
            request.fusion,
            tuple(t.weight for t in targets),
        )
        version = self._version(targets)
        cached = self._pages.get(key, version)
        if isinstance(cached, _FusedList) and (len(cached.hits) >= needed or cached.exhausted):
            return cached.window()
        depth = min(window_for(needed), self.max_k)
        window = await self._fan_out(request, targets, depth, timeout)
        if window.partial:
            return window
        ranked = cached if isinstance(cached, _FusedList) else _FusedList(version)
        ranked.total, ranked.truncated = window.total, window.truncated
        ranked.reports = window.reports
        ranked.extend(window.hits, asked=depth, complete=window.exhausted)
        self._pages.put(key, ranked)
        return ranked.window()

    def _version(self, targets: Sequence[_Target]) -> int:
        versions: list[object] = []
        for target in targets:
            version = target.source.version(target.name)
            if version is None:
                # A remote collection: let the cached list expire instead.
                version = int(time.monotonic() // REMOTE_PAGE_TTL_S)
            versions.append((target.collection, version))
        return hash(tuple(versions))

    async def _fan_out(
        self, request: MultiSearchRequest, targets: Sequence[_Target], depth: int, timeout: float
    ) -> _Window:
        one = SearchRequest(
            query=request.query, k=depth, offset=0, filter=request.filter, mode=request.mode
        )
        answers = await asyncio.gather(*(_ask(t, one, timeout) for t in targets))
        rankings: list[list[SourcedHit]] = []
        reports: list[SourceReport] = []
        total, truncated, exhausted = 0, False, True
        for target, (report, result) in zip(targets, answers, strict=True):
            reports.append(report)
            if result is None:
                rankings.append([])
                continue
            rankings.append([SourcedHit(target.collection, h, h.score) for h in result.hits])
            total += result.total
            truncated = truncated or result.truncated
            exhausted = exhausted and len(result.hits) < depth
        fused = fuse(
            [[(sourced.id, sourced.hit.score) for sourced in ranking] for ranking in rankings],
            method=cast(FusionMethod, request.fusion),
            weights=[t.weight for t in targets],
        )
        by_id = {sourced.id: sourced for ranking in rankings for sourced in ranking}
        hits = [SourcedHit(by_id[key].collection, by_id[key].hit, score) for key, score in fused]
        return _Window(hits, exhausted, reports, total, truncated)


def _settle(task: asyncio.Task[Any] | None) -> None:
    """Cancel a task still running; read the error of one that failed (so none is lost)."""
    if task is None:
        return
    if not task.done():
        task.cancel()
    elif not task.cancelled():
        task.exception()


@dataclass(frozen=True)
class _Counted:
    """Each target's facet counts, or ``None`` where it could not count."""

    by_target: dict[str, dict[str, FacetResult] | None]

    def merged(self, specs: Sequence[FacetSpec]) -> dict[str, FacetResult]:
        answered = [counts for counts in self.by_target.values() if counts is not None]
        return {s.field: merge_facets(s, [c[s.field] for c in answered]) for s in specs}

    def mark(self, reports: Sequence[SourceReport]) -> list[SourceReport]:
        """The reports, each saying whether its collection's counts are in the sums."""
        return [
            replace(r, facets_counted=self.by_target.get(r.collection) is not None) for r in reports
        ]


async def _count_facets(
    targets: Sequence[_Target], specs: Sequence[FacetSpec], filter: JSON | None, timeout: float
) -> _Counted:
    """Every target's facets, each asked for all its children so that the sums are exact."""
    every_child = [replace(spec, limit=MAX_FACET_LIMIT) for spec in specs]

    async def one(target: _Target) -> dict[str, FacetResult] | None:
        try:
            return await asyncio.wait_for(
                target.source.facets(target.name, every_child, filter), timeout
            )
        except (TimeoutError, SourceFailure):
            return None

    counts = await asyncio.gather(*(one(t) for t in targets))
    return _Counted({t.collection: c for t, c in zip(targets, counts, strict=True)})


async def _ask(
    target: _Target, request: SearchRequest, timeout: float
) -> tuple[SourceReport, SearchResult | None]:
    """One source's answer and its report; a failure or time-out is reported, not raised."""
    started = time.perf_counter()

    def report(status: str, **extra: Any) -> SourceReport:
        took = (time.perf_counter() - started) * 1000.0
        return SourceReport(target.collection, status, took, **extra)

    try:
        result = await asyncio.wait_for(target.source.search(target.name, request), timeout)
    except TimeoutError:
        message = f"no answer within {timeout * 1000:.0f} ms"
        return report("timeout", code="deadline_exceeded", message=message), None
    except SourceFailure as exc:
        return report("failed", code=exc.code, message=exc.message), None
    except InvalidInput as exc:  # the query is wrong for this collection: the client's to fix
        detail = f"collection {target.collection!r}: {exc.detail}"
        raise InvalidInput(exc.field or "query", detail) from exc
    if result.missing_shards:
        shards = ", ".join(str(shard) for shard in result.missing_shards)
        message = f"index shards {shards} did not answer: the hits are the other shards'"
        partial = report(
            "partial", total=result.total, message=message, missing_shards=result.missing_shards
        )
        return partial, result
    return report("ok", total=result.total), result


def _timeout_s(requested: float | None, default_ms: float) -> float:
    if requested is None:
        return default_ms / 1000.0
    if isinstance(requested, bool) or not isinstance(requested, int | float):
        raise InvalidInput("timeout_ms", "must be a number of milliseconds")
    if not 1 <= requested <= 120_000:
        raise InvalidInput("timeout_ms", "must be from 1 to 120000 milliseconds")
    return float(requested) / 1000.0


def _describe(report: SourceReport) -> str:
    return f"{report.collection}: {report.message or report.status}"
