"""The body limits of :class:`BodyLimit` on a bare ASGI app: a slow-loris body is cut off with
408 at the deadline, both 408 and 413 close the connection so the rest is not read, and JSON
nested too deep is a 400 before anything parses it (at depth ~950 federated search, exchange
packages, BI record imports and KServe requests answered 500: RecursionError)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from ipsim.server.middleware import MAX_JSON_DEPTH, BodyLimit, json_depth_over


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    message = await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": message.get("body", b"")})


def scope(headers: list[tuple[bytes, bytes]] | None = None) -> Scope:
    return {"type": "http", "method": "POST", "path": "/", "headers": headers or []}


async def run(app: Any, scope: Scope, receive: Receive) -> list[Message]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def trickle(delay_s: float, chunks: int) -> Receive:
    """A client sending one byte every ``delay_s``."""
    left = chunks

    async def receive() -> Message:
        nonlocal left
        await asyncio.sleep(delay_s)
        left -= 1
        return {"type": "http.request", "body": b" ", "more_body": left > 0}

    return receive


async def test_a_slow_body_gets_408_at_the_deadline_and_closes() -> None:
    app = BodyLimit(echo, max_bytes=1024, timeout_s=0.3)
    started = time.perf_counter()
    sent = await run(app, scope(), trickle(0.05, 1000))
    took = time.perf_counter() - started
    assert sent[0]["status"] == 408
    assert (b"connection", b"close") in sent[0]["headers"]
    error = json.loads(sent[1]["body"])["error"]
    assert error["code"] == "request_timeout"
    assert "0.3 s" in error["message"]
    assert 0.25 < took < 1.0


async def test_a_body_that_arrives_in_time_passes() -> None:
    app = BodyLimit(echo, max_bytes=1024, timeout_s=2.0)
    sent = await run(app, scope(), trickle(0.01, 5))
    assert sent[0]["status"] == 200
    assert sent[1]["body"] == b"     "


async def test_a_declared_oversize_body_gets_413_and_closes() -> None:
    app = BodyLimit(echo, max_bytes=1024)
    sent = await run(app, scope([(b"content-length", b"100000000")]), trickle(0, 1))
    assert sent[0]["status"] == 413
    assert (b"connection", b"close") in sent[0]["headers"]
    assert json.loads(sent[1]["body"])["error"]["code"] == "payload_too_large"


async def test_a_chunked_oversize_body_gets_413_and_closes() -> None:
    async def receive() -> Message:
        return {"type": "http.request", "body": b"x" * 600, "more_body": True}

    sent = await run(BodyLimit(echo, max_bytes=1024), scope(), receive)
    assert sent[0]["status"] == 413
    assert (b"connection", b"close") in sent[0]["headers"]


def once(body: bytes) -> Receive:
    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def nested(depth: int) -> bytes:
    return b'{"filter": {"a": ' + b"[" * depth + b"]" * depth + b"}}"


async def test_json_nested_past_the_limit_is_a_400_before_parsing() -> None:
    app = BodyLimit(echo, max_bytes=1 << 20)
    sent = await run(app, scope(), once(nested(MAX_JSON_DEPTH)))
    assert sent[0]["status"] == 400
    error = json.loads(sent[1]["body"])["error"]
    assert error["code"] == "invalid_argument"
    assert error["message"].startswith("body: JSON nested deeper than 64")


async def test_json_within_the_limit_passes() -> None:
    app = BodyLimit(echo, max_bytes=1 << 20)
    body = nested(MAX_JSON_DEPTH - 3)
    sent = await run(app, scope(), once(body))
    assert sent[0]["status"] == 200 and sent[1]["body"] == body


async def test_kserve_routes_get_the_protocol_error_shape() -> None:
    app = BodyLimit(echo, max_bytes=1 << 20)
    kserve = {**scope(), "path": "/v2/models/m/infer"}
    sent = await run(app, kserve, once(nested(500)))
    assert sent[0]["status"] == 400
    assert isinstance(json.loads(sent[1]["body"])["error"], str)


def test_brackets_inside_strings_do_not_count() -> None:
    smarts = b'{"query": {"smarts": "' + b"[$(" * 500 + b"C" + b")]" * 500 + b'"}}'
    assert not json_depth_over(smarts, 64)
    assert not json_depth_over(b'["' + b'\\"[' * 1000 + b'"]', 64)
    assert json_depth_over(b"[" * 65 + b"]" * 65, 64)
    assert not json_depth_over(b"[" * 64 + b"]" * 64, 64)
    # many shallow lists are not deep
    assert not json_depth_over(b"[" + b",".join([b"[1]"] * 10_000) + b"]", 64)


async def test_xml_and_binary_bodies_are_not_read_as_json() -> None:
    app = BodyLimit(echo, max_bytes=1 << 20)
    xml = b"<a>" + b"[" * 1000 + b"</a>"
    sent = await run(app, scope(), once(xml))
    assert sent[0]["status"] == 200
