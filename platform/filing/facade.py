"""The platform's only door to the search engine: what the filing services need of it.

The platform layer never imports :mod:`ipsim.engine.engine`; it talks to a
:class:`SearchEngine`, a Protocol with two questions: which collections exist (with their
modality) and what one collection answers to one query; and BI reads the collections'
documents through a :class:`CollectionFeed` (their fields, and a version that grows with
every change, so a reader re-reads a collection only when it changed). :class:`EngineFacade` answers
them with the server's in-process :class:`~ipsim.engine.engine.Engine` (the object handed
in by ``ipsim serve``, so the engine module is imported by the server, not here); a test
or a remote deployment can answer them with anything else of the same shape.

The hits are copied into plain frozen dataclasses so nothing of the engine's internal types
(chunks, match details, previews) leaks into stored reports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ipsim.engine.types import Document, SearchRequest

if TYPE_CHECKING:
    from ipsim.engine.engine import Engine


@dataclass(frozen=True)
class CollectionRef:
    """A collection the engine serves: its name, modality (``text``, ``mesh``…) and size."""

    name: str
    modality: str
    count: int


@dataclass(frozen=True)
class PriorArtHit:
    """One document a collection returned: higher ``score`` is more similar."""

    collection: str
    id: str
    score: float
    fields: dict[str, Any]


class SearchEngine(Protocol):
    """What the platform asks of the engine."""

    async def collections(self) -> list[CollectionRef]:
        """Every collection served now."""
        ...

    async def search(
        self,
        collection: str,
        query: Mapping[str, Any],
        *,
        k: int,
        filter: Mapping[str, Any] | None = None,
        mode: str | None = None,
    ) -> list[PriorArtHit]:
        """The ``k`` best documents of ``collection`` for ``query``, best first.

        Raises the engine's errors (``NotFound``, ``InvalidInput``…) as they are.
        """
        ...


class CollectionFeed(Protocol):
    """What BI reads of the engine's collections (blocking calls: run them in a thread)."""

    def collection_list(self) -> list[CollectionRef]:
        """Every collection served now."""
        ...

    def collection_version(self, collection: str) -> int:
        """A number that grows with every change to ``collection``."""
        ...

    def collection_fields(self, collection: str) -> list[tuple[str, dict[str, Any]]]:
        """Every document's id and fields."""
        ...


@runtime_checkable
class DocumentAccess(Protocol):
    """What the gateway asks of the engine: write documents into a collection, read one."""

    def collection_list(self) -> list[CollectionRef]:
        """Every collection served now."""
        ...

    async def upsert_documents(self, collection: str, documents: Sequence[Document]) -> int:
        """Add or replace ``documents`` (all-or-nothing); how many were written."""
        ...

    async def get_document(self, collection: str, doc_id: str) -> Document:
        """One document; raises ``NotFound``."""
        ...


class PlatformEngine(SearchEngine, CollectionFeed, Protocol):
    """Everything the platform asks of the engine."""


class EngineFacade:
    """:class:`PlatformEngine` over the in-process engine of ``ipsim serve``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def collections(self) -> list[CollectionRef]:
        return self.collection_list()

    def collection_list(self) -> list[CollectionRef]:
        return [
            CollectionRef(info.name, info.modality, info.count)
            for info in self._engine.list_collections()
        ]

    def collection_version(self, collection: str) -> int:
        return self._engine.collection_version(collection)

    def collection_fields(self, collection: str) -> list[tuple[str, dict[str, Any]]]:
        return self._engine.document_fields(collection)

    async def upsert_documents(self, collection: str, documents: Sequence[Document]) -> int:
        return await self._engine.upsert(collection, documents)

    async def get_document(self, collection: str, doc_id: str) -> Document:
        return await self._engine.get_document(collection, doc_id)

    async def search(
        self,
        collection: str,
        query: Mapping[str, Any],
        *,
        k: int,
        filter: Mapping[str, Any] | None = None,
        mode: str | None = None,
    ) -> list[PriorArtHit]:
        request = SearchRequest(
            query=dict(query), k=k, filter=dict(filter) if filter else None, mode=mode
        )
        result = await self._engine.search(collection, request)
        return [PriorArtHit(collection, hit.id, hit.score, dict(hit.fields)) for hit in result.hits]


__all__ = [
    "CollectionFeed",
    "CollectionRef",
    "DocumentAccess",
    "EngineFacade",
    "PlatformEngine",
    "PriorArtHit",
    "SearchEngine",
]
