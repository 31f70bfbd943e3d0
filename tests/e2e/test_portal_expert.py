"""Expert mode in a real browser: hits of a one-window search are saved as a tagged result set
whose share link is the portal's `#/expert/<id>`; the person it is forwarded to (a new browser
context) sees the same hits, tags and comments a hit, and the notes survive a reload and agree
with the API; the list filtered by tag shows the set; an unknown id says so; Russian strings."""

from __future__ import annotations

import uuid
from typing import Any

from support.browser import Watch, screenshot

from ipsim.clients.http import Client

from .conftest import PortalPage, ServerProcess

QUERY = "lithium battery electrode"


def saved_hits(page: Any) -> list[tuple[str, str]]:
    pairs = page.locator("#ex-hits > li.hit").evaluate_all(
        "(nodes) => nodes.map((n) => [n.dataset.collection, n.dataset.id])"
    )
    return [(collection, doc_id) for collection, doc_id in pairs]


def search_and_save(portal: PortalPage, tag: str) -> tuple[str, list[tuple[str, str]]]:
    """Search `patents` on the one-window page and save the page through its saveBar."""
    page = portal.open(f"onewindow?c=patents&q={QUERY.replace(' ', '+')}&k=5")
    page.wait_for_selector("#ow-hits > li.hit")
    shown = page.locator("#ow-hits > li.hit").evaluate_all(
        "(nodes) => nodes.map((n) => [n.dataset.collection, n.dataset.id])"
    )
    bar = page.locator(".ex-save-form").first
    # a tag the server refuses: its message stands next to the tags field, nothing is saved
    bar.locator("input[name=tags]").fill("novelty, !bad")
    bar.locator("button.ex-save").click()
    note = bar.locator("input[name=tags] + .field-error, input[name=tags] ~ .field-error")
    note.wait_for()
    assert "must start with a letter or digit" in note.inner_text()
    assert bar.locator("input[name=tags]").get_attribute("aria-invalid") == "true"
    assert page.locator(".ex-share-url").count() == 0
    portal.watch.clear()  # the 400 was the point

    bar.locator("input[name=name]").fill("Battery prior art")
    bar.locator("input[name=tags]").fill(f"Novelty, {tag}")
    bar.locator("input[name=comment]").fill("First look: claims 1-3.")
    bar.locator("button.ex-save").click()
    link = page.locator(".ex-share-url")
    link.wait_for()
    set_id = link.get_attribute("data-set-id")
    assert set_id
    assert link.input_value() == f"{portal.url}/#/expert/{set_id}"
    assert bar.locator(".field-error").count() == 0

    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=portal.url)
    page.click(".ex-copy")
    copied = page.locator(".ex-copy-note")
    page.wait_for_function("() => document.querySelector('.ex-copy-note').textContent !== ''")
    assert copied.inner_text() in (
        "Link copied to the clipboard.",
        "The link is selected: press Ctrl+C to copy it.",
    )
    if copied.inner_text() == "Link copied to the clipboard.":
        assert page.evaluate("navigator.clipboard.readText()") == link.input_value()
    assert page.locator(".ex-open").get_attribute("href") == f"#/expert/{set_id}"
    return link.input_value(), [(c, i) for c, i in shown]


