"""The exceptions every ipsim client raises: one class per failure a caller can act on.

The HTTP client, the gRPC client and the command line raise the same classes, so code
written against one transport handles errors from the other unchanged::

    IpsimError                 every error below; .code, .message, .status
    ├── BadRequest             invalid_argument (400): fix the request
    ├── Unauthenticated        unauthenticated (401): send a valid API key
    ├── PermissionDenied       permission_denied (403): the key lacks the scope
    ├── NotFound               not_found (404)
    ├── Conflict               conflict (409): clashes with existing state
    ├── PayloadTooLarge        payload_too_large (413): send smaller batches
    ├── Overloaded             resource_exhausted (429): retry after .retry_after seconds
    ├── Unavailable            unavailable (503): the server is starting or stopping
    ├── ServerError            internal (500) and any code this client does not know
    └── TransportError         the server could not be reached (no answer at all)

``code`` is the string the server sent in ``{"error": {"code": ..., "message": ...}}``
(or the gRPC status mapped onto the same names); ``status`` is the HTTP status when the
error came over HTTP, else ``None``.
"""

from __future__ import annotations

from typing import ClassVar


class IpsimError(Exception):
    """Base of every error an ipsim client raises."""

    #: The code this class stands for; an instance may carry the server's own code instead.
    default_code: ClassVar[str] = "internal"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.status = status

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class BadRequest(IpsimError):
    """The request is malformed; the message names the offending field and why."""

    default_code = "invalid_argument"


class Unauthenticated(IpsimError):
    """No API key, or one the server does not know."""

    default_code = "unauthenticated"


class PermissionDenied(IpsimError):
    """The API key is valid but lacks the scope this call needs."""

    default_code = "permission_denied"


class NotFound(IpsimError):
    """The named collection or document does not exist."""

    default_code = "not_found"


class Conflict(IpsimError):
    """The request clashes with existing state (a collection name already taken)."""

    default_code = "conflict"


class PayloadTooLarge(IpsimError):
    """The request body is over the server's limit; send fewer or smaller documents."""

    default_code = "payload_too_large"


class Overloaded(IpsimError):
    """The server's queue is full; ``retry_after`` is its hint in seconds (or ``None``)."""

    default_code = "resource_exhausted"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message, code=code, status=status)
        self.retry_after = retry_after


class Unavailable(IpsimError):
    """The server is up but not ready (starting, stopping); retrying later may succeed."""

    default_code = "unavailable"


class ServerError(IpsimError):
    """The server failed, or answered with a code or shape this client does not know."""

    default_code = "internal"


class TransportError(IpsimError):
    """No answer: the connection failed, was cut, or timed out."""

    default_code = "transport_error"


# code → (class, HTTP status): the one table both directions are read from.
_BY_CODE: dict[str, tuple[type[IpsimError], int]] = {
    "invalid_argument": (BadRequest, 400),
    "unauthenticated": (Unauthenticated, 401),
    "permission_denied": (PermissionDenied, 403),
    "not_found": (NotFound, 404),
    "conflict": (Conflict, 409),
    "payload_too_large": (PayloadTooLarge, 413),
    "resource_exhausted": (Overloaded, 429),
    "unavailable": (Unavailable, 503),
    "internal": (ServerError, 500),
}
_BY_STATUS: dict[int, str] = {status: code for code, (_, status) in _BY_CODE.items()}


def error_from_code(
    code: str,
    message: str,
    *,
    status: int | None = None,
    retry_after: float | None = None,
) -> IpsimError:
    """Build the exception for a server error ``code``; unknown codes give ``ServerError``.

    The instance keeps ``code`` as sent, so an unknown code is still visible to the caller.
    ``retry_after`` is only kept by ``Overloaded``.
    """
    cls = _BY_CODE.get(code, (ServerError, 500))[0]
    if cls is Overloaded:
        return Overloaded(message, code=code, status=status, retry_after=retry_after)
    return cls(message, code=code, status=status)


def code_for_status(status: int) -> str:
    """The error code an HTTP status stands for, when an answer carries no error body.

    Used for answers from something other than ipsim (a proxy's 502 page): unknown 4xx
    count as bad requests, everything else as server errors.
    """
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return "invalid_argument" if 400 <= status < 500 else "internal"


__all__ = [
    "BadRequest",
    "Conflict",
    "IpsimError",
    "NotFound",
    "Overloaded",
    "PayloadTooLarge",
    "PermissionDenied",
    "ServerError",
    "TransportError",
    "Unauthenticated",
    "Unavailable",
    "code_for_status",
    "error_from_code",
]
