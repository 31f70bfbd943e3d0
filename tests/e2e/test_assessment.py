"""The preliminary novelty assessment end to end: a real ``ipsim serve`` holding the demo
collections (from ``demo/patents.jsonl``: the 316 real titles and two of the five full texts,
with the real text model; from ``demo/trademarks.jsonl``: the first word and figurative marks),
applications filed over HTTP, assessed by the server's own worker, the report read through the
SDK as JSON and HTML.

Not ``--demo`` itself: building every demo collection (5,000 molecules, 3,223 marks, the
meshes, the sequences, 40 s of encoding per long full text) takes over five minutes on two
cores; the documents searched here are loaded from the same files through the SDK instead.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ipsim.clients import Client, Conflict, NotFound
from ipsim.platform.filing.verdict import TEXT

from .conftest import ServerProcess, start_server

DEMO = Path(__file__).resolve().parents[2] / "demo"
APPLICANT = {"name": "Anna Smirnova", "country": "RU", "type": "sme"}
PARAPHRASED = "US16100006-full"
"""The demo's full-text "SUPRAGLOTTIC AIRWAY DEVICE" application, paraphrased below."""
AIRWAY_CLAIMS = [
    "A device for keeping a patient's airway open above the glottis, with a coupler that "
    "locks onto the breathing tube so that the two cannot come apart by accident.",
    "The device of claim 1, wherein the coupler has a suction port that seals itself, for "
    "removing fluids and solids the patient discharges without contaminating the room.",
]
AIRWAY_ABSTRACT = (
    "A medical airway device whose coupler locks to a breathing tube and carries a "
    "self-sealing suction port, preventing infection and accidental disconnection."
)
BREAD_CLAIMS = ["A sourdough loaf leavened only with a rye starter fed twice a day."]


WORD_SAMPLE, FIGURE_SAMPLE = 200, 10
FULL_TEXTS = (PARAPHRASED, "US16100010-full")
"""The full texts loaded (the two shortest; the other three take half a minute each)."""
"""Demo marks loaded: the first word marks and the first figurative ones."""


def _demo(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (DEMO / name).open(encoding="utf-8")]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(tmp_path_factory.mktemp("assessment-demo"))
    marks = _demo("trademarks.jsonl")
    words = [m for m in marks if "image_b64" not in m["content"]][:WORD_SAMPLE]
    figures = [m for m in marks if "image_b64" in m["content"]][:FIGURE_SAMPLE]
    try:
        with Client(server.url, timeout=600) as client:
            client.create_collection("patents", "text")
            patents = _demo("patents.jsonl")
            client.upsert(
                "patents",
                [p for p in patents if p["fields"]["kind"] == "title" or p["id"] in FULL_TEXTS],
            )
            client.create_collection("trademarks", "trademark")
            client.upsert("trademarks", words + figures)
        yield server
    finally:
        if server.process.poll() is None:
            assert server.terminate() == 0


def file(server: ServerProcess, kind: str, title: str, content: dict[str, Any]) -> str:
    body = {"kind": kind, "title": title, "applicant": APPLICANT, "content": content}
    response = httpx.post(f"{server.url}/v1/applications", json=body, timeout=60)
    assert response.status_code == 201, response.text
    application_id: str = response.json()["id"]
    return application_id


def assessed(client: Client, application_id: str, timeout: float = 120) -> dict[str, Any]:
    """Queue an assessment and wait for the server's worker to finish it."""
    job = client.assess_application(application_id)
    assert job["status"] in ("queued", "running", "done")
    deadline = time.monotonic() + timeout
    while True:
        latest = client.get_assessment(application_id)
        assert latest["id"] == job["id"]
        if latest["status"] in ("done", "failed"):
            assert latest["status"] == "done", latest["error"]
            return latest
        assert time.monotonic() < deadline, latest
        time.sleep(0.3)


