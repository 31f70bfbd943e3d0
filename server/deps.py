"""FastAPI dependencies: the engine, the platform, the settings, the caller and the scope a
route needs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ipsim.config import Settings
from ipsim.engine.engine import Engine
from ipsim.engine.errors import NotReady
from ipsim.platform.services import Platform
from ipsim.server.auth import ANONYMOUS, ApiKeys, Caller


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def platform_of(request: Request) -> Platform:
    """The platform services; 503 when this server opened no platform database."""
    platform: Platform | None = getattr(request.app.state, "platform", None)
    if platform is None:
        raise NotReady("the platform is unavailable: this server opened no platform database")
    return platform


def get_caller(request: Request) -> Caller:
    """The API key's identity and scopes; ``anonymous`` with every scope when auth is off."""
    keys: ApiKeys | None = request.app.state.api_keys
    return ANONYMOUS if keys is None else keys.caller(request.headers.get("authorization"))


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


class Scope:
    """Dependency that checks the request's API key grants ``scope`` (no-op when auth is off)."""

    def __init__(self, scope: str) -> None:
        self.scope = scope

    def __call__(self, request: Request) -> None:
        keys: ApiKeys | None = request.app.state.api_keys
        if keys is not None:
            keys.authorize(request.headers.get("authorization"), self.scope)


EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
PlatformDep = Annotated[Platform, Depends(platform_of)]
CallerDep = Annotated[Caller, Depends(get_caller)]
# The largest offset or sequence number a query may carry: SQLite and PostgreSQL integers are
# 64-bit, and a larger one would fail in the driver (a 500) instead of answering 400.
MAX_SQL_INT = 2**63 - 1
READ = Depends(Scope("read"))
WRITE = Depends(Scope("write"))
ADMIN = Depends(Scope("admin"))
