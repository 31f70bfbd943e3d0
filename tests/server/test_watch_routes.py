"""/v1/watches over HTTP: bodies, status codes, paging and scopes.

The engine here is a thin stand-in whose watch methods delegate to a real
:class:`~ipsim.engine.watches.Watches` on a temporary folder; checking the query against
the collection is the real engine's part and is not exercised here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ipsim.config import Settings
from ipsim.engine.errors import NotFound
from ipsim.engine.watches import Notification, Watch, Watches
from ipsim.server.app import create_app
from ipsim.server.auth import ApiKeys

BODY = {
    "collection": "marks",
    "query": {"word": "ACME"},
    "mode": "phonetic",
    "threshold": 0.75,
    "filter": {"class": 25},
    "callback_url": "https://example.test/hook",
}


class WatchEngine:
    """Just the engine's watch facade; only collection "marks" exists."""

    ready = True

    def __init__(self, watches: Watches) -> None:
        self.watches = watches

    async def create_watch(
        self,
        collection: str,
        query: dict[str, Any],
        mode: str | None,
        threshold: float,
        filter: dict[str, Any] | None,
        callback_url: str | None,
    ) -> Watch:
        if collection != "marks":
            raise NotFound(f"collection {collection!r} does not exist")
        return self.watches.create(
            collection=collection,
            query=query,
            mode=mode,
            threshold=threshold,
            filter=filter,
            callback_url=callback_url,
        )

    def get_watch(self, watch_id: str) -> Watch:
        return self.watches.get(watch_id)

    def delete_watch(self, watch_id: str) -> None:
        self.watches.delete(watch_id)

    def watch_notifications(
        self, watch_id: str, offset: int, limit: int
    ) -> tuple[list[Notification], int]:
        return self.watches.notifications(watch_id, offset=offset, limit=limit)


@pytest.fixture
async def watches(tmp_path: Path) -> AsyncIterator[Watches]:
    registry = Watches(tmp_path / "watches", retries=0)
    await registry.start()
    yield registry
    await registry.close()


def http(
    watches: Watches, keys: ApiKeys | None = None, key: str | None = None
) -> httpx.AsyncClient:
    app = create_app(WatchEngine(watches), Settings(), keys)  # type: ignore[arg-type]
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://ipsim.test", headers=headers)


async def test_create_answers_201_with_the_stored_watch(watches: Watches) -> None:
    async with http(watches) as client:
        answer = await client.post("/v1/watches", json=BODY)
        assert answer.status_code == 201
        created = answer.json()
        assert created == {**BODY, "id": created["id"], "created": created["created"]}
        assert watches.get(created["id"]).query == BODY["query"]

        fetched = await client.get(f"/v1/watches/{created['id']}")
        assert fetched.status_code == 200 and fetched.json() == created


async def test_optional_fields_default_to_null(watches: Watches) -> None:
    body = {"collection": "marks", "query": {"word": "ACME"}, "threshold": 1}
    async with http(watches) as client:
        answer = await client.post("/v1/watches", json=body)
    assert answer.status_code == 201
    created = answer.json()
    assert (created["mode"], created["filter"], created["callback_url"]) == (None, None, None)
    assert created["threshold"] == 1.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"nope": 1}, "nope: unknown field"),
        ({"threshold": "0.5"}, "threshold: "),
        ({"threshold": True}, "threshold: "),
        ({"threshold": 1.5}, "threshold: must be a number from 0 to 1"),
        ({"callback_url": "ftp://example.test/"}, "callback_url: must be an absolute http"),
        ({"query": "ACME"}, "query: "),
        ({"collection": None}, "collection: "),
    ],
)
async def test_bad_bodies_are_400_naming_the_field(
    watches: Watches, change: dict[str, Any], message: str
) -> None:
    async with http(watches) as client:
        answer = await client.post("/v1/watches", json={**BODY, **change})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "invalid_argument" and error["message"].startswith(message)


async def test_a_missing_collection_or_watch_is_404(watches: Watches) -> None:
    async with http(watches) as client:
        created = await client.post("/v1/watches", json={**BODY, "collection": "logos"})
        assert created.status_code == 404
        assert created.json()["error"]["code"] == "not_found"
        for method, path in [
            ("GET", "/v1/watches/w_missing"),
            ("DELETE", "/v1/watches/w_missing"),
            ("GET", "/v1/watches/w_missing/notifications"),
        ]:
            answer = await client.request(method, path)
            assert answer.status_code == 404, path
            assert "w_missing" in answer.json()["error"]["message"]


async def test_delete_is_204_and_the_watch_is_gone(watches: Watches) -> None:
    async with http(watches) as client:
        watch_id = (await client.post("/v1/watches", json=BODY)).json()["id"]
        deleted = await client.delete(f"/v1/watches/{watch_id}")
        assert deleted.status_code == 204 and deleted.content == b""
        assert (await client.get(f"/v1/watches/{watch_id}")).status_code == 404


async def test_notifications_page_with_their_total(watches: Watches) -> None:
    watch = watches.create(
        collection="marks", query={}, mode=None, threshold=0.5, filter=None, callback_url=None
    )
    made = [await watches.notify(watch, f"T{i}", 0.5 + i / 10, {"i": i}) for i in range(4)]
    async with http(watches) as client:
        answer = await client.get(
            f"/v1/watches/{watch.id}/notifications", params={"offset": 1, "limit": 2}
        )
    assert answer.status_code == 200
    body = answer.json()
    assert body["total"] == 4
    assert body["notifications"] == [
        {**note.payload(), "delivery": "none", "attempts": 0, "last_error": None}
        for note in made[1:3]
    ]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1001}, {"offset": -1}, {"limit": "x"}])
async def test_notification_paging_is_checked(watches: Watches, params: dict[str, Any]) -> None:
    watch = watches.create(
        collection="marks", query={}, mode=None, threshold=0.5, filter=None, callback_url=None
    )
    async with http(watches) as client:
        answer = await client.get(f"/v1/watches/{watch.id}/notifications", params=params)
    assert answer.status_code == 400
    [name] = params
    assert name in answer.json()["error"]["message"]


async def test_creating_and_deleting_need_write_reading_needs_read(
    watches: Watches, tmp_path: Path
) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text("reader read\nwriter write\n")
    keys = ApiKeys.load(keys_file)
    async with http(watches, keys, "reader") as reader, http(watches, keys, "writer") as writer:
        assert (await reader.post("/v1/watches", json=BODY)).status_code == 403
        created = await writer.post("/v1/watches", json=BODY)
        assert created.status_code == 201
        path = f"/v1/watches/{created.json()['id']}"
        assert (await reader.get(path)).status_code == 200
        assert (await reader.get(f"{path}/notifications")).status_code == 200
        assert (await reader.delete(path)).status_code == 403
        assert (await writer.delete(path)).status_code == 204
    async with http(watches, keys) as anonymous:
        assert (await anonymous.get(path)).status_code == 401
