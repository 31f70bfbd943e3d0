"""The mixed traffic of the load benchmark: searches of every demo modality plus text upserts.

Every query is taken from the demo data that ships in ``demo/``, varied so that repeats
are rare (a repeated query is answered from the server's page cache, not searched):

* text: a patent title followed by the first words of another title;
* trademarks: a real word in each word mode (spelling, phonetic, semantic, all fused),
  and a Tango icon as a figurative mark (image mode);
* chemistry: NCI structures as SMILES, in similarity and substructure mode (substructure
  queries only from those within the server's query size limit, as a real one would be);
* sequences: a stretch of a protein from the demo ST.26 listings (a fragment search);
* designs: a demo OFF mesh with a comment line that makes its bytes unique;
* upserts: one new text document (two titles joined) into ``patents``.

:data:`MIX` gives the proportions: what a patent office's search front end sees, mostly
text and trademark searches, one request in ten a write.
"""

from __future__ import annotations

import base64
import csv
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rdkit import Chem

from ipsim.benchmarks.open_loop import Call
from ipsim.models.chemical import MAX_QUERY_ATOMS
from ipsim.models.sequence_formats import parse_st26, sequence_document

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"

MIX: dict[str, int] = {
    "text search": 35,
    "trademark spelling": 5,
    "trademark phonetic": 5,
    "trademark semantic": 5,
    "trademark all modes": 5,
    "trademark image": 5,
    "chemical similarity": 10,
    "chemical substructure": 5,
    "protein sequence": 10,
    "mesh (design)": 5,
    "text upsert": 10,
}
"""Requests per 100 of each kind."""

MODALITY: dict[str, str] = {
    "text search": "text",
    "trademark spelling": "trademark",
    "trademark phonetic": "trademark",
    "trademark semantic": "trademark",
    "trademark all modes": "trademark",
    "trademark image": "trademark",
    "chemical similarity": "chemical",
    "chemical substructure": "chemical",
    "protein sequence": "sequence",
    "mesh (design)": "mesh",
    "text upsert": "upsert",
}
"""The modality each kind of request exercises."""

_WORD_MODE = {
    "trademark spelling": "spelling",
    "trademark phonetic": "phonetic",
    "trademark semantic": "semantic",
}


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


@dataclass(frozen=True)
class DemoQueries:
    """The raw material of the queries, read once from ``demo/``."""

    titles: list[str]
    words: list[str]
    icons: list[str]
    smiles: list[str]
    substructures: list[str]
    """The SMILES small enough to be a substructure query (at most ``MAX_QUERY_ATOMS``)."""
    proteins: list[str]
    meshes: list[bytes]

    @classmethod
    def load(cls, demo: Path = DEMO_DIR) -> DemoQueries:
        """Read the demo files (patents, trademarks, chemicals, sequences, OFF meshes)."""
        patents = _jsonl(demo / "patents.jsonl")
        titles = [str(p["fields"]["title"]) for p in patents if p["fields"].get("kind") == "title"]
        marks = _jsonl(demo / "trademarks.jsonl")
        words = [str(m["content"]["word"]) for m in marks if "word" in m["content"]]
        icons = [str(m["content"]["image_b64"]) for m in marks if "image_b64" in m["content"]]
        smiles = [str(c["content"]["smiles"]) for c in _jsonl(demo / "chemicals.jsonl")]
        substructures = [s for s in smiles if _atoms(s) <= MAX_QUERY_ATOMS]
        proteins = []
        for listing_path in sorted((demo / "sequences").glob("*.st26.xml")):
            listing = parse_st26(listing_path.read_bytes())
            for entry in listing.entries:
                content = sequence_document(listing_path.name, listing, entry)["content"]
                if content.get("type") == "protein":
                    proteins.append(str(content["sequence"]))
        with (demo / "meshes" / "labels.csv").open() as labels:
            paths = [row["path"] for row in csv.DictReader(labels)]
        meshes = [(demo / "meshes" / p).read_bytes() for p in paths if p.endswith(".off")]
        return cls(titles, words, icons, smiles, substructures, proteins, meshes)

    def sizes(self) -> str:
        """How much of each there is, for the report's setup."""
        return (
            f"{len(self.titles)} patent titles, {len(self.words)} trademark words, "
            f"{len(self.icons)} icons, {len(self.smiles)} SMILES ({len(self.substructures)} of "
            f"them within the substructure query limit), {len(self.proteins)} "
            f"proteins, {len(self.meshes)} OFF meshes"
        )


