"""Graph files: GraphML that networkx reads back as the same graph, a safe HTML page."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from ipsim.clients.graph_files import graph_text, graphml_text, node_label, render_html

HOSTILE = '</script><script>alert("x")</script><!-- <b>&amp;'
GRAPH: dict[str, Any] = {
    "root": "pat/a",
    "nodes": [
        {
            "id": "pat/a",
            "collection": "pat",
            "doc_id": "a",
            "depth": 0,
            "fields": {"title": HOSTILE, "year": 2019, "ipc": ["F03D", "B64C"], "ok": True},
        },
        {
            "id": "pat/b",
            "collection": "pat",
            "doc_id": "b",
            "depth": 1,
            "fields": {"title": "Rotor blade", "year": 2021.5, "ok": False, "bad": "x\x00y"},
        },
        {
            "id": "other/c\u2028",
            "collection": "other",
            "doc_id": "c\u2028",
            "depth": 2,
            "fields": {"year": "unknown", "nested": {"a": [1, 2]}},
        },
    ],
    "edges": [
        {"source": "pat/a", "target": "pat/b", "score": 0.75, "rank": 1},
        {"source": "pat/b", "target": "other/c\u2028", "score": 0.5, "rank": 2},
    ],
}


def _read_graphml(text: str) -> nx.Graph:
    return nx.read_graphml(io.BytesIO(text.encode("utf-8")))


def test_graphml_reads_back_as_the_same_graph() -> None:
    read = _read_graphml(graphml_text(GRAPH))
    assert set(read.nodes) == {node["id"] for node in GRAPH["nodes"]}
    assert {frozenset(edge) for edge in read.edges} == {
        frozenset((edge["source"], edge["target"])) for edge in GRAPH["edges"]
    }
    for edge in GRAPH["edges"]:
        data = read.edges[edge["source"], edge["target"]]
        assert data == {"score": edge["score"], "weight": edge["score"], "rank": edge["rank"]}
    a, b, c = (read.nodes[node["id"]] for node in GRAPH["nodes"])
    assert a["label"] == HOSTILE and b["label"] == "Rotor blade" and c["label"] == "c\u2028"
    assert (a["collection"], a["doc_id"], a["depth"]) == ("pat", "a", 0)
    assert c["depth"] == 2 and c["collection"] == "other"
    # one type per column: year is int, float and text across nodes, so text everywhere
    assert (a["field_year"], b["field_year"], c["field_year"]) == ("2019", "2021.5", "unknown")
    assert (a["field_ok"], b["field_ok"]) == (True, False) and "field_ok" not in c
    assert json.loads(a["field_ipc"]) == ["F03D", "B64C"]
    assert json.loads(c["field_nested"]) == {"a": [1, 2]}
    assert b["field_bad"] == "x\ufffdy"  # XML cannot hold NUL
    assert read.graph["root"] == "pat/a"


def test_numeric_columns_stay_numeric() -> None:
    graph = {
        "root": "c/x",
        "nodes": [
            {"id": f"c/{i}", "collection": "c", "doc_id": i, "depth": 1, "fields": fields}
            for i, fields in [("x", {"n": 1, "f": 1}), ("y", {"n": 2, "f": 2.5}), ("z", {})]
        ],
        "edges": [],
    }
    read = _read_graphml(graphml_text(graph))
    assert read.nodes["c/x"]["field_n"] == 1 and isinstance(read.nodes["c/x"]["field_n"], int)
    assert read.nodes["c/x"]["field_f"] == 1.0 and read.nodes["c/y"]["field_f"] == 2.5
    assert "field_n" not in read.nodes["c/z"]


def _script_data(page: str) -> str:
    found = re.findall(r'<script type="application/json" id="graph-data">(.*?)</script>', page)
    assert len(found) == 1
    return str(found[0])


def test_html_carries_the_graph_as_json_and_escapes_markup() -> None:
    page = render_html(GRAPH)
    data = _script_data(page)
    assert json.loads(data) == {
        "graph": GRAPH,
        "labels": {"pat/a": HOSTILE, "pat/b": "Rotor blade", "other/c\u2028": "c\u2028"},
    }
    assert "<" not in data and ">" not in data and "&" not in data and "\u2028" not in data
    template = resources.files("ipsim.clients").joinpath("graph_template.html").read_text()
    assert page.count("</script>") == template.count("</script>") == 2
    assert "<script>alert" not in page
    # nothing to fetch at view time: the only address is the SVG namespace's name
    assert re.findall(r"https?://[^\s\"']+", page) == ["http://www.w3.org/2000/svg"]
    assert not re.search(r"\b(src|href)=", page)
    assert "innerHTML" not in page and "insertAdjacentHTML" not in page


# Just enough DOM for the page's script to lay the graph out and select the start node.
FAKE_DOM = r"""
const fs = require("fs");
const data = fs.readFileSync(process.argv[3], "utf8");
const made = [];
function element(tag) {
  const e = { tag, attrs: {}, children: [], textContent: "",
    classList: { add() {}, remove() {} },
    setAttribute(k, v) { this.attrs[k] = String(v); },
    appendChild(c) { this.children.push(c); return c; },
    replaceChildren() { this.children = []; },
    addEventListener() {}, removeEventListener() {}, setPointerCapture() {},
    getBoundingClientRect() { return { left: 0, top: 0, width: 800, height: 600 }; },
    insertRow() {
      const row = element("tr");
      row.insertCell = () => row.appendChild(element("td"));
      return this.appendChild(row);
    },
  };
  made.push(e);
  return e;
}
const byId = { "graph-data": Object.assign(element("script"), { textContent: data }) };
global.document = { title: "", getElementById: (id) => byId[id] || (byId[id] = element(id)),
  createElementNS: (ns, tag) => element(tag), createElement: (tag) => element(tag) };
