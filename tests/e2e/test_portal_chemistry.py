"""The portal's chemistry page in a real browser against the demo server: similarity, exact,
substructure and formula searches show the API's hits in its order and page like it, the query
and every hit are drawn by the server's RDKit (SVG images from blob: URLs), a bad structure is
named next to its field with RDKit's message, and the page speaks Russian."""

from __future__ import annotations

import json
from typing import Any

from rdkit import Chem
from support.browser import screenshot

from .conftest import PortalPage, submit_search

CAFFEINE = "CN1C=NC2=C1C(=O)N(C(=O)N2C)C"  # demo/chemicals.jsonl holds it as "caffeine"
AMINE = "c[NX3;H2]"

SHOWN_HITS = """(nodes) => nodes.map((li) => {
  const fields = {};
  for (const dt of li.querySelectorAll('dl.fields dt')) {
    fields[dt.textContent] = dt.nextElementSibling.textContent;
  }
  return {id: li.dataset.id, score: Number(li.querySelector('.hit-score').dataset.score), fields};
})"""

IMAGES_DRAWN = """(images) => images.length > 0 && images.every(
  (img) => img.complete && img.naturalWidth > 0 && img.src.startsWith('blob:'))"""


def _api(portal: PortalPage, body: dict[str, Any]) -> dict[str, Any]:
    return portal.search_api("molecules", body)


def _open(portal: PortalPage) -> Any:
    page = portal.open("chemistry")
    page.wait_for_selector("#chem-collection option[value=molecules]", state="attached")
    return page


def _submit(page: Any, click: str = "#chem-submit") -> dict[str, Any]:
    """Search (by clicking `click`); the body the page sent, once its answer is drawn."""
    return submit_search(page, "molecules", click, "#chem-results[aria-busy=false] .pager")


def _shown(page: Any) -> list[dict[str, Any]]:
    shown: list[dict[str, Any]] = page.locator("#chem-hits > li.hit").evaluate_all(SHOWN_HITS)
    return shown


def _ids(answer: dict[str, Any]) -> list[str]:
    return [hit["id"] for hit in answer["hits"]]


def test_similarity_shows_the_api_hits_drawn_and_pages_like_it(portal: PortalPage) -> None:
    page = _open(portal)
    page.fill("#chem-smiles", CAFFEINE)
    with page.expect_response(
        lambda r: r.url.endswith("/v1/collections/molecules/depict")
    ) as drawn:
        body = _submit(page)
    assert body == {"query": {"smiles": CAFFEINE}, "k": 10, "offset": 0, "mode": "similarity"}
    answer = _api(portal, body)
    shown = _shown(page)
    assert [h["id"] for h in shown] == _ids(answer)
    assert [h["score"] for h in shown] == [hit["score"] for hit in answer["hits"]]
    # caffeine is in the demo twice (NCI and PubChem): both are identical to the query
    assert {shown[0]["id"], shown[1]["id"]} == {"caffeine", "NSC5036"}
    assert shown[0]["fields"]["formula"] == "C8H10N4O2"
    assert shown[0]["fields"]["inchikey"] == "RYYVLZVUVIJVGH-UHFFFAOYSA-N"
    assert page.locator("#chem-hits .hit-score").first.inner_text() == "tanimoto 1.000"
    assert page.locator("#chem-results .pager .total").get_attribute("data-total") == str(
        answer["total"]
    )
    assert page.locator("#chem-results .expert-bar").count() == 1

    # the query drawing: RDKit's SVG, shown as an image from a blob: URL
    assert drawn.value.status == 200
    assert drawn.value.headers["content-type"].startswith("image/svg+xml")
    assert json.loads(drawn.value.request.post_data) == {"query": {"smiles": CAFFEINE}}
    page.wait_for_function(
        "() => { const i = document.querySelector('#chem-query-img');"
        " return !i.hidden && i.complete && i.naturalWidth > 0 && i.src.startsWith('blob:'); }"
    )
    assert CAFFEINE in (page.get_attribute("#chem-query-img", "alt") or "")
    # every hit drawn from its ?depict=svg
    page.wait_for_function(
        f"() => ({IMAGES_DRAWN})([...document.querySelectorAll('#chem-hits img')])"
    )
    assert page.locator("#chem-hits img").count() == len(shown)
    assert "svg" not in page.inner_html("#chem-results").lower().replace("svg+xml", "")

    # page 2 shows the API's offset=k hits
    body2 = _submit(page, "#chem-results .pager button[data-page='2']")
    assert body2 == {**body, "offset": 10}
    assert [h["id"] for h in _shown(page)] == _ids(_api(portal, body2))
    assert page.get_attribute("#chem-hits", "start") == "11"
    assert page.locator("#chem-results .pager [aria-current=page]").inner_text() == "2"
    page.wait_for_function(
        f"() => ({IMAGES_DRAWN})([...document.querySelectorAll('#chem-hits img')])"
    )
    screenshot(page, "portal/chemistry")
    portal.assert_clean()


