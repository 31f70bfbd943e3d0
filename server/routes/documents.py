"""/v1/collections/{name}/documents: upsert, fetch, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from ipsim.engine.types import Document
from ipsim.server.deps import READ, WRITE, EngineDep, SettingsDep
from ipsim.server.errors import error_response
from ipsim.server.schemas import DocumentOut, UpsertBody, UpsertOut, error_responses

router = APIRouter(prefix="/v1/collections/{name}/documents", tags=["documents"])
ERRORS = error_responses(400, 401, 403, 404, 413, 429, 503)


@router.put("", dependencies=[WRITE], responses=ERRORS, response_model=UpsertOut)
async def upsert(
    name: str, body: UpsertBody, engine: EngineDep, settings: SettingsDep
) -> UpsertOut | Response:
    limit = settings.max_documents_per_request
    if len(body.documents) > limit:
        return error_response(
            "payload_too_large",
            f"documents: at most {limit} per request, got {len(body.documents)}",
        )
    documents = [Document(id=d.id, content=d.content, fields=d.fields) for d in body.documents]
    return UpsertOut(upserted=await engine.upsert(name, documents))


@router.get(
    "/{doc_id:path}",
    dependencies=[READ],
    responses={
        **ERRORS,
        200: {"content": {"image/svg+xml": {}, "image/png": {}, "model/gltf-binary": {}}},
    },
    response_model=DocumentOut,
)
async def get_document(
    name: str,
    doc_id: str,
    engine: EngineDep,
    depict: Annotated[
        str | None,
        Query(
            description="`svg`: answer a drawing of the structure (chemical collections); "
            "`png`: a shaded thumbnail, `glb`: a simplified binary glTF model (mesh collections)"
        ),
    ] = None,
) -> DocumentOut | Response:
    if depict is not None:
        depiction = await engine.depict(name, doc_id, depict)
        return Response(depiction.data, media_type=depiction.media_type)
    document = await engine.get_document(name, doc_id)
    return DocumentOut(id=document.id, content=document.content, fields=document.fields)


@router.delete("/{doc_id:path}", status_code=204, dependencies=[WRITE], responses=ERRORS)
async def delete_document(name: str, doc_id: str, engine: EngineDep) -> Response:
    await engine.delete_document(name, doc_id)
    return Response(status_code=204)
