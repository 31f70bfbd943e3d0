"""Shared fixtures and marker handling: `slow` needs --run-slow; `gpu` needs a CUDA device."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="also run tests marked slow")


def _has_gpu() -> bool:
    """A CUDA device that any of our GPU paths (CuPy, FAISS, torch) can reach."""
    for probe in (_cupy_gpus, _faiss_gpus, _torch_gpus):
        try:
            if probe() > 0:
                return True
        except Exception:  # a missing package or driver is "no GPU" for that path
            continue
    return False


def _cupy_gpus() -> int:
    import cupy

    return int(cupy.cuda.runtime.getDeviceCount())


def _faiss_gpus() -> int:
    import faiss

    return int(faiss.get_num_gpus())


def _torch_gpus() -> int:
    import torch

    return int(torch.cuda.device_count())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run_slow = config.getoption("--run-slow") or os.environ.get("IPSIM_RUN_SLOW") == "1"
    gpu = _has_gpu()
    for item in items:
        if "slow" in item.keywords and not run_slow:
            item.add_marker(pytest.mark.skip(reason="slow: run with --run-slow"))
        if "gpu" in item.keywords and not gpu:
            item.add_marker(pytest.mark.skip(reason="no CUDA device"))


# Shared test helpers live in tests/support (tests are not a package under importlib mode).
sys.path.insert(0, str(Path(__file__).resolve().parent))

if TYPE_CHECKING:
    from support.postgres import PostgresServer


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One real PostgreSQL cluster for the session (started on first use)."""
    from support.postgres import postgres_server  # psycopg loads only where it is used

    with postgres_server() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def platform_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty platform database: each test that takes it runs on both backends."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'platform.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    with server.database() as url:
        yield url
