"""Process lifecycle: SIGTERM exits 0 and keeps data; kill -9 mid-ingest loses no acknowledged
document and duplicates none; API keys with scopes."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx

from .conftest import start_server


def _docs(start: int, count: int) -> list[dict[str, object]]:
    return [
        {
            "id": f"doc-{i}",
            "content": {"text": f"apparatus number {i} for converting energy"},
            "fields": {"n": i},
        }
        for i in range(start, start + count)
    ]


def test_sigterm_flushes_and_exits_zero_then_data_is_back(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    with httpx.Client(base_url=server.url, timeout=60) as http:
        http.post("/v1/collections", json={"name": "keep", "modality": "text"})
        assert (
            http.put("/v1/collections/keep/documents", json={"documents": _docs(0, 20)}).status_code
            == 200
        )
    assert server.terminate() == 0
    again = start_server(tmp_path)
    try:
        with httpx.Client(base_url=again.url, timeout=60) as http:
            assert http.get("/v1/collections/keep").json()["count"] == 20
            assert http.get("/v1/collections/keep/documents/doc-7").json()["fields"] == {"n": 7}
    finally:
        again.terminate()


def test_kill_9_during_ingest_keeps_every_acknowledged_document(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    acknowledged: list[str] = []
    sent: set[str] = set()
    stop = threading.Event()

    def ingest() -> None:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            http.post("/v1/collections", json={"name": "crash", "modality": "text"})
            start = 0
            while not stop.is_set():
                batch = _docs(start, 16)
                sent.update(str(d["id"]) for d in batch)
                try:
                    answer = http.put("/v1/collections/crash/documents", json={"documents": batch})
                except httpx.HTTPError:
                    return
                if answer.status_code == 200:
                    acknowledged.extend(str(d["id"]) for d in batch)
                start += 16

    worker = threading.Thread(target=ingest)
    worker.start()
    while len(acknowledged) < 160 and worker.is_alive():
        threading.Event().wait(0.05)
    server.kill()  # SIGKILL: no flush, no snapshot
    stop.set()
    worker.join(30)
    assert len(acknowledged) >= 160

    again = start_server(tmp_path)
    try:
        with httpx.Client(base_url=again.url, timeout=60) as http:
            count = http.get("/v1/collections/crash").json()["count"]
            assert len(acknowledged) <= count <= len(sent)  # nothing lost, nothing invented
            for doc_id in acknowledged[:: max(1, len(acknowledged) // 40)] + acknowledged[-16:]:
                assert http.get(f"/v1/collections/crash/documents/{doc_id}").status_code == 200
            hits = http.post(
                "/v1/collections/crash/search",
                json={"query": {"text": "apparatus for converting energy"}, "k": count},
            ).json()["hits"]
            ids = [h["id"] for h in hits]
            assert len(ids) == len(set(ids)) == count  # no document twice
    finally:
        again.terminate()


def test_api_keys_and_scopes(tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("reader-key read\nadmin-key admin  # ops team\n")
    server = start_server(tmp_path / "data", env={"IPSIM_API_KEYS": str(keys)})
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            assert http.get("/healthz").status_code == 200
            assert http.get("/metrics").status_code == 200
            missing = http.get("/v1/collections")
            assert (
                missing.status_code == 401 and missing.json()["error"]["code"] == "unauthenticated"
            )
            wrong = http.get("/v1/collections", headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
            reader = {"Authorization": "Bearer reader-key"}
            assert http.get("/v1/collections", headers=reader).status_code == 200
            denied = http.post(
                "/v1/collections", json={"name": "a", "modality": "text"}, headers=reader
            )
            assert (
                denied.status_code == 403 and denied.json()["error"]["code"] == "permission_denied"
            )
            admin = {"Authorization": "Bearer admin-key"}
            assert (
                http.post(
                    "/v1/collections", json={"name": "a", "modality": "text"}, headers=admin
                ).status_code
                == 201
            )
    finally:
        server.terminate()
