"""Integer query parameters that reach SQL are bounded at the edge: a value past 64 bits is a
400 naming the parameter, not the driver's OverflowError as a 500 (found by the API fuzzer)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ipsim.config import Settings
from ipsim.platform.services import Platform
from ipsim.server.app import create_app

HUGE = str(10**22)


class NoEngine:
    """These routes never reach the engine."""

    ready = True


@pytest.fixture
def http(tmp_path: Path) -> Iterator[TestClient]:
    platform = Platform.open(f"sqlite:///{tmp_path / 'platform.db'}", tmp_path)
    app = create_app(NoEngine(), Settings(), None, platform)  # type: ignore[arg-type]
    yield TestClient(app, raise_server_exceptions=False)
    platform.database.dispose()


@pytest.mark.parametrize(
    ("url", "field"),
    [
        (f"/v1/applications?offset={HUGE}", "offset"),
        (f"/v1/applications/changes?after={HUGE}", "after"),
        (f"/v1/applications/x/messages?after={HUGE}", "after"),
        (f"/v1/result-sets?offset={HUGE}", "offset"),
        (f"/v1/attorneys?offset={HUGE}", "offset"),
        ("/v1/attorneys?offset=-1", "offset"),
    ],
)
def test_an_out_of_range_integer_is_a_400_naming_it(http: TestClient, url: str, field: str) -> None:
    answer = http.get(url)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_argument"
    assert field in error["message"]


def test_the_largest_64_bit_offset_is_still_accepted(http: TestClient) -> None:
    answer = http.get(f"/v1/applications?offset={2**63 - 1}")
    assert answer.status_code == 200, answer.text
    assert answer.json()["applications"] == []
