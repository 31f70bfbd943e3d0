"""FastAPI dependencies: the engine, the settings and the scope a route needs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ipsim.config import Settings
from ipsim.engine.engine import Engine
from ipsim.server.auth import ApiKeys


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


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
READ = Depends(Scope("read"))
WRITE = Depends(Scope("write"))
ADMIN = Depends(Scope("admin"))
