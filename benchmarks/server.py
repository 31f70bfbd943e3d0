"""Start and stop a real ``ipsim serve`` for a benchmark, and talk to it over plain HTTP.

The server runs as its own process on free loopback ports, exactly as an operator starts
it; benchmarks measure it from outside. Its stderr goes to a log file so a full pipe can
never stall it, and the log's tail is shown when it fails to start.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

READY = re.compile(r"^ipsim ready http=(\S+) grpc=(\S+)$")
STOP_TIMEOUT_S = 60.0


class ServerFailed(RuntimeError):
    """The server exited or never printed its ready line."""


@dataclass
class ServerProcess:
    """A running ``ipsim serve``: its process, addresses and log file."""

    process: subprocess.Popen[str]
    http: str
    grpc: str
    log: Path

    @property
    def url(self) -> str:
        """Base URL of the HTTP API."""
        return f"http://{self.http}"

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """SIGTERM, wait for the clean exit; kill it if it does not come in ``timeout``."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return int(self.process.returncode)


def _serve_command() -> list[str]:
    script = Path(sys.executable).with_name("ipsim")
    if script.exists():
        return [str(script), "serve"]
    return [sys.executable, "-c", "from ipsim.cli import main; main()", "serve"]


def start_server(
    data: Path, env: Mapping[str, str] | None = None, *, timeout: float = 300.0
) -> ServerProcess:
    """Run ``ipsim serve --data DATA`` on free loopback ports and wait for its ready line."""
    data.mkdir(parents=True, exist_ok=True)
    log = data.parent / f"{data.name}.server.log"
    command = [*_serve_command(), "--data", str(data), "--http", "127.0.0.1:0"]
    command += ["--grpc", "127.0.0.1:0"]
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    with log.open("w") as err:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=err, text=True, env=environment
        )
    found: list[re.Match[str]] = []

    def read_stdout() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            match = READY.match(line.strip())
            if match and not found:
                found.append(match)
        # Keep draining after the ready line so the server never blocks on a full pipe.

    threading.Thread(target=read_stdout, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not found and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if not found:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        tail = log.read_text(errors="replace")[-3000:]
        raise ServerFailed(f"ipsim serve did not become ready (exit {process.returncode}):\n{tail}")
    return ServerProcess(process, found[0].group(1), found[0].group(2), log)


@contextmanager
def running_server(
    data: Path, env: Mapping[str, str] | None = None, *, timeout: float = 300.0
) -> Iterator[ServerProcess]:
    """:func:`start_server` for the length of a ``with`` block, stopped cleanly after."""
    server = start_server(data, env, timeout=timeout)
    try:
        yield server
    finally:
        server.stop()


def fresh_data_dir(path: Path) -> Path:
    """An empty data directory at ``path`` (anything there from an earlier run is removed)."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def _check(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise RuntimeError(
            f"{response.request.method} {response.request.url} -> {response.status_code}: "
            f"{response.text[:500]}"
        )
    return response.json() if response.content else None


def create_text_collection(
    client: httpx.Client, name: str, index: Mapping[str, Any] | None = None
) -> None:
    """``POST /v1/collections`` for a text collection (flat index unless told otherwise)."""
    body = {"name": name, "modality": "text", "index": dict(index or {"type": "flat"})}
    _check(client.post("/v1/collections", json=body))


def upsert_texts(
    client: httpx.Client,
    name: str,
    documents: Sequence[tuple[str, str, Mapping[str, Any]]],
    *,
    batch: int = 256,
) -> None:
    """``PUT …/documents`` of ``(id, text, fields)`` in batches; searchable on return."""
    for start in range(0, len(documents), batch):
        chunk = [
            {"id": doc_id, "content": {"text": text}, "fields": dict(fields)}
            for doc_id, text, fields in documents[start : start + batch]
        ]
        _check(client.put(f"/v1/collections/{name}/documents", json={"documents": chunk}))


def search_text(
    client: httpx.Client, name: str, text: str, k: int, **extra: Any
) -> list[dict[str, Any]]:
    """``POST …/search`` with a text query; the hits (``id``, ``score``, ``fields``)."""
    body = {"query": {"text": text}, "k": k, **extra}
    hits: list[dict[str, Any]] = _check(client.post(f"/v1/collections/{name}/search", json=body))[
        "hits"
    ]
    return hits


def metric_total(client: httpx.Client, name: str) -> float:
    """Sum of one Prometheus sample (``ipsim_batch_size_count`` …) over all its labels."""
    text = client.get("/metrics").text
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        sample, _, value = line.rpartition(" ")
        if sample.split("{", 1)[0] == name:
            total += float(value)
    return total
