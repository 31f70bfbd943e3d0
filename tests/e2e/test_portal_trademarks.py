"""The trademarks page in a real browser against the demo server: word search by sound finds
"про сто" for "PRO100" exactly as the API does, the register tabs, Nice classes and pages move the
results as the API's filters and offsets do, an uploaded mark image finds itself first, and bad
input (an empty word, a wrong Vienna code, a file too large or not an image) is shown next to
its field, the browser refusing files before any request."""

from __future__ import annotations

import base64
from typing import Any

from support.browser import screenshot

from ipsim.clients.http import Client

from .conftest import PortalPage

K = 10


def search_requests(page: Any) -> list[str]:
    """The search requests the page sends from now on (a list that fills as they go)."""
    sent: list[str] = []
    page.on("request", lambda r: "/search" in r.url and sent.append(r.url))
    return sent


def run_search(page: Any, action: Any) -> dict[str, Any]:
    """Do `action` (which makes the page search), wait for the hits drawn; the request's body."""
    with page.expect_request(lambda r: r.url.endswith("/search") and r.method == "POST") as sent:
        action()
    page.wait_for_function(
        "() => !document.querySelector('#tm-results').hasAttribute('aria-busy')"
        " && document.querySelector('#tm-hits .pager')"
    )
    body: dict[str, Any] = sent.value.post_data_json
    return body


def shown(page: Any) -> list[dict[str, Any]]:
    """The hits the page shows: id, score, register, Nice classes, status."""
    rows: list[dict[str, Any]] = page.locator("#tm-hits .hit").evaluate_all(
        """(nodes) => nodes.map((n) => ({
            id: n.dataset.id, score: Number(n.dataset.score), register: n.dataset.register,
            nice: (n.querySelector('dd[data-field=nice_classes]')?.textContent || '')
              .split(', ').filter(Boolean).map(Number),
            status: n.querySelector('.badge')?.dataset.status || null,
            word: n.querySelector('.tm-word').textContent,
        }))"""
    )
    return rows


def total_shown(page: Any) -> int:
    return int(page.locator("#tm-hits .pager .total").get_attribute("data-total"))


def api_search(portal: PortalPage, body: dict[str, Any]) -> dict[str, Any]:
    with Client(portal.url) as client:
        return client.search(
            "trademarks",
            body["query"],
            k=body.get("k", K),
            offset=body.get("offset", 0),
            filter=body.get("filter"),
            mode=body.get("mode"),
        )


def assert_same_hits(page: Any, answer: dict[str, Any]) -> list[dict[str, Any]]:
    hits = shown(page)
    assert [h["id"] for h in hits] == [h["id"] for h in answer["hits"]]
    for mine, theirs in zip(hits, answer["hits"], strict=True):
        assert abs(mine["score"] - theirs["score"]) < 1e-9
        assert mine["status"] == theirs["fields"]["status"]
        assert mine["register"] == theirs["fields"]["register"]
    assert total_shown(page) == answer["total"]
    return hits


def test_phonetic_word_search_registers_and_pages(portal: PortalPage) -> None:
    page = portal.open("trademarks")
    page.fill("#tm-word", "PRO100")
    page.select_option("#tm-mode", "phonetic")
    body = run_search(page, lambda: page.click("#tm-submit"))
    assert body["query"] == {"word": "PRO100"} and body["mode"] == "phonetic"
    assert body["k"] == K and body["offset"] == 0 and "filter" not in body

    answer = api_search(portal, body)
    hits = assert_same_hits(page, answer)
    words = [h["word"] for h in hits]
    assert "про сто" in words and "PRO100" in words, words
    # the match explains itself: the phonetic keys compared
    first = page.locator("#tm-hits .hit").first
    assert "PRUNIHUNTRIT" in first.locator(".tm-matched [data-mode=phonetic]").inner_text()
    assert first.locator(".badge").get_attribute("class").split() == [
        "badge",
        answer["hits"][0]["fields"]["status"],
    ]
    assert answer["total"] > K  # there is a page 2

    # page 2 is the API's offset=k
    body = run_search(page, lambda: page.click("#tm-hits .pager button[data-page='2']"))
    assert body["offset"] == K
    assert_same_hits(page, api_search(portal, body))
    assert page.locator("#tm-hits .pager button[aria-current=page]").inner_text() == "2"

    # a register tab filters the same search (back on page 1)
    body = run_search(page, lambda: page.click("label[for=tm-register-ru]"))
    assert body["filter"] == {"register": "ru"} and body["offset"] == 0
    answer = api_search(portal, body)
    hits = assert_same_hits(page, answer)
    assert hits and {h["register"] for h in hits} == {"ru"}
    assert 0 < answer["total"] < api_search(portal, body | {"filter": None})["total"]

    body = run_search(page, lambda: page.click("label[for=tm-register-well_known]"))
    assert body["filter"] == {"register": "well_known"}
    hits = assert_same_hits(page, api_search(portal, body))
    assert hits and {h["register"] for h in hits} == {"well_known"}

    body = run_search(page, lambda: page.click("label[for=tm-register-all]"))
    assert "filter" not in body
    portal.assert_clean()


