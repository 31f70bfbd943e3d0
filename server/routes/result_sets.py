"""/v1/result-sets: expert mode — saved searches with their hits, tags and comments.

The route layer parses bodies, works out who is calling and enforces who may do what;
every rule about the data itself (tag alphabet, limits, idempotent updates) lives in
:mod:`ipsim.platform.result_sets`. Visibility follows the forwardable link: a set's random
``id`` is the capability, so anyone with ``read`` and the id may fetch it and anyone with
``write`` may annotate it, while deleting it is for its owner or an ``admin`` key, and
listing someone else's sets (which would reveal their links) needs ``admin`` too.

Handlers are plain functions: FastAPI runs them in its thread pool, so a database round
trip never blocks the event loop that serves searches.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from ipsim.platform.result_sets import (
    MAX_PAGE,
    Changes,
    Comment,
    ResultSet,
    ResultSetStore,
    ResultSetSummary,
    SavedHit,
)
from ipsim.server.auth import AuthError
from ipsim.server.deps import MAX_SQL_INT, READ, WRITE, CallerDep, platform_of
from ipsim.server.schemas import error_responses

router = APIRouter(prefix="/v1/result-sets", tags=["result sets"])
ERRORS = error_responses(400, 401, 403, 404, 413, 503)
EVERYONE = "*"
"""``owner=*`` lists every owner's sets (admin only)."""


def get_store(request: Request) -> ResultSetStore:
    return platform_of(request).result_sets


StoreDep = Annotated[ResultSetStore, Depends(get_store)]


# --- bodies -------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateResultSetBody(_Strict):
    """A search to save and the hits it returned."""

    search: dict[str, Any] = Field(
        description="The search request as sent: `collection` or `collections`, `query`, `k`,"
        " `mode`, `filter`…; its `collection` fills in hits that lack one."
    )
    hits: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Hits as the search returned them, each `{collection, id, score, …}`"
        " (at most 1000); their other keys (`fields`, `chunk`…) are kept as given.",
    )
    name: StrictStr | None = Field(None, description="A title, 1-200 characters.")
    tags: list[StrictStr] = Field(default_factory=list, description="Tags of the set.")
    comment: StrictStr | None = Field(None, description="A first comment, by the owner.")


class UpdateResultSetBody(_Strict):
    """Changes to a set; hit keys are `"<collection>/<id>"`. Every part is optional."""

    name: StrictStr | None = Field(None, description="A new title.")
    tags: list[StrictStr] = Field(default_factory=list, description="Tags to add to the set.")
    remove_tags: list[StrictStr] = Field(
        default_factory=list, description="Tags to take off the set."
    )
    comment: StrictStr | None = Field(None, description="A comment on the set.")
    hits: list[dict[str, Any]] = Field(
        default_factory=list, description="Hits to append; ones already in the set are skipped."
    )
    remove_hits: list[StrictStr] = Field(
        default_factory=list, description="Hit keys to remove, with their tags and comments."
    )
    hit_tags: dict[str, list[StrictStr]] = Field(
        default_factory=dict, description="Hit key → tags to add to that hit."
    )
    remove_hit_tags: dict[str, list[StrictStr]] = Field(
        default_factory=dict, description="Hit key → tags to take off that hit."
    )
    hit_comments: dict[str, StrictStr] = Field(
        default_factory=dict, description="Hit key → a comment on that hit."
    )

    def changes(self) -> Changes:
        return Changes(**self.model_dump())


# --- answers ------------------------------------------------------------------------


class CommentOut(BaseModel):
    id: int
    author: str
    """The identity of the API key that wrote it."""
    text: str
    created: str

    @classmethod
    def of(cls, comment: Comment) -> CommentOut:
        return cls(**comment.__dict__)


class SavedHitOut(BaseModel):
    """A hit as saved (its other keys, such as `fields`, come back as given) and its notes."""

    model_config = ConfigDict(extra="allow")
    collection: str
    id: str
    score: float | None
    tags: list[str]
    comments: list[CommentOut]

    @classmethod
    def of(cls, hit: SavedHit) -> SavedHitOut:
        return cls(
            **hit.data,
            collection=hit.collection,
            id=hit.id,
            score=hit.score,
            tags=hit.tags,
            comments=[CommentOut.of(c) for c in hit.comments],
        )


