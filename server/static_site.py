"""Serving a folder of static web files (the portal at ``/``, the dashboards at ``/bi``).

Assets are served by explicit routes rather than a ``StaticFiles`` mount because the app is
assembled from ``APIRouter``s (``include_router`` does not carry mounts). A requested path is
resolved and must stay inside its folder and name a file; anything else is 404. Responses carry
a Content-Security-Policy allowing only this origin, and ``no-cache`` so that the browser
revalidates (ETag / Last-Modified) and an upgrade shows at once.
"""

from __future__ import annotations

from pathlib import Path

from fastapi.responses import FileResponse

from ipsim.engine.errors import NotFound

STATIC = Path(__file__).resolve().parent / "static"

BASE_POLICY = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def security_headers(policy: str = BASE_POLICY) -> dict[str, str]:
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }


def static_file(folder: Path, name: str, policy: str = BASE_POLICY) -> FileResponse:
    """``name`` under ``folder``; 404 for anything outside it or not a file."""
    path = (folder / name).resolve()
    if not path.is_relative_to(folder) or not path.is_file():
        raise NotFound(f"no asset {name!r}")
    return FileResponse(path, headers=security_headers(policy))
