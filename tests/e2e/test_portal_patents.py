"""The portal's patent page in a real browser against the demo server: a text search shows the
API's hits in its order and pages like the API, filters and facet clicks narrow the hits as the
API does, the matching passage of a full-text document is the hit's chunk, a bad date is named
next to its field, a wrong file never leaves the browser, and the page speaks Russian."""

from __future__ import annotations

import json
from typing import Any

import httpx
from support.browser import screenshot

from ipsim.clients.http import Client

from .conftest import PortalPage, ServerProcess

QUERY = "lithium secondary battery with a pre-lithiated negative electrode"
FULL = "US16100010-full"

SHOWN_HITS = """(nodes) => nodes.map((li) => {
  const fields = {};
  const dts = li.querySelectorAll('dl.fields dt');
  for (const dt of dts) fields[dt.dataset.field] = dt.nextElementSibling.textContent;
  return {id: li.dataset.id, fields};
})"""


def _search_body(request: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(request.post_data)
    return body


def _submit(page: Any) -> dict[str, Any]:
    """Press Search; return the body the page sent, once its hits are drawn."""
    with page.expect_request(
        lambda r: r.method == "POST" and r.url.endswith("/v1/collections/patents/search")
    ) as sent:
        page.click("#pat-submit")
    page.wait_for_selector("#pat-submit:not([disabled])")
    return _search_body(sent.value)


def _shown(page: Any) -> list[dict[str, Any]]:
    shown: list[dict[str, Any]] = page.locator("#pat-hits > li.hit").evaluate_all(SHOWN_HITS)
    return shown


def _open_with_text(portal: PortalPage, text: str) -> Any:
    page = portal.open("patents")
    page.wait_for_selector("#pat-collection option[value=patents]", state="attached")
    page.fill("#pat-text", text)
    return page


def test_text_search_shows_the_api_hits_and_pages_like_it(portal: PortalPage) -> None:
    page = _open_with_text(portal, QUERY)
    body = _submit(page)
    assert body == {
        "query": {"text": QUERY, "weight": 0.7},
        "k": 10,
        "offset": 0,
        "mode": "hybrid",
    }
    with Client(portal.url) as client:
        first = client.search("patents", body["query"], k=10, mode="hybrid")
        second = client.search("patents", body["query"], k=10, offset=10, mode="hybrid")
    shown = [h["id"] for h in _shown(page)]
    assert shown == [h["id"] for h in first["hits"]] and len(shown) == 10
    total = page.locator("#pat-results nav.pager .total").first
    assert total.get_attribute("data-total") == str(first["total"])
    assert total.inner_text() == f"Total records: {first['total']}"
    # every hit shows its title, status badge and score from the API
    top = first["hits"][0]
    item = page.locator(f"#pat-hits > li[data-id='{top['id']}']")
    assert item.locator(".hit-title").inner_text() == top["fields"]["title"]
    assert item.locator(".badge").inner_text() == top["fields"]["status"]
    screenshot(page, "portal/patents")

    with page.expect_request(lambda r: r.url.endswith("/search")) as sent:
        page.locator("#pat-results nav.pager").first.get_by_role("button", name="Page 2").click()
    assert _search_body(sent.value)["offset"] == 10
    page.wait_for_selector("#pat-hits[start='11']")
    assert [h["id"] for h in _shown(page)] == [h["id"] for h in second["hits"]]
    assert set(shown).isdisjoint(h["id"] for h in second["hits"])
    current = page.locator("#pat-results nav.pager").first.locator("[aria-current=page]")
    assert current.inner_text() == "2"
    portal.assert_clean()


def test_whole_document_searches_by_the_pooled_dense_vector(portal: PortalPage) -> None:
    with Client(portal.url) as client:
        text = client.get("patents", FULL)["content"]["text"]
    page = _open_with_text(portal, text)
    page.check("#pat-scope-document")
    assert page.locator("#pat-mode").is_disabled()
    assert page.locator("#pat-weight-field").is_hidden()
    body = _submit(page)
    assert body == {"query": {"text": text}, "k": 10, "offset": 0, "mode": "dense"}
    with Client(portal.url) as client:
        expected = client.search("patents", {"text": text}, k=10, mode="dense")
    assert [h["id"] for h in _shown(page)] == [h["id"] for h in expected["hits"]]
    assert _shown(page)[0]["id"] == FULL  # the document itself comes first
    portal.assert_clean()


def test_the_highlighted_passage_is_the_hits_chunk(portal: PortalPage) -> None:
    with Client(portal.url) as client:
        text = client.get("patents", FULL)["content"]["text"]
        query = text[9000:9400]  # deep in the document: its chunk does not start at 0
        answer = client.search(
            "patents", {"text": query}, k=10, mode="lexical", filter={"kind": "full_text"}
        )
    hit = next(h for h in answer["hits"] if h["id"] == FULL)
    start, end = hit["chunk"]["start"], hit["chunk"]["end"]
    assert start > 0 and end - start > 200

    page = _open_with_text(portal, query)
    page.select_option("#pat-mode", "lexical")
    body = _submit(page)
    assert body["mode"] == "lexical" and "weight" not in body["query"]
    with Client(portal.url) as client:
        unfiltered = client.search("patents", {"text": query}, k=10, mode="lexical")
    assert [h["id"] for h in _shown(page)] == [h["id"] for h in unfiltered["hits"]]
    mark = page.locator(f"#pat-hits > li[data-id='{FULL}'] .passage mark")
    mark.wait_for()
    assert mark.evaluate("(n) => n.textContent") == text[start:end]
    quote = page.locator(f"#pat-hits > li[data-id='{FULL}'] .passage")
    assert quote.get_attribute("data-start") == str(start)
    assert quote.get_attribute("data-end") == str(end)
    # the query's own words are picked out inside the passage
    assert mark.locator("b.qterm").count() > 5
    portal.assert_clean()


def test_filters_and_facets_narrow_the_hits_as_the_api_does(portal: PortalPage) -> None:
    page = _open_with_text(portal, QUERY)
    page.select_option("#pat-mode", "dense")
    page.fill("#pat-country", "us")
    page.fill("#pat-to", "31.12.2022")
    body = _submit(page)
    flt = {"country": "US", "filing_date": {"lte": "2022-12-31"}}
    assert body["filter"] == flt and body["mode"] == "dense"
    with Client(portal.url) as client:
        expected = client.search("patents", {"text": QUERY}, k=10, mode="dense", filter=flt)
        everything = client.search("patents", {"text": QUERY}, k=10, mode="dense")
    shown = _shown(page)
    assert [h["id"] for h in shown] == [h["id"] for h in expected["hits"]]
    assert all(h["fields"]["country"] == "US" for h in shown)
    assert all(h["fields"]["filing_date"] <= "2022-12-31" for h in shown)
    total = int(page.locator("#pat-results .pager .total").first.get_attribute("data-total"))
    assert total == expected["total"] < everything["total"]

    # the facet panel counts the filtered documents per technology center; a click filters
    facet = page.locator("button.pat-facet-value[data-facet-field=technology_center]")
    facet.first.wait_for()
    with Client(portal.url) as client:
        counts = httpx.get(
            f"{portal.url}/v1/collections/patents/facets",
            params={"field": "technology_center", "filter": json.dumps(flt)},
            timeout=30,
        ).json()
    top = counts["values"][0]
    button = page.locator(
        f"button.pat-facet-value[data-facet-field=technology_center][data-value='{top['value']}']"
    )
    assert button.locator(".pat-count").inner_text() == str(top["count"])
    with page.expect_request(lambda r: r.url.endswith("/search")) as sent:
        button.click()
    narrowed = {**flt, "technology_center": top["value"]}
    assert _search_body(sent.value)["filter"] == narrowed
    page.wait_for_selector("#pat-submit:not([disabled])")
    # (functions, not strings: the page's CSP forbids eval)
    page.wait_for_function(
        "(n) => document.querySelector('#pat-results .pager .total').dataset.total === n",
        arg=str(top["count"]),
    )
    assert page.input_value("#pat-tc") == top["value"]
    with Client(portal.url) as client:
        expected = client.search("patents", {"text": QUERY}, k=10, mode="dense", filter=narrowed)
    shown = _shown(page)
    assert [h["id"] for h in shown] == [h["id"] for h in expected["hits"]]
    assert shown and all(h["fields"]["technology_center"] == top["value"] for h in shown)
    assert expected["total"] == top["count"]
    # the demo has no IPC codes: the panel says so instead of an empty list
    assert "no IPC codes" in page.inner_text("[data-facet=ipc]")
    portal.assert_clean()


def test_a_bad_date_is_named_next_to_its_field(portal: PortalPage) -> None:
    page = _open_with_text(portal, QUERY)
    page.fill("#pat-from", "2022-13-45")
    page.click("#pat-submit")
    error = page.locator("#pat-from-error")
    error.wait_for()
    assert "ISO date" in error.inner_text() and "2022-13-45" in error.inner_text()
    assert page.get_attribute("#pat-from", "aria-invalid") == "true"
    # it sits in the date field's own wrapper, not in the form's general error line
    assert page.locator(".field:has(#pat-from) .field-error").count() == 1
    assert page.locator("#pat-form .form-error").inner_text() == ""
    assert portal.watch.failed and all("HTTP 400" in f for f in portal.watch.failed)
    portal.watch.clear()
    # an empty text is refused before sending
    page.fill("#pat-text", "   ")
    page.click("#pat-submit")
    assert page.locator("#pat-text-error").inner_text() == "Enter a passage or load a file."
    portal.assert_clean()


def test_a_wrong_file_is_refused_in_the_browser(portal: PortalPage) -> None:
    page = _open_with_text(portal, "unchanged")
    page.wait_for_selector("#pat-text-help")  # the limits have arrived
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url))
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    page.set_input_files(
        "#pat-file", files=[{"name": "drawing.png", "mimeType": "image/png", "buffer": png}]
    )
    error = page.locator("#pat-file-error")
    error.wait_for()
    assert "drawing.png" in error.inner_text() and ".txt" in error.inner_text()
    max_chars = httpx.get(f"{portal.url}/v1/limits", timeout=30).json()["text_chars"]
    big = b"a" * (max_chars * 4 + 1)
    page.set_input_files(
        "#pat-file", files=[{"name": "huge.txt", "mimeType": "text/plain", "buffer": big}]
    )
    page.wait_for_function(
        "() => document.querySelector('#pat-file-error').textContent.includes('huge.txt')"
    )
    assert page.input_value("#pat-text") == "unchanged"
    assert sent == []  # nothing left the browser
    # a plain text file is read into the text box
    claim = "1. A separator for a lithium secondary battery, comprising a porous substrate."
    page.set_input_files(
        "#pat-file",
        files=[{"name": "claim.txt", "mimeType": "text/plain", "buffer": claim.encode()}],
    )
    page.wait_for_function("(v) => document.querySelector('#pat-text').value === v", arg=claim)
    assert page.locator("#pat-file-error").count() == 0
    assert sent == []
    portal.assert_clean()


