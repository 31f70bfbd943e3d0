"""Pure-ASGI middleware: the request body limits (413, 408) and per-route latency metrics."""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

import numpy as np
from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_SECONDS = Histogram(
    "ipsim_http_request_seconds",
    "HTTP request latency by route template",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


MAX_JSON_DEPTH = 64
"""Deepest JSON nesting a body may have: far above any request of this API, far below the
depth where parsing, canonical encoding or a response would hit Python's recursion limit."""

# A JSON string, closed or running to the end: linear, never backtracks.
_JSON_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"?', re.DOTALL)
_NESTING = np.zeros(256, np.int8)
_NESTING[[ord("["), ord("{")]] = 1
_NESTING[[ord("]"), ord("}")]] = -1


def json_depth_over(body: bytes, limit: int) -> bool:
    """Whether ``body``, read as JSON (or JSON Lines), nests deeper than ``limit``.

    Brackets inside strings do not count (a SMARTS is full of them). Cheap for the usual
    body: fewer than ``limit`` opening brackets in all cannot nest deeper."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    outside = _JSON_STRING.sub(b"", body)
    if outside.count(b"[") + outside.count(b"{") <= limit:
        return False
    steps = _NESTING[np.frombuffer(outside, dtype=np.uint8)]
    return int(np.cumsum(steps, dtype=np.int32).max(initial=0)) > limit


async def _send_error(
    send: Send, status: int, code: str, message: str, *, close: bool = False
) -> None:
    await _send_json(send, status, {"error": {"code": code, "message": message}}, close=close)


async def _send_json(send: Send, status: int, payload: Any, *, close: bool = False) -> None:
    body = json.dumps(payload).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if close:
        # The rest of the body is not wanted: hanging up stops the client sending it.
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Refuse bodies over ``max_bytes`` with 413 before anything parses them, and bodies not
    received within ``timeout_s`` (a slow-loris client) with 408; both close the connection.
    A JSON body nested deeper than ``max_json_depth`` is a 400 before anything parses it."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        timeout_s: float = 60.0,
        max_json_depth: int = MAX_JSON_DEPTH,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.max_json_depth = max_json_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        too_large = f"request body is larger than {self.max_bytes} bytes"
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_bytes):
                await _send_error(send, 413, "payload_too_large", too_large, close=True)
                return
        # Read the whole body here (JSON parsing needs all of it anyway), counting bytes,
        # so a chunked upload without Content-Length is bounded too, and against one
        # deadline, so a client trickling bytes cannot hold a request open for ever.
        chunks: list[bytes] = []
        size = 0
        deadline = asyncio.get_running_loop().time() + self.timeout_s
        while True:
            left = deadline - asyncio.get_running_loop().time()
            try:
                message = await asyncio.wait_for(receive(), max(left, 0.001))
            except TimeoutError:
                slow = f"request body not received within {self.timeout_s:g} s"
                await _send_error(send, 408, "request_timeout", slow, close=True)
                return
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _send_error(send, 413, "payload_too_large", too_large, close=True)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if await self._too_deep(scope, body):
            deep = f"body: JSON nested deeper than {self.max_json_depth} levels"
            if scope.get("path", "").startswith("/v2/"):  # the KServe protocol's error shape
                await _send_json(send, 400, {"error": deep})
            else:
                await _send_error(send, 400, "invalid_argument", deep)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_deep(self, scope: Scope, body: bytes) -> bool:
        # JSON is what starts with a bracket (XML, CSV and images do not); a KServe binary
        # request has its JSON header first and tensor bytes after it.
        headers = dict(scope.get("headers", ()))
        header_size = headers.get(b"inference-header-content-length", b"")
        if header_size.isdigit():
            body = body[: int(header_size)]
        if body.lstrip()[:1] not in (b"[", b"{"):
            return False
        if len(body) < 1 << 20:
            return json_depth_over(body, self.max_json_depth)
        return await asyncio.to_thread(json_depth_over, body, self.max_json_depth)


class JsonByDefault:
    """Treat a body sent without a JSON content type (``curl -d`` sends a form type) as JSON.

    Every route of this API takes JSON, so guessing otherwise only turns a good request
    into a confusing 400.
    """

    FORM = b"application/x-www-form-urlencoded"

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH"):
            headers = [(k, v) for k, v in scope.get("headers", ()) if k != b"content-type"]
            given = dict(scope.get("headers", ())).get(b"content-type", b"")
            if not given or given.split(b";")[0].strip() == self.FORM:
                # In place: outer middleware reads what the router writes into this scope.
                scope["headers"] = [*headers, (b"content-type", b"application/json")]
        await self.app(scope, receive, send)


class RouteMetrics:
    """Observe each request's latency under its route template (``/v1/collections/{name}``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", "unmatched")
            REQUEST_SECONDS.labels(scope["method"], template, str(status)).observe(
                time.perf_counter() - started
            )
