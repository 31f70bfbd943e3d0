"""Build the demo collections from data that ships in the repository (``demo/``)."""

from __future__ import annotations

import base64
import csv
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ipsim.engine.engine import Engine
from ipsim.engine.errors import NotFound
from ipsim.engine.types import CollectionSpec, Document, IndexSpec
from ipsim.models.sequence_formats import parse_st26, sequence_document

log = logging.getLogger(__name__)

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"
BATCH = 64


@dataclass(frozen=True)
class DemoCollection:
    name: str
    modality: str
    file: str
    """JSON Lines of documents, a mesh folder's ``labels.csv``, or a folder of ST.26 listings."""


DEMOS = (
    DemoCollection("patents", "text", "patents.jsonl"),
    DemoCollection("molecules", "chemical", "chemicals.jsonl"),
    DemoCollection("trademarks", "trademark", "trademarks.jsonl"),
    DemoCollection("designs", "mesh", "meshes/labels.csv"),
    DemoCollection("sequences", "sequence", "sequences"),
)


async def build_demo(engine: Engine, demo_dir: Path = DEMO_DIR) -> None:
    """Create and fill every demo collection; a start killed half-way is completed by the next."""
    for demo in DEMOS:
        await _build(engine, demo, demo_dir / demo.file)


def _documents(path: Path) -> list[dict[str, Any]]:
    if path.is_dir():
        return [doc for listing in sorted(path.glob("*.st26.xml")) for doc in _listed(listing)]
    if path.suffix == ".csv":
        return [_mesh_document(path.parent, row) for row in csv.DictReader(path.open())]
    return [json.loads(line) for line in path.open(encoding="utf-8")]


def _listed(path: Path) -> list[dict[str, Any]]:
    """The sequences of one ST.26 listing: ids ``<listing>:<SEQ ID NO>``."""
    listing = parse_st26(path.read_bytes())
    name = path.name.removesuffix(".st26.xml")
    return [sequence_document(name, listing, entry) for entry in listing.entries]


def _mesh_document(folder: Path, row: dict[str, str]) -> dict[str, Any]:
    """One labelled mesh file as a document: id = its path in the folder."""
    raw = (folder / row["path"]).read_bytes()
    fields = {key: row[key] for key in ("class", "family", "source", "licence") if row[key]}
    content = {"mesh_b64": base64.b64encode(raw).decode(), "format": Path(row["path"]).suffix[1:]}
    return {"id": row["path"], "content": content, "fields": fields}


async def _build(engine: Engine, demo: DemoCollection, path: Path) -> None:
    docs = _documents(path)
    try:
        if engine.collection_info(demo.name).count >= len(docs):
            return
    except NotFound:
        await engine.create_collection(
            CollectionSpec(name=demo.name, modality=demo.modality, index=IndexSpec(type="auto"))
        )
    for start in range(0, len(docs), BATCH):
        batch = [
            Document(d["id"], d["content"], d.get("fields", {}))
            for d in docs[start : start + BATCH]
        ]
        await engine.upsert(demo.name, batch)
    log.info("demo collection %r built with %d documents", demo.name, len(docs))
