"""Chemical collections through the Engine, checked against RDKit brute force on real molecules.

The database is the shipped demo set (NCI structures plus a few drugs); every expected
answer is computed here with RDKit directly, not written down.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator, rdMolDescriptors

from ipsim.engine.engine import Engine, EngineOptions
from ipsim.engine.errors import InvalidInput, NotFound
from ipsim.engine.types import CollectionSpec, Document, IndexSpec, SearchRequest

pytestmark = pytest.mark.asyncio(loop_scope="module")
DEMO = Path(__file__).resolve().parents[2] / "demo" / "chemicals.jsonl"
SIZE = 1500
QUERIES = ["CN1C=NC2=C1C(=O)N(C(=O)N2C)C", "OC(=O)c1ccccc1O", "c1ccc2ncccc2c1"]


def _documents() -> list[Document]:
    rows = [json.loads(line) for line in DEMO.open(encoding="utf-8")]
    chosen = rows[:SIZE] + [r for r in rows if r["fields"]["source"] == "PubChem"]
    return [Document(r["id"], r["content"], r["fields"]) for r in chosen]


DOCS = _documents()
MOLS = {d.id: Chem.MolFromSmiles(d.content["smiles"]) for d in DOCS}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Engine]:
    engine = Engine(EngineOptions(data=tmp_path_factory.mktemp("chem")))
    await engine.start()
    await engine.create_collection(CollectionSpec("mols", "chemical"))
    for start in range(0, len(DOCS), 500):
        await engine.upsert("mols", DOCS[start : start + 500])
    yield engine
    await engine.close()


async def _search(engine: Engine, query: dict[str, Any], **kw: Any) -> Any:
    return await engine.search("mols", SearchRequest(query, **kw))


def _morgan(mol: Chem.Mol) -> Any:
    return rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048).GetFingerprint(mol)


def _brute_similarity(smiles: str, measure: str = "tanimoto") -> list[tuple[float, str]]:
    query = _morgan(Chem.MolFromSmiles(smiles))
    ids = list(MOLS)
    fps = [_morgan(MOLS[i]) for i in ids]
    if measure == "tanimoto":
        scores = DataStructs.BulkTanimotoSimilarity(query, fps)
    else:
        scores = DataStructs.BulkDiceSimilarity(query, fps)
    return sorted(zip(scores, ids, strict=True), key=lambda t: (-t[0], t[1]))


async def test_collection_uses_the_fingerprint_index(engine: Engine) -> None:
    info = engine.collection_info("mols")
    assert info.modality == "chemical" and info.count == len(DOCS)
    assert info.model == "morgan2-2048"
    assert info.index["type"] == "fingerprint" and info.index["bits"] == 2048


@pytest.mark.parametrize("smiles", QUERIES)
async def test_similarity_ranking_equals_rdkit_brute_force(engine: Engine, smiles: str) -> None:
    expected = _brute_similarity(smiles)
    answer = await _search(engine, {"smiles": smiles}, k=25)
    assert answer.total == len(DOCS)
    got = [(h.score, h.id) for h in answer.hits]
    assert [i for _, i in got] == [i for _, i in expected[:25]]
    for (score, _), (want, _) in zip(got, expected, strict=False):
        assert score == pytest.approx(want, abs=1e-9)
    assert all(h.chunk is None for h in answer.hits)


async def test_threshold_returns_every_hit_above_it_with_its_total(engine: Engine) -> None:
    expected = [t for t in _brute_similarity(QUERIES[1]) if t[0] >= 0.3]
    assert 20 < len(expected) < SIZE  # the threshold is selective, and not empty
    first = await _search(engine, {"smiles": QUERIES[1], "threshold": 0.3}, k=10)
    second = await _search(engine, {"smiles": QUERIES[1], "threshold": 0.3}, k=10, offset=10)
    assert first.total == second.total == len(expected)
    assert [h.id for h in first.hits + second.hits] == [i for _, i in expected[:20]]


async def test_dice_and_tversky_scores_match_rdkit(engine: Engine) -> None:
    expected = _brute_similarity(QUERIES[0], "dice")
    answer = await _search(engine, {"smiles": QUERIES[0], "metric": "dice"}, k=5)
    assert [h.id for h in answer.hits] == [i for _, i in expected[:5]]
    query = _morgan(Chem.MolFromSmiles(QUERIES[0]))
    answer = await _search(
        engine, {"smiles": QUERIES[0], "metric": "tversky", "alpha": 0.9, "beta": 0.1}, k=5
    )
    for hit in answer.hits:
        want = DataStructs.TverskySimilarity(query, _morgan(MOLS[hit.id]), 0.9, 0.1)
        assert hit.score == pytest.approx(want, abs=1e-9)


SCAFFOLDS = {
    "benzene": {"smiles": "c1ccccc1"},
    "pyridine": {"smiles": "c1ccncc1"},
    "carboxylic acid": {"smarts": "[CX3](=O)[OX2H1]"},
    "steroid core": {"smiles": "C1CCC2C(C1)CCC1C2CCC2CCCC12"},
    "beta-lactam": {"smiles": "O=C1CCN1"},
    "nitro": {"smarts": "[$([NX3](=O)=O),$([NX3+](=O)[O-])]"},
}


@pytest.mark.parametrize("name", list(SCAFFOLDS))
async def test_substructure_equals_a_full_rdkit_scan(engine: Engine, name: str) -> None:
    query = SCAFFOLDS[name]
    if "smarts" in query:
        pattern = Chem.MolFromSmarts(query["smarts"])
    else:
        pattern = Chem.MolFromSmiles(query["smiles"])
    expected = sorted(i for i, mol in MOLS.items() if mol.HasSubstructMatch(pattern))
    assert expected, name
    answer = await _search(engine, query, mode="substructure", k=1000)
    assert not answer.truncated
    assert answer.total == len(expected)
    assert [h.id for h in answer.hits] == expected[:1000]


async def test_substructure_hit_cap_and_time_budget_truncate(engine: Engine) -> None:
    capped = await _search(engine, {"smiles": "c1ccccc1", "max_hits": 7}, mode="substructure")
    assert capped.truncated and capped.total == 7 and len(capped.hits) == 7
    chain = "~".join(["*"] * 12)
    budget = await _search(engine, {"smarts": chain, "timeout_ms": 1}, mode="substructure", k=1000)
    assert budget.truncated


async def test_substructure_chirality_option(engine: Engine) -> None:
    upserted = [
        Document("r-alanine", {"smiles": "C[C@@H](N)C(=O)O"}),
        Document("s-alanine", {"smiles": "C[C@H](N)C(=O)O"}),
    ]
    await engine.upsert("mols", upserted)
    query = {"smiles": "C[C@@H](N)C(=O)O", "chirality": True}
    chiral = await _search(engine, query, mode="substructure", k=1000)
    plain = await _search(engine, {"smiles": "C[C@@H](N)C(=O)O"}, mode="substructure", k=1000)
    chiral_ids, plain_ids = {h.id for h in chiral.hits}, {h.id for h in plain.hits}
    assert {"r-alanine", "s-alanine"} <= plain_ids
    assert "r-alanine" in chiral_ids and "s-alanine" not in chiral_ids
    for doc in upserted:
        await engine.delete_document("mols", doc.id)


async def test_exact_by_inchikey_and_by_connectivity(engine: Engine) -> None:
    caffeine = await _search(engine, {"smiles": "Cn1c(=O)c2c(ncn2C)n(C)c1=O"}, mode="exact")
    assert [h.id for h in caffeine.hits] == ["caffeine"]
    assert caffeine.hits[0].fields["inchikey"] == "RYYVLZVUVIJVGH-UHFFFAOYSA-N"
    flat = "CC12CCC3C(CCC4=CC(=O)CCC34C)C1CCC2O"  # testosterone without its stereocentres
    assert (await _search(engine, {"smiles": flat}, mode="exact")).total == 0
    loose = await _search(engine, {"smiles": flat, "connectivity": True}, mode="exact")
    assert "testosterone" in [h.id for h in loose.hits]


def _element_counts(mol: Chem.Mol) -> dict[str, int]:
    formula = rdMolDescriptors.CalcMolFormula(mol)
    return {s: int(n or 1) for s, n in re.findall(r"([A-Z][a-z]?)(\d*)", formula)}


async def test_formula_exact_ranges_and_field_filters(engine: Engine) -> None:
    exact = await _search(engine, {"formula": "H10C8O2N4"}, mode="formula", k=100)
    want = sorted(i for i, m in MOLS.items() if rdMolDescriptors.CalcMolFormula(m) == "C8H10N4O2")
    assert "caffeine" in want and [h.id for h in exact.hits] == want

    def in_range(counts: dict[str, int]) -> bool:
        return (
            6 <= counts.get("C", 0) <= 8
            and counts.get("O", 0) == 2
            and set(counts)
            <= {
                "C",
                "H",
                "O",
            }
        )

    expected = sorted(i for i, m in MOLS.items() if in_range(_element_counts(m)))
    ranged = await _search(engine, {"formula": "C6-8H*O2"}, k=1000)
    assert expected and [h.id for h in ranged.hits] == expected and ranged.total == len(expected)
    drugs = await _search(engine, {"formula": "C8-H*N1-O*"}, filter={"source": "PubChem"}, k=100)

    def wide(counts: dict[str, int]) -> bool:
        return counts["C"] >= 8 and counts.get("N", 0) >= 1 and set(counts) <= {"C", "H", "N", "O"}

    pubchem = [d.id for d in DOCS if d.fields["source"] == "PubChem"]
    expected = sorted(i for i in pubchem if wide(_element_counts(MOLS[i])))
    assert "caffeine" in expected and "penicillin-g" not in expected  # penicillin holds S
    assert [h.id for h in drugs.hits] == expected


async def test_derived_fields_are_stored_and_a_drawing_is_served(engine: Engine) -> None:
    doc = await engine.get_document("mols", "caffeine")
    assert doc.fields["formula"] == "C8H10N4O2" and doc.fields["element_N"] == 4
    assert doc.fields["name"] == "caffeine"  # the client's own fields are kept
    svg = (await engine.depict("mols", "caffeine", "svg")).data.decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    with pytest.raises(InvalidInput) as bad:
        await engine.depict("mols", "caffeine", "png")
    assert bad.value.field == "depict"
    with pytest.raises(NotFound):
        await engine.depict("mols", "no-such-molecule", "svg")


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ({"smiles": "C1CC"}, "ring"),
        ({"smiles": "C[N](C)(C)(C)C"}, "valence"),
        ({"molblock": "this is not a molfile"}, ""),
        ({"smiles": ""}, ""),
        ({"smiles": "C" * 10_000_000}, "characters"),
    ],
)
async def test_a_bad_molecule_fails_the_whole_batch_naming_document_and_reason(
    engine: Engine, content: dict[str, str], needle: str
) -> None:
    before = engine.collection_info("mols").count
    batch = [Document("fine-1", {"smiles": "CCO"}), Document("broken-7", content)]
    with pytest.raises(InvalidInput) as bad:
        await engine.upsert("mols", batch)
    key = next(iter(content))
    assert bad.value.field == f"documents[1].content.{key}"
    assert "'broken-7'" in bad.value.message and needle in bad.value.message.lower()
    assert engine.collection_info("mols").count == before
    with pytest.raises(NotFound):
        await engine.get_document("mols", "fine-1")


@pytest.mark.parametrize(
    ("query", "mode", "field"),
    [
        ({"smiles": "CCO", "threshold": 1.5}, None, "query.threshold"),
        ({"smiles": "CCO", "threshold": -0.1}, None, "query.threshold"),
        ({"smiles": "CCO", "metric": "cosine"}, None, "query.metric"),
        ({"smiles": "CCO", "metric": "tversky", "alpha": 0.5}, None, "query.beta"),
        ({"smiles": "C1CC"}, None, "query.smiles"),
        ({"smarts": "[C;"}, "substructure", "query.smarts"),
        ({"smarts": "C"}, "similarity", "query.smarts"),
        ({"formula": "C8Xx2"}, "formula", "query.formula"),
        ({"formula": "C8-2"}, "formula", "query.formula"),
        ({"smiles": "CCO"}, "fuzzy", "mode"),
        ({"smiles": "CCO", "max_hits": 0}, "substructure", "query.max_hits"),
        ({"smiles": "CCO", "colour": "red"}, None, "query.colour"),
    ],
)
async def test_bad_queries_name_the_field(
    engine: Engine, query: dict[str, Any], mode: str | None, field: str
) -> None:
    with pytest.raises(InvalidInput) as bad:
        await _search(engine, query, mode=mode)
    assert bad.value.field == field


async def test_chemical_collections_refuse_other_index_families(engine: Engine) -> None:
    with pytest.raises(InvalidInput) as bad:
        await engine.create_collection(CollectionSpec("m2", "chemical", IndexSpec("hnsw")))
    assert bad.value.field == "index"
    with pytest.raises(InvalidInput) as model:
        await engine.create_collection(CollectionSpec("m3", "chemical", model="ecfp9-7"))
    assert model.value.field == "model"


async def test_molecules_and_answers_survive_a_restart(tmp_path: Path) -> None:
    engine = Engine(EngineOptions(data=tmp_path))
    await engine.start()
    await engine.create_collection(CollectionSpec("m", "chemical", model="featmorgan2-1024"))
    await engine.upsert("m", DOCS[:300])
    before = await engine.search("m", SearchRequest({"smiles": QUERIES[0]}, k=10))
    await engine.close()
    again = Engine(EngineOptions(data=tmp_path))
    await again.start()
    after = await again.search("m", SearchRequest({"smiles": QUERIES[0]}, k=10))
    assert [(h.id, h.score) for h in after.hits] == [(h.id, h.score) for h in before.hits]
    assert again.collection_info("m").model == "featmorgan2-1024"
    await again.close()
