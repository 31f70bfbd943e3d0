"""/v1/collections/{name}/search."""

from __future__ import annotations

from fastapi import APIRouter

from ipsim.engine.types import SearchRequest
from ipsim.server.deps import READ, EngineDep
from ipsim.server.schemas import SearchBody, SearchOut, error_responses

router = APIRouter(prefix="/v1/collections/{name}", tags=["search"])
ERRORS = error_responses(400, 401, 403, 404, 413, 429, 503)


@router.post("/search", dependencies=[READ], responses=ERRORS)
async def search(name: str, body: SearchBody, engine: EngineDep) -> SearchOut:
    request = SearchRequest(
        query=body.query,
        k=body.k,
        offset=body.offset,
        filter=body.filter,
        mode=body.mode,
        group_by=body.group_by,
        group_size=body.group_size,
        facets=body.facets,
    )
    return SearchOut.of(await engine.search(name, request))
