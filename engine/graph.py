"""Links between objects: the nearest documents of a document, as a graph of scored edges.

The graph is built only through the Engine's public methods (``collection_info``,
``get_document``, ``search``), so it sees exactly what a client searching by hand would.
A node's stored ``content`` is its query: every modality stores content that is a valid
query of its own collection, with no ``mode`` needed (read from ``engine/*.py``):

- text ``{"text"}``: a long text is chunked; the query is the normalised mean of its chunks;
- image ``{"image_b64"}`` and mesh ``{"mesh_b64", "format"}``: one encoder path for both;
- chemical ``{"smiles"|"molblock"}``: the inferred mode is similarity (Tanimoto);
- trademark ``{"word"?, "image_b64"?}``: the inferred mode is ``all`` (fused) with a word,
  ``image`` without one;
- sequence ``{"sequence", "type"?}``: alignment; its scores are bit scores, not [0, 1],
  so ``min_score`` is in bits there.

The search is breadth-first to ``depth`` 1 or 2, ``k`` neighbours per expanded node: the
best ``k`` over every searched collection (same modality, so comparable scores), the node
itself left out of its own hits. The searches of one level run concurrently, so the
collections' batchers put them in one encoder call and one index call. Depth-2 nodes are
not expanded: at most ``1 + k + k²`` nodes (2,551 for k = 50) and ``C·(1 + k)`` searches
for ``C`` collections.

Edges are undirected: when A lists B and B lists A, one edge is kept, the one with the
higher score (the first found on a tie), so a score need not equal its reverse (a long
text as the query is a mean of chunks; a stored text matches by its best chunk). An
edge's ``rank`` is the target's place (from 1) in its source's list.

Another collection that refuses a node's content as a query (a sequence collection that
holds only the other kind of sequence) contributes no neighbours for that node instead
of failing the graph; the document's own collection refusing it is an error.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass

from ipsim.engine.engine import Engine
from ipsim.engine.errors import InvalidInput, NotFound
from ipsim.engine.types import JSON, Document, SearchRequest
from ipsim.engine.validation import check_collection_name

DEPTHS = (1, 2)
MAX_K = 50
DEFAULT_K = 10
MAX_COLLECTIONS = 8
"""Collections one graph may search: bounds the searches at 8·(1 + k)."""


@dataclass(frozen=True)
class Node:
    """One document of the graph; ``id`` is ``<collection>/<doc id>``, unique across
    collections. ``depth`` is its distance from the start (0 for the start itself)."""

    id: str
    collection: str
    doc_id: str
    depth: int
    fields: JSON


@dataclass(frozen=True)
class Edge:
    """``target`` is among ``source``'s nearest, ``rank`` places from the top (1 = first)."""

    source: str
    target: str
    score: float
    rank: int


@dataclass(frozen=True)
class Graph:
    """The start node (``root``) and what BFS found: nodes in the order found, edges by
    source in that order, then rank."""

    root: str
    nodes: list[Node]
    edges: list[Edge]


@dataclass(frozen=True)
class _Neighbour:
    collection: str
    doc_id: str
    score: float
    fields: JSON


def node_id(collection: str, doc_id: str) -> str:
    """The graph-wide id of a document: its collection, a slash, its id."""
    return f"{collection}/{doc_id}"


async def neighbors(
    engine: Engine,
    name: str,
    doc_id: str,
    *,
    depth: int = 1,
    k: int = DEFAULT_K,
    collections: Sequence[str] | None = None,
    min_score: float | None = None,
) -> Graph:
    """The graph of the documents nearest to ``doc_id`` of collection ``name``.

    ``collections`` are searched instead of ``name`` (name it among them to search it as
    well); ``min_score`` drops weaker edges. Raise ``NotFound`` (collection, document) or
    ``InvalidInput`` naming ``depth``, ``k``, ``min_score`` or ``collections``.
    """
    _check_int(depth, "depth", DEPTHS[0], DEPTHS[-1])
    _check_int(k, "k", 1, MAX_K)
    if min_score is not None:
        _check_min_score(min_score)
    modality = engine.collection_info(name).modality
    searched = _searched(engine, name, modality, collections)
    start = await engine.get_document(name, doc_id)
    root = Node(node_id(name, doc_id), name, doc_id, 0, start.fields)
    nodes = {root.id: root}
    edges: dict[frozenset[str], Edge] = {}
    frontier: list[tuple[Node, Document]] = [(root, start)]
    for level in range(1, depth + 1):
        found = await asyncio.gather(
            *(_nearest(engine, node, doc, searched, k, min_score) for node, doc in frontier)
        )
        reached: list[Node] = []
        for (source, _), hits in zip(frontier, found, strict=True):
            for rank, hit in enumerate(hits, start=1):
                target = node_id(hit.collection, hit.doc_id)
                if target not in nodes:
                    nodes[target] = Node(target, hit.collection, hit.doc_id, level, hit.fields)
                    reached.append(nodes[target])
                _keep_stronger(edges, Edge(source.id, target, hit.score, rank))
        if level < depth:
            frontier = await _with_contents(engine, reached)
    order = {key: i for i, key in enumerate(nodes)}
    ordered = sorted(edges.values(), key=lambda e: (order[e.source], e.rank))
    return Graph(root.id, list(nodes.values()), ordered)


