"""Sequence collections through the Engine, on the real Pfam seed sequences.

Queries are real sequences mutated here (substitutions, indels) or cut and reverse
complemented; every expected score is parasail's, called directly.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import parasail
import pytest
import pytest_asyncio
from support.data import shared_data
from support.sequences import pfam_records

from ipsim.engine.engine import Engine, EngineOptions
from ipsim.engine.errors import InvalidInput
from ipsim.engine.types import CollectionSpec, Document, SearchRequest
from ipsim.models.alignment import reverse_complement

pytestmark = [
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.skipif(
        not shared_data("sequences").is_dir(), reason="the shared sequences are not here"
    ),
]
AMINO = "ACDEFGHIKLMNPQRSTVWY"


RECORDS = pfam_records()
PROTEINS = [r for r in RECORDS if not set(r[2]) <= set("ACGTN")]
DNA = [r for r in RECORDS if set(r[2]) <= set("ACGTN")]


def _mutated(residues: str, rate: float, seed: int) -> str:
    rng = random.Random(seed)
    out = []
    for char in residues:
        roll = rng.random()
        if roll < rate * 0.8:
            out.append(rng.choice(AMINO))
        elif roll < rate * 0.9:
            continue  # deletion
        elif roll < rate:
            out.extend([char, rng.choice(AMINO)])  # insertion
        else:
            out.append(char)
    return "".join(out)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Engine]:
    engine = Engine(EngineOptions(data=tmp_path_factory.mktemp("seq")))
    await engine.start()
    await engine.create_collection(CollectionSpec("seqs", "sequence"))
    docs = [Document(n, {"sequence": s}, {"family": f}) for n, f, s in RECORDS]
    await engine.upsert("seqs", docs)
    yield engine
    await engine.close()


async def _search(engine: Engine, query: dict[str, Any], **kw: Any) -> Any:
    return await engine.search("seqs", SearchRequest(query, **kw))


@pytest.mark.parametrize("rate", [0.1, 0.25, 0.4])
async def test_a_mutated_protein_finds_its_original_first(engine: Engine, rate: float) -> None:
    for index in (3, 40, 120, 200):
        name, family, residues = PROTEINS[index]
        result = await _search(engine, {"sequence": _mutated(residues, rate, index)}, k=5)
        assert result.hits[0].id == name, (rate, name)
        assert result.hits[0].fields["family"] == family
        assert result.hits[0].fields["moltype"] == "protein"


async def test_hits_carry_parasails_alignment(engine: Engine) -> None:
    name, _, residues = PROTEINS[10]
    query = _mutated(residues, 0.2, 1)
    result = await _search(engine, {"sequence": query, "type": "protein"}, k=3)
    top = result.hits[0]
    assert top.id == name
    alignment = top.match["alignment"]
    # NCBI's 11/1 (a gap of length L costs 11 + L) is parasail's open 12, extend 1
    direct = parasail.sw_trace_striped_32(query, residues, 12, 1, parasail.blosum62)
    assert alignment["score"] == direct.score
    assert top.score == pytest.approx(alignment["bits"])
    assert 0.5 < alignment["identity"] <= 1.0 and alignment["strand"] == "+"
    assert alignment["evalue"] < 1e-20
    assert [h.score for h in result.hits] == sorted((h.score for h in result.hits), reverse=True)


async def test_dna_queries_search_both_strands_and_only_nucleotides(engine: Engine) -> None:
    name, _, residues = DNA[0]
    forward = await _search(engine, {"sequence": residues[5:90], "type": "dna"}, k=3)
    reverse = await _search(engine, {"sequence": reverse_complement(residues[5:90])}, k=3)
    assert forward.hits[0].id == reverse.hits[0].id == name
    assert forward.hits[0].match["alignment"]["strand"] == "+"
    assert reverse.hits[0].match["alignment"]["strand"] == "-"
    assert forward.hits[0].score == pytest.approx(reverse.hits[0].score)
    assert all(h.fields["moltype"] == "dna" for h in reverse.hits)


async def test_filter_and_evalue_cut(engine: Engine) -> None:
    _, family, residues = PROTEINS[50]
    query = {"sequence": _mutated(residues, 0.3, 2)}
    same = await _search(engine, query, k=100, filter={"family": family})
    assert same.hits and all(h.fields["family"] == family for h in same.hits)
    strict = await _search(engine, {**query, "max_evalue": 1e-30}, k=100)
    loose = await _search(engine, query, k=100)
    assert 0 < strict.total < loose.total
    assert all(h.match["alignment"]["evalue"] <= 1e-30 for h in strict.hits)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"sequence": "MKV1LLA"}, "query.sequence"),
        ({"sequence": "MKVL", "type": "peptide"}, "query.type"),
        ({"sequence": "ACGT", "type": "dna"}, "query.sequence"),  # under ST.26's 10
        ({"sequence": "MKVLLAGG", "candidates": 0}, "query.candidates"),
        ({"sequence": "MKVLLAGG", "max_evalue": -1}, "query.max_evalue"),
        ({"sequence": "MKVLLAGG", "smiles": "CCO"}, "query.smiles"),
        ({"seq": "MKVLLAGG"}, "query.seq"),
    ],
)
async def test_bad_queries_name_the_field(
    engine: Engine, query: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as bad:
        await _search(engine, query)
    assert bad.value.field == field


async def test_modes_and_bad_documents(engine: Engine) -> None:
    with pytest.raises(InvalidInput) as mode:
        await _search(engine, {"sequence": PROTEINS[0][2]}, mode="similarity")
    assert mode.value.field == "mode"
    with pytest.raises(InvalidInput) as bad:
        await engine.upsert("seqs", [Document("x", {"sequence": "acgu", "type": "rna"})])
    assert bad.value.field == "documents[0].content.sequence"


async def test_delete_and_reopen_keep_the_index_in_step(tmp_path: Path) -> None:
    first = Engine(EngineOptions(data=tmp_path))
    await first.start()
    await first.create_collection(CollectionSpec("s", "sequence"))
    await first.upsert("s", [Document(n, {"sequence": s}) for n, _, s in PROTEINS[:30]])
    query = {"sequence": _mutated(PROTEINS[7][2], 0.2, 3)}
    assert (await first.search("s", SearchRequest(query, k=1))).hits[0].id == PROTEINS[7][0]
    await first.delete_document("s", PROTEINS[7][0])
    after = await first.search("s", SearchRequest(query, k=30))
    assert PROTEINS[7][0] not in {h.id for h in after.hits}
    await first.close()
    reopened = Engine(EngineOptions(data=tmp_path))
    await reopened.start()
    try:
        again = await reopened.search("s", SearchRequest(query, k=30))
        assert [(h.id, h.score) for h in again.hits] == [(h.id, h.score) for h in after.hits]
    finally:
        await reopened.close()


async def test_the_prefilter_path_finds_what_the_exact_scan_finds_first(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ipsim.engine.sequence as sequence_module

    queries = [{"sequence": _mutated(PROTEINS[i][2], 0.2, i)} for i in (5, 60, 150)]
    exact = [await _search(engine, q, k=3) for q in queries]
    monkeypatch.setattr(sequence_module, "EXACT_SCAN_RESIDUES", 0)  # force the k-mer index
    prefiltered = [await _search(engine, {**q, "candidates": 50}, k=3) for q in queries]
    for full, fast in zip(exact, prefiltered, strict=True):
        assert fast.hits[0].id == full.hits[0].id
        assert fast.hits[0].score == pytest.approx(full.hits[0].score)
        assert fast.total <= 50


async def test_a_query_of_a_kind_the_collection_lacks_is_refused(tmp_path: Path) -> None:
    engine = Engine(EngineOptions(data=tmp_path))
    await engine.start()
    try:
        await engine.create_collection(CollectionSpec("dna", "sequence"))
        await engine.upsert("dna", [Document(n, {"sequence": s}) for n, _, s in DNA[:5]])
        with pytest.raises(InvalidInput) as bad:
            await engine.search("dna", SearchRequest({"sequence": PROTEINS[0][2]}))
        assert bad.value.field == "query.type" and "only nucleotide" in bad.value.detail
        found = await engine.search("dna", SearchRequest({"sequence": DNA[1][2]}, k=1))
        assert found.hits[0].id == DNA[1][0]
    finally:
        await engine.close()
