"""The developers page in a real browser: the OpenAPI explorer at /docs is ours (swagger-ui
vendored, nothing loaded from another origin) and lists the operations of /openapi.json; the
proto is served as text and shown; the CLI, Python SDK, gRPC and curl examples the page prints
run as printed against this server and print the hits its API answers."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from support.browser import screenshot

from ipsim.clients.http import Client

from .conftest import PortalPage, ServerProcess

PROTO = Path(__file__).resolve().parents[2] / "proto" / "ipsim" / "v1" / "search.proto"
QUERY = "battery cooling plate"


def api_hits(url: str) -> list[str]:
    with Client(url) as client:
        return [h["id"] for h in client.search("patents", {"text": QUERY}, k=5)["hits"]]


def printed_ids(output: str, expected: list[str]) -> list[str]:
    """The ids of ``expected`` in the order ``output`` prints them (one hit per line)."""
    found = []
    for line in output.splitlines():
        for word in re.split(r"\s+", line.strip()):
            if word in expected:
                found.append(word)
                break
    return found


def example(page: Any, name: str) -> str:
    code = page.locator(f"#dev-example-{name}")
    code.wait_for()
    return str(code.inner_text())


def test_the_api_explorer_is_served_from_this_origin(portal: PortalPage) -> None:
    page = portal.page
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(f"{portal.url}/docs")
    page.wait_for_selector(".opblock", timeout=60_000)
    paths = page.locator(".opblock-summary-path").evaluate_all(
        "(nodes) => nodes.map((n) => n.getAttribute('data-path'))"
    )
    spec = httpx.get(f"{portal.url}/openapi.json", timeout=30).json()
    assert set(paths) == set(spec["paths"]), set(spec["paths"]) ^ set(paths)
    assert "/v1/collections/{name}/search" in paths
    assert "/v1/proto/search.proto" in paths
    assert requested and all(url.startswith(portal.url) for url in requested), requested
    assert any(url.endswith("/openapi.json") for url in requested)
    html = httpx.get(f"{portal.url}/docs", timeout=30)
    assert "script-src" not in html.headers["content-security-policy"]  # default-src 'self'
    assert "cdn" not in html.text.lower() and "<script>" not in html.text
    # FastAPI's ReDoc page would load from a CDN: it is off
    assert httpx.get(f"{portal.url}/redoc", timeout=30).status_code == 404
    screenshot(page, "portal/developers-docs")
    portal.assert_clean()


def test_the_proto_is_served_as_text(demo_server: ServerProcess) -> None:
    answer = httpx.get(f"{demo_server.url}/v1/proto/search.proto", timeout=30)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.text == PROTO.read_text(encoding="utf-8")
    assert "service " in answer.text and "package ipsim.v1;" in answer.text


def test_the_examples_work_against_this_server(
    portal: PortalPage, demo_server: ServerProcess, tmp_path: Path
) -> None:
    page = portal.open("developers")
    expected = api_hits(portal.url)
    assert len(expected) == 5

    # the CLI example, run as printed (the `ipsim` entry point through this interpreter)
    cli = example(page, "cli")
    args = shlex.split(cli)
    assert args[0] == "ipsim" and portal.url in args
    env = {**os.environ, "IPSIM_STATE_DIR": str(tmp_path)}
    env.pop("IPSIM_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", "from ipsim.cli import main; main()", *args[1:]],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert printed_ids(done.stdout, expected) == expected, done.stdout

    # the Python SDK example
    python = example(page, "python")
    assert f'Client("{portal.url}")' in python
    done = subprocess.run(
        [sys.executable, "-c", python], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert printed_ids(done.stdout, expected) == expected, done.stdout

    # the gRPC example, pointed at this server's gRPC port (the page cannot know it)
    grpc = example(page, "grpc")
    assert "127.0.0.1:50051" in grpc
    done = subprocess.run(
        [sys.executable, "-c", grpc.replace("127.0.0.1:50051", demo_server.grpc)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert printed_ids(done.stdout, expected) == expected, done.stdout

    # curl, where installed
    curl = example(page, "curl")
    assert f"{portal.url}/v1/collections/patents/search" in curl
    if shutil.which("curl"):
        done = subprocess.run(
            ["sh", "-c", curl], capture_output=True, text=True, env=env, timeout=120
        )
        assert done.returncode == 0, done.stderr
        assert [h["id"] for h in json.loads(done.stdout)["hits"]] == expected

    # the proto on the page is the file, with a download link
    page.wait_for_function(
        "document.querySelector('#dev-proto').textContent.includes('package ipsim.v1;')"
    )
    assert page.locator("#dev-proto").inner_text().strip() == PROTO.read_text().strip()
    link = page.locator("#dev-proto-download")
    assert link.get_attribute("href") == "/v1/proto/search.proto"
    assert link.get_attribute("download") == "search.proto"
    assert page.locator("#dev-docs-link").get_attribute("href") == "/docs"

    # a copy button puts the example on the clipboard
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=portal.url)
    page.click("button[data-copy=cli]")
    page.wait_for_selector("[data-example=cli] .dev-copy-note:text('Copied.')")
    assert page.evaluate("navigator.clipboard.readText()") == cli
    screenshot(page, "portal/developers")
    portal.assert_clean()


def test_the_page_in_russian_and_on_a_phone(
    chromium_browser: Any, demo_server: ServerProcess
) -> None:
    context = chromium_browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    try:
        page = context.new_page()
        page.goto(f"{demo_server.url}/#/developers")
        page.wait_for_selector("#dev-example-cli")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.click("button[data-lang=ru]")
        page.wait_for_function("() => document.documentElement.lang === 'ru'")
        page.wait_for_selector("#dev-example-cli")
        assert page.locator("#page-title").inner_text() == "Разработчикам"
        assert page.locator("button[data-copy=cli]").inner_text() == "Копировать"
        assert "Обозреватель API" in page.inner_text("#view")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()
