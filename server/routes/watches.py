"""/v1/watches: standing queries on a collection and the notifications of their matches."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from ipsim.engine.watches import DEFAULT_PAGE, MAX_PAGE
from ipsim.server.deps import READ, WRITE, EngineDep
from ipsim.server.schemas import error_responses
from ipsim.server.watch_schemas import (
    CreateWatchBody,
    NotificationOut,
    NotificationsOut,
    WatchOut,
)

router = APIRouter(prefix="/v1/watches", tags=["watches"])
ERRORS = error_responses(400, 401, 403, 404, 413, 503)


@router.post("", status_code=201, dependencies=[WRITE], responses=ERRORS)
async def create_watch(body: CreateWatchBody, engine: EngineDep) -> WatchOut:
    watch = await engine.create_watch(
        body.collection, body.query, body.mode, body.threshold, body.filter, body.callback_url
    )
    return WatchOut.of(watch)


@router.get("/{watch_id}", dependencies=[READ], responses=ERRORS)
async def get_watch(watch_id: str, engine: EngineDep) -> WatchOut:
    return WatchOut.of(engine.get_watch(watch_id))


@router.delete("/{watch_id}", status_code=204, dependencies=[WRITE], responses=ERRORS)
async def delete_watch(watch_id: str, engine: EngineDep) -> Response:
    engine.delete_watch(watch_id)
    return Response(status_code=204)


@router.get("/{watch_id}/notifications", dependencies=[READ], responses=ERRORS)
async def list_notifications(
    watch_id: str,
    engine: EngineDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
) -> NotificationsOut:
    """A page of the watch's notifications, oldest first, with their total."""
    notes, total = engine.watch_notifications(watch_id, offset, limit)
    return NotificationsOut(notifications=[NotificationOut.of(n) for n in notes], total=total)
