"""Re-indexing against the real server: the CLI's progress bar, searches that never fail
across the switch, a job killed with the server (kill -9) that resumes on restart, job
state after a restart, rollback, and the errors of the job routes."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from ipsim.benchmarks.datasets import load_patent_titles
from ipsim.models.registry import bundled_text_model_dir

from .conftest import ServerProcess, run_cli, start_server

TITLES = load_patent_titles()[:200]
DOCS = [
    {
        "id": t.application_number,
        "content": {"text": t.title},
        "fields": {"tc": t.technology_center},
    }
    for t in TITLES
]


def _wait(http: httpx.Client, job_id: str, states: tuple[str, ...], timeout: float = 180) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        job = http.get(f"/v1/jobs/{job_id}").json()
        if job["state"] in states or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def _search_loop(server: ServerProcess, stop: threading.Event, statuses: list[int]) -> None:
    query = {"query": {"text": TITLES[0].title}, "k": 5}
    with httpx.Client(base_url=server.url, timeout=60) as http:
        while not stop.is_set():
            answer = http.post("/v1/collections/t/search", json=query)
            statuses.append(answer.status_code)
            if answer.status_code == 200:
                assert answer.json()["hits"][0]["id"] == TITLES[0].application_number


def test_reindex_through_the_cli_kill_9_resume_and_rollback(tmp_path: Path) -> None:
    data, state = tmp_path / "data", tmp_path / "cli"
    other_model = tmp_path / "other-model"
    shutil.copytree(bundled_text_model_dir(), other_model)
    server = start_server(data)
    with httpx.Client(base_url=server.url, timeout=120) as http:
        http.post(
            "/v1/collections", json={"name": "t", "modality": "text", "index": {"type": "flat"}}
        )
        assert http.put("/v1/collections/t/documents", json={"documents": DOCS}).status_code == 200

        # 1. The CLI follows the job with a progress bar; a searcher sees only 200s.
        statuses: list[int] = []
        stop = threading.Event()
        searcher = threading.Thread(target=_search_loop, args=(server, stop, statuses))
        searcher.start()
        cli = run_cli(server, "reindex", "t", "--index", "hnsw", "--poll", "0.1", state=state)
        time.sleep(0.5)
        stop.set()
        searcher.join()
        assert cli.returncode == 0, cli.stderr
        assert "reindex t" in cli.stderr and f"{len(DOCS)}/{len(DOCS)}" in cli.stderr
        assert "state:" in cli.stdout and "done" in cli.stdout
        assert len(statuses) > 5 and set(statuses) == {200}
        assert http.get("/v1/collections/t").json()["index"]["type"] == "hnsw"
        first = http.get("/v1/jobs").json()["jobs"][0]
        assert (first["state"], first["from_version"], first["to_version"]) == ("done", 0, 1)

        # 2. Errors: a bad spec names its field, a second job is a conflict.
        bad = http.post("/v1/collections/t/reindex", json={"index": {"type": "hnsw", "M": 1}})
        assert bad.status_code == 400 and "index.M" in bad.json()["error"]["message"]
        bad = http.post("/v1/collections/t/reindex", json={"shards": 2})
        assert bad.status_code == 400 and "shards" in bad.json()["error"]["message"]
        assert http.post("/v1/collections/nope/reindex", json={}).status_code == 404
        assert http.get("/v1/jobs/nope").status_code == 404
        cli = run_cli(server, "reindex", "t", "--rollback", "--model", "m", state=state)
        assert cli.returncode == 2 and "--rollback takes neither" in cli.stderr

        # 3. kill -9 while a job copies into another model; it resumes on restart.
        started = http.post("/v1/collections/t/reindex", json={"model": str(other_model)})
        assert started.status_code == 202
        job = started.json()["job"]
        assert http.post("/v1/collections/t/rollback").status_code == 409
        _wait(http, job["id"], ("running", "switching", "done"))
    server.kill()
    saved = json.loads((data / "jobs" / f"{job['id']}.json").read_text())
    assert saved["state"] in ("queued", "running"), "the job finished before the kill"

    server = start_server(data)
    try:
        with httpx.Client(base_url=server.url, timeout=120) as http:
            done = _wait(http, job["id"], ("done", "failed"))
            assert done["state"] == "done", done["error"]
            info = http.get("/v1/collections/t").json()
            assert (info["model"], info["count"]) == (str(other_model.resolve()), len(DOCS))
            assert http.get(f"/v1/jobs/{first['id']}").json()["state"] == "done"
            hits = http.post(
                "/v1/collections/t/search", json={"query": {"text": TITLES[5].title}, "k": 1}
            ).json()["hits"]
            assert hits[0]["id"] == TITLES[5].application_number

            # 4. Rollback through the CLI returns to the MiniLM version (hnsw).
            cli = run_cli(server, "reindex", "t", "--rollback", "--json", state=state)
            assert cli.returncode == 0, cli.stderr
            assert json.loads(cli.stdout)["kind"] == "rollback"
            info = http.get("/v1/collections/t").json()
            assert (info["model"], info["index"]["type"]) == ("all-MiniLM-L6-v2", "hnsw")
    finally:
        server.terminate()
