"""Filing through the SDK against the real `ipsim serve`: upload a view, file a design with an
Idempotency-Key (a retry answers the same application), move it as the office, withdraw one as
the applicant, and follow it all on the change feed; the async client speaks the same routes."""

from __future__ import annotations

import asyncio
import struct
from pathlib import Path

import pytest

from ipsim.clients.errors import Conflict, NotFound, PermissionDenied
from ipsim.clients.http import AsyncClient, Client

from .conftest import start_server

APPLICANT_KEY = "applicant-key"
OFFICE_KEY = "office-key"
STL = b"\0" * 80 + struct.pack("<I", 1) + b"\0" * 50
APPLICANT = {"name": "Design Works", "country": "de", "type": "sme"}


def test_filing_tracking_and_the_change_feed_through_the_sdk(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text(f"{APPLICANT_KEY} write name=applicant\n{OFFICE_KEY} admin name=office\n")
    server = start_server(tmp_path / "data", env={"IPSIM_API_KEYS": str(keys)})
    try:
        with (
            Client(server.url, api_key=APPLICANT_KEY) as applicant,
            Client(server.url, api_key=OFFICE_KEY) as office,
        ):
            view = applicant.upload_attachment(STL, "model/stl")
            assert (
                view["media_type"] == "model/stl"
                and applicant.get_attachment(view["sha256"]) == STL
            )
            content = {"locarno": "06-01", "views": [view["sha256"]]}
            filed = applicant.file_application(
                "industrial_design", "A chair", APPLICANT, content, idempotency_key="chair-1"
            )
            retried = applicant.file_application(
                "industrial_design", "A chair", APPLICANT, content, idempotency_key="chair-1"
            )
            assert retried["id"] == filed["id"] and filed["status"] == "received"
            assert filed["applicant"]["country"] == "DE" and filed["fees"][0]["event"] == "filing"
            with pytest.raises(Conflict):
                applicant.file_application(
                    "industrial_design", "A table", APPLICANT, content, idempotency_key="chair-1"
                )
            with pytest.raises(PermissionDenied):
                applicant.transition_application(filed["id"], "formal_examination")
            office.transition_application(filed["id"], "formal_examination", "complete")
            examined = office.transition_application(filed["id"], "substantive_examination")
            assert [f["event"] for f in examined["fees"]] == ["filing", "examination"]
            with pytest.raises(Conflict, match="substantive_examination"):
                office.transition_application(filed["id"], "publication")
            withdrawn = applicant.transition_application(filed["id"], "withdrawn", "no longer")
            assert withdrawn["status"] == "withdrawn"
            listed = office.list_applications(status="withdrawn", applicant="design works")
            assert [a["id"] for a in listed["applications"]] == [filed["id"]]
            feed = office.application_changes(after=0, limit=100)
            moves = [c["to_status"] for c in feed["changes"] if c["kind"] == "transition"]
            assert moves == ["formal_examination", "substantive_examination", "withdrawn"]
            assert office.application_changes(after=feed["next"])["changes"] == []
        asyncio.run(_the_async_client_reads_the_same(server.url, filed["id"]))
    finally:
        server.terminate()


async def _the_async_client_reads_the_same(url: str, application_id: str) -> None:
    async with AsyncClient(url, api_key=APPLICANT_KEY) as client:
        application = await client.get_application(application_id)
        assert application["status"] == "withdrawn"
        assert (await client.list_applications(kind="industrial_design"))["total"] == 1
        feed = await client.application_changes(after=0, limit=2)
        assert len(feed["changes"]) == 2 and feed["next"] == feed["changes"][-1]["seq"]
        with pytest.raises(NotFound):
            await client.get_application("A0000000000000000")
