"""`ipsim serve` in cluster mode against a real local Ray cluster (a head and a worker).

A 3-shard text collection on the Ray-backed server answers over HTTP exactly as the same
collection on the ordinary e2e server; a shard actor killed from outside leaves searches
answering (200, with `missing_shards` naming it) until the server restores it, after which
the answers are complete and equal again.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

from ipsim.engine.ray_cluster import NAMESPACE  # noqa: E402

from .conftest import ServerProcess, start_server  # noqa: E402

DEMO = Path(__file__).resolve().parents[2] / "demo" / "patents.jsonl"
QUERIES = ["semiconductor memory device", "wireless network scheduling", "display panel"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    started = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 1,
            "temp_dir": str(tmp_path_factory.mktemp("ray")),
            "include_dashboard": False,
        },
    )
    started.add_node(num_cpus=1)
    started.wait_for_nodes()
    try:
        yield started
    finally:
        if ray.is_initialized():
            ray.shutdown()
        started.shutdown()


@pytest.fixture(scope="module")
def ray_server(
    cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    process = start_server(
        tmp_path_factory.mktemp("ray-data"), env={"IPSIM_RAY_ADDRESS": cluster.address}
    )
    yield process
    if process.process.poll() is None:
        process.terminate()


def fill(url: str, name: str) -> None:
    rows = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines()][:60]
    with httpx.Client(base_url=url, timeout=120) as http:
        body = {"name": name, "modality": "text", "index": {"type": "flat"}, "shards": 3}
        assert http.post("/v1/collections", json=body).status_code in (200, 201)
        assert http.put(f"/v1/collections/{name}/documents", json={"documents": rows}).is_success


def answers(url: str, name: str) -> list[Any]:
    out = []
    with httpx.Client(base_url=url, timeout=60) as http:
        for text in QUERIES:
            response = http.post(
                f"/v1/collections/{name}/search", json={"query": {"text": text}, "k": 8}
            )
            assert response.status_code == 200, response.text
            body = response.json()
            out.append(
                (
                    [(h["id"], round(h["score"], 5)) for h in body["hits"]],
                    body["total"],
                    body.get("missing_shards"),
                )
            )
    return out


def test_cluster_mode_answers_as_one_process_and_survives_a_dead_shard(
    cluster: Cluster, ray_server: ServerProcess, server: ServerProcess
) -> None:
    fill(ray_server.url, "ray-patents")
    fill(server.url, "ray-compare")
    expected = answers(server.url, "ray-compare")
    assert answers(ray_server.url, "ray-patents") == expected
    info = httpx.get(f"{ray_server.url}/v1/collections/ray-patents").json()
    assert len(info["index"]["ray"]["nodes"]) == 3 and info["index"]["ray"]["missing"] == []

    ray.init(address=cluster.address, namespace=NAMESPACE, log_to_driver=False)
    shards = [a for a in ray.util.list_named_actors() if str(a).startswith("ipsim-shard-")]
    assert len(shards) == 3
    ray.kill(ray.get_actor(shards[0]))

    saw_missing = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = answers(ray_server.url, "ray-patents")  # every search answers 200
        missing = [m for _, _, m in found if m]
        saw_missing = saw_missing or bool(missing)
        if not missing and found == expected:
            break
        time.sleep(0.2)
    assert found == expected, "the shard was not restored within 60 s"
    # Whether a search landed while the shard was down depends on timing; when one did,
    # it answered 200 with the shard named (checked in `answers` and above).
    assert not saw_missing or all(m is None for _, _, m in found)


def test_an_unreachable_cluster_stops_serve_with_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    serve = [sys.executable, "-c", "from ipsim.cli import main; main()", "serve"]
    done = subprocess.run(
        [*serve, "--data", str(tmp_path), "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0"],
        env={**os.environ, "IPSIM_RAY_ADDRESS": f"127.0.0.1:{port}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert f"ipsim: cannot connect to the Ray cluster at 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr
