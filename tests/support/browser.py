"""A real browser for the web-page tests: Debian's chromium driven by Playwright.

Playwright's own browser download cannot run here, so the tests point it at ``/usr/bin/chromium``
(``tools/system_deps.sh`` installs it). Without it, :func:`chromium` tries that script once and
skips only if chromium is still missing.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO / "var" / "screenshots"
"""Where the browser tests leave their screenshots (named in the README)."""


def chromium() -> Path:
    """Debian's chromium, installed through tools/system_deps.sh when missing."""
    if not CHROMIUM.exists():
        done = subprocess.run(
            ["sh", str(REPO / "tools" / "system_deps.sh")],
            capture_output=True,
            text=True,
            timeout=900,
        )
        if not CHROMIUM.exists():
            pytest.skip(
                f"{CHROMIUM} is absent and tools/system_deps.sh could not install Debian's "
                f"chromium (exit {done.returncode}): {done.stderr.strip()[-300:]}"
            )
    return CHROMIUM


@dataclass
class Watch:
    """What went wrong on a page: console errors, uncaught exceptions, failed requests."""

    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @classmethod
    def on(cls, page: Any) -> Watch:
        watch = cls()
        page.on("console", lambda m: m.type == "error" and watch.errors.append(m.text))
        page.on("pageerror", lambda e: watch.errors.append(f"uncaught: {e}"))
        page.on("requestfailed", lambda r: watch.failed.append(f"{r.url}: {r.failure}"))
        page.on(
            "response",
            lambda r: r.status >= 400 and watch.failed.append(f"{r.url}: HTTP {r.status}"),
        )
        return watch

    def clear(self) -> None:
        self.errors.clear()
        self.failed.clear()


def screenshot(page: Any, name: str) -> Path:
    """A full-page screenshot under :data:`SCREENSHOTS` (``name`` may hold a sub-folder)."""
    path = SCREENSHOTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path
