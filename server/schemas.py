"""The HTTP request and response bodies: pydantic models that are also the OpenAPI schema."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from ipsim.engine.types import CollectionInfo, Hit, SearchResult


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IndexBody(BaseModel):
    """`{"type": "auto"|"flat"|"ivf"|"hnsw"|"ivfpq"|"binary", …family parameters}`."""

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


class SearchOut(BaseModel):
    hits: list[HitOut]
    total: int
    took_ms: float
    truncated: bool = False
    """A budget (time, hit count) stopped the search early; ``total`` is then a lower bound."""

    @classmethod
    def of(cls, result: SearchResult) -> SearchOut:
        return cls(
            hits=[HitOut.of(h) for h in result.hits],
            total=result.total,
            took_ms=result.took_ms,
            truncated=result.truncated,
        )


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorDetail


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` documenting the error body for these statuses."""
    return {status: {"model": ErrorOut} for status in statuses}
