"""A real `ipsim serve` for the hardening tests, with small collections of several modalities."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.hardening import Seeded, seed

# tests/ is not a package (importlib mode): load the e2e server launcher by its path.
_spec = importlib.util.spec_from_file_location(
    "hardening_e2e_launcher", Path(__file__).resolve().parent.parent / "e2e" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_launcher = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _launcher
_spec.loader.exec_module(_launcher)
ServerProcess = _launcher.ServerProcess
start_server = _launcher.start_server


@pytest.fixture(scope="session")
def hardening_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One real server for the hardening session (no demo), with a short body time-out so
    that the slow-loris test sees it (the default is 60 s)."""
    proc = start_server(
        tmp_path_factory.mktemp("hardening-data"), env={"IPSIM_BODY_TIMEOUT_S": "5"}
    )
    yield proc
    if proc.process.poll() is None:
        proc.terminate()


@pytest.fixture(scope="session")
def seeded(hardening_server: Any) -> Seeded:
    return seed(hardening_server.url)


@pytest.fixture(scope="session")
def reseed(hardening_server: Any) -> Any:
    """Re-create the seed objects (after a test deleted some)."""
    return lambda: seed(hardening_server.url)
