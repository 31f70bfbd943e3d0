"""GET /v1/collections/{name}/documents/{doc_id}/neighbors: links between objects.

The route parses the query string and serialises the graph; the engine's
:func:`ipsim.engine.graph.neighbors` checks every value (one place per rule), so a bad
``depth``, ``k``, ``min_score`` or ``collections`` is a 400 naming it. The router must be
registered before the documents router: that one's ``{doc_id:path}`` would otherwise
take ``…/neighbors`` for part of a document id.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from ipsim.engine.graph import DEFAULT_K, Graph, neighbors
from ipsim.server.deps import READ, EngineDep
from ipsim.server.schemas import error_responses

router = APIRouter(prefix="/v1/collections/{name}/documents", tags=["graph"])
ERRORS = error_responses(400, 401, 403, 404, 429, 503)


class NodeOut(BaseModel):
    id: str = Field(description="`<collection>/<doc id>`, unique across collections.")
    collection: str
    doc_id: str
    depth: int = Field(description="Distance from the start document (0 for the start).")
    fields: dict[str, object]


class EdgeOut(BaseModel):
    source: str
    target: str
    score: float
    rank: int = Field(description="The target's place in the source's neighbours, from 1.")


class GraphOut(BaseModel):
    root: str
    nodes: list[NodeOut]
    edges: list[EdgeOut] = Field(
        description="Undirected: a pair that lists each other keeps the edge with the higher score."
    )

    @classmethod
    def of(cls, graph: Graph) -> GraphOut:
        return cls.model_validate(graph, from_attributes=True)


@router.get("/{doc_id:path}/neighbors", dependencies=[READ], responses=ERRORS)
async def get_neighbors(
    name: str,
    doc_id: str,
    engine: EngineDep,
    depth: Annotated[int, Query(description="1 or 2 hops from the document.")] = 1,
    k: Annotated[int, Query(description="Neighbours per expanded document, 1 to 50.")] = DEFAULT_K,
    collections: Annotated[
        str | None,
        Query(
            description="Comma-separated collections of the same modality to search instead"
            " of NAME (list NAME too to search it as well)."
        ),
    ] = None,
    min_score: Annotated[float | None, Query(description="Drop weaker edges.")] = None,
) -> GraphOut:
    searched = None if collections is None else [c.strip() for c in collections.split(",")]
    graph = await neighbors(
        engine, name, doc_id, depth=depth, k=k, collections=searched, min_score=min_score
    )
    return GraphOut.of(graph)
