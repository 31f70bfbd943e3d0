"""The /bi dashboards in a real browser: Debian's chromium driven by Playwright against the real
`ipsim serve`, its platform database seeded with the synthetic BI demo records.

Every panel must draw from the API (the heat map's cells and the trend marks are compared with
the API's own answers), with no console error and no failed request; each chart's PNG/SVG
export must be a real PNG/SVG; the page must fit a phone's width; and with API keys on, the page
must ask for a key and then work with it (the live indicators included: they are read with
fetch() so that the key travels in a header). A full-page screenshot goes to
var/screenshots/bi.png.

Chromium comes from Debian (tools/system_deps.sh installs it); Playwright's own browser download
cannot run here. Without /usr/bin/chromium the test tries that script once and skips only if
chromium is still missing.
"""

from __future__ import annotations

import http.client
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from support.browser import SCREENSHOTS, Watch

from ipsim.clients.http import Client
from ipsim.platform import migrate
from ipsim.platform.bi.demo_data import seed_demo
from ipsim.platform.bi.records import BiRecordStore
from ipsim.platform.database import database_url, open_database

from .conftest import ServerProcess, start_server

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")

SCREENSHOT = SCREENSHOTS / "bi.png"
KEY = "bi-reader-key"
DEFAULT_COUNTRIES = ["RU", "DE", "CN", "US", "JP", "KR"]
PANEL_TIMEOUT_MS = 60_000
PANELS = ("heatmap", "trends", "indicators", "report")
APPLICANT = {"name": "Velo GmbH", "country": "de", "type": "sme"}
INVENTION = {
    "abstract": "A bicycle frame that folds in half about a hinge.",
    "claims": ["1. A bicycle frame folding about a hinge."],
    "ipc": ["B62K 15/00"],
}


def _seeded_data(root: Path) -> Path:
    """A data directory whose platform database holds the BI demo records (what `--demo`
    seeds, without building the demo search collections, which takes minutes)."""
    data = root / "data"
    engine = open_database(database_url(None, data))
    try:
        migrate.upgrade(engine)
        assert seed_demo(BiRecordStore(engine)) > 0
    finally:
        engine.dispose()
    return data


@pytest.fixture(scope="module")
def browser(chromium_browser: Any) -> Any:
    """The session's chromium (one Playwright per process: a second one cannot start)."""
    return chromium_browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A real server without auth over the seeded demo records."""
    proc = start_server(_seeded_data(tmp_path_factory.mktemp("bi")))
    yield proc
    proc.terminate()


def _open(
    browser: Any, url: str, width: int = 1400, height: int = 1000, locale: str = "en-US"
) -> tuple[Any, Watch]:
    """A fresh context on /bi; its locale decides the page's language until one is chosen."""
    context = browser.new_context(
        viewport={"width": width, "height": height}, accept_downloads=True, locale=locale
    )
    page = context.new_page()
    watch = Watch.on(page)
    page.goto(f"{url}/bi")
    return page, watch


def _wait_for_panels(page: Any) -> None:
    """Every panel drawn: the three charts' canvases, indicator cards, report rows."""
    for selector in (
        "#chart-heatmap canvas",
        "#chart-trends canvas",
        "#chart-indicators canvas",
        "#indicator-cards dd",
        "#report-table tbody td",
    ):
        page.locator(selector).first.wait_for(timeout=PANEL_TIMEOUT_MS)
    # the export buttons are enabled once their chart has drawn API data
    for panel in ("heatmap", "trends", "indicators"):
        sync_api.expect(page.locator(f"[data-export={panel}][data-format=png]")).to_be_enabled(
            timeout=PANEL_TIMEOUT_MS
        )


def _chart_option(page: Any, panel: str) -> dict[str, Any]:
    """The option the page's ECharts instance shows (plain data: functions dropped)."""
    text = page.evaluate(
        "(id) => JSON.stringify(echarts.getInstanceByDom(document.getElementById(id)).getOption())",
        f"chart-{panel}",
    )
    option: dict[str, Any] = json.loads(text)
    return option


def _download(page: Any, selector: str) -> tuple[str, bytes]:
    with page.expect_download() as info:
        page.click(selector)
    download = info.value
    return download.suggested_filename, Path(download.path()).read_bytes()


def _api(server: ServerProcess, path: str, **params: str) -> Any:
    answer = httpx.get(f"{server.url}{path}", params=params, timeout=60)
    answer.raise_for_status()
    return answer.json()


