"""Result sets survive a kill -9 of the real server: saved through the SDK from a real search,
read back after a restart on the same data directory through the SDK and the CLI, even with
the searched collection gone."""

from __future__ import annotations

import json
from pathlib import Path

from ipsim.clients.http import Client

from .conftest import run_cli, start_server

KEY = "examiner-key"
ADMIN_KEY = "curator-key"
DOCS = [
    {"id": "EP1", "content": {"text": "a folding bicycle frame with a hinge"}, "fields": {"n": 1}},
    {"id": "EP2", "content": {"text": "a bicycle saddle with springs"}, "fields": {"n": 2}},
    {"id": "EP3", "content": {"text": "a method of brewing coffee"}, "fields": {"n": 3}},
]


def test_a_saved_result_set_survives_a_killed_server(tmp_path: Path) -> None:
    data = tmp_path / "data"
    keys = tmp_path / "keys"
    keys.write_text(f"{KEY} write name=examiner\n{ADMIN_KEY} admin\n")
    env = {"IPSIM_API_KEYS": str(keys)}
    server = start_server(data, env=env)
    try:
        with Client(server.url, api_key=ADMIN_KEY, timeout=120) as admin:
            admin.create_collection("patents", "text")
            admin.upsert("patents", DOCS)
        with Client(server.url, api_key=KEY, timeout=60) as client:
            search = {"collection": "patents", "query": {"text": "foldable bike"}, "k": 2}
            answer = client.search("patents", search["query"], k=2)
            saved = client.create_result_set(
                search, answer["hits"], name="Bikes", tags=["novelty"], comment="first pass"
            )
            saved = client.update_result_set(
                saved["id"],
                hit_tags={"patents/EP1": ["closest"]},
                hit_comments={"patents/EP1": "hinge"},
            )
        with Client(server.url, api_key=ADMIN_KEY, timeout=60) as admin:
            # The set keeps its hits without the collection (and the restart loads no model).
            admin.delete_collection("patents")
    finally:
        server.kill()  # no shutdown: what was acknowledged must already be on disk

    assert saved["owner"] == "examiner"
    assert [hit["id"] for hit in saved["hits"]] == [hit["id"] for hit in answer["hits"]]
    assert saved["hits"][0]["id"] == "EP1"

    again = start_server(data, env=env)
    try:
        with Client(again.url, api_key=KEY, timeout=60) as client:
            assert client.get_result_set(saved["id"]) == saved
            listed = client.list_result_sets(tag="novelty")
        assert [s["id"] for s in listed["result_sets"]] == [saved["id"]]
        state = tmp_path / "cli-state"
        cli = ("--api-key", KEY, "result-sets")
        shown = run_cli(again, *cli, "show", saved["id"], "--json", state=state)
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout) == saved
        tagged = run_cli(again, *cli, "tag", saved["id"], "Reviewed", state=state)
        assert tagged.returncode == 0, tagged.stderr
        assert tagged.stdout.strip() == f"tags of {saved['id']}: novelty, reviewed"

        answer_file = tmp_path / "answer.json"
        answer_file.write_text(json.dumps(answer))
        copied = run_cli(
            again, *cli, "save", "patents", "--text", "foldable bike", "-k", "2",
            "--from-json", str(answer_file), "--tag", "cli", "--json", state=state,
        )  # fmt: skip
        assert copied.returncode == 0, copied.stderr
        copy = json.loads(copied.stdout)
        assert copy["search"] == search and copy["tags"] == ["cli"]
        assert [h["id"] for h in copy["hits"]] == [h["id"] for h in saved["hits"]]
        listed_cli = run_cli(again, *cli, "list", "--tag", "cli", state=state)
        assert copy["id"] in listed_cli.stdout and saved["id"] not in listed_cli.stdout
        noted = run_cli(
            again, *cli, "comment", copy["id"], "2 of 2", "--hit", "patents/EP1", state=state
        )
        assert noted.stdout.strip() == "commented on patents/EP1", noted.stderr
        deleted = run_cli(again, *cli, "delete", copy["id"], state=state)
        assert deleted.returncode == 0, deleted.stderr
        gone = run_cli(again, *cli, "show", copy["id"], state=state)
        assert gone.returncode == 1 and "not_found" in gone.stderr
    finally:
        assert again.terminate() == 0
