"""The one-window page in a real browser: one query over two text collections shows the fused
hits the API answers for the same body, each with its collection badge and the sources' status;
the pager moves to the API's next window; a query the chosen collections cannot share is
refused at the query field; no request leaves without a collection; the page speaks Russian."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from support.browser import screenshot

from ipsim.clients.http import Client

from .conftest import PortalPage, ServerProcess

EXTRA = "ow_notes"
"""A second text collection, made for these tests: the demo holds one text collection only."""
QUERY = "lithium battery electrode"
NOTES = [
    "A lithium ion battery with a silicon anode and a ceramic separator.",
    "Electrode slurry for rechargeable batteries, coated on copper foil.",
    "A solid electrolyte for lithium metal cells that suppresses dendrites.",
    "Recycling cathode material from spent lithium batteries by leaching.",
    "A battery management system that balances the cells of an electric car.",
    "A bicycle frame of carbon fibre with an integrated lamp.",
    "A method of brewing coffee under pressure with a ceramic filter.",
    "Sodium ion battery with a hard carbon negative electrode.",
]


@pytest.fixture(scope="module")
def two_text_collections(demo_server: ServerProcess) -> Iterator[list[str]]:
    """`patents` and a small second text collection, removed afterwards."""
    with Client(demo_server.url) as client:
        if EXTRA in {c["name"] for c in client.list_collections()}:
            client.delete_collection(EXTRA)
        client.create_collection(EXTRA, "text")
        docs = [
            {"id": f"N{i:02d}", "content": {"text": text}, "fields": {"title": text[:60]}}
            for i, text in enumerate(NOTES)
        ]
        assert client.upsert(EXTRA, docs) == len(NOTES)
    yield [EXTRA, "patents"]  # the page sends them in its order: by modality, then by name
    with Client(demo_server.url) as client:
        client.delete_collection(EXTRA)


def shown_hits(page: Any) -> list[tuple[str, str]]:
    pairs = page.locator("#ow-hits > li.hit").evaluate_all(
        "(nodes) => nodes.map((n) => [n.dataset.collection, n.dataset.id])"
    )
    return [(collection, doc_id) for collection, doc_id in pairs]


def pick(page: Any, names: list[str]) -> None:
    for box in page.locator("#ow-form input[name=c]:not([disabled])").all():
        box.set_checked(box.get_attribute("value") in names)


def test_one_query_over_two_collections(
    portal: PortalPage, two_text_collections: list[str]
) -> None:
    page = portal.open("onewindow")
    page.wait_for_selector(f"#ow-c-{EXTRA}")
    pick(page, two_text_collections)
    assert page.locator("#ow-mixed").is_hidden()
    page.fill("#ow-query", QUERY)
    page.fill("#ow-k", "6")
    page.select_option("#ow-fusion", "score")
    page.click("#ow-submit")
    page.wait_for_selector("#ow-hits > li.hit")
    with Client(portal.url) as client:
        first = client.search_many(two_text_collections, {"text": QUERY}, k=6, fusion="score")
        second = client.search_many(
            two_text_collections, {"text": QUERY}, k=6, offset=6, fusion="score"
        )
    expected = [(h["collection"], h["id"]) for h in first["hits"]]
    assert shown_hits(page) == expected
    assert {c for c, _ in expected} == set(two_text_collections)  # both lists are in the fusion
    badges = page.locator("#ow-hits .badge.ow-collection").all_inner_texts()
    assert badges == [c for c, _ in expected]
    assert page.locator("#ow-results .pager .total").get_attribute("data-total") == str(
        first["total"]
    )
    assert f"Total records: {first['total']}" in page.inner_text("#ow-results")
    sources = page.locator(".ow-sources li").evaluate_all(
        "(nodes) => nodes.map((n) => [n.dataset.collection, n.dataset.status])"
    )
    assert sources == [[s["collection"], s["status"]] for s in first["sources"]]
    assert all(status == "ok" for _, status in sources)
    assert page.locator("#ow-partial").count() == 0
    assert "c=ow_notes&c=patents" in page.evaluate("location.hash")

    page.click("#ow-results .pager button[data-page='2']")
    page.wait_for_function(
        "(id) => document.querySelector('#ow-hits > li.hit')?.dataset.id === id",
        arg=second["hits"][0]["id"],
    )
    assert shown_hits(page) == [(h["collection"], h["id"]) for h in second["hits"]]
    assert page.locator("#ow-results .pager button[aria-current=page]").inner_text() == "2"

    page.reload()  # the search is in the URL: a reload runs it again
    page.wait_for_selector("#ow-hits > li.hit")
    assert shown_hits(page) == expected
    assert page.locator("#ow-fusion").input_value() == "score"
    screenshot(page, "portal/onewindow")
    portal.assert_clean()


def test_collections_that_cannot_share_a_query_are_refused_at_the_query_field(
    portal: PortalPage,
) -> None:
    page = portal.open("onewindow")
    page.wait_for_selector("#ow-c-trademarks")
    sent: list[str] = []
    page.on("request", lambda r: "/v1/search" in r.url and sent.append(r.url))

    pick(page, [])
    page.click("#ow-submit")
    error = page.locator("#ow-collections-error")
    assert error.inner_text() == "Choose at least one collection."
    assert sent == []  # refused in the browser: nothing was sent

    pick(page, ["patents", "trademarks"])
    mixed = page.locator("#ow-mixed")
    assert mixed.is_visible() and "Texts (patents), Trademarks" in mixed.inner_text()
    page.fill("#ow-query", QUERY)
    page.click("#ow-submit")
    note = page.locator("#ow-query-error")
    note.wait_for()
    with Client(portal.url) as client, pytest.raises(Exception) as refused:
        client.search_many(["patents", "trademarks"], {"text": QUERY}, k=10)
    assert "trademarks" in note.inner_text() and "unknown key" in note.inner_text()
    assert note.inner_text() in str(refused.value)
    assert page.locator("#ow-query").get_attribute("aria-invalid") == "true"
    assert page.locator("#ow-hits").count() == 0
    assert len(sent) == 1
    portal.watch.clear()  # the 400 above was the point

    pick(page, ["trademarks"])  # one kind again: the word is sent as {"word": …}
    assert mixed.is_hidden()
    assert '{"word"' in page.inner_text("#ow-query-help")
    page.fill("#ow-query", "apple")
    page.click("#ow-submit")
    page.wait_for_selector("#ow-hits > li.hit")
    assert page.locator("#ow-query-error").count() == 0
    with Client(portal.url) as client:
        answer = client.search_many(["trademarks"], {"word": "apple"}, k=10)
    assert shown_hits(page) == [(h["collection"], h["id"]) for h in answer["hits"]]
    portal.assert_clean()

    page.fill("#ow-k", "0")  # the server's bound on k, shown at the k field
    page.click("#ow-submit")
    k_error = page.locator("#ow-k-error")
    k_error.wait_for()
    assert k_error.inner_text() == "must be an integer from 1 to 1000"
    portal.watch.clear()  # the 400 was the point


def test_the_page_speaks_russian(portal: PortalPage) -> None:
    page = portal.open("onewindow")
    page.wait_for_selector("#ow-c-patents")
    page.click("button[data-lang=ru]")
    page.wait_for_function(
        "() => document.querySelector('#page-title')?.textContent === 'Единое окно'"
    )
    page.wait_for_selector("#ow-c-patents")
    text = page.inner_text("#view")
    assert "Единое окно" in text
    assert "Коллекции" in text and "Тексты (патенты)" in text
    assert page.locator("label[for=ow-fusion]").inner_text() == "Сведение списков"
    assert page.locator("#ow-submit").inner_text() == "Найти"
    page.fill("#ow-query", QUERY)
    page.click("#ow-submit")
    page.wait_for_selector("#ow-hits > li.hit")
    assert "Всего записей:" in page.inner_text("#ow-results")
    assert page.locator(".ex-save").first.inner_text() == "Сохранить подборку"
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing scrolls sideways
    page.reload()
    page.wait_for_selector("#ow-hits > li.hit")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert page.locator("#ow-hits > li.hit").first.bounding_box()["width"] <= 390
    screenshot(page, "portal/onewindow-phone")
    portal.assert_clean()
