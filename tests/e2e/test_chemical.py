"""The chemical modality through every surface of the real server: HTTP, gRPC, SDK and CLI."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from support.data import CHEMISTRY

from ipsim.clients import Client, GrpcClient
from ipsim.clients.errors import BadRequest

from .conftest import ServerProcess, run_cli

DEMO = Path(__file__).resolve().parents[2] / "demo" / "chemicals.jsonl"
NCI = CHEMISTRY / "nci_first_5K.smi"


@pytest.fixture(scope="module")
def molecules(server: ServerProcess) -> str:
    rows = [json.loads(line) for line in DEMO.open(encoding="utf-8")]
    docs = rows[:400] + [r for r in rows if r["fields"]["source"] == "PubChem"]
    with Client(server.url) as client:
        info = client.create_collection("e2e-mols", "chemical")
        assert info["index"]["type"] == "fingerprint" and info["model"] == "morgan2-2048"
        client.upsert("e2e-mols", docs)
    return "e2e-mols"


def test_four_modes_over_http_and_grpc_agree(server: ServerProcess, molecules: str) -> None:
    queries = [
        ({"smiles": "CN1C=NC2=C1C(=O)N(C(=O)N2C)C"}, None),
        ({"smiles": "CN1C=NC2=C1C(=O)N(C(=O)N2C)C", "threshold": 0.4}, "similarity"),
        ({"smarts": "c1nc2c(n1)c(=O)nc(=O)n2"}, "substructure"),
        ({"smiles": "Cn1c(=O)c2c(ncn2C)n(C)c1=O"}, "exact"),
        ({"formula": "C7-8H*N4O2"}, "formula"),
    ]
    with Client(server.url) as http, GrpcClient(server.grpc) as rpc:
        for query, mode in queries:
            over_http = http.search(molecules, query, k=10, mode=mode)
            over_grpc = rpc.search(molecules, query, k=10, mode=mode)
            assert "caffeine" in [h["id"] for h in over_http["hits"]], (query, mode)
            assert over_http["total"] == over_grpc["total"] and over_http["truncated"] is False
            assert [(h["id"], h["score"]) for h in over_http["hits"]] == [
                (h["id"], h["score"]) for h in over_grpc["hits"]
            ]
    top = over_http = Client(server.url).search(molecules, queries[0][0], k=1)
    assert top["hits"][0]["id"] == "caffeine" and top["hits"][0]["score"] == pytest.approx(1.0)
    assert top["hits"][0]["fields"]["inchikey"] == "RYYVLZVUVIJVGH-UHFFFAOYSA-N"


def test_depiction_is_svg(server: ServerProcess, molecules: str) -> None:
    url = f"{server.url}/v1/collections/{molecules}/documents/caffeine"
    answer = httpx.get(url, params={"depict": "svg"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("image/svg")
    assert "<svg" in answer.text
    with Client(server.url) as client:
        assert client.depict(molecules, "caffeine") == answer.text
    bad = httpx.get(url, params={"depict": "gif"})
    assert bad.status_code == 400 and "depict" in bad.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"query": {"smiles": "C1CC"}}, "query.smiles"),
        ({"query": {"smiles": "CCO", "threshold": 2}}, "query.threshold"),
        ({"query": {"smarts": "[C;"}, "mode": "substructure"}, "query.smarts"),
        ({"query": {"formula": "C8Q2"}, "mode": "formula"}, "query.formula"),
        ({"query": {"smiles": "C" * 10_000_000}}, "query.smiles"),
    ],
)
def test_bad_queries_are_400s_naming_the_field(
    server: ServerProcess, molecules: str, body: dict[str, object], field: str
) -> None:
    answer = httpx.post(f"{server.url}/v1/collections/{molecules}/search", json=body, timeout=60)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["message"].startswith(field)
    assert httpx.get(f"{server.url}/healthz").status_code == 200


def test_bad_documents_over_http_and_grpc_write_nothing(
    server: ServerProcess, molecules: str
) -> None:
    docs = [
        {"id": "ok", "content": {"smiles": "CCO"}},
        {"id": "bad-valence", "content": {"smiles": "C[N](C)(C)(C)C"}},
    ]
    with Client(server.url) as http, GrpcClient(server.grpc) as rpc:
        before = http.get_collection(molecules)["count"]
        for client in (http, rpc):
            with pytest.raises(BadRequest) as bad:
                client.upsert(molecules, docs)
            message = str(bad.value)
            assert "documents[1].content.smiles" in message and "bad-valence" in message
            assert "valence" in message.lower()
        assert http.get_collection(molecules)["count"] == before


def test_cli_ingests_a_smiles_file_and_searches_each_mode(
    server: ServerProcess, tmp_path: Path
) -> None:
    lines = NCI.read_text().splitlines(keepends=True)[:200]
    source = tmp_path / "nci.smi"
    source.write_text("".join(lines))
    state = tmp_path / "state"
    made = run_cli(
        server, "collections", "create", "cli-mols", "--modality", "chemical", state=state
    )
    assert made.returncode == 0, made.stderr
    ingested = run_cli(server, "ingest", "cli-mols", str(source), state=state)
    assert ingested.returncode == 0, ingested.stderr
    with Client(server.url) as client:
        assert client.get_collection("cli-mols")["count"] == len(lines)
    first = lines[0].split()
    similar = run_cli(
        server, "search", "cli-mols", "--smiles", first[0], "-k", "3", "--json", state=state
    )
    assert similar.returncode == 0, similar.stderr
    assert json.loads(similar.stdout)["hits"][0]["score"] == pytest.approx(1.0)
    formula = run_cli(server, "search", "cli-mols", "--formula", "C6-8H*O2", "--json", state=state)
    assert formula.returncode == 0, formula.stderr
    for hit in json.loads(formula.stdout)["hits"]:
        assert 6 <= hit["fields"]["element_C"] <= 8 and hit["fields"]["element_O"] == 2
    sub = run_cli(
        server, "search", "cli-mols", "--smiles", "c1ccccc1", "--mode", "substructure", state=state
    )
    assert sub.returncode == 0 and "hits" in sub.stdout, sub.stderr
    sdf = NCI.parent / "nci_first_200.props.sdf"
    loaded = run_cli(server, "ingest", "cli-mols", str(sdf), state=state)
    assert loaded.returncode == 0, loaded.stderr
    with Client(server.url) as client:
        assert client.get_collection("cli-mols")["count"] == len(lines) + 200
        one = client.search("cli-mols", {"formula": "C1-H*"}, filter={"AMW": {"gte": 0}}, k=1)
        assert one["total"] > 0  # the SD file's data items arrived as numeric fields
