"""The OpenAPI explorer at ``/docs`` and the gRPC contract at ``/v1/proto/search.proto``.

FastAPI's own ``/docs`` and ``/redoc`` load Swagger UI and ReDoc from a CDN, so the app is
created without them (``docs_url=None, redoc_url=None``) and ``/docs`` is a page of ours: it
loads the swagger-ui bundle vendored from npm under ``server/static/portal/vendor/swagger-ui/``
(see ``tools/vendor_js.sh``) and a small init script pointing it at ``/openapi.json``; no inline
script, nothing fetched from another origin. Both routes are public, like ``/openapi.json``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from ipsim.engine.errors import NotFound
from ipsim.server.static_site import STATIC, security_headers, static_file

FOLDER = STATIC / "portal"
PROTO = Path(__file__).resolve().parents[2] / "proto" / "ipsim" / "v1" / "search.proto"

# swagger-ui styles with inline style attributes and shows its logo and schema icons as data: URLs;
# "Try it out" calls this origin only.
POLICY = (
    "default-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)

router = APIRouter()


@router.get("/docs", include_in_schema=False)
async def docs() -> FileResponse:
    """The OpenAPI explorer (Swagger UI, served from this server)."""
    return static_file(FOLDER, "docs.html", POLICY)


@router.get("/v1/proto/search.proto", tags=["portal"], response_class=FileResponse)
async def search_proto() -> FileResponse:
    """The gRPC service definition (``ipsim.v1``) as text, for generating clients. Needs no key."""
    if not PROTO.is_file():
        raise NotFound("the proto file is not installed with this server")
    return FileResponse(
        PROTO,
        media_type="text/plain; charset=utf-8",
        headers=security_headers() | {"Content-Disposition": 'inline; filename="search.proto"'},
    )
