"""The sequences page in a real browser: a demo sequence finds itself first with the hits the
API answers, the alignment block holds the aligned residues, pages move, a listing read in
the browser (FASTA, ST.26) lets the user pick a sequence, and bad input is refused where it
belongs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from support.browser import screenshot

from ipsim.clients.http import Client

from .conftest import PortalPage

DEMO = Path(__file__).resolve().parents[2] / "demo" / "sequences"
QUERY_ROW = re.compile(r"^Query\s+(\d+)\s+(\S+)\s+(\d+)$")
SUBJECT_ROW = re.compile(r"^Sbjct\s+(\d+)\s+(\S+)\s+(\d+)$")


def _shown_ids(page: Any) -> list[str]:
    ids: list[str] = page.locator("#seq-results li.hit").evaluate_all(
        "(nodes) => nodes.map((n) => n.dataset.id)"
    )
    return ids


def _search_requests(page: Any) -> list[str]:
    sent: list[str] = []

    def seen(request: Any) -> None:
        if "/search" in request.url:
            sent.append(request.url)

    page.on("request", seen)
    return sent


def _submit_and_wait(page: Any) -> None:
    with page.expect_response(lambda r: r.url.endswith("/search")) as answer:
        page.click("#seq-form button[type=submit]")
    assert answer.value.status == 200
    page.wait_for_selector("#seq-results[aria-busy=false] li.hit, #seq-results p")


def test_demo_sequence_finds_itself_with_the_apis_hits_and_alignment(portal: PortalPage) -> None:
    with Client(portal.url) as client:
        document = client.get("sequences", "Pkinase:1")
        residues = document["content"]["sequence"]
        expected = client.search("sequences", {"sequence": residues}, k=10)
        second = client.search("sequences", {"sequence": residues}, k=10, offset=10)
    assert expected["total"] > 10  # enough for a second page

    page = portal.open("sequences")
    page.wait_for_selector("#seq-collection option[value=sequences]", state="attached")
    page.fill("#seq-text", residues)
    _submit_and_wait(page)
    shown = _shown_ids(page)
    assert shown[0] == "Pkinase:1"
    assert shown == [h["id"] for h in expected["hits"]]
    assert page.locator("#seq-results .pager .total").first.get_attribute("data-total") == str(
        expected["total"]
    )
    first = page.locator("#seq-results li.hit").first
    bits = float(first.locator("[data-bits]").get_attribute("data-bits") or "nan")
    assert abs(bits - expected["hits"][0]["score"]) < 1e-6
    assert first.locator("[data-identity]").get_attribute("data-identity") == "1"

    # the alignment of a hit with gaps: its rows put together are the aligned strings
    gapped = next(h for h in expected["hits"] if "-" in h["match"]["alignment"]["query_aligned"])
    alignment = gapped["match"]["alignment"]
    text = page.locator(f'#seq-results li.hit[data-id="{gapped["id"]}"] pre.alignment')
    rows = text.inner_text().splitlines()
    queries = [QUERY_ROW.match(r) for r in rows if r.startswith("Query")]
    subjects = [SUBJECT_ROW.match(r) for r in rows if r.startswith("Sbjct")]
    assert all(queries) and all(subjects) and len(queries) == len(subjects) > 1
    assert "".join(m[2] for m in queries if m) == alignment["query_aligned"]
    assert "".join(m[2] for m in subjects if m) == alignment["subject_aligned"]
    assert all(len(m[2]) == 60 for m in queries[:-1] if m)
    assert queries[0] and int(queries[0][1]) == alignment["query_start"] + 1
    assert queries[-1] and int(queries[-1][3]) == alignment["query_end"]
    assert subjects[0] and int(subjects[0][1]) == alignment["subject_start"] + 1
    assert subjects[-1] and int(subjects[-1][3]) == alignment["subject_end"]
    middles = [rows[i + 1] for i, r in enumerate(rows) if r.startswith("Query")]
    offset = rows[0].index(queries[0][2]) if queries[0] else 0
    assert "".join(m[offset:] for m in middles) == alignment["midline"]

    # page 2 shows the API's offset=k hits
    page.locator("#seq-results .pager").first.get_by_role(
        "button", name="Page 2", exact=True
    ).click()
    page.wait_for_selector("#seq-results .pager button[data-page='2'][aria-current=page]")
    assert _shown_ids(page) == [h["id"] for h in second["hits"]]
    assert page.locator("#seq-results ol.hits").get_attribute("start") == "11"
    assert page.locator("#seq-results .expert-bar").count() == 1
    assert "null" not in page.inner_text("#seq-results")
    screenshot(page, "portal/sequences")
    portal.assert_clean()


def test_fasta_file_with_two_records_lets_the_user_pick_the_second(
    portal: PortalPage,
) -> None:
    with Client(portal.url) as client:
        first = client.get("sequences", "globins4:1")["content"]["sequence"]
        chosen = client.get("sequences", "Pkinase:2")["content"]["sequence"]
        expected = client.search("sequences", {"sequence": chosen}, k=10)
    fasta = f">one globin\n{first}\n>two kinase domain\n{chosen[:70]}\n{chosen[70:]}\n"
    page = portal.open("sequences")
    page.set_input_files(
        "#seq-file", files=[{"name": "two.fasta", "mimeType": "", "buffer": fasta.encode()}]
    )
    page.wait_for_selector("#seq-record option >> nth=1", state="attached")
    assert page.locator("#seq-record").is_visible()
    labels = page.locator("#seq-record option").all_inner_texts()
    assert [label.split(" ·")[0] for label in labels] == ["one", "two"]
    assert "2 sequences" in page.inner_text("#seq-file-note")
    page.select_option("#seq-record", "1")
    assert page.input_value("#seq-text").startswith(">two kinase domain\n")
    _submit_and_wait(page)
    assert _shown_ids(page) == [h["id"] for h in expected["hits"]]
    assert _shown_ids(page)[0] == "Pkinase:2"
    portal.assert_clean()


def test_st26_listing_from_the_demo_works(portal: PortalPage) -> None:
    listing = DEMO / "globins4.st26.xml"
    page = portal.open("sequences")
    page.set_input_files("#seq-file", str(listing))
    page.wait_for_selector("#seq-record option >> nth=2", state="attached")
    assert page.locator("#seq-record option").count() == listing.read_text().count("<SequenceData ")
    page.select_option("#seq-record", "2")
    assert page.input_value("#seq-type") == "protein"
    with Client(portal.url) as client:
        residues = client.get("sequences", "globins4:3")["content"]["sequence"]
        expected = client.search("sequences", {"sequence": residues, "type": "protein"}, k=10)
    assert "".join(page.input_value("#seq-text").splitlines()[1:]).upper() == residues.upper()
    _submit_and_wait(page)
    assert _shown_ids(page) == [h["id"] for h in expected["hits"]]
    assert _shown_ids(page)[0] == "globins4:3"
    portal.assert_clean()


def test_bad_residue_error_shows_at_the_sequence_field(portal: PortalPage) -> None:
    page = portal.open("sequences")
    page.fill("#seq-text", "MKVLA1@QLLHH")
    page.select_option("#seq-type", "protein")
    with page.expect_response(lambda r: r.url.endswith("/search")) as answer:
        page.click("#seq-form button[type=submit]")
    assert answer.value.status == 400
    error = page.locator("#seq-text-error")
    error.wait_for()
    assert "not IUPAC amino acid codes" in error.inner_text()
    assert "'1' at 6" in error.inner_text()
    assert page.get_attribute("#seq-text", "aria-invalid") == "true"
    assert page.locator("#seq-results li.hit").count() == 0
    portal.watch.clear()
    portal.assert_clean()


def test_files_too_large_or_of_the_wrong_type_are_refused_before_sending(
    portal: PortalPage,
) -> None:
    page = portal.open("sequences")
    sent = _search_requests(page)
    limits = page.evaluate("fetch('/v1/limits').then((r) => r.json())")

    long = b">huge\n" + b"ACGT" * (limits["sequence_length"] // 4 + 1) + b"\n"
    page.set_input_files(
        "#seq-file", files=[{"name": "huge.fasta", "mimeType": "", "buffer": long}]
    )
    error = page.locator("#seq-file-error")
    error.wait_for()
    assert "at most" in error.inner_text() and "1,000,000" in error.inner_text()
    page.click("#seq-form button[type=submit]")
    page.locator("#seq-text-error").wait_for()
    assert "at most" in page.inner_text("#seq-text-error")

    big = b">big\n" + b"A" * (limits["body_bytes"] + 1)
    page.set_input_files("#seq-file", files=[{"name": "big.fa", "mimeType": "", "buffer": big}])
    page.wait_for_function(
        "document.getElementById('seq-file-error')?.textContent.includes('big.fa is')"
    )
    assert "MiB" in error.inner_text()

    page.set_input_files(
        "#seq-file", files=[{"name": "photo.png", "mimeType": "image/png", "buffer": b"\x89PNG"}]
    )
    page.wait_for_function(
        "document.getElementById('seq-file-error')?.textContent.includes('photo.png')"
    )
    assert "not an accepted type" in error.inner_text()
    assert sent == []
    portal.assert_clean()


def test_russian_strings(portal: PortalPage) -> None:
    page = portal.open("sequences")
    page.click("button[data-lang=ru]")
    page.wait_for_function("() => document.documentElement.lang === 'ru'")
    page.wait_for_selector("#seq-form")
    text = page.inner_text("#view")
    assert "Последовательности" in text
    assert "Последовательность или текст FASTA" in text
    assert "Файл перечня последовательностей" in text
    assert page.inner_text("#seq-form button[type=submit]") == "Найти"
    portal.assert_clean()
