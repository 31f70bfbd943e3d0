"""The package layout promises of the contract."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_platform_from_the_repository_root_is_the_standard_library() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import platform; print(platform.__file__); platform.system()"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert not out.startswith(str(ROOT)), out


def test_subpackages_import_as_ipsim_rooms() -> None:
    code = (
        "import ipsim.engine, ipsim.models, ipsim.indexers, ipsim.server, ipsim.clients, "
        "ipsim.platform; print(ipsim.platform.__path__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert str(ROOT / "platform") in out


def test_console_script_runs() -> None:
    ipsim = Path(sys.executable).with_name("ipsim")
    out = subprocess.run([str(ipsim), "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("serve", "collections", "ingest", "search"):
        assert command in out
