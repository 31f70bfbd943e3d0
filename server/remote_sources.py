"""Remote ipsim servers as sources of the one-window search (``eapo:patents``).

Each configured source is another ipsim server reached over HTTP with its own API key,
through the project's own SDK (:class:`ipsim.clients.http.AsyncClient`): the remote speaks
the same contract, so its answers read back as the engine's own types. Anything that stops
a remote from answering — refused connection, time-out, 5xx, a refusal of the query, an
answer that is not a search result — is a :class:`SourceFailure`: the fused search reports
it and goes on with the other sources.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urljoin

from ipsim.clients.errors import IpsimError
from ipsim.clients.http import AsyncClient
from ipsim.config import Settings, SourceSettings
from ipsim.engine.engine import Engine
from ipsim.engine.facets import FacetResult, FacetSpec
from ipsim.engine.federation import Federation
from ipsim.engine.sources import LocalSource, SourceFailure
from ipsim.engine.types import JSON, ChunkRef, Hit, SearchRequest, SearchResult


class RemoteSource:
    """The collections of another ipsim server."""

    def __init__(self, name: str, settings: SourceSettings, *, default_timeout_ms: float) -> None:
        self.name = name
        self.url = settings.url
        timeout_ms = settings.timeout_ms or default_timeout_ms
        api_key = settings.api_key.get_secret_value() if settings.api_key else None
        # The federation also bounds each call; the client's own limit stops a hung socket.
        self._client = AsyncClient(settings.url, api_key=api_key or "", timeout=timeout_ms / 1000)

    async def check(self, collection: str) -> None:
        """Nothing to check before searching: a missing remote collection fails that source."""

    def version(self, collection: str) -> int | None:
        return None

    async def search(self, collection: str, request: SearchRequest) -> SearchResult:
        try:
            answer = await self._client.search(
                collection,
                request.query,
                k=request.k,
                offset=request.offset,
                filter=request.filter,
                mode=request.mode,
            )
        except IpsimError as exc:
            raise SourceFailure(exc.code, f"source {self.name!r}: {exc.message}") from exc
        try:
            return self._result(answer)
        except (KeyError, TypeError, ValueError) as exc:
            message = f"source {self.name!r} sent an answer that is not a search result ({exc})"
            raise SourceFailure("internal", message) from exc

    async def facets(
        self, collection: str, specs: Sequence[FacetSpec], filter: JSON | None
    ) -> dict[str, FacetResult]:
        counted = {}
        for spec in specs:
            try:
                answer = await self._client.facets(
                    collection, spec.field, prefix=spec.prefix, limit=spec.limit, filter=filter
                )
            except IpsimError as exc:
                raise SourceFailure(exc.code, f"source {self.name!r}: {exc.message}") from exc
            try:
                counted[spec.field] = FacetResult.from_json(answer)
            except (KeyError, TypeError, ValueError) as exc:
                message = f"source {self.name!r} sent an answer that is not a facet count ({exc})"
                raise SourceFailure("internal", message) from exc
        return counted

    async def close(self) -> None:
        await self._client.close()

    def _result(self, answer: Mapping[str, Any]) -> SearchResult:
        return SearchResult(
            hits=[self._hit(h) for h in answer["hits"]],
            total=_integer(answer["total"]),
            took_ms=float(answer.get("took_ms", 0.0)),
            truncated=bool(answer.get("truncated", False)),
            missing_shards=tuple(
                _integer(i, "missing_shards") for i in answer.get("missing_shards") or ()
            ),
        )

    def _hit(self, raw: Mapping[str, Any]) -> Hit:
        score = float(raw["score"])
        if not math.isfinite(score):
            raise ValueError(f"score {score}")
        fields = raw.get("fields") or {}
        if not isinstance(raw["id"], str) or not isinstance(fields, dict):
            raise TypeError("id must be a string and fields an object")
        chunk = raw.get("chunk")
        preview = raw.get("preview")
        return Hit(
            id=raw["id"],
            score=score,
            fields=fields,
            chunk=ChunkRef(int(chunk["index"]), int(chunk["start"]), int(chunk["end"]))
            if chunk
            else None,
            match=raw.get("match"),
            # Preview links are relative to the remote server; make them usable from here.
            preview={form: urljoin(self.url, str(url)) for form, url in preview.items()}
            if isinstance(preview, dict)
            else None,
        )


def _integer(value: Any, name: str = "total") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} {value!r} is not an integer")
    return value


def build_federation(engine: Engine, settings: Settings) -> Federation:
    """The one-window search over ``engine`` and the remote sources in ``settings``."""
    timeout_ms = settings.source_timeout_ms
    remotes = {
        name: RemoteSource(name, config, default_timeout_ms=timeout_ms)
        for name, config in settings.sources.items()
    }
    return Federation(LocalSource(engine), remotes, timeout_ms=timeout_ms, max_k=settings.max_k)
