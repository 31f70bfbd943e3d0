"""A fake upsert route at the httpx transport seam, for client-side ingest tests."""

from __future__ import annotations

import json

import httpx


class UpsertServer:
    """Records the ids of each batch it accepts.

    ``failures`` are answered (or raised) first, one per request; with ``cut_after`` set,
    every request after that many accepted batches fails as a dropped connection.
    """

    def __init__(self, collection: str | None = None) -> None:
        self.collection = collection
        self.batches: list[list[str]] = []
        self.failures: list[httpx.Response | Exception] = []
        self.cut_after: int | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.collection is not None:
            path = f"/v1/collections/{self.collection}/documents"
            assert (request.method, request.url.path) == ("PUT", path)
        if self.failures:
            failure = self.failures.pop(0)
            if isinstance(failure, Exception):
                raise failure
            return failure
        if self.cut_after is not None and len(self.batches) >= self.cut_after:
            raise httpx.ConnectError("connection reset", request=request)
        ids = [doc["id"] for doc in json.loads(request.content)["documents"]]
        self.batches.append(ids)
        return httpx.Response(200, json={"upserted": len(ids)})

    @property
    def ids(self) -> list[str]:
        return [i for batch in self.batches for i in batch]
