"""The ``Source`` seam: somewhere a collection can be searched — this engine, or another
ipsim server (another office's, another department's).

The one-window search (:mod:`ipsim.engine.federation`) treats every source alike: it asks
each for a ranked window and fuses the answers. A source that cannot answer raises
:class:`SourceFailure`, and the fused answer goes on without it, saying so.

Remote sources speak HTTP, so their implementation lives with the server
(:mod:`ipsim.server.remote_sources`); the engine knows only this protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from ipsim.engine.errors import NotFound, NotReady, Overloaded
from ipsim.engine.facets import FacetResult, FacetSpec
from ipsim.engine.types import JSON, SearchRequest, SearchResult

if TYPE_CHECKING:  # the seam needs no engine at import time
    from ipsim.engine.engine import Engine


class SourceFailure(Exception):
    """A source could not answer: down, overloaded, failing, or refusing the query."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Source(Protocol):
    """Where collections can be searched."""

    async def check(self, collection: str) -> None:
        """Raise when ``collection`` is certainly not searchable here (before any search).

        Local sources raise ``NotFound``; remote ones check nothing (a round trip per
        query would cost more than the failure it could catch).
        """

    async def search(self, collection: str, request: SearchRequest) -> SearchResult:
        """One ranked window of ``collection``; raise ``SourceFailure`` when it cannot answer.

        ``InvalidInput`` may escape: the query is wrong, not the source.
        """
        ...

    async def facets(
        self, collection: str, specs: Sequence[FacetSpec], filter: JSON | None
    ) -> dict[str, FacetResult]:
        """Facet counts of ``collection`` over the documents passing ``filter``; raise
        ``SourceFailure`` when it cannot answer (``InvalidInput`` may escape)."""
        ...

    def version(self, collection: str) -> int | None:
        """A number that changes whenever ``collection`` changes; ``None`` when unknown."""
        ...

    async def close(self) -> None:
        """Release connections."""


class LocalSource:
    """The collections of this server's engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def check(self, collection: str) -> None:
        self.engine.collection_info(collection)

    async def search(self, collection: str, request: SearchRequest) -> SearchResult:
        try:
            return await self.engine.search(collection, request)
        except (NotFound, NotReady, Overloaded) as exc:  # deleted meanwhile, stopping, busy
            raise SourceFailure(exc.code, exc.message) from exc

    async def facets(
        self, collection: str, specs: Sequence[FacetSpec], filter: JSON | None
    ) -> dict[str, FacetResult]:
        try:
            return await self.engine.facets(collection, specs, filter)
        except (NotFound, NotReady) as exc:
            raise SourceFailure(exc.code, exc.message) from exc

    async def close(self) -> None:
        """The engine is closed by its owner."""

    def version(self, collection: str) -> int | None:
        try:
            return self.engine.collection_version(collection)
        except NotFound:
            return None