def test_every_panel_draws_the_api_data_without_errors(browser: Any, server: ServerProcess) -> None:
    page, watch = _open(browser, server.url)
    try:
        _wait_for_panels(page)
        # live: a filing reaches the cards through the event stream, with no reload
        total = page.locator("[data-indicator=applications_total] dd")
        assert total.inner_text() == "0"
        with Client(server.url, timeout=60) as client:
            client.file_application("invention", "A folding bicycle", APPLICANT, INVENTION)
        sync_api.expect(total).to_have_text("1", timeout=PANEL_TIMEOUT_MS)

        fields = _api(
            server,
            "/v1/bi/technology-fields",
            country=",".join(DEFAULT_COUNTRIES),
            **{"from": "2015", "to": "2024"},
        )
        # the heat map: one cell per (field, country) row of the API, holding its share
        heat = _chart_option(page, "heatmap")
        assert heat["xAxis"][0]["data"] == fields["countries"] == DEFAULT_COUNTRIES
        cells = heat["series"][0]["data"]
        assert len(cells) == len(fields["rows"]) >= 35 * len(DEFAULT_COUNTRIES)
        shares = sorted(round(cell[2], 9) for cell in cells)
        assert shares == sorted(round(row["share"], 9) for row in fields["rows"])
        assert any(share > 0 for share in shares)
        assert fields["synthetic"] is True  # the demo records, and the page says so
        assert page.locator("#synthetic-banner").is_visible()

        # trends: one line per country with data, and one mark per anomaly of the API
        period = {"by": "country", "period": "year", "from": "2015", "to": "2024"}
        trends = _api(server, "/v1/bi/trends", country=",".join(DEFAULT_COUNTRIES), **period)
        anomalies = _api(server, "/v1/bi/anomalies", country=",".join(DEFAULT_COUNTRIES), **period)
        lines = [s for s in _chart_option(page, "trends")["series"] if s["id"].startswith("data:")]
        assert [s["name"] for s in lines] == [s["label"] for s in trends["series"]]
        assert len(lines) == len(DEFAULT_COUNTRIES)
        marks = sum(len(s.get("markPoint", {}).get("data", [])) for s in lines)
        assert marks == len(anomalies["anomalies"])
        assert page.locator("#anomaly-items li").count() == max(1, marks)

        # indicators: a card per counter, holding the API's (integer) counts
        indicators = _api(server, "/v1/bi/indicators")["indicators"]
        card = page.locator("[data-indicator=in_examination] dd")
        assert card.inner_text().replace(",", "") == str(indicators["in_examination"])
        today = page.locator("[data-indicator=applications_today] dd").inner_text()
        assert re.fullmatch(r"[\d,]+", today)

        # the report: grouped by country and year, only the filtered countries
        first_column = page.locator("#report-table tbody tr td:first-child").all_inner_texts()
        assert first_column and set(first_column) <= set(DEFAULT_COUNTRIES)
        headers = page.locator("#report-table th").all_inner_texts()
        assert headers == ["Country", "Year", "Count (fractional)"]

        # exports: a real PNG and a well-formed SVG per chart panel; the report as CSV
        for panel in ("heatmap", "trends", "indicators"):
            name, png = _download(page, f"[data-export={panel}][data-format=png]")
            assert name == f"ipsim-{panel}.png"
            assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
            name, svg = _download(page, f"[data-export={panel}][data-format=svg]")
            assert name == f"ipsim-{panel}.svg"
            assert ET.fromstring(svg).tag == "{http://www.w3.org/2000/svg}svg"
        _, heat_svg = _download(page, "[data-export=heatmap][data-format=svg]")
        assert b"Technology fields by country" in heat_svg and b"<path" in heat_svg
        _, csv = _download(page, "#report-csv")
        assert csv.decode().splitlines()[0].replace('"', "") == "country,year,count"

        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        print(f"screenshot: {SCREENSHOT}")
        # before closing: the live stream's abort at close is not a failure of the page
        assert watch.errors == []
        assert watch.failed == []
    finally:
        page.context.close()


