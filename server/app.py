"""The FastAPI application: routers per resource over one engine."""

from __future__ import annotations

from fastapi import FastAPI

from ipsim import __version__
from ipsim.config import Settings
from ipsim.engine.engine import Engine
from ipsim.engine.federation import Federation
from ipsim.platform.services import Platform
from ipsim.server import errors, kserve
from ipsim.server.auth import ApiKeys
from ipsim.server.middleware import BodyLimit, JsonByDefault, RouteMetrics
from ipsim.server.remote_sources import build_federation
from ipsim.server.routes import applications as application_routes
from ipsim.server.routes import assessment as assessment_routes
from ipsim.server.routes import bi as bi_routes
from ipsim.server.routes import bi_pages as bi_page_routes
from ipsim.server.routes import bi_records as bi_record_routes
from ipsim.server.routes import collections, documents, federated, graph, health, search, watches
from ipsim.server.routes import correspondence as correspondence_routes
from ipsim.server.routes import depict as depict_routes
from ipsim.server.routes import docs_pages as docs_page_routes
from ipsim.server.routes import facets as facet_routes
from ipsim.server.routes import fees as fee_routes
from ipsim.server.routes import gateway as gateway_routes
from ipsim.server.routes import jobs as job_routes
from ipsim.server.routes import ledger as ledger_routes
from ipsim.server.routes import portal_pages as portal_page_routes
from ipsim.server.routes import result_sets as result_set_routes


def create_app(
    engine: Engine,
    settings: Settings,
    api_keys: ApiKeys | None = None,
    platform: Platform | None = None,
    federation: Federation | None = None,
) -> FastAPI:
    """The HTTP app; the caller owns the engine's and the platform's start and close
    (without a platform, its routes — result sets, filing… — answer 503). ``federation`` answers the
    one-window search (default: built from the settings' remote sources)."""
    app = FastAPI(
        title="ipsim",
        version=__version__,
        summary="Similarity search for intellectual-property objects.",
        docs_url=None,  # /docs is ours (routes/docs_pages.py): FastAPI's loads from a CDN
        redoc_url=None,  # ReDoc would load from a CDN too
    )
    app.state.engine = engine
    app.state.settings = settings
    app.state.api_keys = api_keys
    app.state.platform = platform
    app.state.federation = federation or build_federation(engine, settings)
    errors.install(app)
    # graph before documents: its …/{doc_id}/neighbors is not part of a document id
    for module in (
        health,
        collections,
        graph,
        depict_routes,
        documents,
        search,
        facet_routes,
        federated,
        watches,
        result_set_routes,
        application_routes,
        correspondence_routes,
        assessment_routes,
        fee_routes,
        bi_record_routes,
        bi_routes,
        bi_page_routes,
        portal_page_routes,
        docs_page_routes,
        gateway_routes,
        ledger_routes,
        job_routes,
        kserve,
    ):
        app.include_router(module.router)
    app.add_middleware(JsonByDefault)
    app.add_middleware(
        BodyLimit, max_bytes=settings.max_body_bytes, timeout_s=settings.body_timeout_s
    )
    app.add_middleware(RouteMetrics)
    return app