def _check_int(value: object, field: str, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        choices = f"{low} or {high}" if high == low + 1 else f"an integer from {low} to {high}"
        raise InvalidInput(field, f"must be {choices}")


def _check_min_score(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput("min_score", "must be a finite number")


def _searched(
    engine: Engine, name: str, modality: str, collections: Sequence[str] | None
) -> list[str]:
    """The collections to search: ``collections`` checked, or ``name`` alone."""
    if collections is None:
        return [name]
    if isinstance(collections, str):
        raise InvalidInput("collections", "must be a list of collection names")
    if not collections:
        raise InvalidInput("collections", "must name at least one collection")
    if len(collections) > MAX_COLLECTIONS:
        raise InvalidInput("collections", f"must name at most {MAX_COLLECTIONS} collections")
    for i, other in enumerate(collections):
        check_collection_name(other, f"collections[{i}]")
        if other in collections[:i]:
            raise InvalidInput(f"collections[{i}]", f"{other!r} is listed twice")
        other_modality = engine.collection_info(other).modality
        if other_modality != modality:
            raise InvalidInput(
                "collections",
                f"{other!r} holds {other_modality} documents and {name!r} {modality}: "
                "only collections of the same modality can be compared",
            )
    return list(collections)


async def _nearest(
    engine: Engine,
    node: Node,
    document: Document,
    searched: Sequence[str],
    k: int,
    min_score: float | None,
) -> list[_Neighbour]:
    """The ``k`` best hits of ``document`` over ``searched``, itself left out, best first."""
    per_collection = await asyncio.gather(
        *(_search(engine, node, document, collection, k) for collection in searched)
    )
    # sorted() is stable: equal scores keep the collections' order, then each one's rank.
    merged = sorted((hit for hits in per_collection for hit in hits), key=lambda hit: -hit.score)
    if min_score is not None:
        merged = [hit for hit in merged if hit.score >= min_score]
    return merged[:k]


async def _search(
    engine: Engine, node: Node, document: Document, collection: str, k: int
) -> list[_Neighbour]:
    own = collection == node.collection
    request = SearchRequest(query=document.content, k=k + 1 if own else k)
    try:
        result = await engine.search(collection, request)
    except InvalidInput:
        if own:
            raise
        return []  # that collection cannot compare this object (see the module docstring)
    hits = [hit for hit in result.hits if not (own and hit.id == node.doc_id)]
    return [_Neighbour(collection, hit.id, hit.score, hit.fields) for hit in hits[:k]]


def _keep_stronger(edges: dict[frozenset[str], Edge], edge: Edge) -> None:
    """Merge ``edge`` with its reverse, if any: the higher score stays."""
    key = frozenset((edge.source, edge.target))
    kept = edges.get(key)
    if kept is None or edge.score > kept.score:
        edges[key] = edge


async def _with_contents(engine: Engine, nodes: Sequence[Node]) -> list[tuple[Node, Document]]:
    """The nodes with their stored documents, to expand; one deleted meanwhile is skipped."""

    async def fetch(node: Node) -> tuple[Node, Document] | None:
        try:
            return node, await engine.get_document(node.collection, node.doc_id)
        except NotFound:
            return None

    fetched = await asyncio.gather(*(fetch(node) for node in nodes))
    return [pair for pair in fetched if pair is not None]


__all__ = ["DEFAULT_K", "DEPTHS", "MAX_COLLECTIONS", "MAX_K", "Edge", "Graph", "Node", "neighbors"]