def test_the_page_fits_a_phone(browser: Any, server: ServerProcess) -> None:
    page, watch = _open(browser, server.url, width=390, height=844)
    try:
        _wait_for_panels(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # the filters work from the keyboard: type countries, press Enter
        page.fill("#f-countries", "DE,FR")
        page.press("#f-countries", "Enter")
        sync_api.expect(page.locator("#chart-heatmap")).to_have_attribute(
            "aria-label", re.compile("FR"), timeout=PANEL_TIMEOUT_MS
        )
        assert _chart_option(page, "heatmap")["xAxis"][0]["data"] == ["DE", "FR"]
        assert watch.errors == [] and watch.failed == []
    finally:
        page.context.close()


def test_the_page_in_russian_follows_the_portal_choice(browser: Any, server: ServerProcess) -> None:
    # a Russian browser gets Russian by default
    page, watch = _open(browser, server.url, locale="ru-RU")
    try:
        sync_api.expect(page.locator("#heatmap-title")).to_have_text("Области техники по странам")
        assert page.evaluate("document.documentElement.lang") == "ru"
        assert page.locator("h1").inner_text() == "Патентная аналитика"
    finally:
        page.context.close()

    # an English browser: the choice made in the portal (RU) carries over to /bi, and back
    page, watch = _open(browser, server.url)
    try:
        sync_api.expect(page.locator("#heatmap-title")).to_have_text("Technology fields by country")
        assert page.locator("button[data-lang=en]").get_attribute("aria-pressed") == "true"
        page.goto(f"{server.url}/")
        page.click("button[data-lang=ru]")
        page.wait_for_function("() => localStorage.getItem('ipsim.lang') === 'ru'")
        page.goto(f"{server.url}/bi")
        _wait_for_panels(page)
        assert page.locator("#heatmap-title").inner_text() == "Области техники по странам"
        assert page.evaluate("document.documentElement.lang") == "ru"
        assert page.locator("#trends-title").inner_text() == "Динамика и аномалии"
        assert page.locator("button[data-lang=ru]").get_attribute("aria-pressed") == "true"
        assert (
            page.locator("#chart-heatmap").get_attribute("aria-label").startswith("Тепловая карта")
        )
        link = page.locator("#portal-link")
        assert link.get_attribute("href") == "/" and link.inner_text() == "← Портал поиска"
        page.click("button[data-lang=en]")
        sync_api.expect(page.locator("#heatmap-title")).to_have_text("Technology fields by country")
        assert page.evaluate("localStorage.getItem('ipsim.lang')") == "en"
        link.click()
        page.wait_for_selector("#view > section")
        assert page.evaluate("document.documentElement.lang") == "en"
        # leaving a page (a reload, the link) aborts its live stream and any load under way
        failed = [f for f in watch.failed if not f.endswith("net::ERR_ABORTED")]
        assert watch.errors == [] and failed == [], (watch.errors, watch.failed)
    finally:
        page.context.close()


def test_assets_stay_inside_the_static_folder(server: ServerProcess) -> None:
    page = httpx.get(f"{server.url}/bi", timeout=30)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    script = httpx.get(f"{server.url}/bi/assets/vendor/echarts.min.js", timeout=30)
    assert script.status_code == 200 and b"echarts" in script.content[:2000]
    # raw requests: an HTTP client would normalise the dot segments away
    host = urlsplit(server.url).netloc
    for path in (
        "/bi/assets/%2e%2e/%2e%2e/routes/bi_pages.py",
        "/bi/assets/..%2f..%2fapp.py",
        "/bi/assets/vendor",
        "/bi/assets/missing.js",
    ):
        connection = http.client.HTTPConnection(host, timeout=30)
        connection.request("GET", path)
        answer = connection.getresponse()
        body = json.loads(answer.read())
        connection.close()
        assert answer.status == 404, path
        assert body["error"]["code"] == "not_found"


def test_with_api_keys_the_page_asks_for_one_then_works(
    browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path_factory.mktemp("bi-auth")
    keys = root / "keys"
    keys.write_text(f"{KEY} read name=analyst\n")
    proc = start_server(_seeded_data(root), env={"IPSIM_API_KEYS": str(keys)})
    page, watch = _open(browser, proc.url)
    try:
        for status in ("#global-status", *(f"#panel-{p} .panel-status" for p in PANELS)):
            sync_api.expect(page.locator(status)).to_contain_text(
                "needs an API key", timeout=PANEL_TIMEOUT_MS
            )
        # every panel's request has been refused (not merely the first): now give the key
        assert watch.errors and all("401" in error for error in watch.errors)
        watch.errors.clear()
        watch.failed.clear()
        page.fill("#api-key", KEY)
        page.press("#api-key", "Enter")
        _wait_for_panels(page)
        sync_api.expect(page.locator("#panel-indicators .panel-status")).to_have_text(
            "live", timeout=PANEL_TIMEOUT_MS
        )
        assert page.evaluate("sessionStorage.getItem('ipsim.bi.apiKey')") == KEY
        assert watch.errors == []
        assert watch.failed == []
    finally:
        page.context.close()
        proc.terminate()
