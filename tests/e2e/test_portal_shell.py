"""The portal's shell in a real browser: the start page lists the server's collections, the
language switch translates the page and is remembered, the menu folds on a phone, and the assets
stay inside their folder."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import httpx
from support.browser import screenshot

from ipsim.clients.http import Client

from .conftest import PortalPage, ServerProcess


def test_home_lists_the_collections_of_the_server(portal: PortalPage) -> None:
    page = portal.open()
    with Client(portal.url) as client:
        expected = {c["name"]: c["count"] for c in client.list_collections()}
    items = page.locator("#home-collections li[data-collection]")
    items.first.wait_for()
    shown = items.evaluate_all("(nodes) => nodes.map((n) => n.dataset.collection)")
    assert sorted(shown) == sorted(expected)
    assert {"patents", "trademarks", "designs", "molecules", "sequences"} <= set(shown)
    screenshot(page, "portal/home")
    portal.assert_clean()


def test_language_switch_translates_and_is_remembered(portal: PortalPage) -> None:
    page = portal.open()
    page.click("button[data-lang=ru]")
    page.wait_for_function("() => document.documentElement.lang === 'ru'")
    assert page.locator("#api-key + button, #key-form button[type=submit]").first.inner_text() == (
        "Применить"
    )
    assert "Коллекции на этом сервере" in page.inner_text("#view")
    page.reload()
    page.wait_for_selector("#view > section")
    assert page.evaluate("document.documentElement.lang") == "ru"
    assert page.locator("button[data-lang=ru]").get_attribute("aria-pressed") == "true"
    page.click("button[data-lang=en]")
    assert "Collections on this server" in page.inner_text("#view")
    portal.assert_clean()


def test_the_menu_folds_on_a_phone(chromium_browser: Any, demo_server: ServerProcess) -> None:
    context = chromium_browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(f"{demo_server.url}/#/")
        page.wait_for_selector("#view > section")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.locator("#nav-menu").get_attribute("open") is None
        page.click("#nav-label")  # the keyboard and a tap open it alike
        page.locator("#nav-links a[data-page=trademarks]").click()
        page.wait_for_selector("#view[data-page=trademarks] > section")
        screenshot(page, "portal/home-phone")
    finally:
        context.close()


def test_limits_and_assets(demo_server: ServerProcess) -> None:
    limits = httpx.get(f"{demo_server.url}/v1/limits", timeout=30).json()
    assert limits["image_bytes"] == 10 * 2**20 and "image/png" in limits["image_types"]
    assert limits["mesh_formats"] == ["stl", "obj", "ply", "off"]
    index = httpx.get(f"{demo_server.url}/", timeout=30)
    assert (
        index.status_code == 200
        and "default-src 'self'" in index.headers["content-security-policy"]
    )
    host = urlsplit(demo_server.url).netloc
    for path in (
        "/portal/assets/%2e%2e/%2e%2e/app.py",
        "/portal/assets/pages",
        "/portal/assets/x.js",
    ):
        connection = http.client.HTTPConnection(host, timeout=30)
        connection.request("GET", path)
        answer = connection.getresponse()
        body = json.loads(answer.read())
        connection.close()
        assert answer.status == 404 and body["error"]["code"] == "not_found", path
