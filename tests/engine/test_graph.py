"""Neighbour graphs through a real Engine: the real text model, RDKit, Smith–Waterman.

The texts are three topics of four documents each, so a document's three nearest are its
topic mates; the molecules are a benzene and an alcohol series.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from ipsim.engine.engine import Engine, EngineOptions
from ipsim.engine.errors import InvalidInput, NotFound
from ipsim.engine.graph import Graph, neighbors
from ipsim.engine.types import CollectionSpec, Document, SearchRequest

pytestmark = pytest.mark.asyncio(loop_scope="module")

TOPICS = {
    "w": [
        "wind turbine rotor blade with a serrated trailing edge",
        "rotor blade for a wind power plant",
        "wind turbine nacelle with a yaw drive on the tower",
        "offshore wind farm with floating turbine foundations",
    ],
    "p": [
        "pharmaceutical tablet with a delayed release coating",
        "oral drug capsule with an enteric coating",
        "sustained release tablet formulation of a medicine",
        "chewable tablet containing a vitamin supplement",
    ],
    "b": [
        "folding bicycle frame with a hinge",
        "bicycle gear shifting derailleur",
        "electric bicycle with a hub motor in the rear wheel",
        "bicycle saddle with a suspension spring",
    ],
}
TEXTS = [
    Document(f"{topic}{i}", {"text": text}, {"title": text, "topic": topic})
    for topic, texts in TOPICS.items()
    for i, text in enumerate(texts)
]
LONG = " ".join(
    f"Section {i}: the wind turbine has a rotor with three blades, a gearbox, a generator "
    f"and a tower; part {i} describes how the pitch of each blade is controlled."
    for i in range(30)
)
MOLECULES = {
    "benzene": "c1ccccc1",
    "toluene": "Cc1ccccc1",
    "ethylbenzene": "CCc1ccccc1",
    "propanol": "CCCO",
    "butanol": "CCCCO",
    "pentanol": "CCCCCO",
}
PROTEIN = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQFEVV"
OTHER_PROTEIN = "GSHMWEQLRNDVYKCPTEFGHWAYRDNLSGTIQPRHEMWKCLDAYFTNGQRSVEPLMHYWDKQA"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Engine]:
    engine = Engine(EngineOptions(data=tmp_path_factory.mktemp("graph")))
    await engine.start()
    for name, modality in [
        ("pat", "text"),
        ("copy", "text"),
        ("long", "text"),
        ("chem", "chemical"),
        ("prot", "sequence"),
        ("dna", "sequence"),
    ]:
        await engine.create_collection(CollectionSpec(name, modality))
    await engine.upsert("pat", TEXTS)
    await engine.upsert("copy", [doc for doc in TEXTS if doc.id.startswith("w")])
    await engine.upsert(
        "long",
        [
            Document("short", {"text": "a wind turbine blade"}),
            Document("long", {"text": LONG}),
            Document("pill", {"text": TOPICS["p"][0]}),
        ],
    )
    chem = [Document(name, {"smiles": smiles}) for name, smiles in MOLECULES.items()]
    await engine.upsert("chem", chem)
    variants = [PROTEIN, PROTEIN.replace("Q", "E"), PROTEIN.replace("K", "R"), OTHER_PROTEIN]
    await engine.upsert(
        "prot", [Document(f"v{i}", {"sequence": s}) for i, s in enumerate(variants)]
    )
    await engine.upsert("dna", [Document("d0", {"sequence": "ACGTTGCAAGGCTTAACCGGTTAAGC" * 3})])
    yield engine
    await engine.close()


def _at(graph: Graph, depth: int) -> set[str]:
    return {node.id for node in graph.nodes if node.depth == depth}


def _mates(doc_id: str) -> set[str]:
    return {f"pat/{doc_id[0]}{i}" for i in range(4)} - {f"pat/{doc_id}"}


async def _score(engine: Engine, source: str, target: str) -> float:
    """The score a direct search of ``source``'s content gives ``target``."""
    collection, doc_id = source.split("/", 1)
    document = await engine.get_document(collection, doc_id)
    target_collection, target_id = target.split("/", 1)
    result = await engine.search(target_collection, SearchRequest(document.content, k=20))
    return next(hit.score for hit in result.hits if hit.id == target_id)


async def test_depth_one_links_a_document_to_its_topic_mates(engine: Engine) -> None:
    graph = await neighbors(engine, "pat", "w0", depth=1, k=3)
    assert graph.root == "pat/w0"
    assert graph.nodes[0].id == "pat/w0" and graph.nodes[0].depth == 0
    assert graph.nodes[0].fields == {"title": TOPICS["w"][0], "topic": "w"}
    assert _at(graph, 1) == _mates("w0")
    assert [edge.source for edge in graph.edges] == ["pat/w0"] * 3
    assert [edge.rank for edge in graph.edges] == [1, 2, 3]
    scores = [edge.score for edge in graph.edges]
    assert scores == sorted(scores, reverse=True) and scores[0] < 0.99  # itself left out
    for edge in graph.edges:
        assert edge.score == pytest.approx(await _score(engine, edge.source, edge.target))
    first = next(node for node in graph.nodes if node.id == graph.edges[0].target)
    assert first.fields["topic"] == "w" and first.collection == "pat"


