"""POST /v1/search: one query over several collections, local and remote, fused."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field, StrictFloat, StrictInt, StrictStr

from ipsim.engine.federation import (
    Federation,
    MultiSearchRequest,
    MultiSearchResult,
    SourcedHit,
    SourceReport,
)
from ipsim.server.deps import READ
from ipsim.server.schemas import FacetOut, HitOut, SearchBody, error_responses

router = APIRouter(tags=["search"])
ERRORS = error_responses(400, 401, 403, 404, 413, 429, 503)


def get_federation(request: Request) -> Federation:
    federation: Federation = request.app.state.federation
    return federation


FederationDep = Annotated[Federation, Depends(get_federation)]


class MultiSearchBody(SearchBody):
    collections: list[StrictStr] = Field(
        description="Collections of this server (`patents`) and of configured remote sources"
        " (`eapo:patents`); 1-16.",
    )
    fusion: StrictStr = Field(
        "rrf",
        description="`rrf`: reciprocal-rank fusion (k = 60), for lists of any kind; `score`:"
        " each list's scores min-max normalised to [0, 1], weighted and summed; `raw`: the"
        " sources' own scores, weighted (only when every collection uses the same model).",
    )
    weights: dict[str, StrictFloat | StrictInt] | None = Field(
        None, description="Weight per collection as named in `collections` (default 1)."
    )
    timeout_ms: StrictFloat | StrictInt | None = Field(
        None,
        description="Per-source time-out (1-120000 ms; default the server's"
        " `source_timeout_ms`). A source that misses it is left out and reported.",
    )


class SourcedHitOut(HitOut):
    collection: str = Field(description="The collection the hit came from, as requested.")
    source_score: float = Field(description="The score its own collection gave it.")

    @classmethod
    def of_sourced(cls, sourced: SourcedHit) -> SourcedHitOut:
        hit = HitOut.of(sourced.hit)
        return cls(
            **{**hit.model_dump(), "score": sourced.score},
            collection=sourced.collection,
            source_score=sourced.hit.score,
        )


class SourceReportOut(BaseModel):
    collection: str
    status: str = Field(
        description="`ok`, `partial` (some index shards did not answer: `missing_shards`),"
        " `timeout` or `failed`."
    )
    took_ms: float
    total: int | None = None
    code: str | None = Field(None, description="The error code when the source failed.")
    message: str | None = None
    facets_counted: bool | None = Field(
        None, description="With `facets`: whether its counts are in the sums."
    )
    missing_shards: list[int] | None = Field(
        None,
        description="Cluster mode: its index shards that did not answer (its hits are the"
        " others'). Absent when every shard answered.",
    )

    @classmethod
    def of(cls, report: SourceReport) -> SourceReportOut:
        return cls(**{**report.__dict__, "missing_shards": list(report.missing_shards) or None})


class SourcedGroupOut(BaseModel):
    value: Any
    hits: list[SourcedHitOut]


class MultiSearchOut(BaseModel):
    hits: list[SourcedHitOut]
    total: int = Field(description="The sum of the answering sources' totals.")
    took_ms: float
    partial: bool = Field(
        description="Some source failed, timed out or missed index shards: see `sources`."
    )
    sources: list[SourceReportOut]
    fusion: str
    truncated: bool = False
    groups: list[SourcedGroupOut] | None = None
    facets: dict[str, FacetOut] | None = Field(
        None,
        description="With `facets`: counts summed over the collections whose"
        " `facets_counted` is true.",
    )

    @classmethod
    def of(cls, result: MultiSearchResult) -> MultiSearchOut:
        groups = None
        if result.groups is not None:
            groups = [
                SourcedGroupOut(value=g.value, hits=[SourcedHitOut.of_sourced(h) for h in g.hits])
                for g in result.groups
            ]
        return cls(
            hits=[SourcedHitOut.of_sourced(h) for h in result.hits],
            total=result.total,
            took_ms=result.took_ms,
            partial=result.partial,
            sources=[SourceReportOut.of(r) for r in result.sources],
            fusion=result.fusion,
            truncated=result.truncated,
            groups=groups,
            facets={f: FacetOut.of(r) for f, r in result.facets.items()} if result.facets else None,
        )


@router.post("/v1/search", dependencies=[READ], responses=ERRORS)
async def search_many(body: MultiSearchBody, federation: FederationDep) -> MultiSearchOut:
    """One window over several collections of this server and of remote ipsim servers.

    Every collection is searched concurrently for the same ranked window; the lists are
    fused by `fusion` and paged stably. A remote source that is down or slower than
    `timeout_ms` is left out: the answer is `partial` and `sources` says which failed
    and why. Only when every source fails is it an error (503).
    """
    request = MultiSearchRequest(
        collections=tuple(body.collections),
        query=body.query,
        k=body.k,
        offset=body.offset,
        filter=body.filter,
        mode=body.mode,
        fusion=body.fusion,
        weights=body.weights,
        timeout_ms=body.timeout_ms,
        group_by=body.group_by,
        group_size=body.group_size,
        facets=body.facets,
    )
    return MultiSearchOut.of(await federation.search(request))
