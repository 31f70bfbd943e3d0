"""The ``/bi`` dashboards page and its static assets (no auth: the page holds no data).

The page is plain HTML + JavaScript under ``server/static/bi/`` with a vendored ECharts build
(``vendor/``, refreshed by ``tools/vendor_js.sh``): nothing is fetched from a CDN, so it works on
an office network without internet access. Every number on it comes from the ``/v1/bi/*`` API,
which the page calls with the API key the user types (kept in ``sessionStorage``), so the page
itself needs no key.

Files are served by :mod:`ipsim.server.static_site` (CSP, path checks).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from ipsim.server.static_site import STATIC, static_file

FOLDER = STATIC / "bi"

router = APIRouter(tags=["bi"])


@router.get("/bi", include_in_schema=False)
@router.get("/bi/", include_in_schema=False)
async def dashboards() -> FileResponse:
    """The dashboards page."""
    return static_file(FOLDER, "index.html")


@router.get("/bi/assets/{name:path}", include_in_schema=False)
async def asset(name: str) -> FileResponse:
    """A file under ``server/static/bi/``; 404 for anything outside it or not a file."""
    return static_file(FOLDER, name)
