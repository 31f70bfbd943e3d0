"""The FastAPI application: routers per resource over one engine."""

from __future__ import annotations

from fastapi import FastAPI

from ipsim import __version__
from ipsim.config import Settings
from ipsim.engine.engine import Engine
from ipsim.server import errors
from ipsim.server.auth import ApiKeys
from ipsim.server.middleware import BodyLimit, JsonByDefault, RouteMetrics
from ipsim.server.routes import collections, documents, health, search, watches


def create_app(engine: Engine, settings: Settings, api_keys: ApiKeys | None = None) -> FastAPI:
    """The HTTP app; the caller owns the engine's start and close."""
    app = FastAPI(
        title="ipsim",
        version=__version__,
        summary="Similarity search for intellectual-property objects.",
    )
    app.state.engine = engine
    app.state.settings = settings
    app.state.api_keys = api_keys
    errors.install(app)
    for module in (health, collections, documents, search, watches):
        app.include_router(module.router)
    app.add_middleware(JsonByDefault)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RouteMetrics)
    return app