def test_the_page_in_russian(portal: PortalPage) -> None:
    page = _open_with_text(portal, QUERY)
    page.click("button[data-lang=ru]")
    page.wait_for_function("() => document.documentElement.lang === 'ru'")
    page.wait_for_selector("#pat-collection option[value=patents]", state="attached")
    assert page.inner_text("#page-title") == "Патенты: что вы ищете?"
    assert page.inner_text("label[for=pat-mode]") == "Режим поиска"
    assert page.inner_text("label[for=pat-scope-document]") == "Документ целиком"
    assert page.inner_text("label[for=pat-from]") == "Дата подачи с"
    # the text typed before the switch is kept
    assert page.input_value("#pat-text") == QUERY
    _submit(page)
    total = page.locator("#pat-results .pager .total").first
    assert total.inner_text().startswith("Всего записей:")
    assert page.inner_text("#pat-summary").startswith("Показаны 1–10 из")
    assert page.locator("#pat-hits .hit-score").first.inner_text().startswith("Сходство")
    date = page.locator("#pat-hits > li").first.locator("dt[data-field=filing_date]")
    assert date.inner_text() == "Дата подачи"
    screenshot(page, "portal/patents-ru")
    portal.assert_clean()


def test_an_ipc_code_filters_under_it_and_drills_up(portal: PortalPage) -> None:
    page = _open_with_text(portal, QUERY)
    page.fill("#pat-ipc", "a61k")
    body = _submit(page)
    assert body["filter"] == {"ipc": {"under": "A61K"}}
    with Client(portal.url) as client:
        expected = client.search("patents", body["query"], mode="hybrid", filter=body["filter"])
    assert expected["total"] == 0  # the demo's patents carry no IPC codes
    assert page.inner_text("#pat-summary") == "Nothing found."
    assert page.locator("#pat-hits > li").count() == 0
    up = page.locator("[data-facet=ipc] button.pat-facet-up")
    up.wait_for()
    assert page.inner_text("[data-facet=ipc] h3") == "IPC: A61K"
    with page.expect_request(lambda r: r.url.endswith("/search")) as sent:
        up.click()
    assert _search_body(sent.value)["filter"] == {"ipc": {"under": "A61"}}
    assert page.input_value("#pat-ipc") == "A61"
    page.wait_for_selector("#pat-submit:not([disabled])")
    # a beginning that is not a whole code compares the stored strings
    page.fill("#pat-ipc", "A61K 3")
    assert _submit(page)["filter"] == {"ipc": {"prefix": "A61K 3"}}
    portal.assert_clean()


def test_the_page_fits_a_phone(chromium_browser: Any, demo_server: ServerProcess) -> None:
    context = chromium_browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(f"{demo_server.url}/#/patents?q=methylation%20of%20toluene%20to%20xylene")
        page.wait_for_selector("#pat-hits > li .passage mark")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        first = page.locator("#pat-hits > li").first
        assert first.get_attribute("data-id") == FULL
        box = first.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 390
        screenshot(page, "portal/patents-phone")
    finally:
        context.close()
