"""Start the real `ipsim serve` process on free ports; a browser on its portal."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

READY = re.compile(r"^ipsim ready http=(\S+) grpc=(\S+)$")


@dataclass
class ServerProcess:
    """A running server: its addresses, process and captured output."""

    process: subprocess.Popen[str]
    http: str
    grpc: str
    data: Path
    stderr: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.http}"

    def terminate(self, timeout: float = 90) -> int:
        """SIGTERM and wait; a server that does not stop is killed and the test fails."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)


def start_server(
    data: Path, *extra: str, env: dict[str, str] | None = None, timeout: float = 120
) -> ServerProcess:
    """Run `ipsim serve` on port 0 and wait for its ready line."""
    command = [
        sys.executable,
        "-c",
        "from ipsim.cli import main; main()",
        "serve",
        "--data",
        str(data),
        "--http",
        "127.0.0.1:0",
        "--grpc",
        "127.0.0.1:0",
        *extra,
    ]
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment
    )
    stderr: list[str] = []
    assert process.stderr is not None and process.stdout is not None
    threading.Thread(target=lambda: stderr.extend(process.stderr), daemon=True).start()  # type: ignore[arg-type]
    result: list[str] = []

    def read_ready() -> None:
        for line in process.stdout:  # type: ignore[union-attr]
            result.append(line.rstrip("\n"))
            if READY.match(line.strip()):
                return

    reader = threading.Thread(target=read_ready, daemon=True)
    reader.start()
    reader.join(timeout)
    match = READY.match(result[-1]) if result else None
    if match is None:
        process.kill()
        raise RuntimeError(
            f"server did not become ready: stdout={result} stderr={''.join(stderr)[-3000:]}"
        )
    return ServerProcess(process, match.group(1), match.group(2), data, stderr)


def run_cli(server: ServerProcess, *args: str, state: Path) -> subprocess.CompletedProcess[str]:
    """Run the ``ipsim`` CLI against ``server``, its checkpoints under ``state``."""
    env = {**os.environ, "IPSIM_URL": server.url, "IPSIM_STATE_DIR": str(state)}
    return subprocess.run(
        [sys.executable, "-c", "from ipsim.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real server for the e2e session (no demo: tests create their own collections)."""
    proc = start_server(tmp_path_factory.mktemp("e2e-data"))
    yield proc
    if proc.process.poll() is None:
        proc.terminate()


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A real server over the demo collections (what `make serve` builds; about 1.5 min).

    ``IPSIM_TEST_DEMO_DATA`` may name a data directory where the demo was built before: a copy
    of it is used, and the build is skipped (for iterating on the browser tests)."""
    data = tmp_path_factory.mktemp("demo") / "data"
    prebuilt = os.environ.get("IPSIM_TEST_DEMO_DATA")
    if prebuilt:
        shutil.copytree(prebuilt, data)
    proc = start_server(data, "--demo", timeout=900)
    yield proc
    if proc.process.poll() is None:
        proc.terminate()


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[Any]:
    """Debian's chromium under Playwright, headless, for one test module. Not longer: while
    Playwright's sync API is open, an event loop runs on this thread, and the async tests
    that come after (pytest-asyncio) could not start theirs."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")
    from support.browser import chromium

    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium()), headless=True)
        yield launched
        launched.close()


@dataclass
class PortalPage:
    """One browser tab on the portal, with what went wrong on it."""

    page: Any
    watch: Any
    url: str

    def open(self, fragment: str = "") -> Any:
        """Go to ``/#/fragment`` and wait until the page's view is drawn."""
        self.page.goto(f"{self.url}/#/{fragment}")
        self.page.wait_for_selector("#view > section")
        return self.page

    def search_api(self, collection: str, body: dict[str, Any]) -> dict[str, Any]:
        """What the HTTP API answers for ``body`` (to compare with what the page shows)."""
        response = httpx.post(
            f"{self.url}/v1/collections/{collection}/search", json=body, timeout=120
        )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def assert_clean(self) -> None:
        """No console error, uncaught exception or failed request so far."""
        assert self.watch.errors == [], self.watch.errors
        assert self.watch.failed == [], self.watch.failed


def _tab(browser: Any, server: ServerProcess, width: int, height: int) -> Iterator[PortalPage]:
    from support.browser import Watch

    context = browser.new_context(
        viewport={"width": width, "height": height}, locale="en-US", accept_downloads=True
    )
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield PortalPage(page, Watch.on(page), server.url)
    context.close()


@pytest.fixture
def portal(chromium_browser: Any, demo_server: ServerProcess) -> Iterator[PortalPage]:
    """A fresh tab (English, desktop width) on the demo server's portal."""
    yield from _tab(chromium_browser, demo_server, 1300, 900)


@pytest.fixture
def phone_portal(chromium_browser: Any, demo_server: ServerProcess) -> Iterator[PortalPage]:
    """A fresh tab (English) the width of a phone (390 px)."""
    yield from _tab(chromium_browser, demo_server, 390, 844)


def submit_search(page: Any, collection: str, click: str, drawn: str) -> dict[str, Any]:
    """Click ``click`` on the portal ``page``; the search body it sent, once ``drawn`` shows."""
    with page.expect_response(
        lambda r: (
            r.request.method == "POST" and r.url.endswith(f"/v1/collections/{collection}/search")
        )
    ) as answered:
        page.click(click)
    page.wait_for_selector(drawn)
    body: dict[str, Any] = json.loads(answered.value.request.post_data)
    return body
