"""Watches in the SDK (``Client`` and ``AsyncClient``) and the ``ipsim watches`` commands,
against a stand-in server at the httpx.MockTransport seam."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from ipsim.clients import AsyncClient, Client, NotFound
from ipsim.clients.cli import CliContext, cli

WATCH_ID = "w_abc/1"  # a slash, to check ids travel as one path segment
NOTES = [
    {
        "id": f"n_{i}",
        "watch_id": WATCH_ID,
        "document_id": f"T{i}",
        "score": 0.9 - i / 100,
        "detail": {},
        "created": f"2026-01-01T00:00:0{i}.000Z",
        "delivery": delivery,
        "attempts": attempts,
        "last_error": error,
    }
    for i, (delivery, attempts, error) in enumerate(
        [("delivered", 3, "HTTP 503"), ("failed", 6, "HTTP 500"), ("none", 0, None)]
    )
]


class WatchServer:
    """The /v1/watches routes, answering like the server; records every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.watches: dict[str, dict[str, Any]] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.raw_path.decode().split("?")[0]
        watch_path = "/v1/watches/" + WATCH_ID.replace("/", "%2F")
        if (request.method, path) == ("POST", "/v1/watches"):
            body = json.loads(request.content)
            defaults = {"mode": None, "filter": None, "callback_url": None}
            watch = {**defaults, **body, "id": WATCH_ID, "created": "2026-01-01T00:00:00.000Z"}
            self.watches[WATCH_ID] = watch
            return httpx.Response(201, json=watch)
        if path.startswith(watch_path) and WATCH_ID in self.watches:
            if (request.method, path) == ("GET", watch_path):
                return httpx.Response(200, json=self.watches[WATCH_ID])
            if (request.method, path) == ("DELETE", watch_path):
                del self.watches[WATCH_ID]
                return httpx.Response(204)
            if (request.method, path) == ("GET", f"{watch_path}/notifications"):
                offset = int(request.url.params["offset"])
                limit = int(request.url.params["limit"])
                page = NOTES[offset : offset + limit]
                return httpx.Response(200, json={"notifications": page, "total": len(NOTES)})
        message = f"watch {path.rsplit('/', 1)[-1]!r} does not exist"
        return httpx.Response(404, json={"error": {"code": "not_found", "message": message}})

    def last_body(self) -> Any:
        return json.loads(self.requests[-1].content)