class ResultSetOut(BaseModel):
    id: str
    """The share id: `link` is the route that fetches this set."""
    link: str
    name: str | None
    owner: str
    search: dict[str, Any]
    hits: list[SavedHitOut]
    tags: list[str]
    comments: list[CommentOut]
    created: str
    updated: str

    @classmethod
    def of(cls, saved: ResultSet) -> ResultSetOut:
        return cls(
            id=saved.id,
            link=_link(saved.id),
            name=saved.name,
            owner=saved.owner,
            search=saved.search,
            hits=[SavedHitOut.of(hit) for hit in saved.hits],
            tags=saved.tags,
            comments=[CommentOut.of(c) for c in saved.comments],
            created=saved.created,
            updated=saved.updated,
        )


class ResultSetSummaryOut(BaseModel):
    id: str
    link: str
    name: str | None
    owner: str
    tags: list[str]
    hit_count: int
    created: str
    updated: str

    @classmethod
    def of(cls, summary: ResultSetSummary) -> ResultSetSummaryOut:
        return cls(**summary.__dict__, link=_link(summary.id))


class ResultSetsOut(BaseModel):
    result_sets: list[ResultSetSummaryOut]
    """Newest first."""
    total: int


def _link(set_id: str) -> str:
    return f"{router.prefix}/{set_id}"


# --- routes -------------------------------------------------------------------------


@router.post("", status_code=201, dependencies=[WRITE], responses=ERRORS)
def create_result_set(
    body: CreateResultSetBody, store: StoreDep, caller: CallerDep
) -> ResultSetOut:
    """Save a search and its hits; the caller's identity becomes the `owner`.

    The answer's `id` is the share id: `GET /v1/result-sets/{id}` is the link to forward.
    """
    saved = store.create(
        caller.identity,
        body.search,
        body.hits,
        name=body.name,
        tags=body.tags,
        comment=body.comment,
    )
    return ResultSetOut.of(saved)


@router.get("", dependencies=[READ], responses=ERRORS)
def list_result_sets(
    store: StoreDep,
    caller: CallerDep,
    tag: Annotated[str | None, Query(description="Only sets carrying this tag.")] = None,
    owner: Annotated[
        str,
        Query(
            description="`me` (the caller), an identity, or `*` for everyone's; others' need"
            " an admin key."
        ),
    ] = "me",
    offset: Annotated[int, Query(ge=0, le=MAX_SQL_INT)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> ResultSetsOut:
    """A page of result-set summaries, newest first, and how many match."""
    who = caller.identity if owner == "me" else None if owner == EVERYONE else owner
    if who != caller.identity and "admin" not in caller.scopes:
        raise AuthError("permission_denied", "listing other owners' result sets needs an admin key")
    summaries, total = store.find(owner=who, tag=tag, offset=offset, limit=limit)
    return ResultSetsOut(result_sets=[ResultSetSummaryOut.of(s) for s in summaries], total=total)


@router.get("/{set_id}", dependencies=[READ], responses=ERRORS)
def get_result_set(set_id: str, store: StoreDep) -> ResultSetOut:
    """The set behind a forwarded link: anyone with `read` and the id may fetch it."""
    return ResultSetOut.of(store.get(set_id))


@router.patch("/{set_id}", dependencies=[WRITE], responses=ERRORS)
def update_result_set(
    set_id: str, body: UpdateResultSetBody, store: StoreDep, caller: CallerDep
) -> ResultSetOut:
    """Annotate a set: any key with `write` may, and its comments are signed with its identity.

    - `name`: a new title.
    - `tags` / `remove_tags`: tags of the set to add / take off.
    - `comment`: a comment on the set.
    - `hits` / `remove_hits`: hits to append (`{collection, id, score, …}`; ones already in
      the set are skipped) / hit keys `"<collection>/<id>"` to remove.
    - `hit_tags` / `remove_hit_tags`: `{"<collection>/<id>": [tags]}` per hit.
    - `hit_comments`: `{"<collection>/<id>": "text"}`, a comment on each of those hits.

    All of it applies in one transaction, removals before additions; adding what is there
    or removing what is not changes nothing, so a retried request is harmless (except for
    its comments). Limits: tags 1-64 characters, 50 per set and per hit; comments up to
    4000 characters, 1000 per set; 1000 hits per set.
    """
    return ResultSetOut.of(store.update(set_id, caller.identity, body.changes()))


@router.delete("/{set_id}", status_code=204, dependencies=[WRITE], responses=ERRORS)
def delete_result_set(set_id: str, store: StoreDep, caller: CallerDep) -> Response:
    """Delete a set with its hits, tags and comments: its owner or an admin key only."""
    if store.summary(set_id).owner != caller.identity and "admin" not in caller.scopes:
        raise AuthError(
            "permission_denied", "only the owner of a result set or an admin key may delete it"
        )
    store.delete(set_id)
    return Response(status_code=204)
