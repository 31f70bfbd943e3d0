"""Every protected route, over HTTP and gRPC, refuses a missing key, a wrong key and a key
without the route's scope, in the CONTRACT's error shape; keys never reach the server's log.

The HTTP routes are taken from the server's own OpenAPI document, so a route added later is
checked without editing this file. Path parameters are filled with placeholder names: the key
is checked before anything is looked up or validated, so each answer is about the key only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest

from ipsim.proto import search_pb2, search_pb2_grpc

from .conftest import ServerProcess, start_server

KEYS = {"read": "reader-3f1c9a", "write": "writer-77b2e0", "admin": "admin-c0ffee51"}
WRONG = "no-such-key-5d8e2a"
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/v1/limits"),
    ("GET", "/v1/proto/search.proto"),
    ("GET", "/v2"),
    ("GET", "/v2/health/live"),
    ("GET", "/v2/health/ready"),
}
"""Routes that answer without a key: liveness, readiness, metrics (KServe's too), the upload
limits and the proto (like ``/openapi.json``, a description of the API, not data)."""
READ_POSTS = {
    "/v1/search",
    "/v1/collections/{name}/search",
    "/v2/models/{name}/infer",
    "/v2/models/{name}/versions/{version}/infer",
    "/v2/repository/index",
    "/v1/collections/{name}/depict",
    "/v1/bi/query",
}
"""POST routes that only read (searches, inference, drawings): the read scope is enough."""
ADMIN_GETS = {"/v1/jobs", "/v1/jobs/{job_id}"}
"""Reads that need ``admin``: re-index jobs are an administrator's (they start with one)."""
RANK = {"read": 0, "write": 1, "admin": 2}


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("auth")
    keys = root / "keys"
    keys.write_text("".join(f"{key} {scope} name={scope}er\n" for scope, key in KEYS.items()))
    proc = start_server(root / "data", env={"IPSIM_API_KEYS": str(keys)})
    yield proc
    if proc.process.poll() is None:
        proc.terminate()


def _operations(server: ServerProcess) -> list[tuple[str, str]]:
    schema = httpx.get(f"{server.url}/openapi.json", timeout=30)
    assert schema.status_code == 200  # the schema itself is public: it holds no data
    paths: dict[str, dict[str, Any]] = schema.json()["paths"]
    return [
        (method.upper(), path)
        for path, item in paths.items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    ]


@dataclass
class Answer:
    status: int
    headers: httpx.Headers
    body: Any


def _call(server: ServerProcess, method: str, path: str, key: str | None) -> Answer:
    """The status, headers and (for errors) JSON body; a stream (server-sent events) is closed
    once its headers are in."""
    url = server.url + path.replace("{", "").replace("}", "")  # {name} → "name"
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = b"{}" if method in ("POST", "PUT", "PATCH") else None
    if body is not None:
        headers["Content-Type"] = "application/json"
    with httpx.stream(method, url, headers=headers, content=body, timeout=60) as answer:
        if answer.status_code < 400:
            return Answer(answer.status_code, answer.headers, None)
        return Answer(answer.status_code, answer.headers, json.loads(answer.read()))


def _refused(answer: Answer, status: int, code: str, where: str) -> None:
    """Refused with ``status`` in the CONTRACT's error shape, or under ``/v2`` in the KServe v2
    protocol's own (``{"error": message}``), which inference clients parse."""
    assert answer.status == status, f"{where}: {answer.status} {answer.body}"
    if where.split()[1].startswith("/v2"):
        assert list(answer.body) == ["error"] and isinstance(answer.body["error"], str), where
        assert answer.body["error"], where
        return
    assert answer.body == {"error": {"code": code, "message": answer.body["error"]["message"]}}
    assert answer.body["error"]["message"], where


def _expected_scopes(method: str, path: str) -> set[str]:
    """``read`` for what only reads, ``admin`` for job reads, write or admin for what changes
    state."""
    if path in ADMIN_GETS:
        return {"admin"}
    return {"read"} if method == "GET" or path in READ_POSTS else {"write", "admin"}


def _needed_scope(server: ServerProcess, method: str, path: str) -> str:
    """The least scope whose key gets past the key check (anything but 401/403)."""
    for scope in ("read", "write", "admin"):
        if _call(server, method, path, KEYS[scope]).status not in (401, 403):
            return scope
    raise AssertionError(f"{method} {path}: even the admin key is refused")


def test_every_http_route_checks_the_key_and_its_scope(keyed: ServerProcess) -> None:
    operations = _operations(keyed)
    assert len(operations) > 60  # the whole API, not a few routes
    assert set(operations) >= PUBLIC
    needed: dict[tuple[str, str], str] = {}
    for method, path in operations:
        where = f"{method} {path}"
        if (method, path) in PUBLIC:
            assert _call(keyed, method, path, None).status not in (401, 403), where
            continue
        missing = _call(keyed, method, path, None)
        _refused(missing, 401, "unauthenticated", f"{where} without a key")
        assert missing.headers["www-authenticate"] == "Bearer"
        _refused(_call(keyed, method, path, WRONG), 401, "unauthenticated", f"{where} wrong key")
        scope = needed[(method, path)] = _needed_scope(keyed, method, path)
        for lower in ("read", "write"):
            if RANK[lower] < RANK[scope]:
                answer = _call(keyed, method, path, KEYS[lower])
                _refused(answer, 403, "permission_denied", f"{where} with a {lower} key")
    # what changes state needs at least `write`; what only reads takes `read`
    wrong = [
        f"{method} {path} takes a {scope} key"
        for (method, path), scope in needed.items()
        if scope not in _expected_scopes(method, path)
    ]
    assert wrong == [], wrong
    assert needed[("POST", "/v1/collections")] == "admin"
    assert needed[("DELETE", "/v1/collections/{name}")] == "admin"
    # no key, right or wrong, in the server's log
    log = "".join(keyed.stderr)
    for key in (*KEYS.values(), WRONG):
        assert key not in log


GRPC_SCOPES = {
    "CreateCollection": "admin",
    "DeleteCollection": "admin",
    "Upsert": "write",
    "DeleteDocument": "write",
    "CreateWatch": "write",
    "DeleteWatch": "write",
    "ListCollections": "read",
    "GetCollection": "read",
    "GetDocument": "read",
    "Search": "read",
    "SearchMany": "read",
    "SearchStream": "read",
    "GetWatch": "read",
    "ListNotifications": "read",
}


def _rpc(stub: Any, name: str, key: str | None) -> grpc.StatusCode:
    """Call ``name`` with an empty request; the status code it ends with."""
    metadata = (("authorization", f"Bearer {key}"),) if key else ()
    method = search_pb2.DESCRIPTOR.services_by_name["SearchService"].methods_by_name[name]
    request = getattr(search_pb2, method.input_type.name)()
    call = getattr(stub, name)
    try:
        if method.client_streaming and method.server_streaming:
            for _ in call(iter([request]), metadata=metadata, timeout=60):
                pass
        elif method.client_streaming:
            call(iter([request]), metadata=metadata, timeout=60)
        else:
            call(request, metadata=metadata, timeout=60)
    except grpc.RpcError as exc:
        return exc.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


def test_every_grpc_method_checks_the_key_and_its_scope(keyed: ServerProcess) -> None:
    service = search_pb2.DESCRIPTOR.services_by_name["SearchService"]
    assert set(service.methods_by_name) == set(GRPC_SCOPES)  # a new RPC must be added here
    with grpc.insecure_channel(keyed.grpc) as channel:
        stub = search_pb2_grpc.SearchServiceStub(channel)
        for name, scope in GRPC_SCOPES.items():
            assert _rpc(stub, name, None) == grpc.StatusCode.UNAUTHENTICATED, name
            assert _rpc(stub, name, WRONG) == grpc.StatusCode.UNAUTHENTICATED, name
            for lower in ("read", "write"):
                if RANK[lower] < RANK[scope]:
                    code = _rpc(stub, name, KEYS[lower])
                    assert code == grpc.StatusCode.PERMISSION_DENIED, (name, lower)
            allowed = _rpc(stub, name, KEYS[scope])
            assert allowed not in (
                grpc.StatusCode.UNAUTHENTICATED,
                grpc.StatusCode.PERMISSION_DENIED,
            ), name


def test_without_keys_a_public_address_needs_insecure(tmp_path: Path) -> None:
    command = [sys.executable, "-c", "from ipsim.cli import main; main()", "serve"]
    address = ["--http", "0.0.0.0:0", "--grpc", "127.0.0.1:0"]
    refused = subprocess.run(
        [*command, "--data", str(tmp_path / "a"), *address],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "IPSIM_API_KEYS"},
    )
    assert refused.returncode == 2
    assert "refusing to listen on 0.0.0.0 without API keys" in refused.stderr
    assert "--insecure" in refused.stderr and "ipsim ready" not in refused.stdout
    proc = start_server(tmp_path / "b", *address, "--insecure")
    try:
        assert proc.http.startswith("0.0.0.0:")
        port = proc.http.rsplit(":", 1)[1]
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30).status_code == 200
    finally:
        proc.terminate()
