"""The HTTP bodies of /v1/watches (kept apart from schemas.py, which other routes share)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, StrictFloat, StrictStr

from ipsim.engine.watches import Notification, Watch


class CreateWatchBody(BaseModel):
    """A watch to create; the range of ``threshold`` and the URL are checked by the engine."""

    model_config = ConfigDict(extra="forbid")
    collection: StrictStr
    query: dict[str, Any]
    mode: StrictStr | None = None
    threshold: StrictFloat
    filter: dict[str, Any] | None = None
    callback_url: StrictStr | None = None


class WatchOut(BaseModel):
    id: str
    collection: str
    query: dict[str, Any]
    mode: str | None
    threshold: float
    filter: dict[str, Any] | None
    callback_url: str | None
    created: str

    @classmethod
    def of(cls, watch: Watch) -> WatchOut:
        return cls(**watch.__dict__)


class NotificationOut(BaseModel):
    id: str
    watch_id: str
    document_id: str
    score: float
    detail: dict[str, Any]
    created: str
    delivery: str
    """``none`` (no callback), ``pending``, ``delivered`` or ``failed`` (retries exhausted)."""
    attempts: int
    last_error: str | None

    @classmethod
    def of(cls, note: Notification) -> NotificationOut:
        return cls(**note.__dict__)


class NotificationsOut(BaseModel):
    notifications: list[NotificationOut]
    """Oldest first."""
    total: int