def test_exact_finds_caffeine(portal: PortalPage) -> None:
    page = _open(portal)
    page.select_option("#chem-mode", "exact")
    page.fill("#chem-smiles", CAFFEINE)
    body = _submit(page)
    assert body == {"query": {"smiles": CAFFEINE}, "k": 10, "offset": 0, "mode": "exact"}
    answer = _api(portal, body)
    shown = [h["id"] for h in _shown(page)]
    assert shown == _ids(answer)
    assert sorted(shown) == ["NSC5036", "caffeine"]
    assert page.locator("#chem-hits .hit-score").first.inner_text() == "match 1.000"

    # the same structure pasted as a molfile, on the Molfile tab
    molblock = Chem.MolToMolBlock(Chem.MolFromSmiles(CAFFEINE))
    page.click("#chem-tab-molblock")
    assert page.is_visible("#chem-molblock") and not page.is_visible("#chem-smiles")
    page.fill("#chem-molblock", molblock)
    body = _submit(page)
    assert body == {"query": {"molblock": molblock}, "k": 10, "offset": 0, "mode": "exact"}
    assert sorted(h["id"] for h in _shown(page)) == ["NSC5036", "caffeine"]
    page.wait_for_function(
        "() => { const i = document.querySelector('#chem-query-img');"
        " return !i.hidden && i.complete && i.naturalWidth > 0; }"
    )
    portal.assert_clean()


def test_substructure_by_smarts_hits_all_hold_the_pattern(portal: PortalPage) -> None:
    page = _open(portal)
    page.select_option("#chem-mode", "substructure")
    # the input tabs work by keyboard: SMILES → Molfile → SMARTS
    page.focus("#chem-tab-smiles")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert page.get_attribute("#chem-tab-smarts", "aria-selected") == "true"
    assert page.evaluate("document.activeElement.id") == "chem-tab-smarts"
    assert page.is_visible("#chem-smarts") and not page.is_visible("#chem-smiles")
    assert page.is_hidden("#chem-tab-formula")
    page.fill("#chem-smarts", AMINE)
    page.select_option("#chem-k", "20")
    body = _submit(page)
    assert body == {"query": {"smarts": AMINE}, "k": 20, "offset": 0, "mode": "substructure"}
    answer = _api(portal, body)
    shown = _shown(page)
    assert [h["id"] for h in shown] == _ids(answer)
    assert len(shown) == 20 and answer["total"] > 20
    pattern = Chem.MolFromSmarts(AMINE)
    for hit in shown:
        molecule = Chem.MolFromSmiles(hit["fields"]["smiles"])
        assert molecule.HasSubstructMatch(pattern), hit
    # a SMARTS query is drawn too
    page.wait_for_function(
        "() => { const i = document.querySelector('#chem-query-img');"
        " return !i.hidden && i.complete && i.naturalWidth > 0; }"
    )
    portal.assert_clean()


