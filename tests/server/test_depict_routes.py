"""POST /v1/collections/{name}/depict over the real app and a real engine: the query drawing
the portal's chemistry page shows, drawn by the collection's RDKit chemistry."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from ipsim.config import Settings
from ipsim.engine.engine import Engine, EngineOptions
from ipsim.engine.types import CollectionSpec, Document
from ipsim.server.app import create_app
from ipsim.server.auth import ApiKeys

pytestmark = pytest.mark.asyncio(loop_scope="module")
BASE = "http://ipsim.test"
CAFFEINE = "CN1C=NC2=C1C(=O)N(C(=O)N2C)C"
MOLBLOCK = """
     RDKit          2D

  2  1  0  0  0  0  0  0  0  0999 V2000
    0.0000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
    1.2990    0.7500    0.0000 O   0  0  0  0  0  0  0  0  0  0  0  0
  1  2  1  0
M  END
"""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Engine]:
    engine = Engine(EngineOptions(data=tmp_path_factory.mktemp("depict")))
    await engine.start()
    await engine.create_collection(CollectionSpec("mols", "chemical"))
    await engine.upsert("mols", [Document("caffeine", {"smiles": CAFFEINE}, {})])
    await engine.create_collection(CollectionSpec("seqs", "sequence"))
    yield engine
    await engine.close()


def http(engine: Engine, keys: ApiKeys | None = None) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(engine, Settings(), keys))
    return httpx.AsyncClient(transport=transport, base_url=BASE)


def svg_text(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(response.content)
    assert root.tag.endswith("svg")
    return response.text


async def test_smiles_molblock_and_smarts_are_drawn(engine: Engine) -> None:
    async with http(engine) as client:
        canonical = (await client.get("/v1/collections/mols/documents/caffeine")).json()
        smiles = svg_text(
            await client.post(
                "/v1/collections/mols/depict",
                json={"query": {"smiles": canonical["fields"]["smiles"]}},
            )
        )
        stored = await client.get(
            "/v1/collections/mols/documents/caffeine", params={"depict": "svg"}
        )
        typed = svg_text(
            await client.post("/v1/collections/mols/depict", json={"query": {"smiles": CAFFEINE}})
        )
        molblock = svg_text(
            await client.post("/v1/collections/mols/depict", json={"query": {"molblock": MOLBLOCK}})
        )
        smarts = svg_text(
            await client.post(
                "/v1/collections/mols/depict", json={"query": {"smarts": "c1ccccc1[N;H2]"}}
            )
        )
    # the query is drawn as the stored document is: same SMILES, same drawing
    assert smiles == stored.text
    assert typed.count("class='atom-") == smiles.count("class='atom-")
    assert "class='atom-" in molblock and molblock != smiles
    assert smarts not in (smiles, molblock) and "<path" in smarts


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"query": {"smiles": "C1CC"}}, "query.smiles", "unclosed ring"),
        ({"query": {"smarts": "[C"}}, "query.smarts", "SMARTS Parse Error"),
        ({"query": {"molblock": "junk"}}, "query.molblock", "molfile"),
        ({"query": {"smiles": "C", "smarts": "C"}}, "query.smarts", "exactly one"),
        ({"query": {"formula": "C8H10N4O2"}}, "query.formula", "unknown key"),
        ({"query": {}}, "query.smiles", "exactly one"),
    ],
)
async def test_a_bad_structure_is_400_naming_the_field(
    engine: Engine, body: dict[str, object], field: str, words: str
) -> None:
    async with http(engine) as client:
        response = await client.post("/v1/collections/mols/depict", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_argument"
    assert error["message"].startswith(f"{field}: ")
    assert words in error["message"]


async def test_unknown_and_non_chemical_collections(engine: Engine) -> None:
    async with http(engine) as client:
        missing = await client.post("/v1/collections/nope/depict", json={"query": {"smiles": "C"}})
        sequences = await client.post(
            "/v1/collections/seqs/depict", json={"query": {"smiles": "C"}}
        )
        no_query = await client.post("/v1/collections/mols/depict", json={"smiles": "C"})
    assert missing.status_code == 404
    assert sequences.status_code == 400
    assert sequences.json()["error"]["message"].startswith("collection: sequence collections")
    assert no_query.status_code == 400
    assert "query" in no_query.json()["error"]["message"]


async def test_the_route_needs_the_read_scope(engine: Engine, tmp_path: Path) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text("reader read\n", encoding="utf-8")
    keys = ApiKeys.load(keys_file)
    body = {"query": {"smiles": "CCO"}}
    async with http(engine, keys) as client:
        refused = await client.post("/v1/collections/mols/depict", json=body)
        allowed = await client.post(
            "/v1/collections/mols/depict", json=body, headers={"Authorization": "Bearer reader"}
        )
    assert refused.status_code == 401
    svg_text(allowed)