def test_nice_classes_vienna_and_status_filters(portal: PortalPage) -> None:
    page = portal.open("trademarks")
    page.fill("#tm-word", "star")
    page.check("#tm-nice-9")
    page.check("#tm-nice-35")
    page.fill("#tm-vienna", "27.5")  # read as 27.05, as the server reads codes
    page.select_option("#tm-status", "registered")
    body = run_search(page, lambda: page.click("#tm-submit"))
    assert body["mode"] == "all"
    assert body["filter"] == {
        "vienna_codes": {"prefix": "27.05"},
        "nice_classes": {"in": [9, 35]},
        "status": "registered",
    }
    answer = api_search(portal, body)
    hits = assert_same_hits(page, answer)
    assert hits
    for hit, theirs in zip(hits, answer["hits"], strict=True):
        assert {9, 35} & set(hit["nice"]), hit
        assert hit["status"] == "registered"
        assert any(code.startswith("27.05") for code in theirs["fields"]["vienna_codes"])
    # the filter narrows: without the classes there are more
    assert answer["total"] < api_search(portal, body | {"filter": None})["total"]
    portal.assert_clean()


def test_image_search_finds_the_mark_first(portal: PortalPage) -> None:
    with Client(portal.url) as client:
        document = client.get("trademarks", "f0112")
    png = base64.b64decode(document["content"]["image_b64"])
    assert png.startswith(b"\x89PNG")

    page = portal.open("trademarks")
    assert page.is_hidden("#tm-panel-image")
    page.focus("#tm-tab-word")
    page.keyboard.press("ArrowRight")  # tabs move by keyboard
    assert page.evaluate("document.activeElement.id") == "tm-tab-image"
    assert page.get_attribute("#tm-tab-image", "aria-selected") == "true"
    assert page.is_visible("#tm-panel-image") and page.is_hidden("#tm-panel-word")

    page.set_input_files(
        "#tm-image", files=[{"name": "battery.png", "mimeType": "image/png", "buffer": png}]
    )
    page.wait_for_selector("#tm-preview:not([hidden])")
    src = page.get_attribute("#tm-preview", "src")
    assert src == "data:image/png;base64," + document["content"]["image_b64"]
    assert page.evaluate("document.querySelector('#tm-preview').naturalWidth") > 0

    page.select_option("#tm-strategy", "shape")
    body = run_search(page, lambda: page.click("#tm-submit"))
    assert body["mode"] == "image"
    assert body["query"] == {"image_b64": document["content"]["image_b64"], "strategy": "shape"}
    answer = api_search(portal, body)
    hits = assert_same_hits(page, answer)
    assert hits[0]["id"] == "f0112"
    first = page.locator("#tm-hits .hit").first
    assert first.locator("[data-mode=image]").count() == 1
    # the hit's own image, fetched from the API, as a thumbnail with alt text
    thumb = first.locator(".hit-media img")
    page.wait_for_function(
        "() => (document.querySelector('#tm-hits .hit .hit-media img')?.naturalWidth || 0) > 0"
    )
    assert thumb.get_attribute("src").startswith("data:image/png;base64,iVBOR")
    assert "battery" in thumb.get_attribute("alt")
    screenshot(page, "portal/trademarks-image")
    portal.assert_clean()


