"""Signed exchange packages on SQLite and PostgreSQL, imported into a real engine: a good
package from a registered partner imports; a bad signature, an unknown sender, a hash
mismatch, a record added after signing and a replayed id are refused and import nothing."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ipsim.engine.engine import Engine, EngineOptions
from ipsim.engine.errors import Conflict, InvalidInput, NotFound
from ipsim.engine.types import CollectionSpec
from ipsim.platform.filing.facade import EngineFacade
from ipsim.platform.gateway.packages import (
    PackageRejected,
    canonical,
    load_private_key,
    pack,
    public_key_b64,
)
from ipsim.platform.gateway.records import GoodsServices, TrademarkRecord
from ipsim.platform.services import Platform

EM_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
RECORDS = [
    TrademarkRecord("EM", f"0181000{i}", "2020-01-0" + str(i + 1), mark_text=word,
                    goods_services=(GoodsServices(9 + i),), applicants=("Acme",))
    for i, word in enumerate(["Kestrel", "Osprey", "Merlin"])
]  # fmt: skip
IDS = ["EM-01810000", "EM-01810001", "EM-01810002"]


@pytest_asyncio.fixture
async def platform(platform_url: str, tmp_path: Path) -> AsyncIterator[Platform]:
    engine = Engine(EngineOptions(data=tmp_path / "engine"))
    await engine.start()
    await engine.create_collection(CollectionSpec("marks", "trademark"))
    opened = Platform.open(platform_url, tmp_path)
    opened.attach_engine(EngineFacade(engine))
    opened.gateway.partners.register("EM", public_key_b64(EM_KEY), "EUIPO")
    yield opened
    opened.database.dispose()
    await engine.close()


async def stored(platform: Platform) -> list[str]:
    found = []
    for doc_id in IDS:
        try:
            await platform.gateway.export("marks", doc_id)
            found.append(doc_id)
        except NotFound:
            pass
    return found


def tamper(data: bytes, change: object) -> bytes:
    body = json.loads(data)
    change(body)  # type: ignore[operator]
    return canonical(body)


async def test_good_package_imports_then_replay_is_refused(platform: Platform) -> None:
    data = pack(RECORDS, "EM", EM_KEY, package_id="pkg-1", collection="marks")
    package = await platform.gateway.import_package(data)
    assert (package.id, package.sender, [r.id for r in package.records]) == ("pkg-1", "EM", IDS)
    assert await stored(platform) == IDS
    exported = await platform.gateway.export("marks", "EM-01810001", "jsonl")
    assert json.loads(exported)["mark_text"] == "Osprey"
    with pytest.raises(Conflict, match="already imported"):
        await platform.gateway.import_package(data)


def _edit_word(body: dict) -> None:  # type: ignore[type-arg]
    body["records"][1]["mark_text"] = "Ospray"


def _add_record(body: dict) -> None:  # type: ignore[type-arg]
    body["records"].append(dict(body["records"][0], application_number="X9"))


def _bad_signature(body: dict) -> None:  # type: ignore[type-arg]
    body["signature"] = base64.b64encode(OTHER_KEY.sign(canonical(body["header"]))).decode()


def _unknown_sender(body: dict) -> None:  # type: ignore[type-arg]
    body["header"]["sender"] = "US"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (_edit_word, "package.records[1]", "SHA-256"),
        (_add_record, "package.records", "holds 4 records but the signed manifest lists 3"),
        (_bad_signature, "package.signature", "does not verify with EM's registered key"),
        (_unknown_sender, "package.header.sender", "'US' is not a registered partner"),
    ],
)
async def test_tampered_packages_import_nothing(
    platform: Platform, change: object, field: str, message: str
) -> None:
    data = tamper(pack(RECORDS, "EM", EM_KEY, collection="marks"), change)
    with pytest.raises(PackageRejected) as caught:
        await platform.gateway.import_package(data)
    assert caught.value.field == field
    assert message in str(caught.value)
    assert await stored(platform) == []


async def test_a_package_whose_import_fails_is_not_consumed(platform: Platform) -> None:
    figurative = TrademarkRecord("EM", "X1", mark_text=None)
    data = pack([RECORDS[0], figurative], "EM", EM_KEY, package_id="pkg-2", collection="marks")
    with pytest.raises(InvalidInput, match="figurative"):
        await platform.gateway.import_package(data)
    assert await stored(platform) == []
    good = pack(RECORDS, "EM", EM_KEY, package_id="pkg-2", collection="marks")
    await platform.gateway.import_package(good)  # the id was released
    assert await stored(platform) == IDS


def test_keys_load_from_pem_raw_and_base64() -> None:
    pem = EM_KEY.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )  # fmt: skip
    raw = bytes(range(32))
    for data in (pem, raw, base64.b64encode(raw)):
        assert public_key_b64(load_private_key(data)) == public_key_b64(EM_KEY)
    with pytest.raises(InvalidInput, match="32 raw bytes"):
        load_private_key(b"short")


async def test_partner_registry_validates_and_lists(platform: Platform) -> None:
    registry = platform.gateway.partners
    with pytest.raises(InvalidInput) as caught:
        registry.register("EUR", public_key_b64(OTHER_KEY))
    assert caught.value.field == "office"
    with pytest.raises(InvalidInput) as caught:
        registry.register("DE", "not-a-key")
    assert caught.value.field == "public_key"
    registry.register("DE", public_key_b64(OTHER_KEY))
    assert [(p.office, p.public_key) for p in registry.partners()] == [
        ("DE", public_key_b64(OTHER_KEY)),
        ("EM", public_key_b64(EM_KEY)),
    ]
