"""GET /v1/collections/{name}/facets over the real app and a real engine, the SDK and the CLI.

The collection is chemical (no model to load): molecules with the IPC codes, countries and
years of the patents that disclose them. Expected counts are computed here from the
documents; the CLI is checked against the answer the real route gave.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import pytest_asyncio
from click.testing import CliRunner

from ipsim.clients.cli import CliContext, cli
from ipsim.clients.errors import BadRequest, NotFound
from ipsim.clients.http import AsyncClient
from ipsim.config import Settings
from ipsim.engine.engine import Engine, EngineOptions
from ipsim.engine.types import CollectionSpec, Document
from ipsim.server.app import create_app
from ipsim.server.auth import ApiKeys

pytestmark = pytest.mark.asyncio(loop_scope="module")
BASE = "http://ipsim.test"
URL = "/v1/collections/mols/facets"
CODES = ["A61K 31/495", "A61K0031000000", "A61K 9/20", "A61P 35/00", "C07D 401/04", "C07D"]


def _documents() -> list[Document]:
    rng = random.Random(11)
    docs = []
    for i in range(60):
        fields: dict[str, Any] = {"country": rng.choice(["RU", "US", "EP"]), "year": 2000 + i % 20}
        if i % 10:
            fields["ipc"] = rng.sample(CODES, rng.randrange(1, 4))
        docs.append(Document(f"m{i}", {"smiles": "C" * (i + 1)}, fields))
    return docs


DOCS = _documents()


def children(prefix_depth: int, parent: str | None, country: str | None = None) -> Counter[str]:
    """The direct count, with the paths written out by hand for these few codes."""
    paths = {
        "A61K 31/495": ("A", "A61", "A61K", "A61K 31/00", "A61K 31/495"),
        "A61K0031000000": ("A", "A61", "A61K", "A61K 31/00"),
        "A61K 9/20": ("A", "A61", "A61K", "A61K 9/00", "A61K 9/20"),
        "A61P 35/00": ("A", "A61", "A61P", "A61P 35/00"),
        "C07D 401/04": ("C", "C07", "C07D", "C07D 401/00", "C07D 401/04"),
        "C07D": ("C", "C07", "C07D"),
    }
    counts: Counter[str] = Counter()
    for doc in DOCS:
        if country is not None and doc.fields["country"] != country:
            continue
        found = {
            path[prefix_depth]
            for path in (paths[c] for c in doc.fields.get("ipc", []))
            if len(path) > prefix_depth and (parent is None or path[prefix_depth - 1] == parent)
        }
        counts.update(found)
    return counts


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Engine]:
    engine = Engine(EngineOptions(data=tmp_path_factory.mktemp("facets")))
    await engine.start()
    await engine.create_collection(CollectionSpec("mols", "chemical"))
    await engine.upsert("mols", DOCS)
    yield engine
    await engine.close()


def http(engine: Engine, keys: ApiKeys | None = None, key: str | None = None) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(engine, Settings(), keys))
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.AsyncClient(transport=transport, base_url=BASE, headers=headers)


def values(answer: dict[str, Any]) -> Counter[str]:
    return Counter({v["value"]: v["count"] for v in answer["values"]})


async def test_top_level_counts_sections(engine: Engine) -> None:
    async with http(engine) as client:
        response = await client.get(URL, params={"field": "ipc"})
    assert response.status_code == 200
    answer = response.json()
    assert values(answer) == children(0, None)
    assert {v["level"] for v in answer["values"]} == {"section"}
    assert answer["system"] == "ipc" and answer["prefix"] is None
    assert (answer["missing"], answer["documents"], answer["other"]) == (6, 60, 0)


async def test_a_prefix_drills_down_and_a_filter_narrows(engine: Engine) -> None:
    async with http(engine) as client:
        subclass = (await client.get(URL, params={"field": "ipc", "prefix": "a61k"})).json()
        main = await client.get(
            URL,
            params={
                "field": "ipc",
                "prefix": "A61K0031000000",
                "filter": json.dumps({"country": "RU"}),
            },
        )
    assert subclass["prefix"] == "A61K"
    assert values(subclass) == children(3, "A61K")
    assert [v["level"] for v in subclass["values"]] == ["main_group"] * len(subclass["values"])
    answer = main.json()
    assert answer["prefix"] == "A61K 31/00"
    assert values(answer) == children(4, "A61K 31/00", country="RU")
    assert answer["documents"] == sum(1 for d in DOCS if d.fields["country"] == "RU")


async def test_limit_lists_the_largest_and_counts_the_others(engine: Engine) -> None:
    async with http(engine) as client:
        answer = (await client.get(URL, params={"field": "year", "limit": 3})).json()
    assert [v["count"] for v in answer["values"]] == [3, 3, 3]
    assert [v["value"] for v in answer["values"]] == [2000, 2001, 2002]  # ties by value
    assert answer["other"] == 17 and answer["system"] is None


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "query.field: "),
        ({"field": "ipc", "limit": "0"}, "limit: must be an integer from 1 to 1000"),
        ({"field": "ipc", "limit": "lots"}, "query.limit: "),
        ({"field": "ipc", "prefix": "A61K 31/495"}, "prefix: 'A61K 31/495' is a subgroup"),
        ({"field": "ipc", "prefix": "61K"}, "prefix: '61K' is not a valid IPC code"),
        ({"field": "ipc", "filter": "{country: RU}"}, "filter: is not valid JSON"),
        ({"field": "ipc", "filter": "[1]"}, "filter: must be a JSON object"),
        ({"field": "ipc", "filter": '{"year": {"gte": "x"}}'}, "filter.year.gte: "),
    ],
)
async def test_bad_parameters_are_400_naming_them(
    engine: Engine, params: dict[str, str], message: str
) -> None:
    async with http(engine) as client:
        response = await client.get(URL, params=params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_argument"
    assert error["message"].startswith(message), error["message"]


async def test_an_unknown_collection_is_404(engine: Engine) -> None:
    async with http(engine) as client:
        response = await client.get("/v1/collections/nope/facets", params={"field": "ipc"})
    assert response.status_code == 404


async def test_the_route_needs_the_read_scope(engine: Engine, tmp_path: Path) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text("reader read\n", encoding="utf-8")
    keys = ApiKeys.load(keys_file)
    async with http(engine, keys) as anonymous, http(engine, keys, "reader") as reader:
        assert (await anonymous.get(URL, params={"field": "ipc"})).status_code == 401
        assert (await reader.get(URL, params={"field": "ipc"})).status_code == 200


async def test_the_sdk_and_the_cli_show_the_same_counts(engine: Engine) -> None:
    transport = httpx.ASGITransport(app=create_app(engine, Settings()))
    async with AsyncClient(BASE, transport=transport) as client:
        answer = await client.facets("mols", "ipc", prefix="C07D", filter={"country": "EP"})
        with pytest.raises(BadRequest, match="prefix"):
            await client.facets("mols", "ipc", prefix="nonsense")
        with pytest.raises(NotFound):
            await client.facets("nope", "ipc")
    assert values(answer) == children(3, "C07D", country="EP")

    sent: list[httpx.Request] = []

    def server(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=answer)

    context = CliContext(transport=httpx.MockTransport(server))
    args = ["facets", "mols", "ipc", "--prefix", "C07D", "--filter", '{"country": "EP"}']
    table = CliRunner().invoke(cli, args, obj=context)
    assert table.exit_code == 0, table.output
    query = parse_qs(urlsplit(str(sent[0].url)).query)
    assert query == {
        "field": ["ipc"],
        "limit": ["20"],
        "prefix": ["C07D"],
        "filter": ['{"country":"EP"}'],
    }
    lines = table.output.splitlines()
    assert lines[0].split() == ["value", "documents", "level"]
    rows = [re.split(r"\s{2,}", line) for line in lines[1:-1]]
    assert rows == [[v["value"], str(v["count"]), v["level"]] for v in answer["values"]]
    counts = f"{answer['documents']} documents, {answer['missing']} without it"
    assert lines[-1].startswith(f"ipc under C07D: {counts}")
    as_json = CliRunner().invoke(cli, [*args, "--json"], obj=context)
    assert json.loads(as_json.output) == answer
