"""/v1/ledger over the real FastAPI app and a real SQLite file: the CONTRACT shapes, scopes,
errors naming their field, and ``ipsim ledger verify`` (in process) against the same app."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from ipsim.clients.cli import CliContext, cli
from ipsim.clients.http import AsyncClient
from ipsim.config import Settings
from ipsim.platform.canonical import canonical_json
from ipsim.platform.database import database_url
from ipsim.platform.ledger import merkle
from ipsim.platform.ledger.entries import raw_public_key
from ipsim.platform.services import Platform
from ipsim.server.app import create_app
from ipsim.server.auth import ApiKeys

KEYS = """
writer-key write name=writer
reader     read
boss-key   admin name=boss
"""


class NoEngine:
    ready = True


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    opened = Platform.open(database_url(None, tmp_path), tmp_path)
    yield opened
    opened.database.dispose()


@pytest.fixture
def app(platform: Platform, tmp_path: Path) -> Any:
    path = tmp_path / "keys"
    path.write_text(KEYS)
    return create_app(NoEngine(), Settings(), ApiKeys.load(path), platform)  # type: ignore[arg-type]


def http(app: Any, key: str) -> TestClient:
    headers = {"Authorization": f"Bearer {key}"}
    return TestClient(app, raise_server_exceptions=False, headers=headers)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def party(client: TestClient, name: str) -> tuple[str, Ed25519PrivateKey]:
    key = Ed25519PrivateKey.generate()
    answer = client.post(
        "/v1/ledger/parties", json={"name": name, "public_key": b64(raw_public_key(key))}
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["id"], key


def body(tx: dict[str, Any], *signers: tuple[str, Ed25519PrivateKey]) -> dict[str, Any]:
    message = canonical_json(tx)
    return {"transaction": tx, "signatures": {pid: b64(k.sign(message)) for pid, k in signers}}


def test_register_prove_and_read_over_http(app: Any) -> None:
    writer, boss, reader = http(app, "writer-key"), http(app, "boss-key"), http(app, "reader")
    alice, bob = party(writer, "Alice"), party(writer, "Bob")
    grant = {"type": "grant", "object": "trademarks/TM 1", "holder": alice[0],
             "territory": ["*"], "term": {"start": "2020-01-01", "end": None}}  # fmt: skip
    refused = writer.post("/v1/ledger/transactions", json=body(grant, alice))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    assert boss.post("/v1/ledger/transactions", json=body(grant, alice)).json()["index"] == 2
    licence = {"type": "licence", "object": "trademarks/TM 1", "licensor": alice[0],
               "licensee": bob[0], "exclusive": True, "territory": ["KZ"],
               "term": {"start": "2024-01-01", "end": "2026-01-01"}}  # fmt: skip
    answer = writer.post("/v1/ledger/transactions", json=body(licence, alice, bob))
    assert answer.status_code == 201
    assert answer.json()["registration_number"] == "LR-00000003"
    conflict = writer.post(
        "/v1/ledger/transactions", json=body({**licence, "licensee": alice[0]}, alice)
    )
    assert conflict.status_code == 400  # the same party on both sides
    twice = writer.post("/v1/ledger/transactions", json=body(licence, alice, bob))
    assert twice.status_code == 409 and "already registered" in twice.json()["error"]["message"]

    right = reader.get("/v1/ledger/rights/trademarks/TM%201").json()
    assert right["holder"] == alice[0] and right["licences"][0]["licensee"] == bob[0]
    head = reader.get("/v1/ledger/tree-head").json()
    assert head["tree_size"] == 4 and set(head) >= {"tree_size", "root_hash", "signature"}
    leaves = [
        base64.b64decode(reader.get(f"/v1/ledger/entries/{i}").json()["entry"]) for i in range(4)
    ]
    hashes = [merkle.leaf_hash(leaf) for leaf in leaves]
    root = base64.b64decode(head["root_hash"])
    assert merkle.root(hashes) == root
    proof = reader.get("/v1/ledger/proof/inclusion", params={"index": 1, "tree_size": 4}).json()
    path = [base64.b64decode(p) for p in proof["audit_path"]]
    assert merkle.verify_inclusion(hashes[1], 1, 4, path, root)
    answer = reader.get("/v1/ledger/proof/consistency", params={"first": 3, "second": 4})
    nodes = [base64.b64decode(p) for p in answer.json()["consistency_path"]]
    assert merkle.verify_consistency(3, 4, merkle.root(hashes[:3]), root, nodes)
    outbox = reader.get("/v1/ledger/outbox", params={"after": 2}).json()
    assert [e["index"] for e in outbox["events"]] == [2, 3] and outbox["next"] == 4
    assert reader.get("/v1/ledger/office-key").json()["algorithm"] == "Ed25519"
    assert (
        reader.post("/v1/ledger/parties", json={"name": "X", "public_key": ""}).status_code == 403
    )


@pytest.mark.parametrize(
    ("method", "path", "payload", "status", "field"),
    [
        ("POST", "/v1/ledger/parties", {"name": "A", "public_key": "AAAA"}, 400, "public_key"),
        ("POST", "/v1/ledger/parties", {"name": "A"}, 400, "public_key"),
        ("POST", "/v1/ledger/transactions", {"transaction": [], "signatures": {}}, 400,
         "transaction"),
        ("GET", "/v1/ledger/proof/inclusion?index=0&tree_size=9", None, 400, "tree_size"),
        ("GET", "/v1/ledger/proof/inclusion?index=x&tree_size=1", None, 400, "index"),
        ("GET", "/v1/ledger/proof/consistency?first=0&second=1", None, 400, "second"),
        ("GET", "/v1/ledger/outbox?after=-1", None, 400, "after"),
        ("GET", "/v1/ledger/entries/7", None, 404, None),
        ("GET", "/v1/ledger/rights/patents/EP9", None, 404, None),
    ],
)  # fmt: skip
def test_bad_requests(
    app: Any, method: str, path: str, payload: Any, status: int, field: str | None
) -> None:
    writer = http(app, "writer-key")
    party(writer, "Someone")
    answer = writer.request(method, path, json=payload)
    assert answer.status_code == status, answer.text
    if field is not None:
        assert field in answer.json()["error"]["message"]


def test_cli_verify_passes_then_detects_an_edit(
    app: Any, platform: Platform, tmp_path: Path
) -> None:
    writer = http(app, "writer-key")
    for name in ("Alice", "Bob", "Carol"):
        party(writer, name)
    reader = http(app, "reader")

    def forward(request: httpx.Request) -> httpx.Response:
        answer = reader.request(request.method, request.url.path, params=request.url.params)
        return httpx.Response(answer.status_code, content=answer.content, headers=answer.headers)

    context = CliContext(transport=httpx.MockTransport(forward))
    state = tmp_path / "head.json"
    runner = CliRunner()
    first = runner.invoke(cli, ["ledger", "verify", "--state", str(state)], obj=context)
    assert first.exit_code == 0, first.output
    assert first.output.startswith("ok: 3 entries")
    with platform.database.begin() as db:
        db.exec_driver_sql("DROP TRIGGER ledger_entries_no_update")
        db.exec_driver_sql(
            "UPDATE ledger_entries SET entry = replace(entry, 'Bob', 'Rob') WHERE \"index\" = 1"
        )
    second = runner.invoke(cli, ["ledger", "verify", "--state", str(state)], obj=context)
    assert second.exit_code == 1
    assert "TAMPERED: entry 1: fails the office signature (edited)" in second.output
    assert "no longer hash to the root saved earlier" in second.output


def test_the_async_sdk_speaks_the_same_routes(app: Any) -> None:
    async def scenario() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=app)
        async with AsyncClient("http://testserver", api_key="boss-key", transport=transport) as sdk:
            key = Ed25519PrivateKey.generate()
            alice = await sdk.register_party("Alice", b64(raw_public_key(key)))
            grant = {"type": "grant", "object": "patents/EP7", "holder": alice["id"],
                     "territory": ["DE"], "term": {"start": "2020-01-01", "end": None}}  # fmt: skip
            signatures = {alice["id"]: b64(key.sign(canonical_json(grant)))}
            receipt = await sdk.register_transaction(grant, signatures)
            head = await sdk.ledger_tree_head()
            entry = await sdk.ledger_entry(receipt["index"])
            proof = await sdk.ledger_inclusion_proof(receipt["index"], head["tree_size"])
            consistency = await sdk.ledger_consistency_proof(1, head["tree_size"])
            return {
                "right": await sdk.ledger_right("patents", "EP7"),
                "head": head,
                "leaf": merkle.leaf_hash(base64.b64decode(entry["entry"])),
                "path": [base64.b64decode(p) for p in proof["audit_path"]],
                "consistency": consistency["consistency_path"],
                "outbox": await sdk.ledger_outbox(after=1),
                "office": await sdk.ledger_office_key(),
            }

    got = asyncio.run(scenario())
    assert got["right"]["territory"] == ["DE"]
    root = base64.b64decode(got["head"]["root_hash"])
    assert merkle.verify_inclusion(got["leaf"], 1, 2, got["path"], root)
    assert len(got["consistency"]) == 1
    assert [e["kind"] for e in got["outbox"]["events"]] == ["transaction"]
    assert len(base64.b64decode(got["office"]["public_key"])) == 32


def test_huge_numbers_never_reach_the_database(app: Any) -> None:
    reader = http(app, "reader")
    assert reader.get(f"/v1/ledger/entries/{2**70}").status_code == 404
    answer = reader.get("/v1/ledger/outbox", params={"after": 2**70})
    assert answer.status_code == 400 and "after" in answer.json()["error"]["message"]
    answer = reader.get("/v1/ledger/proof/inclusion", params={"index": 0, "tree_size": 2**70})
    assert answer.status_code == 400
