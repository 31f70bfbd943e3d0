"""/v1/collections/{name}/depict: a drawing of a query, before (or without) searching.

The portal's chemistry page shows the structure a user typed next to the hits; it is drawn by
the collection's own chemistry (RDKit), so the drawing and the search read the text alike and
a structure the search would refuse is refused here with the same message and field.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from ipsim.server.deps import READ, EngineDep
from ipsim.server.schemas import error_responses

router = APIRouter(prefix="/v1/collections/{name}", tags=["documents"])
ERRORS = error_responses(400, 401, 403, 404, 413, 429, 503)


class DepictBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: dict[str, Any] = Field(
        description='One structure: `{"smiles": …}`, `{"molblock": …}` or `{"smarts": …}`.'
    )


@router.post(
    "/depict",
    dependencies=[READ],
    responses={**ERRORS, 200: {"content": {"image/svg+xml": {}}}},
    response_class=Response,
)
async def depict_query(name: str, body: DepictBody, engine: EngineDep) -> Response:
    """An SVG drawing of a query structure (chemical collections; 400 for other kinds)."""
    depiction = await engine.depict_query(name, body.query)
    return Response(depiction.data, media_type=depiction.media_type)
