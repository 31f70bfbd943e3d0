"""The HTTP request and response bodies: pydantic models that are also the OpenAPI schema."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from ipsim.engine.facets import FacetResult
from ipsim.engine.types import CollectionInfo, Hit, SearchResult


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IndexBody(BaseModel):
    """`{"type": "auto"|"flat"|"ivf"|"hnsw"|"ivfpq"|"binary"|"cagra", …family parameters}`."""

    model_config = ConfigDict(extra="allow")
    type: StrictStr = "auto"


class CreateCollectionBody(_Strict):
    name: StrictStr
    modality: StrictStr
    index: IndexBody | None = None
    shards: StrictInt = 1
    model: StrictStr | None = None


class CollectionOut(BaseModel):
    name: str
    modality: str
    count: int
    dim: int
    index: dict[str, Any]
    shards: int
    model: str

    @classmethod
    def of(cls, info: CollectionInfo) -> CollectionOut:
        return cls(**info.__dict__)


class CollectionsOut(BaseModel):
    collections: list[CollectionOut]


class DocumentBody(_Strict):
    id: StrictStr
    content: dict[str, Any]
    fields: dict[str, Any] = Field(default_factory=dict)


class UpsertBody(_Strict):
    documents: list[DocumentBody]


class UpsertOut(BaseModel):
    upserted: int


class DocumentOut(BaseModel):
    id: str
    content: dict[str, Any]
    fields: dict[str, Any]


class SearchBody(_Strict):
    query: dict[str, Any]
    k: StrictInt = 10
    offset: StrictInt = 0
    filter: dict[str, Any] | None = None
    mode: StrictStr | None = None
    group_by: StrictStr | None = Field(
        None,
        description="A field (patent family, owner, application): at most `group_size` hits"
        " per value, and `k` / `offset` count groups. A document without the field is a"
        " group of its own.",
    )
    group_size: StrictInt | None = Field(None, description="Hits per group, 1-100 (default 1).")
    facets: list[Any] | None = Field(
        None,
        description="Count documents passing the filter per value or child code of these"
        ' fields: `["ipc", "country"]`, or `{"field": "ipc", "prefix": "A61K", "limit": 20}`.',
    )


class ChunkOut(BaseModel):
    index: int
    start: int
    end: int


class HitOut(BaseModel):
    id: str
    score: float
    fields: dict[str, Any]
    chunk: ChunkOut | None = None
    match: dict[str, Any] | None = None
    preview: dict[str, str] | None = Field(
        None,
        description="Form → URL of a picture of the document: for meshes `png` (a shaded"
        " thumbnail) and `glb` (a simplified binary glTF model), served by the document route.",
    )

    @classmethod
    def of(cls, hit: Hit) -> HitOut:
        chunk = ChunkOut(**hit.chunk.__dict__) if hit.chunk else None
        return cls(
            id=hit.id,
            score=hit.score,
            fields=hit.fields,
            chunk=chunk,
            match=hit.match,
            preview=hit.preview,
        )


class FacetValueOut(BaseModel):
    value: str | int | float | bool | None = Field(
        description="A child code in its canonical spelling (`A61K 31/00`), or a field value."
    )
    count: int = Field(description="Documents under it (each once, however many codes).")
    level: str | None = Field(
        None, description="The child's level (`section` … `subgroup`); null for flat fields."
    )


class FacetOut(BaseModel):
    field: str
    system: str | None = Field(
        description="`ipc`, `cpc`, `vienna` or `locarno` (chosen by the field's name); null: flat."
    )
    prefix: str | None = Field(description="The code whose children these are, normalised.")
    values: list[FacetValueOut] = Field(description="Largest first, ties by value.")
    other: int = Field(description="Further children beyond `limit`.")
    missing: int = Field(description="Documents passing the filter without the field.")
    documents: int = Field(description="Documents passing the filter.")

    @classmethod
    def of(cls, result: FacetResult) -> FacetOut:
        return cls.model_validate(result, from_attributes=True)


class GroupOut(BaseModel):
    value: Any = Field(description="The group's value of the `group_by` field (null: none).")
    hits: list[HitOut]


class SearchOut(BaseModel):
    hits: list[HitOut]
    total: int
    took_ms: float
    truncated: bool = False
    """A budget (time, hit count) stopped the search early; ``total`` is then a lower bound."""
    groups: list[GroupOut] | None = Field(
        None, description="With `group_by`: the page's groups; `hits` then lists their hits."
    )
    facets: dict[str, FacetOut] | None = Field(
        None, description="With `facets`: counts per field over the documents passing the filter."
    )
    missing_shards: list[int] | None = Field(
        None,
        description="Cluster mode: index shards that did not answer (being restarted); the hits "
        "are the best of the others'. Absent when every shard answered.",
    )

    @classmethod
    def of(cls, result: SearchResult) -> SearchOut:
        groups = None
        if result.groups is not None:
            groups = [
                GroupOut(value=g.value, hits=[HitOut.of(h) for h in g.hits]) for g in result.groups
            ]
        return cls(
            hits=[HitOut.of(h) for h in result.hits],
            total=result.total,
            took_ms=result.took_ms,
            truncated=result.truncated,
            groups=groups,
            facets={f: FacetOut.of(r) for f, r in result.facets.items()} if result.facets else None,
            missing_shards=list(result.missing_shards) or None,
        )


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorDetail


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` documenting the error body for these statuses."""
    return {status: {"model": ErrorOut} for status in statuses}
