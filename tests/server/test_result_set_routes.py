"""/v1/result-sets over the real FastAPI app and a real SQLite file: owners from API keys,
who may do what, and every bad input a 400 that names its field."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ipsim.config import Settings
from ipsim.platform.database import database_url
from ipsim.platform.services import Platform
from ipsim.server.app import create_app
from ipsim.server.auth import ApiKeys

KEYS = """
alice-key write name=alice
bob-key   write name=bob
reader    read
boss-key  admin name=boss
plain-key write          # no name: identity from the key's hash
"""
BODY: dict[str, Any] = {
    "search": {"collection": "patents", "query": {"text": "folding bicycle"}, "k": 2},
    "hits": [
        {"id": "EP1", "score": 0.9, "fields": {"ipc": "B62K"}},
        {"id": "EP2", "score": 0.8, "fields": {}},
    ],
    "name": "Bicycles",
    "tags": ["Novelty"],
    "comment": "first pass",
}


class NoEngine:
    """The result-set routes never reach the engine."""

    ready = True


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Platform]:
    opened = Platform.open(database_url(None, tmp_path), tmp_path)
    yield opened
    opened.database.dispose()


@pytest.fixture
def keys(tmp_path: Path) -> ApiKeys:
    path = tmp_path / "keys"
    path.write_text(KEYS)
    return ApiKeys.load(path)


def client(store: Platform | None, keys: ApiKeys | None, key: str | None) -> TestClient:
    app = create_app(NoEngine(), Settings(), keys, store)  # type: ignore[arg-type]
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return TestClient(app, raise_server_exceptions=False, headers=headers)


def test_a_saved_set_is_owned_by_the_key_and_readable_by_its_link(
    store: Platform, keys: ApiKeys
) -> None:
    created = client(store, keys, "alice-key").post("/v1/result-sets", json=BODY)
    assert created.status_code == 201
    saved = created.json()
    assert saved["owner"] == "alice" and saved["link"] == f"/v1/result-sets/{saved['id']}"
    assert saved["search"] == BODY["search"] and saved["tags"] == ["novelty"]
    assert saved["hits"][0] == {
        "collection": "patents",
        "id": "EP1",
        "score": 0.9,
        "fields": {"ipc": "B62K"},
        "tags": [],
        "comments": [],
    }
    assert [(c["author"], c["text"]) for c in saved["comments"]] == [("alice", "first pass")]
    read = client(store, keys, "reader").get(saved["link"])
    assert read.status_code == 200 and read.json() == saved
    assert client(store, keys, None).get(saved["link"]).status_code == 401


def test_a_key_without_a_name_is_known_by_its_hash_never_itself(
    store: Platform, keys: ApiKeys
) -> None:
    saved = client(store, keys, "plain-key").post("/v1/result-sets", json=BODY)
    expected = "key-" + hashlib.sha256(b"plain-key").hexdigest()[:8]
    assert saved.json()["owner"] == expected
    assert "plain-key" not in saved.text


def test_with_auth_off_the_owner_is_anonymous(store: Platform) -> None:
    saved = client(store, None, None).post("/v1/result-sets", json=BODY)
    assert saved.status_code == 201 and saved.json()["owner"] == "anonymous"


def test_patch_needs_write_and_signs_comments_with_the_caller(
    store: Platform, keys: ApiKeys
) -> None:
    link = client(store, keys, "alice-key").post("/v1/result-sets", json=BODY).json()["link"]
    patch = {
        "tags": ["reviewed"],
        "remove_tags": ["novelty"],
        "comment": "agree",
        "hits": [{"collection": "designs", "id": "D9", "score": 0.3}],
        "hit_tags": {"patents/EP1": ["closest"]},
        "hit_comments": {"designs/D9": "same hinge"},
    }
    assert client(store, keys, "reader").patch(link, json=patch).status_code == 403
    answer = client(store, keys, "bob-key").patch(link, json=patch)
    assert answer.status_code == 200
    patched = answer.json()
    assert patched["owner"] == "alice" and patched["tags"] == ["reviewed"]
    assert [c["author"] for c in patched["comments"]] == ["alice", "bob"]
    assert patched["hits"][0]["tags"] == ["closest"]
    assert patched["hits"][2]["collection"] == "designs"
    assert [(c["author"], c["text"]) for c in patched["hits"][2]["comments"]] == [
        ("bob", "same hinge")
    ]


def test_only_the_owner_or_an_admin_may_delete(store: Platform, keys: ApiKeys) -> None:
    alice = client(store, keys, "alice-key")
    first = alice.post("/v1/result-sets", json=BODY).json()["link"]
    second = alice.post("/v1/result-sets", json=BODY).json()["link"]
    refused = client(store, keys, "bob-key").delete(first)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    assert client(store, keys, "reader").delete(first).status_code == 403
    assert client(store, keys, "boss-key").delete(first).status_code == 204
    assert alice.delete(second).status_code == 204
    assert alice.get(first).status_code == 404 and alice.get(second).status_code == 404


def test_listing_shows_your_own_sets_and_others_only_to_an_admin(
    store: Platform, keys: ApiKeys
) -> None:
    alice, bob = client(store, keys, "alice-key"), client(store, keys, "bob-key")
    ids = [
        alice.post("/v1/result-sets", json={**BODY, "tags": ["case-7"]}).json()["id"],
        alice.post("/v1/result-sets", json={**BODY, "tags": ["other"]}).json()["id"],
        bob.post("/v1/result-sets", json={**BODY, "tags": ["case-7"]}).json()["id"],
    ]
    mine = alice.get("/v1/result-sets").json()
    assert [s["id"] for s in mine["result_sets"]] == [ids[1], ids[0]] and mine["total"] == 2
    assert mine["result_sets"][0]["hit_count"] == 2
    tagged = alice.get("/v1/result-sets", params={"tag": "case-7"}).json()
    assert [s["id"] for s in tagged["result_sets"]] == [ids[0]]
    assert alice.get("/v1/result-sets", params={"owner": "bob"}).status_code == 403
    boss = client(store, keys, "boss-key")
    everyone = boss.get("/v1/result-sets", params={"owner": "*", "tag": "case-7"}).json()
    assert [s["id"] for s in everyone["result_sets"]] == [ids[2], ids[0]]
    paged = boss.get("/v1/result-sets", params={"owner": "alice", "offset": 1, "limit": 1})
    assert [s["id"] for s in paged.json()["result_sets"]] == [ids[0]]
    assert paged.json()["total"] == 2


@pytest.mark.parametrize(
    ("method", "body", "field"),
    [
        ("post", {**BODY, "hitz": []}, "hitz"),
        ("post", {"hits": []}, "search"),
        ("post", {**BODY, "tags": "novelty"}, "tags"),
        ("post", {**BODY, "tags": ["ok", "no;pe"]}, "tags[1]"),
        ("post", {**BODY, "hits": [{"id": "EP1", "collection": "Bad/Name"}]}, "hits[0].collection"),
        ("post", {**BODY, "comment": "x" * 4001}, "comment"),
        ("patch", {"hit_tags": {"patents/NOPE": ["t"]}}, 'hit_tags["patents/NOPE"]'),
        ("patch", {"hit_comments": {"patents/EP1": ""}}, 'hit_comments["patents/EP1"]'),
        ("patch", {"remove_hits": ["no-slash"]}, "remove_hits[0]"),
        ("patch", {"owner": "mallory"}, "owner"),
        ("patch", {"remove_tags": [f"t{i}" for i in range(40_000)]}, "remove_tags"),
        ("patch", {"remove_hits": [f"p/{i}" for i in range(1001)]}, "remove_hits"),
    ],
)
def test_bad_bodies_are_400_naming_the_field(
    store: Platform, keys: ApiKeys, method: str, body: dict[str, Any], field: str
) -> None:
    alice = client(store, keys, "alice-key")
    link = alice.post("/v1/result-sets", json=BODY).json()["link"]
    answer = (
        alice.post("/v1/result-sets", json=body)
        if method == "post"
        else alice.patch(link, json=body)
    )
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_argument"
    assert error["message"].startswith(f"{field}:"), error["message"]


def test_a_nan_from_the_wire_is_a_400_not_a_500(store: Platform, keys: ApiKeys) -> None:
    raw = '{"search": {"collection": "p"}, "hits": [{"id": "a", "score": NaN}]}'
    answer = client(store, keys, "alice-key").post(
        "/v1/result-sets", content=raw, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["message"].startswith("hits[0].score:")


@pytest.mark.parametrize(
    ("params", "field"), [({"limit": 0}, "limit"), ({"offset": -1}, "offset"), ({"tag": ""}, "tag")]
)
def test_bad_list_parameters_are_400_naming_them(
    store: Platform, keys: ApiKeys, params: dict[str, Any], field: str
) -> None:
    answer = client(store, keys, "alice-key").get("/v1/result-sets", params=params)
    assert answer.status_code == 400
    assert field in answer.json()["error"]["message"]


def test_unknown_ids_are_404(store: Platform, keys: ApiKeys) -> None:
    alice = client(store, keys, "alice-key")
    for answer in (
        alice.get("/v1/result-sets/nope"),
        alice.patch("/v1/result-sets/nope", json={"tags": ["t"]}),
        alice.delete("/v1/result-sets/nope"),
    ):
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "not_found"


def test_without_a_store_the_routes_answer_503(keys: ApiKeys) -> None:
    answer = client(None, keys, "alice-key").get("/v1/result-sets/x")
    assert answer.status_code == 503


@pytest.mark.parametrize(
    "line", ["k read name=", "k read name=me", "k read name=anonymous", "k read name=a/b"]
)
def test_a_bad_key_name_is_refused_naming_the_line(tmp_path: Path, line: str) -> None:
    path = tmp_path / "keys"
    path.write_text(f"ok read\n{line}\n")
    with pytest.raises(ValueError, match=r"keys:2: name="):
        ApiKeys.load(path)