global.window = { addEventListener() {} };
let frames = 0;
global.requestAnimationFrame = (step) => { if (++frames < 2000) { step(); } };
eval(fs.readFileSync(process.argv[2], "utf8"));
const placed = made.filter((e) => e.tag === "g" && e.attrs.transform).map((e) => e.attrs.transform);
const cells = made.filter((e) => e.tag === "td").map((e) => e.textContent);
console.log(JSON.stringify({ title: document.title, frames, placed, cells }));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="no node to run the page's script")
def test_the_page_script_lays_out_and_shows_the_start_node(tmp_path: Path) -> None:
    page = render_html(GRAPH)
    (script,) = re.findall(r"<script>(.*?)</script>", page, flags=re.S)
    files = {"page.js": script, "data.json": _script_data(page), "dom.js": FAKE_DOM}
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    ran = subprocess.run(
        ["node", *(str(tmp_path / name) for name in ("dom.js", "page.js", "data.json"))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout)
    assert result["title"] == f"ipsim graph: {HOSTILE}"  # text, not markup
    assert 10 < result["frames"] < 2000  # the layout cools down and stops
    assert len(result["placed"]) == len(GRAPH["nodes"])
    assert not any(re.search("NaN|Infinity", where) for where in result["placed"])
    assert "pat/a" in result["cells"] and HOSTILE in result["cells"]  # the start's fields


def test_labels_json_and_unknown_formats() -> None:
    assert node_label({"doc_id": "x", "fields": {"name": "  aspirin "}}) == "aspirin"
    assert node_label({"doc_id": "x", "fields": {"title": "", "word": 3}}) == "x"
    assert json.loads(graph_text(GRAPH, "json")) == GRAPH
    assert graph_text(GRAPH, "graphml") == graphml_text(GRAPH)
    assert graph_text(GRAPH, "html") == render_html(GRAPH)
    with pytest.raises(ValueError, match="format"):
        graph_text(GRAPH, "dot")