async def test_depth_two_expands_the_first_ring(engine: Engine) -> None:
    one = await neighbors(engine, "pat", "w0", depth=1, k=4)
    two = await neighbors(engine, "pat", "w0", depth=2, k=4)
    assert _at(one, 1) == _at(two, 1)
    (outsider,) = _at(one, 1) - _mates("w0")  # four nearest: three mates and one other
    reached = _at(two, 2)
    assert _mates(outsider.split("/")[1]) - {"pat/w0"} - _at(two, 1) <= reached
    assert len(two.nodes) > len(one.nodes) and len(two.nodes) <= 1 + 4 + 4 * 4
    by_source: dict[str, list[tuple[int, float]]] = {}
    for edge in two.edges:
        by_source.setdefault(edge.source, []).append((edge.rank, edge.score))
    assert set(by_source) <= {"pat/w0", *_at(two, 1)}  # depth-2 nodes are not expanded
    for ranked in by_source.values():
        assert len(ranked) <= 4
        assert [rank for rank, _ in ranked] == sorted(rank for rank, _ in ranked)
        assert [s for _, s in ranked] == sorted((s for _, s in ranked), reverse=True)
    pairs = [frozenset((edge.source, edge.target)) for edge in two.edges]
    assert len(pairs) == len(set(pairs))  # w1 lists w0 too: one edge for the two
    assert all(edge.source != edge.target for edge in two.edges)


async def test_a_pair_listing_each_other_keeps_the_higher_score(engine: Engine) -> None:
    # A long text's query is the mean of its chunks; as a stored document it matches by
    # its best chunk: the two directions score differently.
    graph = await neighbors(engine, "long", "short", depth=2, k=1)
    (edge,) = [e for e in graph.edges if {e.source, e.target} == {"long/short", "long/long"}]
    forward = await _score(engine, "long/short", "long/long")
    backward = await _score(engine, "long/long", "long/short")
    assert abs(forward - backward) > 1e-3
    assert edge.score == pytest.approx(max(forward, backward))


async def test_other_collections_instead_of_or_with_its_own(engine: Engine) -> None:
    instead = await neighbors(engine, "pat", "w0", k=2, collections=["copy"])
    assert [edge.target for edge in instead.edges] == ["copy/w0", "copy/w1"]
    assert instead.edges[0].score == pytest.approx(1.0, abs=1e-4)  # the same text
    assert {node.collection for node in instead.nodes[1:]} == {"copy"}
    both = await neighbors(engine, "pat", "w0", depth=2, k=3, collections=["pat", "copy"])
    assert both.edges[0].target == "copy/w0"
    assert {"pat/w1", "copy/w1"} & _at(both, 1)
    assert {node.collection for node in both.nodes} == {"pat", "copy"}
    # copy/w0 is expanded in both collections and finds pat/w0: merged with pat/w0's edge
    pairs = [frozenset((edge.source, edge.target)) for edge in both.edges]
    assert pairs.count(frozenset(("pat/w0", "copy/w0"))) == 1


async def test_min_score_drops_weaker_links(engine: Engine) -> None:
    graph = await neighbors(engine, "pat", "w0", depth=2, k=3, min_score=0.5)
    assert graph.edges and all(edge.score >= 0.5 for edge in graph.edges)
    linked = {graph.root} | {e.target for e in graph.edges} | {e.source for e in graph.edges}
    assert {node.id for node in graph.nodes} == linked
    everything = await neighbors(engine, "pat", "w0", depth=2, k=3)
    assert len(everything.edges) > len(graph.edges)


async def test_molecules_link_by_tanimoto(engine: Engine) -> None:
    graph = await neighbors(engine, "chem", "propanol", k=2)
    assert _at(graph, 1) == {"chem/butanol", "chem/pentanol"}
    aromatic = await neighbors(engine, "chem", "benzene", k=2)
    assert _at(aromatic, 1) == {"chem/toluene", "chem/ethylbenzene"}
    assert aromatic.nodes[0].fields["smiles"] == "c1ccccc1"  # the derived fields, as stored


async def test_a_collection_of_the_other_sequence_kind_adds_nothing(engine: Engine) -> None:
    graph = await neighbors(engine, "prot", "v0", k=3, collections=["prot", "dna"])
    assert {"prot/v1", "prot/v2"} <= _at(graph, 1)
    assert {node.collection for node in graph.nodes} == {"prot"}
    assert graph.edges[0].score > 50  # alignment bit scores, not [0, 1]
    alone = await neighbors(engine, "prot", "v0", collections=["dna"])
    assert [node.id for node in alone.nodes] == ["prot/v0"] and alone.edges == []


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"depth": 0}, "depth"),
        ({"depth": 3}, "depth"),
        ({"depth": True}, "depth"),
        ({"k": 0}, "k"),
        ({"k": 51}, "k"),
        ({"min_score": math.nan}, "min_score"),
        ({"collections": []}, "collections"),
        ({"collections": ["Bad Name"]}, "collections[0]"),
        ({"collections": ["pat", "pat"]}, "collections[1]"),
        ({"collections": ["chem"]}, "collections"),
        ({"collections": [f"c{i}" for i in range(9)]}, "collections"),
    ],
)
async def test_bad_parameters_name_their_field(
    engine: Engine, options: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await neighbors(engine, "pat", "w0", **options)  # type: ignore[arg-type]
    assert caught.value.field == field


async def test_unknown_collections_and_documents_are_not_found(engine: Engine) -> None:
    with pytest.raises(NotFound):
        await neighbors(engine, "nope", "w0")
    with pytest.raises(NotFound):
        await neighbors(engine, "pat", "nope")
    with pytest.raises(NotFound):
        await neighbors(engine, "pat", "w0", collections=["missing"])