def test_a_paraphrased_demo_patent_is_found_and_an_unrelated_one_is_not(
    demo: ServerProcess,
) -> None:
    airway = file(demo, "invention", "Airway device with locking coupler",
                  {"abstract": AIRWAY_ABSTRACT, "claims": AIRWAY_CLAIMS})  # fmt: skip
    bread_content = {"abstract": "A bread made with rye sourdough.", "claims": BREAD_CLAIMS}
    bread = file(demo, "invention", "Rye sourdough", bread_content)
    with Client(demo.url, timeout=60) as client:
        job = assessed(client, airway)
        unrelated = assessed(client, bread)
        page = client.get_assessment_html(airway)
        # A second request while none is active queues a new job; its id differs.
        assert client.assess_application(airway)["id"] != job["id"]

    report = job["report"]
    print(json.dumps({e["element"]: e["hits"][:2] for e in report["elements"]}, indent=1))
    assert job["attempts"] == 1 and job["finished"] is not None
    assert report["application"]["id"] == airway
    assert [e["element"] for e in report["elements"]] == ["abstract", "claim 1", "claim 2"]
    assert {c["name"] for c in report["collections"]} == {"patents"}  # the only text one
    for element in report["elements"]:
        top = element["hits"][0]
        assert top["id"].startswith("US16100006"), element  # the document or its title
        assert top["link"] == f"/v1/collections/patents/documents/{top['id']}"
        assert element["verdict"] != "likely_novel"
    top = report["elements"][1]["hits"][0]
    assert top["id"] == PARAPHRASED and top["title"] == "SUPRAGLOTTIC AIRWAY DEVICE"
    assert report["verdict"] in ("needs_review", "likely_anticipated")
    assert report["max_score"] == max(e["best_score"] for e in report["elements"])
    assert report["thresholds"]["text"] == {"lower": TEXT.lower, "upper": TEXT.upper,
                                            "calibrated": True}  # fmt: skip

    other = unrelated["report"]
    print("unrelated:", other["max_score"], other["verdict"])
    assert other["verdict"] in ("likely_novel", "needs_review")
    assert other["max_score"] < report["max_score"] - 0.2
    assert not any(h["id"].startswith("US16100006") for e in other["elements"]
                   for h in e["hits"][:1])  # fmt: skip

    assert page.startswith("<!DOCTYPE html>") and "@media print" in page
    assert "<script" not in page.lower()
    assert f'href="/v1/collections/patents/documents/{PARAPHRASED}"' in page
    assert "SUPRAGLOTTIC AIRWAY DEVICE" in page


def test_a_trademark_is_searched_within_its_nice_classes(demo: ServerProcess) -> None:
    marks = _demo("trademarks.jsonl")
    word = next(m for m in marks if m["content"].get("word") == "reverberations")
    figurative = next(m for m in marks if "image_b64" in m["content"])
    nice = sorted({word["fields"]["nice_classes"][0], figurative["fields"]["nice_classes"][0]})
    with Client(demo.url, timeout=60) as client:
        upload = httpx.post(
            f"{demo.url}/v1/attachments",
            content=base64.b64decode(figurative["content"]["image_b64"]),
            headers={"Content-Type": "image/png"},
            timeout=60,
        )
        assert upload.status_code == 201, upload.text
        mark = file(demo, "trademark", "Reverberation",
                    {"word": "Reverberation", "image": upload.json()["sha256"],
                     "nice_classes": nice})  # fmt: skip
        report = assessed(client, mark)["report"]

    by_name = {e["element"]: e for e in report["elements"]}
    assert set(by_name) == {"word", "image"}
    assert {c["name"] for c in report["collections"]} == {"trademarks"}
    words = by_name["word"]
    print("word:", [(h["id"], h["title"], h["score"]) for h in words["hits"]])
    assert words["filter"] == {"nice_classes": {"in": nice}}
    assert words["hits"][0]["id"] == word["id"]
    assert words["verdict"] == "likely_anticipated"
    for element in by_name.values():  # every hit shares a Nice class with the application
        assert element["hits"]
        assert all(set(h["fields"]["nice_classes"]) & set(nice) for h in element["hits"])
    image = by_name["image"]
    print("image:", [(h["id"], h["score"]) for h in image["hits"]])
    assert image["hits"][0]["id"] == figurative["id"]  # the same picture
    assert image["verdict"] == "likely_anticipated"
    assert report["verdict"] == "likely_anticipated"


def test_bad_requests(demo: ServerProcess) -> None:
    withdrawn = file(demo, "invention", "Withdrawn",
                     {"abstract": "Anything.", "claims": ["A thing."]})  # fmt: skip
    moved = httpx.post(
        f"{demo.url}/v1/applications/{withdrawn}/transitions", json={"to": "withdrawn"}
    )
    assert moved.status_code == 200, moved.text
    with Client(demo.url, timeout=60) as client:
        with pytest.raises(NotFound):
            client.assess_application("A0123456789abcdef")
        with pytest.raises(NotFound):
            client.get_assessment("A0123456789abcdef")
        with pytest.raises(NotFound):  # filed, never assessed
            client.get_assessment(withdrawn)
        with pytest.raises(Conflict, match="withdrawn"):
            client.assess_application(withdrawn)
    bad = httpx.get(f"{demo.url}/v1/applications/{withdrawn}/assessment?format=xml")
    assert bad.status_code == 400 and "format" in bad.json()["error"]["message"]
