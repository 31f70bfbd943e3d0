"""/v1/gateway over the real FastAPI app, a real engine (trademark and text collections) and
the platform on SQLite and PostgreSQL, through the SDK: ST.96 and real GBD records in and out,
hostile XML refused with nothing imported, partners and signed packages, and the CLI's offline
``pack``/``verify``."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from support.data import shared_data
from support.gateway_samples import (
    BILLION_LAUGHS,
    PATENT_XML,
    TRADEMARK_XML,
    XXE_FILE,
)

from ipsim.clients.cli import cli
from ipsim.clients.errors import BadRequest, Conflict, NotFound, PermissionDenied
from ipsim.clients.http import AsyncClient
from ipsim.config import Settings
from ipsim.engine.engine import Engine, EngineOptions
from ipsim.engine.types import CollectionSpec
from ipsim.platform.filing.facade import EngineFacade
from ipsim.platform.gateway.packages import canonical, pack, public_key_b64
from ipsim.platform.gateway.records import TrademarkRecord
from ipsim.platform.services import Platform
from ipsim.server.app import create_app
from ipsim.server.auth import ApiKeys

GBD = shared_data("ip", "gbd_trademark_records")
KEYS = "clerk write name=clerk\nreader read name=reader\noffice admin name=office\n"
EM_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


@pytest_asyncio.fixture
async def app(platform_url: str, tmp_path: Path) -> AsyncIterator[Any]:
    engine = Engine(EngineOptions(data=tmp_path / "engine"))
    await engine.start()
    await engine.create_collection(CollectionSpec("marks", "trademark"))
    await engine.create_collection(CollectionSpec("patents", "text"))
    platform = Platform.open(platform_url, tmp_path)
    platform.attach_engine(EngineFacade(engine))
    (tmp_path / "keys").write_text(KEYS)
    yield create_app(engine, Settings(), ApiKeys.load(tmp_path / "keys"), platform)
    platform.database.dispose()
    await engine.close()


def sdk(app: Any, key: str) -> AsyncClient:
    return AsyncClient(api_key=key, transport=httpx.ASGITransport(app=app))


async def test_st96_trademark_and_patent_round_trip_over_http(app: Any) -> None:
    async with sdk(app, "clerk") as clerk:
        assert await clerk.import_st96("marks", TRADEMARK_XML) == {"imported": ["EM-018123456"]}
        assert await clerk.import_st96("patents", PATENT_XML) == {"imported": ["EP-19812345.6"]}
        mark = await clerk.get("marks", "EM-018123456")
        assert mark["content"] == {"word": "Blue Heron"}
        assert mark["fields"]["nice_classes"] == [9, 25]
        exported = await clerk.export_st96("marks", "EM-018123456")
        hits = await clerk.search("patents", {"text": "bicycle that folds"}, k=1)
    assert b'<tmk:MarkVerbalElementText com:languageCode="en">Blue Heron<' in exported
    assert b"<tmk:ClassNumber>25</tmk:ClassNumber>" in exported
    assert b"<com:CategoryCode>03.07.16</com:CategoryCode>" in exported
    assert hits["hits"][0]["id"] == "EP-19812345.6"


async def test_export_of_a_patent_keeps_its_fields(app: Any) -> None:
    async with sdk(app, "clerk") as clerk:
        await clerk.import_st96("patents", PATENT_XML)
        exported = await clerk.export_st96("patents", "EP-19812345.6")
    for fragment in (
        b"<com:IPOfficeCode>EP</com:IPOfficeCode>",
        b"<pat:FilingDate>2019-11-05</pat:FilingDate>",
        b"<pat:PatentClassificationText>B62K 19/02</pat:PatentClassificationText>",
        b"<com:EntityName>Ada Rad</com:EntityName>",
        b"<com:P>A frame that folds at the seat tube.</com:P>",
    ):
        assert fragment in exported


@pytest.mark.skipif(not GBD.is_dir(), reason="shared GBD records absent")
async def test_real_gbd_records_import_and_export_as_st96(app: Any) -> None:
    async with sdk(app, "clerk") as clerk:
        answer = await clerk.import_st96("marks", (GBD / "mgtm" / "test.xml").read_bytes())
        assert answer == {"imported": ["MG-MG_M_2018_516"]}
        israel = await clerk.import_st96("marks", (GBD / "iltm" / "collcert.xml").read_bytes())
        exported = await clerk.export_st96("marks", "MG-MG_M_2018_516")
        il = await clerk.get("marks", israel["imported"][0])
    assert b'<tmk:MarkVerbalElementText com:languageCode="fr">chicetnic<' in exported
    assert exported.count(b"<tmk:ClassNumber>") == 5
    assert il["fields"]["vienna_codes"] == ["05.03"]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (BILLION_LAUGHS, "xml", "DTDs and entity declarations are not allowed"),
        (XXE_FILE, "xml", "DTDs and entity declarations are not allowed"),
        (b"<x>caf\xe9</x>", "xml", "invalid UTF-8"),
        (b"<x>" * 80 + b"</x>" * 80, "xml", "more than 64"),
        (TRADEMARK_XML.replace(b">25<", b">46<"), "ClassNumber (line 22)", "Nice"),
    ],
)
async def test_bad_xml_is_a_400_and_imports_nothing(
    app: Any, body: bytes, field: str, message: str
) -> None:
    async with sdk(app, "clerk") as clerk:
        with pytest.raises(BadRequest) as caught:
            await clerk.import_st96("marks", body)
        assert field in str(caught.value) and message in str(caught.value)
        assert (await clerk.get_collection("marks"))["count"] == 0


async def test_wrong_collection_kind_and_missing_things(app: Any) -> None:
    async with sdk(app, "clerk") as clerk:
        with pytest.raises(BadRequest, match="trademark record"):
            await clerk.import_st96("patents", TRADEMARK_XML)
        with pytest.raises(NotFound):
            await clerk.import_st96("nowhere", TRADEMARK_XML)
        with pytest.raises(NotFound):
            await clerk.export_st96("marks", "EM-404")
    async with sdk(app, "reader") as reader:
        with pytest.raises(PermissionDenied):
            await reader.import_st96("marks", TRADEMARK_XML)


async def test_packages_over_http(app: Any) -> None:
    records = [TrademarkRecord("EM", "100", mark_text="Kestrel"), TrademarkRecord("EM", "101",
               mark_text="Osprey")]  # fmt: skip
    data = pack(records, "EM", EM_KEY, package_id="p1", collection="marks")
    async with sdk(app, "clerk") as clerk, sdk(app, "office") as office:
        with pytest.raises(BadRequest, match="not a registered partner"):
            await clerk.import_package(data)
        with pytest.raises(PermissionDenied):
            await clerk.register_partner("EM", public_key_b64(EM_KEY))
        with pytest.raises(BadRequest, match="public_key"):
            await office.register_partner("EM", "xyz")
        await office.register_partner("EM", public_key_b64(EM_KEY), "EUIPO")
        listed = await clerk.list_partners()
        assert [(p["office"], p["name"]) for p in listed["partners"]] == [("EM", "EUIPO")]
        body = json.loads(data)
        body["records"][0]["mark_text"] = "Kestrol"
        with pytest.raises(BadRequest, match="SHA-256"):
            await clerk.import_package(canonical(body))
        assert (await clerk.get_collection("marks"))["count"] == 0
        answer = await clerk.import_package(data)
        assert answer == {"package": "p1", "sender": "EM", "collection": "marks",
                          "imported": ["EM-100", "EM-101"]}  # fmt: skip
        with pytest.raises(Conflict, match="replay"):
            await clerk.import_package(data)
        assert (await clerk.get_collection("marks"))["count"] == 2


def test_cli_pack_and_verify_offline(tmp_path: Path) -> None:
    (tmp_path / "em.key").write_bytes(base64.b64encode(bytes(range(32))))
    (tmp_path / "mark.xml").write_bytes(TRADEMARK_XML)
    (tmp_path / "keys.json").write_text(json.dumps({"EM": public_key_b64(EM_KEY)}))
    (tmp_path / "other.json").write_text(json.dumps({"DE": public_key_b64(EM_KEY)}))
    runner = CliRunner()
    out = str(tmp_path / "p.json")
    key, mark = str(tmp_path / "em.key"), str(tmp_path / "mark.xml")
    packed = runner.invoke(
        cli, ["gateway", "pack", mark, "--sender", "em", "--key", key, "--out", out, "--id", "p9"]
    )
    assert packed.exit_code == 0, packed.output
    assert "packed 1 records from EM" in packed.output
    good = runner.invoke(cli, ["gateway", "verify", out, "--keys", str(tmp_path / "keys.json")])
    assert good.exit_code == 0 and "ok: package p9 from EM, 1 records" in good.output
    bad = runner.invoke(cli, ["gateway", "verify", out, "--keys", str(tmp_path / "other.json")])
    assert bad.exit_code == 1 and "'EM' is not a registered partner" in bad.output


async def test_csv_and_jsonl_in_and_out(app: Any) -> None:
    headers = {"Authorization": "Bearer clerk"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as http:
        xml = await http.post(
            "/v1/gateway/st96", params={"collection": "marks"}, content=TRADEMARK_XML
        )
        assert xml.status_code == 200, xml.text
        out = await http.get("/v1/gateway/export/marks/EM-018123456", params={"format": "csv"})
        assert out.headers["content-type"].startswith("text/csv")
        again = await http.post(
            "/v1/gateway/import", params={"collection": "marks", "format": "csv"},
            content=out.content.replace(b"Blue Heron", b"Grey Heron"),
        )  # fmt: skip
        assert again.json() == {"imported": ["EM-018123456"]}
        line = await http.get("/v1/gateway/export/marks/EM-018123456", params={"format": "jsonl"})
        assert json.loads(line.content)["mark_text"] == "Grey Heron"
        bad = await http.get("/v1/gateway/export/marks/EM-018123456", params={"format": "gbd"})
        assert bad.status_code == 400
        assert bad.json()["error"]["message"].startswith("format")
