"""The filing page in a real browser: an invention filed through the form reaches the API once
(a double click and a resubmission file one application), its tracking page shows the status,
history and fees the API holds, follows a transition made through the API, and shows the
preliminary novelty assessment's prior art from the demo `patents` collection; bad input is
shown at its field, and a wrong or oversized file is refused before anything is sent."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

import httpx
from support.browser import screenshot

from .conftest import PortalPage

CLAIMS = [
    "A battery cooling plate comprising liquid channels between two metal sheets.",
    "The plate of claim 1, wherein the channels are serpentine.",
]


def fill_invention(page: Any, title: str, applicant: str) -> None:
    page.fill("#filing-title", title)
    page.fill("#filing-name", applicant)
    page.select_option("#filing-type", "sme")
    page.fill("#filing-abstract", "A lithium battery cooling plate with liquid channels.")
    page.fill("#filing-claims", "\n\n".join(CLAIMS))
    page.fill("#filing-ipc", "H01M 10/60")


def posts(page: Any, path: str) -> list[str]:
    """Record the POST requests to ``path`` the page sends from now on."""
    sent: list[str] = []
    page.on(
        "request",
        lambda r: r.method == "POST" and r.url.split("?")[0].endswith(path) and sent.append(r.url),
    )
    return sent


def test_file_an_invention_then_track_it(portal: PortalPage) -> None:
    page = portal.open("filing")
    applicant = f"ACME Thermal {uuid.uuid4().hex[:8]}"
    title = "Battery cooling plate"
    fill_invention(page, title, applicant)
    http = httpx.Client(base_url=portal.url, timeout=60)

    # the fees preview is the API's quote for this kind, claim count and applicant type
    quote = http.get(
        "/v1/fees", params={"kind": "invention", "claims": 2, "applicant_type": "sme"}
    ).json()
    page.wait_for_function(
        "(total) => document.querySelector('#filing-fees .fee-total')?.dataset.total === total",
        arg=quote["total"],
    )
    codes = page.locator("#filing-fees tbody tr").evaluate_all(
        "(rows) => rows.map((r) => r.dataset.code)"
    )
    assert codes == [line["code"] for line in quote["lines"]]

    # a double click files once
    sent = posts(page, "/v1/applications")
    page.dblclick("#filing-submit")
    shown_id = page.locator("#filing-filed-id").inner_text()
    page.wait_for_timeout(500)
    found = http.get("/v1/applications", params={"applicant": applicant}).json()
    assert found["total"] == 1, found
    assert found["applications"][0]["id"] == shown_id
    application = http.get(f"/v1/applications/{shown_id}").json()
    assert application["status"] == "received" and application["title"] == title
    assert application["content"]["claims"] == CLAIMS
    assert application["content"]["ipc"] == ["H01M 10/60"]
    assert application["applicant"]["type"] == "sme"
    filed = page.locator(".filing-filed")
    assert filed.locator("[data-status]").get_attribute("data-status") == "received"
    assert (
        filed.locator(".fee-total").get_attribute("data-total") == (application["fees"][0]["total"])
    )

    # the same fill sent again carries the same Idempotency-Key: the same application answers
    page.click("#filing-submit")
    page.wait_for_selector(".filing-replayed")
    assert page.locator("#filing-filed-id").inner_text() == shown_id
    assert len(sent) == 2, sent
    assert http.get("/v1/applications", params={"applicant": applicant}).json()["total"] == 1

    # the list of the caller's applications holds it
    page.wait_for_selector(f"#filing-mine tr[data-id='{shown_id}']")

    # tracking: the link opens the application with its status and history
    page.click("#filing-filed-link")
    page.wait_for_selector("#filing-app-id")
    assert page.locator("#filing-app-id").inner_text() == shown_id
    assert page.locator("#filing-app-status [data-status]").get_attribute("data-status") == (
        "received"
    )
    kinds = page.locator("#filing-history li").evaluate_all(
        "(items) => items.map((i) => i.dataset.kind)"
    )
    assert kinds == [event["kind"] for event in application["history"]]
    assert (
        page.locator("#filing-app-fees .fee-total").first.get_attribute("data-total")
        == (application["fees"][0]["total"])
    )

    # a transition made through the API shows after a refresh, and after a reload
    moved = http.post(
        f"/v1/applications/{shown_id}/transitions",
        json={"to": "formal_examination", "reason": "documents complete"},
    )
    assert moved.status_code == 200, moved.text
    page.click("#filing-refresh")
    page.wait_for_selector("#filing-app-status [data-status=formal_examination]")
    transition = page.locator("#filing-history li[data-kind=transition]")
    assert transition.get_attribute("data-to") == "formal_examination"
    assert "documents complete" in transition.inner_text()
    page.reload()
    page.wait_for_selector("#filing-app-status [data-status=formal_examination]")

    # the preliminary novelty assessment: prior art from the demo patents, as the API reports
    page.click("#filing-assess")
    page.wait_for_selector(".filing-report", timeout=120_000)
    job = http.get(f"/v1/applications/{shown_id}/assessment").json()
    assert job["status"] == "done", job
    report = job["report"]
    assert page.locator(".filing-report").get_attribute("data-verdict") == report["verdict"]
    for element in report["elements"]:
        hits = page.locator(f".filing-element[data-element='{element['element']}'] .hit")
        shown = hits.evaluate_all(
            "(items) => items.map((i) => [i.dataset.collection, i.dataset.id])"
        )
        assert shown == [[h["collection"], h["id"]] for h in element["hits"]]
    collections = set(
        page.locator(".filing-report .hit").evaluate_all(
            "(items) => items.map((i) => i.dataset.collection)"
        )
    )
    assert collections == {"patents"}
    screenshot(page, "portal/filing")

    # the track box opens an application by its number
    page.goto(f"{portal.url}/#/filing")
    page.wait_for_selector("#filing-track-id")
    page.fill("#filing-track-id", shown_id)
    page.click("#filing-track button[type=submit]")
    page.wait_for_selector(f".filing-application[data-id='{shown_id}']")
    assert page.url.endswith(f"#/filing/{shown_id}")
    http.close()
    portal.assert_clean()


def test_bad_input_is_shown_at_its_field(portal: PortalPage) -> None:
    page = portal.open("filing")
    fill_invention(page, "", "Missing Title Ltd")
    sent = posts(page, "/v1/applications")
    page.click("#filing-submit")
    error = page.locator("#filing-title-error")
    error.wait_for()
    assert "not blank" in error.inner_text()
    assert page.get_attribute("#filing-title", "aria-invalid") == "true"
    assert len(sent) == 1

    # an IPC code the server does not know: at the IPC field, the title error gone
    page.fill("#filing-title", "Cooling plate")
    page.fill("#filing-ipc", "H01M 10/60, QQQ")
    page.click("#filing-submit")
    page.locator("#filing-ipc-error").wait_for()
    assert "IPC" in page.locator("#filing-ipc-error").inner_text()
    assert page.locator("#filing-title-error").count() == 0

    # a bad country code: at the country field
    page.fill("#filing-ipc", "")
    page.fill("#filing-country", "XX")
    page.click("#filing-submit")
    page.locator("#filing-country-error").wait_for()
    assert "ISO 3166-1" in page.locator("#filing-country-error").inner_text()
    assert len(sent) == 3
    portal.watch.clear()  # the three 400s were the point
    portal.assert_clean()


def test_a_wrong_or_oversized_file_is_refused_before_sending(portal: PortalPage) -> None:
    page = portal.open("filing")
    page.select_option("#filing-kind", "trademark")
    page.fill("#filing-title", "Mark")
    page.fill("#filing-name", "Brand Owner")
    page.fill("#filing-word", "NORDLIGHT")
    page.fill("#filing-nice", "9, 42")
    uploads = posts(page, "/v1/attachments")
    filings = posts(page, "/v1/applications")

    page.set_input_files(
        "#filing-image",
        files=[{"name": "mark.gif", "mimeType": "image/gif", "buffer": b"GIF89a" + b"\0" * 64}],
    )
    page.click("#filing-submit")
    page.locator("#filing-image-error").wait_for()
    assert "mark.gif" in page.locator("#filing-image-error").inner_text()
    assert "not an accepted type" in page.locator("#filing-image-error").inner_text()

    limits = httpx.get(f"{portal.url}/v1/limits", timeout=30).json()
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * limits["image_bytes"]
    page.set_input_files(
        "#filing-image", files=[{"name": "big.png", "mimeType": "image/png", "buffer": big}]
    )
    page.click("#filing-submit")
    page.wait_for_function(
        "document.querySelector('#filing-image-error')?.textContent.includes('big.png')"
    )
    assert "at most" in page.locator("#filing-image-error").inner_text()
    page.wait_for_timeout(300)
    assert uploads == [] and filings == []

    # without the image the mark (a word) is filed
    page.set_input_files("#filing-image", files=[])
    page.click("#filing-submit")
    page.wait_for_selector("#filing-filed-id")
    mark = httpx.get(
        f"{portal.url}/v1/applications/{page.locator('#filing-filed-id').inner_text()}", timeout=30
    ).json()
    assert mark["kind"] == "trademark"
    assert mark["content"]["word"] == "NORDLIGHT" and mark["content"]["nice_classes"] == [9, 42]
    assert len(filings) == 1 and uploads == []
    portal.assert_clean()


def test_file_a_design_with_a_mesh_view(portal: PortalPage) -> None:
    mesh = Path(__file__).resolve().parents[2] / "demo" / "meshes" / "assimp" / "Wuson.stl"
    page = portal.open("filing")
    page.select_option("#filing-kind", "industrial_design")
    assert page.locator("#filing-abstract").is_hidden()
    assert page.locator("#filing-views").is_visible()
    page.fill("#filing-title", "Toy duck")
    page.fill("#filing-name", "Toys Ltd")
    page.fill("#filing-locarno", "21-01")
    uploads = posts(page, "/v1/attachments")
    page.set_input_files("#filing-views", str(mesh))
    page.click("#filing-submit")
    page.wait_for_selector("#filing-filed-id")
    design = httpx.get(
        f"{portal.url}/v1/applications/{page.locator('#filing-filed-id').inner_text()}", timeout=30
    ).json()
    assert design["kind"] == "industrial_design" and len(uploads) == 1
    assert design["content"]["views"] == [hashlib.sha256(mesh.read_bytes()).hexdigest()]
    assert design["content"]["locarno"] == ["21-01"]
    portal.assert_clean()


def test_the_page_in_russian(portal: PortalPage) -> None:
    page = portal.open("filing")
    page.click("button[data-lang=ru]")
    page.wait_for_function("() => document.documentElement.lang === 'ru'")
    page.wait_for_selector("#filing-submit")
    assert page.locator("#page-title").inner_text() == "Подача заявки и статус"
    assert page.locator("#filing-submit").inner_text() == "Подать заявку"
    assert page.locator("label[for=filing-claims]").inner_text() == "Формула"
    assert page.locator("#filing-kind option[value=trademark]").inner_text() == "Товарный знак"
    page.wait_for_selector("#filing-fees tfoot th")
    assert page.locator("#filing-fees tfoot th").inner_text() == "Итого"
    portal.assert_clean()
