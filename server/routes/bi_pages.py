"""The ``/bi`` dashboards page and its static assets (no auth: the page holds no data).

The page is plain HTML + JavaScript under ``server/static/bi/`` with a vendored ECharts build
(``vendor/``, refreshed by ``tools/vendor_js.sh``): nothing is fetched from a CDN, so it works on
an office network without internet access. Every number on it comes from the ``/v1/bi/*`` API,
which the page calls with the API key the user types (kept in ``sessionStorage``), so the page
itself needs no key.

Assets are served by explicit routes rather than a ``StaticFiles`` mount because the app is
assembled from ``APIRouter``s (``include_router`` does not carry mounts). A requested path is
resolved and must stay inside the static folder and name a file; anything else is 404. The
responses carry a Content-Security-Policy allowing only this origin (ECharts sets inline styles,
and exports are ``data:``/``blob:`` URLs).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from ipsim.engine.errors import NotFound

STATIC = Path(__file__).resolve().parent.parent / "static" / "bi"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

router = APIRouter(tags=["bi"])


def _file(path: Path) -> FileResponse:
    # no-cache: the browser revalidates (ETag / Last-Modified), so an upgrade shows at once.
    headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache"}
    return FileResponse(path, headers=headers)


@router.get("/bi", include_in_schema=False)
@router.get("/bi/", include_in_schema=False)
async def dashboards() -> FileResponse:
    """The dashboards page."""
    return _file(STATIC / "index.html")


@router.get("/bi/assets/{name:path}", include_in_schema=False)
async def asset(name: str) -> FileResponse:
    """A file under ``server/static/bi/``; 404 for anything outside it or not a file."""
    path = (STATIC / name).resolve()
    if not path.is_relative_to(STATIC) or not path.is_file():
        raise NotFound(f"no asset {name!r}")
    return _file(path)
