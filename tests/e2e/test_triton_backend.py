"""The remote (Triton) encoder backend, pointed at a second ipsim server's KServe v2 endpoint.

Server A is a normal server. Servers B (``IPSIM_TRITON_URL=http://A``) and C
(``IPSIM_TRITON_URL=grpc://A``) run no text model of their own: every text they index or
search is encoded by A through the v2 protocol. The same documents and queries must give
the same hits and scores on all three, and B's vectors (read back through B's own v2
endpoint) must equal the in-process encoder's. With A gone, B and C answer ``unavailable``
(503), never an internal error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import tritonclient.http as triton_http

from ipsim.clients import Client
from ipsim.clients.errors import Unavailable
from ipsim.models.registry import bundled_text_model_dir
from ipsim.models.text import TextEncoder

from .conftest import ServerProcess, start_server

DEMO = Path(__file__).resolve().parents[2] / "demo" / "patents.jsonl"
MODEL = "all-MiniLM-L6-v2"
QUERIES = ["semiconductor memory device", "display panel", "a method of making a battery"]
LONG = " ".join(f"claim {i}: a rollable display with a flexible substrate" for i in range(80))


@dataclass
class Servers:
    a: ServerProcess
    remote: dict[str, ServerProcess]
    """B and C by the protocol they reach A with."""


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    root = tmp_path_factory.mktemp("triton-backend")
    a = start_server(root / "a")
    remote = {
        "http": start_server(root / "b", env={"IPSIM_TRITON_URL": f"http://{a.http}"}),
        "grpc": start_server(root / "c", env={"IPSIM_TRITON_URL": f"grpc://{a.grpc}"}),
    }
    rows = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines()][:60]
    rows.append({"id": "long", "content": {"text": LONG}, "fields": {}})  # several chunks
    for server in (a, *remote.values()):
        with Client(server.url) as client:
            client.create_collection("patents", "text")
            assert client.upsert("patents", rows) == len(rows)
    yield Servers(a, remote)
    for server in (a, *remote.values()):
        if server.process.poll() is None:
            server.terminate()


def _hits(server: ServerProcess, query: str) -> list[tuple[str, float]]:
    with Client(server.url) as client:
        answer = client.search("patents", {"text": query}, k=10)
    return [(h["id"], h["score"]) for h in answer["hits"]]


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_remote_encoded_collections_answer_as_the_local_one(
    servers: Servers, protocol: str
) -> None:
    server = servers.remote[protocol]
    with Client(server.url) as client:
        info = client.get_collection("patents")
    assert (info["model"], info["dim"], info["count"]) == (MODEL, 384, 61)
    for query in [*QUERIES, LONG]:
        ours, theirs = _hits(server, query), _hits(servers.a, query)
        assert [i for i, _ in ours] == [i for i, _ in theirs]
        np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], atol=1e-5)


def test_vectors_through_the_remote_equal_the_in_process_encoder(servers: Servers) -> None:
    texts = [*QUERIES, "Способ получения полимерной плёнки", "x"]
    local = TextEncoder(MODEL, bundled_text_model_dir()).encode(texts)
    client = triton_http.InferenceServerClient(servers.remote["http"].http)
    tensor = triton_http.InferInput("TEXT", [len(texts)], "BYTES")
    tensor.set_data_from_numpy(np.array([t.encode() for t in texts], dtype=np.object_))
    rows = client.infer(MODEL, [tensor]).as_numpy("EMBEDDING")
    assert rows is not None and rows.shape == (len(texts), 384)
    np.testing.assert_allclose(rows, local, atol=1e-5)


def test_without_the_remote_answers_are_unavailable(servers: Servers) -> None:
    # Runs last in this module: it stops A.
    servers.a.terminate()
    for server in servers.remote.values():
        with Client(server.url) as client:
            with pytest.raises(Unavailable, match="remote encoder 'all-MiniLM-L6-v2'") as caught:
                client.search("patents", {"text": "a brand new query"})
            assert caught.value.status == 503
            with pytest.raises(Unavailable):
                client.upsert("patents", [{"id": "n1", "content": {"text": "new"}}])
            assert client.get_collection("patents")["count"] == 61
        assert "Traceback" not in "".join(server.stderr)
