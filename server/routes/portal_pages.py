"""The search portal at ``/``, its static assets, and the limits it checks before uploading.

The portal is plain HTML + JavaScript modules under ``server/static/portal/`` (no build step; the
few npm packages it uses are vendored under ``vendor/`` by ``tools/vendor_js.sh``), so nothing is
fetched from a CDN. Every result on it comes from the public HTTP API, called with the API key
the user types (kept in ``sessionStorage``); the page itself holds no data and needs no key.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse

from ipsim.engine.limits import upload_limits
from ipsim.server.deps import SettingsDep
from ipsim.server.static_site import STATIC, static_file

FOLDER = STATIC / "portal"

# The 3D viewer loads hit models from blob: URLs (fetched with the API key) and decodes
# base64 images from data: URLs.
POLICY = (
    "default-src 'self'; connect-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)

router = APIRouter()


@router.get("/", include_in_schema=False)
async def portal() -> FileResponse:
    """The portal's one page; its views are chosen by the URL's fragment (``#/trademarks``)."""
    return static_file(FOLDER, "index.html", POLICY)


@router.get("/portal/assets/{name:path}", include_in_schema=False)
async def asset(name: str) -> FileResponse:
    """A file under ``server/static/portal/``; 404 for anything outside it or not a file."""
    return static_file(FOLDER, name, POLICY)


@router.get("/v1/limits", tags=["portal"])
async def limits(settings: SettingsDep) -> dict[str, Any]:
    """Upload and paging limits of this server, so that a client can refuse an oversized or
    wrongly typed file before sending it (the server refuses it anyway). Needs no key."""
    found = upload_limits(
        body_bytes=settings.max_body_bytes,
        mesh_bytes=settings.mesh_max_bytes,
        mesh_faces=settings.mesh_max_faces,
        max_k=settings.max_k,
        max_offset=settings.max_offset,
    )
    return {name: list(v) if isinstance(v, tuple) else v for name, v in vars(found).items()}
