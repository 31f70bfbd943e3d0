"""The engine's error types: one per failure a caller can act on.

The server maps each to an HTTP status and a gRPC status code; ``code`` is the string
that travels in the JSON error body and that the SDK turns back into an exception.
"""

from __future__ import annotations


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""

    code = "internal"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(EngineError):
    """The request is malformed; ``field`` names the offending part (``query.text``)."""

    code = "invalid_argument"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", field=field)
        self.detail = message
        """The message without the field."""


class NotFound(EngineError):
    """A named collection or document does not exist."""

    code = "not_found"


class Conflict(EngineError):
    """The request clashes with existing state (a collection name already taken)."""

    code = "conflict"


class Overloaded(EngineError):
    """A queue is full; retry after ``retry_after`` seconds."""

    code = "resource_exhausted"

    def __init__(self, message: str, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotReady(EngineError):
    """The engine is starting or stopping."""

    code = "unavailable"


class StorageFull(EngineError):
    """The data directory's disk is full: nothing of the write was kept; retry once there is
    room (searches still work)."""

    code = "insufficient_storage"
