"""POST /v1/bi/records: import bibliographic records for the BI analytics (admin).

The body is the file itself — CSV (``text/csv``) or JSON Lines (``application/x-ndjson``),
or name it with ``?format=csv|jsonl`` — so an export from another system is sent as is, with
no JSON wrapping of a 50 MB file. Every rule about a record lives in
:mod:`ipsim.platform.bi.records`; a bad record is a 400 naming ``records[i].field`` and then
nothing is imported. Records are upserted by id, so sending the same file twice is harmless.
Importing rewrites what every dashboard shows, hence ``admin``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from ipsim.engine.errors import InvalidInput
from ipsim.platform.bi.records import FORMATS, read_records
from ipsim.server.deps import ADMIN, platform_of
from ipsim.server.schemas import error_responses

router = APIRouter(prefix="/v1/bi", tags=["business intelligence"])
ERRORS = error_responses(400, 401, 403, 413, 503)
_MEDIA_TYPES = {
    "text/csv": "csv",
    "application/csv": "csv",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/json-lines": "jsonl",
    "application/ndjson": "jsonl",
}


class ImportOut(BaseModel):
    """How many records were written (inserted or updated)."""

    imported: int


@router.post("/records", dependencies=[ADMIN], responses=ERRORS)
async def import_records(
    request: Request,
    format: Annotated[
        str | None,
        Query(description="`csv` or `jsonl`; default: from the Content-Type."),
    ] = None,
) -> ImportOut:
    """Import records from a CSV (columns `id, kind, country, filing_date, ipc` with codes
    separated by `;`, and optionally `publication_date, status, source`) or JSON Lines file
    (one record object per line) → `{"imported": n}`. Records without a `source` get the
    format's name."""
    chosen = format or _MEDIA_TYPES.get(_media_type(request))
    if chosen not in FORMATS:
        raise InvalidInput(
            "format",
            f"must be one of {', '.join(FORMATS)} (or send Content-Type text/csv"
            " or application/x-ndjson)",
        )
    store = platform_of(request).bi_records
    data = await request.body()

    def load() -> int:
        return store.upsert_many(read_records(data, chosen), source=chosen)

    return ImportOut(imported=await run_in_threadpool(load))


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


__all__ = ["ImportOut", "router"]
