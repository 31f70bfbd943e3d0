"""The portal's designs page in a real browser against the demo server: an uploaded demo mesh
finds its own document first with the API's hits in its order, thumbnails are real PNGs, the
query and a hit are drawn by an interactive three.js viewer that turns by keyboard, pages move
like the API's, a class filter narrows like the API, a wrong or oversized file never leaves the
browser, a broken mesh is named next to the file input, and the page speaks Russian."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from support.browser import screenshot

from .conftest import PortalPage, submit_search

ROOT = Path(__file__).resolve().parents[2]
MESH = ROOT / "demo" / "meshes" / "cgal" / "anchor.off"
MESH_ID = "cgal/anchor.off"
BAD_OBJ = b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 5\n"

# pixels of a WebGL canvas that are not (near) white, and a checksum of the whole picture
INK = """(canvas) => {
  const copy = document.createElement('canvas');
  copy.width = canvas.width; copy.height = canvas.height;
  const g = copy.getContext('2d');
  g.drawImage(canvas, 0, 0);
  const d = g.getImageData(0, 0, copy.width, copy.height).data;
  let ink = 0, sum = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i] < 230 || d[i + 1] < 230 || d[i + 2] < 230) ink += 1;
    sum = (sum + d[i] * 3 + d[i + 1] * 5 + d[i + 2] * 7 + i) % 1000000007;
  }
  return {ink, sum, total: d.length / 4};
}"""

THUMBS_LOADED = """() => {
  const images = [...document.querySelectorAll('#dz-hits img.dz-thumb')];
  return images.length > 0 && images.every(
    (img) => img.complete && img.naturalWidth > 0 && img.src.startsWith('blob:'));
}"""


def _api(portal: PortalPage, body: dict[str, Any]) -> dict[str, Any]:
    return portal.search_api("designs", body)


def _open(portal: PortalPage) -> Any:
    page = portal.open("designs")
    page.wait_for_selector("#dz-collection option[value=designs]", state="attached")
    page.wait_for_selector("#dz-class option[value=mechanical_part]", state="attached")
    return page


def _submit(page: Any, click: str = "#dz-submit") -> dict[str, Any]:
    """Search (by clicking `click`); the body the page sent, once its answer is drawn."""
    return submit_search(page, "designs", click, "#dz-results[aria-busy=false] .pager")


def _shown(page: Any) -> list[str]:
    ids: list[str] = page.locator("#dz-hits > li.hit").evaluate_all(
        "(nodes) => nodes.map((li) => li.dataset.id)"
    )
    return ids


def _ink(page: Any, selector: str) -> dict[str, int]:
    page.wait_for_selector(f"{selector}[data-drawn=true]")
    page.wait_for_timeout(200)
    found: dict[str, int] = page.eval_on_selector(selector, INK)
    return found


def test_a_demo_mesh_finds_itself_with_thumbnails_and_3d_views(portal: PortalPage) -> None:
    page = _open(portal)
    page.set_input_files("#dz-file", str(MESH))
    # the query is drawn in the browser from the file, before anything is sent
    query = _ink(page, "#dz-query-viewer canvas")
    assert query["ink"] > query["total"] * 0.02
    assert page.inner_text("#dz-query-text") == "anchor.off: 1,050 triangles, 519 vertices."

    body = _submit(page)
    assert body == {
        "query": {"mesh_b64": base64.b64encode(MESH.read_bytes()).decode(), "format": "off"},
        "k": 10,
        "offset": 0,
    }
    answer = _api(portal, body)
    shown = _shown(page)
    assert shown == [hit["id"] for hit in answer["hits"]]
    assert shown[0] == MESH_ID and len(shown) == 10
    scores = page.locator("#dz-hits .hit-score").evaluate_all(
        "(nodes) => nodes.map((n) => Number(n.dataset.score))"
    )
    assert scores == [hit["score"] for hit in answer["hits"]]
    assert page.locator("#dz-results .expert-bar").count() == 1
    assert page.locator("#dz-results .pager .total").get_attribute("data-total") == "55"

    # thumbnails: the server's PNG previews, decoded by the browser at their real size
    page.wait_for_function(THUMBS_LOADED)
    png = httpx.get(portal.url + answer["hits"][0]["preview"]["png"], timeout=60)
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    width = Image.open(io.BytesIO(png.content)).size[0]
    assert page.eval_on_selector("#dz-hits li:first-child img.dz-thumb", "i => i.naturalWidth") == (
        width
    )

    # the first hit's 3D view: its GLB drawn on a canvas that turns with the arrow keys
    button = page.locator("#dz-hits li:first-child button.dz-open")
    assert button.get_attribute("aria-expanded") == "false"
    with page.expect_response(lambda r: "depict=glb" in r.url) as glb:
        button.click()
    assert glb.value.headers["content-type"] == "model/gltf-binary"
    assert button.get_attribute("aria-expanded") == "true"
    canvas = "#dz-viewer-0 canvas"
    before = _ink(page, canvas)
    assert before["ink"] > before["total"] * 0.02
    assert page.evaluate("document.activeElement.matches('#dz-viewer-0 canvas')")
    label = page.get_attribute(canvas, "aria-label") or ""
    assert "cgal/anchor.off" in label and "arrow keys" in label
    assert page.inner_text("#dz-viewer-0 .dz-model-text") == (
        "3D model of cgal/anchor.off: 1,050 faces, 519 vertices."
    )
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    turned = _ink(page, canvas)
    assert turned["sum"] != before["sum"] and turned["ink"] > 0
    page.click("#dz-viewer-0 button[aria-label='Reset view']")
    page.wait_for_timeout(200)
    assert _ink(page, canvas)["sum"] == before["sum"]
    screenshot(page, "portal/designs")

    # page 2 shows the API's offset=k hits
    body2 = _submit(page, "#dz-results .pager button[data-page='2']")
    assert body2 == {**body, "offset": 10}
    assert _shown(page) == [hit["id"] for hit in _api(portal, body2)["hits"]]
    assert page.get_attribute("#dz-hits", "start") == "11"
    page.wait_for_function(THUMBS_LOADED)
    portal.assert_clean()


def test_the_class_filter_narrows_like_the_api(portal: PortalPage) -> None:
    page = _open(portal)
    page.set_input_files("#dz-file", str(MESH))
    page.select_option("#dz-class", "mechanical_part")
    page.select_option("#dz-k", "20")
    body = _submit(page)
    assert body["filter"] == {"class": "mechanical_part"} and body["k"] == 20
    answer = _api(portal, body)
    assert _shown(page) == [hit["id"] for hit in answer["hits"]]
    assert answer["total"] == 12 and len(answer["hits"]) == 12
    classes = page.locator("#dz-hits dl.fields").evaluate_all(
        "(lists) => lists.map((dl) => [...dl.querySelectorAll('dt')]"
        ".find((dt) => dt.textContent === 'class').nextElementSibling.textContent)"
    )
    assert set(classes) == {"mechanical_part"}
    portal.assert_clean()


def test_wrong_and_oversized_files_never_leave_the_browser(portal: PortalPage) -> None:
    page = _open(portal)
    limit = httpx.get(f"{portal.url}/v1/limits", timeout=30).json()["mesh_bytes"]
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url))

    page.set_input_files(
        "#dz-file",
        files=[{"name": "big.stl", "mimeType": "model/stl", "buffer": b"\0" * (limit + 1)}],
    )
    error = page.locator("#dz-file-error")
    error.wait_for()
    assert error.inner_text() == "big.stl is 16.0 MiB; at most 16.0 MiB can be sent."
    page.click("#dz-submit")
    page.wait_for_timeout(300)
    assert error.inner_text().startswith("big.stl is 16.0 MiB")
    assert page.get_attribute("#dz-file", "aria-invalid") == "true"
    assert page.is_hidden("#dz-query")

    page.set_input_files(
        "#dz-file", files=[{"name": "chair.png", "mimeType": "image/png", "buffer": b"\x89PNG"}]
    )
    page.wait_for_function(
        "() => document.querySelector('#dz-file-error').textContent.startsWith('chair.png')"
    )
    assert "not an accepted type" in error.inner_text() and ".off" in error.inner_text()
    page.click("#dz-submit")
    page.wait_for_timeout(300)
    # nothing but (at most) the limits the page checks against
    assert [url for url in sent if "/v1/" in url and not url.endswith("/v1/limits")] == []
    assert page.locator("#dz-hits").count() == 0
    portal.assert_clean()


def test_a_broken_mesh_is_named_next_to_the_file_input(portal: PortalPage) -> None:
    page = _open(portal)
    page.set_input_files(
        "#dz-file", files=[{"name": "broken.obj", "mimeType": "text/plain", "buffer": BAD_OBJ}]
    )
    page.click("#dz-submit")
    error = page.locator("#dz-file-error")
    error.wait_for()
    assert error.inner_text() == (
        "is not a valid OBJ file: line 4: a face references vertex 5, but the file has 3 "
        "vertices (3 of them before this line)"
    )
    assert page.locator("#dz-hits").count() == 0
    assert portal.watch.failed and all("HTTP 400" in f for f in portal.watch.failed)
    portal.watch.clear()
    portal.assert_clean()


def test_russian_and_a_phone(phone_portal: PortalPage) -> None:
    portal = phone_portal
    page = _open(portal)
    page.click("button[data-lang=ru]")
    page.wait_for_function("() => document.documentElement.lang === 'ru'")
    page.wait_for_selector("#dz-class option[value=animal]", state="attached")
    assert page.inner_text("#page-title") == "Промышленные образцы"
    assert page.inner_text("label[for=dz-file]") == "Файл 3D-модели"
    assert page.inner_text("#dz-class option[value='']") == "Любой класс"
    page.set_input_files("#dz-file", str(MESH))
    _submit(page)
    assert page.inner_text("#dz-results .pager .total") == "Всего записей: 55"
    page.locator("#dz-hits li:first-child button.dz-open").click()
    assert _ink(page, "#dz-viewer-0 canvas")["ink"] > 0
    assert page.inner_text("#dz-hits li:first-child button.dz-open") == "Закрыть 3D-просмотр"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "portal/designs-phone-ru")
    portal.assert_clean()
