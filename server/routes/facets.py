"""GET /v1/collections/{name}/facets: documents per child code of a classification field.

The route only reads the query string: the facet (field, prefix, limit) is checked by the
engine's :func:`~ipsim.engine.facets.facet_spec`, the filter by the collection, so every
bad value is a 400 naming it (``prefix``, ``limit``, ``filter.country``). The filter is
JSON in the query string (``filter={"country":"RU"}``, URL-encoded) so that the route stays
a cacheable GET. :class:`FacetOut` is also the shape of facets returned with a search.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query

from ipsim.engine.errors import InvalidInput
from ipsim.engine.facets import DEFAULT_LIMIT, MAX_LIMIT, facet_spec
from ipsim.server.deps import READ, EngineDep
from ipsim.server.schemas import FacetOut, error_responses

router = APIRouter(prefix="/v1/collections/{name}", tags=["facets"])
ERRORS = error_responses(400, 401, 403, 404, 503)


@router.get("/facets", dependencies=[READ], responses=ERRORS)
async def get_facets(
    name: str,
    engine: EngineDep,
    field: Annotated[str, Query(description="The field: `ipc`, `cpc`, `vienna`, `locarno`, …")],
    prefix: Annotated[
        str | None,
        Query(description="Count the children of this code (`A61K`); omitted: the top level."),
    ] = None,
    limit: Annotated[int, Query(description=f"Children listed, 1 to {MAX_LIMIT}.")] = DEFAULT_LIMIT,
    filter: Annotated[
        str | None, Query(description="A search filter as JSON: count only what passes it.")
    ] = None,
) -> FacetOut:
    spec = facet_spec(field, prefix, limit)
    results = await engine.facets(name, [spec], _json_filter(filter))
    return FacetOut.of(results[spec.field])


def _json_filter(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidInput("filter", f"is not valid JSON ({exc})") from exc