def test_formula_search_with_exact_and_ranged_formulas(portal: PortalPage) -> None:
    page = _open(portal)
    page.select_option("#chem-mode", "formula")
    assert page.get_attribute("#chem-tab-formula", "aria-selected") == "true"
    assert page.is_hidden("#chem-tab-smiles")
    page.fill("#chem-formula", "C8H10N4O2")
    body = _submit(page)
    assert body == {"query": {"formula": "C8H10N4O2"}, "k": 10, "offset": 0, "mode": "formula"}
    answer = _api(portal, body)
    shown = _shown(page)
    assert [h["id"] for h in shown] == _ids(answer)
    assert "caffeine" in [h["id"] for h in shown]
    assert {h["fields"]["formula"] for h in shown} == {"C8H10N4O2"}
    assert page.is_hidden("#chem-query")  # a formula has no drawing

    page.fill("#chem-formula", "C6-8H*O2")
    body = _submit(page)
    answer = _api(portal, body)
    shown = _shown(page)
    assert [h["id"] for h in shown] == _ids(answer)
    assert answer["total"] > 10
    for hit in shown:
        atoms = Chem.MolFromSmiles(hit["fields"]["smiles"]).GetAtoms()
        symbols = [a.GetSymbol() for a in atoms]
        assert 6 <= symbols.count("C") <= 8 and symbols.count("O") == 2
        assert set(symbols) <= {"C", "O"}, hit
    portal.assert_clean()


def test_bad_inputs_are_named_next_to_their_field(portal: PortalPage) -> None:
    page = _open(portal)
    page.fill("#chem-smiles", "C1CC")
    page.click("#chem-submit")
    error = page.locator("#chem-smiles-error")
    error.wait_for()
    assert "SMILES Parse Error: unclosed ring" in error.inner_text()
    assert page.get_attribute("#chem-smiles", "aria-invalid") == "true"
    assert page.locator("#chem-hits").count() == 0

    page.fill("#chem-smiles", CAFFEINE)
    page.fill("#chem-threshold", "2")
    page.click("#chem-submit")
    page.locator("#chem-threshold-error").wait_for()
    assert page.inner_text("#chem-threshold-error") == "must be from 0 to 1, got 2"
    assert page.locator("#chem-smiles-error").count() == 0

    page.select_option("#chem-mode", "formula")
    page.fill("#chem-formula", "C8H10N4O2x")
    page.click("#chem-submit")
    page.locator("#chem-formula-error").wait_for()
    assert "position 10" in page.inner_text("#chem-formula-error")
    # an empty input is refused without asking the server
    page.fill("#chem-formula", "")
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url))
    page.click("#chem-submit")
    page.wait_for_function(
        "() => document.querySelector('#chem-formula-error').textContent.includes('Enter')"
    )
    page.wait_for_timeout(300)
    assert sent == []
    # the page saw the server's 400 answers (and nothing else went wrong)
    assert all("HTTP 400" in failure for failure in portal.watch.failed), portal.watch.failed
    assert len(portal.watch.failed) == 3
    portal.watch.clear()
    portal.assert_clean()


def test_russian_and_a_phone(phone_portal: PortalPage) -> None:
    portal = phone_portal
    page = _open(portal)
    page.click("button[data-lang=ru]")
    page.wait_for_function("() => document.documentElement.lang === 'ru'")
    page.wait_for_selector("#chem-collection option[value=molecules]", state="attached")
    assert page.inner_text("#page-title") == "Химия"
    assert page.inner_text("label[for=chem-mode]") == "Режим поиска"
    assert page.inner_text("#chem-mode option[value=substructure]") == "По подструктуре"
    page.fill("#chem-smiles", CAFFEINE)
    _submit(page)
    assert page.inner_text("#chem-results .pager .total").startswith("Всего записей:")
    assert page.inner_text("#chem-query figcaption") == "Структура запроса"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "portal/chemistry-phone-ru")
    portal.assert_clean()
