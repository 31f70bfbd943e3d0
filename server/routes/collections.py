"""/v1/collections: create, list, inspect, delete."""

from __future__ import annotations

from fastapi import APIRouter, Response

from ipsim.engine.types import CollectionSpec, IndexSpec
from ipsim.server.deps import ADMIN, READ, EngineDep
from ipsim.server.schemas import (
    CollectionOut,
    CollectionsOut,
    CreateCollectionBody,
    error_responses,
)

router = APIRouter(prefix="/v1/collections", tags=["collections"])
ERRORS = error_responses(400, 401, 403, 404, 409, 413, 503)


@router.post("", status_code=201, dependencies=[ADMIN], responses=ERRORS)
async def create_collection(body: CreateCollectionBody, engine: EngineDep) -> CollectionOut:
    index = body.index or None
    params = dict(index.model_extra or {}) if index else {}
    spec = CollectionSpec(
        name=body.name,
        modality=body.modality,
        index=IndexSpec(type=index.type if index else "auto", params=params),
        shards=body.shards,
        model=body.model,
    )
    return CollectionOut.of(await engine.create_collection(spec))


@router.get("", dependencies=[READ], responses=ERRORS)
async def list_collections(engine: EngineDep) -> CollectionsOut:
    return CollectionsOut(collections=[CollectionOut.of(c) for c in engine.list_collections()])


@router.get("/{name}", dependencies=[READ], responses=ERRORS)
async def get_collection(name: str, engine: EngineDep) -> CollectionOut:
    return CollectionOut.of(engine.collection_info(name))


@router.delete("/{name}", status_code=204, dependencies=[ADMIN], responses=ERRORS)
async def delete_collection(name: str, engine: EngineDep) -> Response:
    await engine.delete_collection(name)
    return Response(status_code=204)