@pytest.fixture
def server() -> WatchServer:
    return WatchServer()


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("IPSIM_URL", "IPSIM_API_KEY", "IPSIM_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)


def run(server: WatchServer, *args: str) -> Result:
    context = CliContext(transport=httpx.MockTransport(server))
    return CliRunner().invoke(cli, list(args), obj=context)


# --- SDK ----------------------------------------------------------------------------


def test_client_watch_lifecycle(server: WatchServer) -> None:
    with Client("http://ipsim.test", transport=httpx.MockTransport(server)) as client:
        watch = client.create_watch("marks", {"word": "ACME"}, threshold=0.8)
        assert server.last_body() == {
            "collection": "marks",
            "query": {"word": "ACME"},
            "threshold": 0.8,
        }
        assert watch["id"] == WATCH_ID
        assert client.get_watch(WATCH_ID) == watch
        page = client.watch_notifications(WATCH_ID, offset=1, limit=1)
        assert page == {"notifications": NOTES[1:2], "total": 3}
        assert client.delete_watch(WATCH_ID) is None
        with pytest.raises(NotFound, match="does not exist"):
            client.get_watch(WATCH_ID)
    paths = [request.url.raw_path.decode() for request in server.requests]
    assert paths[1] == "/v1/watches/w_abc%2F1"
    assert paths[2] == "/v1/watches/w_abc%2F1/notifications?offset=1&limit=1"


def test_client_sends_the_optional_watch_fields_only_when_given(server: WatchServer) -> None:
    with Client("http://ipsim.test", transport=httpx.MockTransport(server)) as client:
        client.create_watch(
            "marks",
            {"word": "ACME"},
            threshold=1,
            mode="phonetic",
            filter={"class": 25},
            callback_url="http://127.0.0.1:9/hook",
        )
    assert server.last_body() == {
        "collection": "marks",
        "query": {"word": "ACME"},
        "threshold": 1,
        "mode": "phonetic",
        "filter": {"class": 25},
        "callback_url": "http://127.0.0.1:9/hook",
    }


async def test_async_client_watch_lifecycle(server: WatchServer) -> None:
    transport = httpx.MockTransport(server)
    async with AsyncClient("http://ipsim.test", transport=transport) as client:
        watch = await client.create_watch(
            "marks", {"word": "ACME"}, threshold=0.5, callback_url="https://x.test/h"
        )
        assert watch["callback_url"] == "https://x.test/h"
        assert await client.get_watch(WATCH_ID) == watch
        page = await client.watch_notifications(WATCH_ID)
        assert page["total"] == 3 and page["notifications"] == NOTES
        assert "offset=0&limit=100" in str(server.requests[-1].url)
        await client.delete_watch(WATCH_ID)
        with pytest.raises(NotFound):
            await client.delete_watch(WATCH_ID)


# --- CLI ----------------------------------------------------------------------------


def test_cli_create_with_a_word(server: WatchServer) -> None:
    result = run(
        server, "watches", "create", "marks", "--word", "ACME", "--threshold", "0.8",
        "--mode", "phonetic", "--filter", '{"class": 25}', "--callback", "https://x.test/h",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert server.last_body() == {
        "collection": "marks",
        "query": {"word": "ACME"},
        "threshold": 0.8,
        "mode": "phonetic",
        "filter": {"class": 25},
        "callback_url": "https://x.test/h",
    }
    assert f"id:           {WATCH_ID}" in result.stdout
    assert "callback_url: https://x.test/h" in result.stdout


def test_cli_create_with_an_image_cuts_it_in_the_listing(
    server: WatchServer, tmp_path: Path
) -> None:
    logo = tmp_path / "logo.png"
    logo.write_bytes(b"\x89PNG" + bytes(range(256)) * 4)
    result = run(server, "watches", "create", "marks", "--image", str(logo), "--threshold", "1")
    assert result.exit_code == 0, result.output
    sent = server.last_body()["query"]
    assert base64.b64decode(sent["image_b64"]) == logo.read_bytes()
    [query_line] = [line for line in result.stdout.splitlines() if line.startswith("query:")]
    assert "…" in query_line and len(query_line) < 100


def test_cli_create_with_a_json_query_prints_only_json(server: WatchServer) -> None:
    result = run(
        server, "watches", "create", "marks", "--query", '{"text": "bike"}',
        "--threshold", "0.5", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert server.last_body()["query"] == {"text": "bike"}
    assert json.loads(result.stdout) == server.watches[WATCH_ID]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--threshold", "0.5"], "give exactly one of --word, --image, --query"),
        (["--word", "A", "--query", "{}", "--threshold", "0.5"], "give exactly one of"),
        (["--word", "A"], "Missing option '--threshold'"),
        (["--word", "A", "--threshold", "1.5"], "1.5 is not in the range"),
        (["--query", "[1]", "--threshold", "0.5"], "--query: must be a JSON object"),
        (["--query", "{x", "--threshold", "0.5"], "--query: not valid JSON"),
        (["--word", "A", "--threshold", "0.5", "--filter", "1"], "--filter: must be a JSON"),
    ],
)
def test_cli_create_refuses_bad_options_with_exit_2(
    server: WatchServer, args: list[str], message: str
) -> None:
    result = run(server, "watches", "create", "marks", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert server.requests == []


def test_cli_server_errors_exit_2_with_the_message(server: WatchServer) -> None:
    def bad_request(request: httpx.Request) -> httpx.Response:
        message = "threshold: must be a number from 0 to 1"
        return httpx.Response(400, json={"error": {"code": "invalid_argument", "message": message}})

    context = CliContext(transport=httpx.MockTransport(bad_request))
    args = ["watches", "create", "marks", "--word", "A", "--threshold", "0.5"]
    result = CliRunner().invoke(cli, args, obj=context)
    assert result.exit_code == 2
    assert result.stderr == "error: invalid_argument: threshold: must be a number from 0 to 1\n"


def test_cli_get_and_delete(server: WatchServer) -> None:
    run(server, "watches", "create", "marks", "--word", "ACME", "--threshold", "0.8")
    shown = run(server, "watches", "get", WATCH_ID, "--json")
    assert shown.exit_code == 0 and json.loads(shown.stdout) == server.watches[WATCH_ID]
    deleted = run(server, "watches", "delete", WATCH_ID)
    assert deleted.exit_code == 0 and deleted.stdout == f"deleted watch {WATCH_ID}\n"
    missing = run(server, "watches", "get", WATCH_ID)
    assert missing.exit_code == 1
    assert missing.stderr.startswith("error: not_found: watch ")


def test_cli_notifications_table_and_json(server: WatchServer) -> None:
    run(server, "watches", "create", "marks", "--word", "ACME", "--threshold", "0.8")
    table = run(server, "watches", "notifications", WATCH_ID)
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["CREATED", "DOCUMENT", "SCORE", "DELIVERY"]
    assert lines[1].split()[1:] == ["T0", "0.9000", "delivered", "after", "3", "attempts"]
    assert lines[2].endswith("failed after 6 attempts: HTTP 500")
    assert lines[3].split()[1:] == ["T2", "0.8800", "none"]
    assert lines[4] == "3 of 3 notifications"

    paged = run(server, "watches", "notifications", WATCH_ID, "--offset", "2", "--json")
    assert json.loads(paged.stdout) == {"notifications": NOTES[2:], "total": 3}
    assert "offset=2&limit=100" in str(server.requests[-1].url)

    past = run(server, "watches", "notifications", WATCH_ID, "--offset", "5")
    assert past.stdout == "no notifications (total 3)\n"
    too_many = run(server, "watches", "notifications", WATCH_ID, "--limit", "1001")
    assert too_many.exit_code == 2
