"""The load generator: counts answers by status, keeps connections alive, stays on loopback."""

from __future__ import annotations

import asyncio
import json

import pytest

from ipsim.benchmarks.load import check_loopback, run_load


async def test_counts_successes_and_errors_over_keep_alive_connections() -> None:
    connections = 0
    bodies: list[dict[str, int]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            body = json.loads(await reader.readexactly(length))
            bodies.append(body)
            status = b"500 Internal Server Error" if body["n"] % 5 == 0 else b"200 OK"
            answer = b'{"ok": true}'
            writer.write(
                b"HTTP/1.1 " + status + b"\r\nContent-Length: %d\r\n\r\n" % len(answer) + answer
            )
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        result = await run_load(
            f"http://127.0.0.1:{port}",
            lambda n: ("/x", {"n": n}),
            requests=40,
            concurrency=4,
            max_seconds=30,
        )
    assert result.ok == 32 and result.errors == {"500": 8}
    assert sorted(b["n"] for b in bodies) == list(range(40))
    assert connections == 4  # one keep-alive connection per client
    assert result.throughput > 0 and result.latency().p50_ms > 0


def test_refuses_anything_but_loopback() -> None:
    check_loopback("http://127.0.0.1:8080")
    with pytest.raises(ValueError, match="loopback"):
        check_loopback("http://10.0.0.5:8080")
