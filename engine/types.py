"""Typed objects that cross the engine's boundary (server ↔ engine ↔ platform)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Modality = Literal["text", "image", "mesh", "chemical", "sequence", "trademark"]
MODALITIES: tuple[str, ...] = ("text", "image", "mesh", "chemical", "sequence", "trademark")
INDEX_TYPES: tuple[str, ...] = ("auto", "flat", "ivf", "hnsw", "ivfpq", "binary", "cagra")

JSON = dict[str, Any]


@dataclass(frozen=True)
class IndexSpec:
    """Which vector index family a collection uses, with its family parameters."""

    type: str = "auto"
    params: JSON = field(default_factory=dict)

    def to_json(self) -> JSON:
        return {"type": self.type, **self.params}


@dataclass(frozen=True)
class CollectionSpec:
    """What a client asks for when creating a collection."""

    name: str
    modality: str
    index: IndexSpec = field(default_factory=IndexSpec)
    shards: int = 1
    model: str | None = None


@dataclass(frozen=True)
class CollectionInfo:
    """A collection as clients see it."""

    name: str
    modality: str
    count: int
    dim: int
    index: JSON
    shards: int
    model: str


@dataclass(frozen=True)
class Document:
    """One stored object: its id, modality content and filterable fields."""

    id: str
    content: JSON
    fields: JSON = field(default_factory=dict)


@dataclass(frozen=True)
class SearchRequest:
    """One search, already shape-checked by the server."""

    query: JSON
    k: int = 10
    offset: int = 0
    filter: JSON | None = None
    mode: str | None = None
    group_by: str | None = None
    """Show at most ``group_size`` hits per value of this field; ``k`` and ``offset`` then
    count groups."""
    group_size: int | None = None
    facets: Any = None
    """Fields to count per value or child code, over the documents passing the filter
    (checked by :func:`ipsim.engine.facets.parse_facets`)."""


@dataclass(frozen=True)
class ChunkRef:
    """Which part of a long document matched: chunk number and character span."""

    index: int
    start: int
    end: int


@dataclass(frozen=True)
class Hit:
    """One result: higher ``score`` is more similar."""

    id: str
    score: float
    fields: JSON
    chunk: ChunkRef | None = None
    match: JSON | None = None
    """How it matched, for modalities that say (trademarks: the modes and keys compared)."""
    preview: dict[str, str] | None = None
    """Form → URL of a picture of the document (meshes: ``png`` thumbnail, ``glb`` model)."""


@dataclass(frozen=True)
class Depiction:
    """A drawing or preview of a stored document: its bytes and their media type."""

    data: bytes
    media_type: str


@dataclass(frozen=True)
class SearchResult:
    """A page of hits; ``total`` counts the documents that pass the filter (and the mode's
    own test: a threshold, a substructure)."""

    hits: list[Hit]
    total: int
    took_ms: float
    truncated: bool = False
    """A budget (time, hit count) stopped the search early; ``total`` is then a lower bound."""
    groups: list[HitGroup] | None = None
    """With ``group_by``: the page's groups, each its field value and best hits."""
    facets: dict[str, Any] | None = None
    """With ``facets``: a :class:`ipsim.engine.facets.FacetResult` per field."""
    missing_shards: tuple[int, ...] = ()
    """Cluster mode: index shards that did not answer (being restarted); the hits are the
    best of the other shards', so documents those shards hold may be absent."""


@dataclass(frozen=True)
class HitGroup:
    """One value of a ``group_by`` field and its best hits."""

    value: Any
    hits: list[Hit]
