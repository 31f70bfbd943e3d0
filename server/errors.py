"""Every failure becomes `{"error": {"code", "message"}}` with the right status; never a 500
for anything a client sent."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ipsim.engine.errors import EngineError, Overloaded
from ipsim.server.auth import AuthError

log = logging.getLogger(__name__)

STATUS = {
    "invalid_argument": 400,
    "unauthenticated": 401,
    "permission_denied": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "request_timeout": 408,
    "conflict": 409,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "resource_exhausted": 429,
    "unavailable": 503,
    "insufficient_storage": 507,
    "internal": 500,
}
CODE_OF_STATUS = {status: code for code, status in STATUS.items()}


def error_response(
    code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}},
        status_code=STATUS.get(code, 500),
        headers=headers,
    )


def describe_validation_error(errors: list[Any]) -> str:
    """``documents.0.id: Input should be a valid string`` — the first problem, with its field."""
    if not errors:
        return "request: invalid"
    first = errors[0]
    loc = [str(part) for part in first.get("loc", ()) if part != "body"]
    if first.get("type") == "json_invalid":
        return f"body: not valid JSON ({first.get('ctx', {}).get('error', 'parse error')})"
    field = ".".join(loc) or "body"
    message = str(first.get("msg", "invalid"))
    if first.get("type") == "extra_forbidden":
        message = "unknown field"
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return f"{field}: {message}{more}"


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the contract's shape."""

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response("invalid_argument", describe_validation_error(list(exc.errors())))

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        code = CODE_OF_STATUS.get(exc.status_code, "invalid_argument")
        message = str(exc.detail)
        if exc.status_code == 400 and "parsing the body" in message:
            message = "body: not valid JSON (or not UTF-8)"
        return error_response(code, message, headers=exc.headers)

    @app.exception_handler(Overloaded)
    async def _overloaded(_: Request, exc: Overloaded) -> JSONResponse:
        retry = str(max(1, round(exc.retry_after)))
        return error_response(exc.code, exc.message, headers={"Retry-After": retry})

    @app.exception_handler(EngineError)
    async def _engine(_: Request, exc: EngineError) -> JSONResponse:
        return error_response(exc.code, exc.message)

    @app.exception_handler(AuthError)
    async def _auth(_: Request, exc: AuthError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.code == "unauthenticated" else None
        return error_response(exc.code, exc.message, headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response("internal", "internal error; the server log has the details")