def test_save_share_annotate_and_reopen_a_result_set(
    portal: PortalPage, chromium_browser: Any, demo_server: ServerProcess
) -> None:
    tag = f"case-{uuid.uuid4().hex[:8]}"
    link, shown = search_and_save(portal, tag)
    set_id = link.rsplit("/", 1)[1]
    with Client(portal.url) as client:
        saved = client.get_result_set(set_id)
    assert saved["name"] == "Battery prior art"
    assert saved["tags"] == ["novelty", tag]
    assert [(h["collection"], h["id"]) for h in saved["hits"]] == shown
    assert saved["search"]["collections"] == ["patents"]
    assert saved["search"]["query"] == {"text": QUERY}
    assert [c["text"] for c in saved["comments"]] == ["First look: claims 1-3."]
    portal.assert_clean()

    # the colleague the link was forwarded to: a browser of their own
    context = chromium_browser.new_context(viewport={"width": 1300, "height": 900}, locale="en-US")
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        watch = Watch.on(page)
        page.goto(link)
        page.wait_for_selector("#ex-hits > li.hit")
        assert saved_hits(page) == shown
        assert page.inner_text("#ex-set-name") == "Battery prior art"
        assert page.inner_text("#ex-collections") == "patents"
        assert QUERY in page.inner_text("#ex-query")
        set_tags = page.locator("#ex-set-tags li.tag").evaluate_all(
            "(nodes) => nodes.map((n) => n.dataset.tag)"
        )
        assert set_tags == ["novelty", tag]
        assert "First look: claims 1-3." in page.inner_text(".ex-set-comments")
        assert page.locator(".ex-share-url").input_value() == link

        collection, doc_id = shown[0]
        key = f"{collection}/{doc_id}"
        hit = page.locator(f"#ex-hits > li.hit[data-key='{key}']")
        hit.locator("input.ex-hit-tag").fill("Closest art")
        hit.locator("input.ex-hit-comment").fill("Same electrode coating as claim 1.")
        hit.locator("button.ex-hit-save").click()
        page.wait_for_selector(
            f"#ex-hits > li.hit[data-key='{key}'] li.tag[data-tag='closest art']"
        )
        # a set tag added and one taken off
        page.fill("#ex-set-tag", "reviewed")
        page.click("#ex-set-tag-form button[type=submit]")
        page.wait_for_selector("#ex-set-tags li.tag[data-tag=reviewed]")
        page.click("#ex-set-tags li.tag[data-tag=novelty] button.ex-untag")
        page.wait_for_selector("#ex-set-tags li.tag[data-tag=novelty]", state="detached")
        # a hit removed
        last = f"{shown[-1][0]}/{shown[-1][1]}"
        page.click(f"#ex-hits > li.hit[data-key='{last}'] button.ex-remove-hit")
        page.wait_for_selector(f"#ex-hits > li.hit[data-key='{last}']", state="detached")

        page.reload()
        page.wait_for_selector("#ex-hits > li.hit")
        hit = page.locator(f"#ex-hits > li.hit[data-key='{key}']")
        assert hit.locator("li.tag").evaluate_all("(n) => n.map((x) => x.dataset.tag)") == [
            "closest art"
        ]
        assert "Same electrode coating as claim 1." in hit.locator(".ex-hit-comments").inner_text()
        assert saved_hits(page) == shown[:-1]
        with Client(portal.url) as client:
            now = client.get_result_set(set_id)
        first = now["hits"][0]
        assert (first["collection"], first["id"]) == shown[0]
        assert first["tags"] == ["closest art"]
        assert [c["text"] for c in first["comments"]] == ["Same electrode coating as claim 1."]
        assert now["tags"] == [tag, "reviewed"]
        assert [(h["collection"], h["id"]) for h in now["hits"]] == shown[:-1]

        # a bad tag on a hit: the server's message next to that hit's controls
        hit.locator("input.ex-hit-tag").fill("#nope")
        hit.locator("button.ex-hit-save").click()
        error = hit.locator(".ex-hit-form .form-error")
        page.wait_for_function(
            "(el) => el.textContent.includes('must start with a letter or digit')",
            arg=error.element_handle(),
        )
        assert not error.inner_text().startswith("hit_tags")
        watch.clear()  # the 400 was the point

        # run the saved search again: the one-window page shows the saved hits
        page.click("#ex-rerun")
        page.wait_for_selector("#ow-hits > li.hit")
        again = page.locator("#ow-hits > li.hit").evaluate_all(
            "(nodes) => nodes.map((n) => [n.dataset.collection, n.dataset.id])"
        )
        assert [(c, i) for c, i in again] == shown
        assert watch.errors == [] and watch.failed == []
    finally:
        context.close()

    # the list, filtered by the tag, shows the set with its hit count
    page = portal.open(f"expert?tag={tag}")
    page.wait_for_selector("#ex-sets tbody tr")
    rows = page.locator("#ex-sets tbody tr").evaluate_all("(n) => n.map((r) => r.dataset.id)")
    assert rows == [set_id]
    row = page.locator(f"#ex-sets tr[data-id='{set_id}']")
    assert row.locator("td").nth(2).inner_text() == str(len(shown) - 1)
    assert "Battery prior art" in row.inner_text()
    with Client(portal.url) as client:
        listed = client.list_result_sets(tag=tag)
    assert [s["id"] for s in listed["result_sets"]] == rows
    page.fill("#ex-filter-tag", "no-such-tag-here")
    page.click("#ex-filter button[type=submit]")
    page.wait_for_selector("#ex-list p.ex-empty")
    assert "No result set has the tag" in page.inner_text("#ex-list")
    portal.assert_clean()

    page = portal.open(f"expert/{set_id}")
    page.wait_for_selector("#ex-hits > li.hit")
    screenshot(page, "portal/expert")
    page.click("button[data-lang=ru]")
    page.wait_for_function(
        "() => document.querySelector('#page-title')?.textContent === 'Экспертный режим'"
    )
    page.wait_for_selector("#ex-hits > li.hit")
    text = page.inner_text("#view")
    assert "Экспертный режим" in text and "Метки подборки" in text
    assert page.locator(".ex-copy").inner_text() == "Копировать ссылку"
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing scrolls sideways
    page.reload()
    page.wait_for_selector("#ex-hits > li.hit")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    screenshot(page, "portal/expert-phone")
    portal.assert_clean()


def test_an_unknown_set_says_so(portal: PortalPage) -> None:
    page = portal.open("expert/0123456789abcdef0123456789abcdef")
    banner = page.locator("#ex-not-found")
    banner.wait_for()
    assert "0123456789abcdef0123456789abcdef" in banner.inner_text()
    assert "no result set" in banner.inner_text().lower()
    assert page.locator("#ex-hits").count() == 0
    portal.watch.clear()  # the 404 was the point
    portal.assert_clean()


def test_a_set_of_one_collection_runs_again_on_its_page(portal: PortalPage) -> None:
    with Client(portal.url) as client:
        answer = client.search("trademarks", {"word": "apple"}, k=3, mode="phonetic")
        hits = [
            {"collection": "trademarks", "id": h["id"], "score": h["score"]} for h in answer["hits"]
        ]
        saved = client.create_result_set(
            {"collection": "trademarks", "query": {"word": "apple"}, "k": 3, "mode": "phonetic"},
            hits,
            name="Apple marks",
        )
    page = portal.open(f"expert/{saved['id']}")
    page.wait_for_selector("#ex-hits > li.hit")
    assert saved_hits(page) == [("trademarks", h["id"]) for h in hits]
    assert page.inner_text("#ex-collections") == "trademarks"
    assert page.locator("#ex-rerun").get_attribute("href") == (
        "#/trademarks?word=apple&mode=phonetic"
    )
    portal.assert_clean()
