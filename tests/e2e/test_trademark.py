"""The trademark modality through the real server: HTTP, gRPC, SDK, CLI, and watch callbacks."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.data import shared_data

from ipsim.clients import Client, GrpcClient, NotFound
from ipsim.clients.errors import BadRequest

from .conftest import ServerProcess, run_cli

ICONS = shared_data("trademarks", "icons", "tango")
MARKS = [
    {
        "id": "prosto",
        "content": {"word": "про сто"},
        "fields": {"register": "ru", "nice_classes": [30]},
    },
    {"id": "pro100", "content": {"word": "PRO100"}, "fields": {"register": "international"}},
    {"id": "tea", "content": {"word": "tea"}, "fields": {"register": "ru", "nice_classes": [30]}},
    {"id": "kvas", "content": {"word": "Квас"}, "fields": {"register": "well_known"}},
]


@pytest.fixture(scope="module")
def marks(server: ServerProcess) -> str:
    if not ICONS.is_dir():
        pytest.skip("the shared trademark data is not here")
    docs = list(MARKS)
    for name in ("devices/printer.png", "places/user-home.png", "apps/internet-web-browser.png"):
        image = base64.b64encode((ICONS / name).read_bytes()).decode()
        docs.append(
            {"id": name, "content": {"image_b64": image}, "fields": {"vienna_codes": ["16.01.01"]}}
        )
    with Client(server.url) as client:
        info = client.create_collection("e2e-marks", "trademark")
        assert info["modality"] == "trademark"
        client.upsert("e2e-marks", docs)
    return "e2e-marks"


def test_word_modes_over_http_and_grpc(server: ServerProcess, marks: str) -> None:
    with Client(server.url) as http, GrpcClient(server.grpc) as rpc:
        for mode in ("phonetic", "all", "spelling", "semantic"):
            over_http = http.search(marks, {"word": "PRO100"}, k=2, mode=mode)
            over_grpc = rpc.search(marks, {"word": "PRO100"}, k=2, mode=mode)
            assert [h["id"] for h in over_http["hits"]] == [h["id"] for h in over_grpc["hits"]]
            assert over_http["hits"][0]["match"] == over_grpc["hits"][0]["match"]
        fused = http.search(marks, {"word": "PRO100"}, k=2)
        assert {h["id"] for h in fused["hits"]} == {"pro100", "prosto"}
        prosto = next(h for h in fused["hits"] if h["id"] == "prosto")
        assert "phonetic" in prosto["match"]["modes"]
        filtered = http.search(marks, {"word": "PRO100"}, filter={"nice_classes": 30}, k=5)
        assert filtered["hits"][0]["id"] == "prosto" and "pro100" not in [
            h["id"] for h in filtered["hits"]
        ]


def test_logo_search_and_bad_images(server: ServerProcess, marks: str) -> None:
    image = base64.b64encode((ICONS / "devices/printer.png").read_bytes()).decode()
    with Client(server.url) as client:
        answer = client.search(marks, {"image_b64": image}, k=1)
        assert answer["hits"][0]["id"] == "devices/printer.png"
        colour = client.search(marks, {"image_b64": image, "strategy": "colour"}, k=1)
        assert colour["hits"][0]["match"] == {"mode": "image", "strategy": "colour"}
    bmp = base64.b64encode(b"BM" + b"\0" * 60).decode()
    for query, field in (
        ({"image_b64": bmp}, "query.image_b64"),
        ({"word": "x", "strategy": "shape"}, "query.strategy"),
    ):
        bad = httpx.post(f"{server.url}/v1/collections/{marks}/search", json={"query": query})
        assert bad.status_code == 400 and bad.json()["error"]["message"].startswith(field)
    bad_doc = {
        "documents": [{"id": "n", "content": {"word": "n"}, "fields": {"nice_classes": [0]}}]
    }
    answer = httpx.put(f"{server.url}/v1/collections/{marks}/documents", json=bad_doc)
    assert answer.status_code == 400 and "nice_classes" in answer.json()["error"]["message"]


def test_cli_word_and_image_search(server: ServerProcess, marks: str, tmp_path: Path) -> None:
    state = tmp_path / "state"
    word = run_cli(server, "search", marks, "--word", "про сто", "--json", state=state)
    assert word.returncode == 0, word.stderr
    assert json.loads(word.stdout)["hits"][0]["id"] in ("prosto", "pro100")
    logo = run_cli(
        server,
        "search",
        marks,
        "--image",
        str(ICONS / "places/user-home.png"),
        "-k",
        "1",
        "--json",
        state=state,
    )
    assert logo.returncode == 0, logo.stderr
    assert json.loads(logo.stdout)["hits"][0]["id"] == "places/user-home.png"


class _Receiver:
    """A loopback HTTP endpoint that records every JSON body POSTed to it."""

    def __init__(self) -> None:
        bodies: list[dict[str, Any]] = []
        self.bodies = bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    found = _Receiver()
    yield found
    found.server.shutdown()


def test_a_watch_notifies_and_calls_back(
    server: ServerProcess, marks: str, receiver: _Receiver
) -> None:
    with Client(server.url) as client:
        watch = client.create_watch(
            marks, {"word": "Kvas"}, threshold=0.9, mode="phonetic", callback_url=receiver.url
        )
        client.upsert(marks, [{"id": "kvass", "content": {"word": "КВАС"}}])
        client.upsert(marks, [{"id": "other", "content": {"word": "Молоко"}}])
        page = client.watch_notifications(watch["id"])
        assert page["total"] == 1 and page["notifications"][0]["document_id"] == "kvass"
        deadline = time.monotonic() + 20
        while not receiver.bodies and time.monotonic() < deadline:
            time.sleep(0.05)
        assert receiver.bodies[0]["watch_id"] == watch["id"]
        assert receiver.bodies[0]["notification"]["document_id"] == "kvass"
        client.delete_watch(watch["id"])
        missing = httpx.get(f"{server.url}/v1/watches/{watch['id']}")
        assert missing.status_code == 404


def test_watches_over_grpc_match_http(server: ServerProcess, marks: str) -> None:
    with GrpcClient(server.grpc) as rpc, Client(server.url) as http:
        watch = rpc.create_watch(marks, {"word": "Moloko"}, threshold=0.95, mode="phonetic")
        assert http.get_watch(watch["id"]) == rpc.get_watch(watch["id"]) == watch
        rpc.upsert(marks, [{"id": "moloko", "content": {"word": "МОЛОКО"}}])
        over_grpc = rpc.watch_notifications(watch["id"])
        assert over_grpc == http.watch_notifications(watch["id"])
        assert [n["document_id"] for n in over_grpc["notifications"]] == ["moloko"]
        with pytest.raises(BadRequest) as bad:
            rpc.create_watch(marks, {"word": "x"}, threshold=1.5)
        assert "threshold" in str(bad.value)
        rpc.delete_watch(watch["id"])
        with pytest.raises(NotFound):
            rpc.get_watch(watch["id"])