def test_files_refused_in_the_browser(portal: PortalPage) -> None:
    page = portal.open("trademarks")
    sent = search_requests(page)
    limits = page.evaluate("fetch('/v1/limits').then((r) => r.json())")
    page.click("#tm-tab-image")

    page.click("#tm-submit")  # no image yet
    assert "Choose an image" in page.inner_text("#tm-image-error")

    page.set_input_files(
        "#tm-image",
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not an image"}],
    )
    error = page.locator("#tm-image-error")
    error.wait_for()
    assert "notes.txt" in error.inner_text() and "image/png" in error.inner_text()
    assert page.get_attribute("#tm-image", "aria-invalid") == "true"
    assert page.is_hidden("#tm-preview")

    big = b"\x89PNG\r\n\x1a\n" + bytes(limits["image_bytes"])
    page.set_input_files(
        "#tm-image", files=[{"name": "huge.png", "mimeType": "image/png", "buffer": big}]
    )
    page.wait_for_function(
        "() => document.querySelector('#tm-image-error')?.textContent.includes('huge.png')"
    )
    assert "10.0 MiB" in error.inner_text()
    assert page.is_hidden("#tm-preview")
    page.click("#tm-submit")
    assert "Choose an image" in error.inner_text()
    page.wait_for_timeout(300)
    assert sent == []  # nothing went to the server
    portal.assert_clean()


def test_errors_next_to_their_fields_and_russian(portal: PortalPage) -> None:
    page = portal.open("trademarks")
    sent = search_requests(page)
    page.fill("#tm-word", "star")
    page.fill("#tm-vienna", "3x.1")
    page.click("#tm-submit")
    error = page.locator("#tm-vienna-error")
    error.wait_for()
    assert "Vienna code" in error.inner_text()
    assert page.get_attribute("#tm-vienna", "aria-invalid") == "true"
    page.fill("#tm-vienna", "30")  # no category 30
    page.click("#tm-submit")
    assert "Vienna code" in error.inner_text()
    page.wait_for_timeout(300)
    assert sent == []

    # an empty word goes to the server, which names query.word: shown under the word box
    page.fill("#tm-vienna", "")
    page.fill("#tm-word", "")
    with page.expect_response(lambda r: r.url.endswith("/search")) as answer:
        page.click("#tm-submit")
    assert answer.value.status == 400
    word_error = page.locator("#tm-word-error")
    word_error.wait_for()
    assert word_error.inner_text() == "must not be empty"
    assert page.locator("#tm-vienna-error").count() == 0
    assert page.locator("#tm-panel-word #tm-word-error").count() == 1
    portal.watch.clear()

    page.click("button[data-lang=ru]")
    page.wait_for_function("() => document.documentElement.lang === 'ru'")
    page.wait_for_selector("#tm-tab-word")
    assert page.inner_text("#tm-tab-word") == "Словесный"
    assert page.inner_text("#tm-tab-image") == "Изобразительный"
    registers = page.locator(".tm-registers label").all_inner_texts()
    assert registers == ["Все реестры", "ТЗ РФ", "Международные ТЗ", "Общеизвестные ТЗ РФ"]
    assert page.inner_text("label[for=tm-word]") == "Слово или словосочетание"

    page.fill("#tm-word", "PRO100")
    body = run_search(page, lambda: page.click("#tm-submit"))
    total = api_search(portal, body)["total"]
    text = page.inner_text("#tm-hits .pager .total")
    assert text.startswith("Всего записей: ")
    assert int("".join(c for c in text if c.isdigit())) == total
    badge = page.locator("#tm-hits .hit .badge").first
    assert badge.inner_text() in {
        "зарегистрирован",
        "заявка на рассмотрении",
        "срок действия истёк",
    }
    screenshot(page, "portal/trademarks")
    portal.assert_clean()
