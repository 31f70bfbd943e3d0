"""/v1/gateway: the international gateway — ST.96 and other formats, signed packages.

Bodies are raw documents (XML, CSV, JSON Lines, a package's JSON), not JSON requests, so
they are read as bytes (the app's body limit applies first) and everything about them is
checked in :mod:`ipsim.platform.gateway`; a refusal is a 400 naming the element and line,
an unknown sender or bad signature a 400, a replayed package a 409. Nothing is imported
unless every record is.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.concurrency import run_in_threadpool

from ipsim.platform.gateway.formats import get_format
from ipsim.platform.gateway.packages import Partner
from ipsim.server.deps import ADMIN, READ, WRITE, platform_of
from ipsim.server.schemas import error_responses

router = APIRouter(prefix="/v1/gateway", tags=["gateway"])
ERRORS = error_responses(400, 401, 403, 404, 409, 413, 503)
CollectionQuery = Annotated[str, Query(description="The collection to import into.")]
FormatQuery = Annotated[str, Query(description="`st96`, `gbd`, `csv` or `jsonl`.")]


class ImportedOut(BaseModel):
    imported: list[str] = Field(description="The document ids written, in record order.")


class PackageOut(ImportedOut):
    package: str = Field(description="The package id.")
    sender: str = Field(description="The sending office.")
    collection: str


class PartnerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    office: StrictStr = Field(description="Two-letter office code (WIPO ST.3), e.g. `EM`.")
    public_key: StrictStr = Field(description="The office's Ed25519 public key, raw, base64.")
    name: StrictStr | None = Field(None, max_length=200)


class PartnerOut(BaseModel):
    office: str
    public_key: str
    name: str | None
    registered: str


class PartnersOut(BaseModel):
    partners: list[PartnerOut]


def _partner(partner: Partner) -> PartnerOut:
    return PartnerOut(
        office=partner.office,
        public_key=partner.public_key,
        name=partner.name,
        registered=partner.registered.isoformat(),
    )


@router.post("/st96", dependencies=[WRITE], responses=ERRORS)
async def import_st96(request: Request, collection: CollectionQuery) -> ImportedOut:
    """Import the records of a WIPO ST.96 document (or a GBD national ST.66/TMBRAND one)."""
    gateway = platform_of(request).gateway
    return ImportedOut(imported=await gateway.import_xml(collection, await request.body()))


@router.get("/st96/{collection}/{doc_id:path}", dependencies=[READ], responses=ERRORS)
async def export_st96(request: Request, collection: str, doc_id: str) -> Response:
    """One document exported as an ST.96 XML document."""
    data = await platform_of(request).gateway.export(collection, doc_id)
    return Response(data, media_type="application/xml")


@router.post("/import", dependencies=[WRITE], responses=ERRORS)
async def import_format(
    request: Request, collection: CollectionQuery, format: FormatQuery
) -> ImportedOut:
    """Import records in any readable format (`st96`, `gbd`, `csv`, `jsonl`)."""
    gateway = platform_of(request).gateway
    data = await request.body()
    return ImportedOut(imported=await gateway.import_format(collection, format, data))


@router.get("/export/{collection}/{doc_id:path}", dependencies=[READ], responses=ERRORS)
async def export_format(
    request: Request, collection: str, doc_id: str, format: FormatQuery = "st96"
) -> Response:
    """One document in a writable format (`st96`, `csv`, `jsonl`)."""
    media_type = get_format(format, writing=True).media_type
    data = await platform_of(request).gateway.export(collection, doc_id, format)
    return Response(data, media_type=media_type)


@router.post("/packages", dependencies=[WRITE], responses=ERRORS)
async def import_package(
    request: Request,
    collection: Annotated[
        str | None, Query(description="Target collection; default: the one the package names.")
    ] = None,
) -> PackageOut:
    """Verify a signed exchange package against the partner registry and import it."""
    gateway = platform_of(request).gateway
    package = await gateway.import_package(await request.body(), collection)
    return PackageOut(
        package=package.id,
        sender=package.sender,
        collection=collection or package.collection or "",
        imported=[record.id for record in package.records],
    )


@router.post("/partners", dependencies=[ADMIN], responses=ERRORS, status_code=201)
async def register_partner(request: Request, body: PartnerBody) -> PartnerOut:
    """Register (or rotate) a partner office's public key."""
    registry = platform_of(request).gateway.partners
    partner = await run_in_threadpool(registry.register, body.office, body.public_key, body.name)
    return _partner(partner)


@router.get("/partners", dependencies=[READ], responses=ERRORS)
async def list_partners(request: Request) -> PartnersOut:
    """The registered partner offices and their keys."""
    registry = platform_of(request).gateway.partners
    return PartnersOut(partners=[_partner(p) for p in await run_in_threadpool(registry.partners)])


__all__ = ["router"]
