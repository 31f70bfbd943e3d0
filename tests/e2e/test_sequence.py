"""The sequence modality through the real server: CLI ingest of ST.26 and FASTA, HTTP, gRPC."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from support.data import shared_data

from ipsim.clients import Client, GrpcClient
from ipsim.clients.errors import BadRequest
from ipsim.models.sequence_formats import parse_st26

from .conftest import ServerProcess, run_cli

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "sequences"
PFAM = shared_data("sequences", "pfam_seed_sequences.fasta")


@pytest.fixture(scope="module")
def sequences(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> str:
    if not PFAM.is_file():
        pytest.skip("the shared sequences are not here")
    state = tmp_path_factory.mktemp("seq-state")
    created = run_cli(
        server, "collections", "create", "e2e-seqs", "--modality", "sequence", state=state
    )
    assert created.returncode == 0, created.stderr
    for source in (SAMPLES / "pfam_proteins.st26.xml", SAMPLES / "made1_dna.st26.xml", PFAM):
        ingested = run_cli(server, "ingest", "e2e-seqs", str(source), "--json", state=state)
        assert ingested.returncode == 0, ingested.stderr
    return "e2e-seqs"


def test_st26_listing_entries_are_found_over_http_and_grpc(
    server: ServerProcess, sequences: str
) -> None:
    listing = parse_st26((SAMPLES / "pfam_proteins.st26.xml").read_bytes())
    entry = listing.entries[2]
    query = {"sequence": entry.residues[10:-10], "type": "protein"}
    with Client(server.url) as http, GrpcClient(server.grpc) as rpc:
        over_http = http.search(sequences, query, k=5, filter={"format": "st26"})
        over_grpc = rpc.search(sequences, query, k=5, filter={"format": "st26"})
    top = over_http["hits"][0]
    assert top["id"] == f"pfam_proteins:{entry.seq_id}"  # the listing name, without .st26
    assert top["fields"]["seq_id"] == entry.seq_id and top["fields"]["moltype"] == "protein"
    assert top["match"]["alignment"]["identity"] == 1.0
    assert [(h["id"], h["score"]) for h in over_http["hits"]] == [
        (h["id"], h["score"]) for h in over_grpc["hits"]
    ]
    assert over_grpc["hits"][0]["match"]["alignment"]["score"] == top["match"]["alignment"]["score"]


def test_cli_search_by_sequence(server: ServerProcess, sequences: str, tmp_path: Path) -> None:
    dna = parse_st26((SAMPLES / "made1_dna.st26.xml").read_bytes()).entries[0]
    found = run_cli(
        server, "search", sequences, "--sequence", dna.residues[:60], "--json", state=tmp_path
    )
    assert found.returncode == 0, found.stderr
    answer = json.loads(found.stdout)
    assert answer["hits"][0]["match"]["alignment"]["strand"] == "+"
    assert answer["hits"][0]["fields"]["moltype"] == "dna"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"sequence": "MKV*LL"}, "query.sequence"),
        ({"sequence": "MKVLLA", "type": "peptide"}, "query.type"),
        ({"sequence": "MKVLLA", "candidates": 10**9}, "query.candidates"),
    ],
)
def test_bad_queries_are_400s_naming_the_field(
    server: ServerProcess, sequences: str, query: dict[str, object], field: str
) -> None:
    answer = httpx.post(f"{server.url}/v1/collections/{sequences}/search", json={"query": query})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["message"].startswith(field)
    with GrpcClient(server.grpc) as rpc, pytest.raises(BadRequest):
        rpc.search(sequences, query)