def _atoms(smiles: str) -> int:
    """Atoms of a SMILES as the server counts them for a query (an unsanitised parse)."""
    mol = Chem.MolFromSmiles(smiles, sanitize=False)
    return int(mol.GetNumAtoms()) if mol is not None else 0


def _post(label: str, collection: str, body: dict[str, Any]) -> Call:
    return Call(label, "POST", f"/v1/collections/{collection}/search", json.dumps(body).encode())


class MixedTraffic:
    """Request ``n`` of the mix: its kind from a shuffled cycle of :data:`MIX`, its content
    drawn with a generator seeded by ``n`` (the same run sends the same requests)."""

    def __init__(self, queries: DemoQueries, *, tag: str, seed: int = 0) -> None:
        self.queries = queries
        self.tag = tag
        cycle = [label for label, share in MIX.items() for _ in range(share)]
        random.Random(seed).shuffle(cycle)
        self.cycle: Sequence[str] = cycle
        self.seed = seed

    def __call__(self, number: int) -> Call:
        label = self.cycle[number % len(self.cycle)]
        return self.request(label, number)

    def request(self, label: str, number: int) -> Call:
        """Request ``number`` of kind ``label``."""
        q = self.queries
        rng = random.Random(self.seed * 1_000_003 + number)
        if label == "text search":
            text = f"{rng.choice(q.titles)} {' '.join(rng.choice(q.titles).split()[:3])}"
            return _post(label, "patents", {"query": {"text": text}, "k": 10})
        if label in _WORD_MODE:
            body = {"query": {"word": rng.choice(q.words)}, "mode": _WORD_MODE[label], "k": 10}
            return _post(label, "trademarks", body)
        if label == "trademark all modes":
            return _post(label, "trademarks", {"query": {"word": rng.choice(q.words)}, "k": 10})
        if label == "trademark image":
            body = {"query": {"image_b64": rng.choice(q.icons)}, "mode": "image", "k": 10}
            return _post(label, "trademarks", body)
        if label == "chemical similarity":
            body = {"query": {"smiles": rng.choice(q.smiles)}, "mode": "similarity"}
            return _post(label, "molecules", body)
        if label == "chemical substructure":
            body = {"query": {"smiles": rng.choice(q.substructures)}, "mode": "substructure"}
            return _post(label, "molecules", body)
        if label == "protein sequence":
            protein = rng.choice(q.proteins)
            start = rng.randrange(0, max(1, len(protein) // 4))
            fragment = protein[start : start + 300]
            return _post(label, "sequences", {"query": {"sequence": fragment}, "k": 10})
        if label == "mesh (design)":
            raw = rng.choice(q.meshes) + f"\n# load query {self.tag} {number}\n".encode()
            mesh = {"mesh_b64": base64.b64encode(raw).decode(), "format": "off"}
            return _post(label, "designs", {"query": mesh, "k": 10})
        if label == "text upsert":
            text = f"{rng.choice(q.titles)}. {rng.choice(q.titles).capitalize()}"
            document = {
                "id": f"load-{self.tag}-{number}",
                "content": {"text": text},
                "fields": {"kind": "load-test"},
            }
            upsert = json.dumps({"documents": [document]}).encode()
            return Call(label, "PUT", "/v1/collections/patents/documents", upsert)
        raise ValueError(f"unknown request kind {label!r}")

    def text_searches(self, offset: int) -> TextSearches:
        """Only text searches, numbered from ``offset`` (for the overload test)."""
        return TextSearches(self, offset)


@dataclass(frozen=True)
class TextSearches:
    """Distinct text searches: request ``n`` is the mix's text search number ``offset + n``."""

    traffic: MixedTraffic
    offset: int

    def __call__(self, number: int) -> Call:
        return self.traffic.request("text search", self.offset + number)
