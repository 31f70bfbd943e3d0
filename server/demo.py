"""Build the demo collections from data that ships in the repository (``demo/``)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from ipsim.engine.engine import Engine
from ipsim.engine.errors import NotFound
from ipsim.engine.types import CollectionSpec, Document, IndexSpec

log = logging.getLogger(__name__)

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"
BATCH = 64


async def build_demo(engine: Engine, demo_dir: Path = DEMO_DIR) -> None:
    """Create and fill ``patents``; a start killed half-way is completed by the next one."""
    docs = [json.loads(line) for line in (demo_dir / "patents.jsonl").open(encoding="utf-8")]
    try:
        if engine.collection_info("patents").count >= len(docs):
            return
    except NotFound:
        await engine.create_collection(
            CollectionSpec(name="patents", modality="text", index=IndexSpec(type="auto"))
        )
    for start in range(0, len(docs), BATCH):
        batch = [
            Document(d["id"], d["content"], d.get("fields", {}))
            for d in docs[start : start + BATCH]
        ]
        await engine.upsert("patents", batch)
    log.info("demo collection 'patents' built with %d documents", len(docs))
