"""Files of a neighbour graph (the server's ``…/neighbors`` answer): GraphML, HTML, JSON.

- GraphML, through networkx, for Gephi, yEd or Cytoscape. GraphML gives every attribute
  one type, and fields are free JSON, so each field becomes one column of one type: bool,
  int or float when every node's value is one, else text (lists and objects as JSON).
  Fields are prefixed ``field_`` so none can clash with ``label``, ``collection``,
  ``doc_id`` or ``depth``; edges carry ``score``, ``rank`` and ``weight`` (the score, the
  name Gephi reads). Characters XML cannot hold become U+FFFD.
- HTML: one self-contained page (``graph_template.html`` beside this module): inline
  SVG and a small force layout, no network at view time (its Content-Security-Policy
  forbids any request). The graph travels as JSON inside a ``<script type=
  "application/json">`` element with ``<``, ``>`` and ``&`` written as ``\\u003c``…, so no
  field can close the element or open markup; the page's script puts every text in place
  with ``textContent``, so document fields (untrusted) never become markup.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import networkx as nx

FORMATS = ("html", "graphml", "json")
LABEL_FIELDS = ("title", "name", "word", "label", "description", "smiles")
"""Fields that can name a node, first found wins; else its document id."""
FIELD_PREFIX = "field_"
TEMPLATE = "graph_template.html"
PLACEHOLDER = "__IPSIM_GRAPH_DATA__"
_INT32 = range(-(2**31), 2**31)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SCRIPT_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}

Scalar = str | int | float | bool


def graph_text(graph: Mapping[str, Any], fmt: str) -> str:
    """The graph as the text of a file of format ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "html":
        return render_html(graph)
    if fmt == "graphml":
        return graphml_text(graph)
    if fmt == "json":
        return json.dumps(graph, ensure_ascii=False, indent=1)
    raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")


def node_label(node: Mapping[str, Any]) -> str:
    """A short human name for a node: a title-like field, else its document id."""
    fields = node.get("fields") or {}
    for name in LABEL_FIELDS:
        value = fields.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return str(node.get("doc_id", node.get("id", "")))


# --- GraphML ----------------------------------------------------------------------------


def to_networkx(graph: Mapping[str, Any]) -> nx.Graph:
    """An undirected networkx graph: node and edge attributes as described above."""
    import networkx as nx  # only when GraphML is asked for: the command line starts faster

    result = nx.Graph(root=_xml_text(graph["root"]))
    nodes = list(graph["nodes"])
    columns = _field_columns(node.get("fields") or {} for node in nodes)
    for i, node in enumerate(nodes):
        attributes: dict[str, Scalar] = {
            "label": _xml_text(node_label(node)),
            "collection": _xml_text(node["collection"]),
            "doc_id": _xml_text(node["doc_id"]),
            "depth": int(node["depth"]),
        }
        for name, values in columns.items():
            value = values[i]
            if value is not None:
                attributes[FIELD_PREFIX + _xml_text(name)] = value
        result.add_node(_xml_text(node["id"]), **attributes)
    for edge in graph["edges"]:
        score = float(edge["score"])
        result.add_edge(
            _xml_text(edge["source"]),
            _xml_text(edge["target"]),
            score=score,
            weight=score,
            rank=int(edge["rank"]),
        )
    return result


def graphml_text(graph: Mapping[str, Any]) -> str:
    """The graph as a GraphML document."""
    import networkx as nx

    return "\n".join(nx.generate_graphml(to_networkx(graph))) + "\n"


def _field_columns(
    all_fields: Iterable[Mapping[str, Any]],
) -> dict[str, list[Scalar | None]]:
    """Field name → one value per node (None where a node lacks it), of one GraphML type."""
    rows = list(all_fields)
    names = list(dict.fromkeys(name for fields in rows for name in fields))
    columns: dict[str, list[Scalar | None]] = {}
    for name in names:
        values = [fields.get(name) for fields in rows]
        columns[name] = _one_type([v for v in values if v is not None], values)
    return columns


def _one_type(present: list[Any], values: list[Any]) -> list[Scalar | None]:
    if all(isinstance(v, bool) for v in present):
        return values
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in present)
    if numbers and all(isinstance(v, int) and v in _INT32 for v in present):
        return values
    if numbers and not any(isinstance(v, int) and abs(v) > 2**53 for v in present):
        return [None if v is None else float(v) for v in values]
    return [None if v is None else _as_text(v) for v in values]


def _as_text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return _xml_text(text)


def _xml_text(value: Any) -> str:
    return _NOT_XML.sub("\ufffd", str(value))


# --- HTML -------------------------------------------------------------------------------


def render_html(graph: Mapping[str, Any]) -> str:
    """The self-contained interactive page of the graph."""
    template = resources.files("ipsim.clients").joinpath(TEMPLATE).read_text(encoding="utf-8")
    labels = {str(node["id"]): node_label(node) for node in graph["nodes"]}
    return template.replace(PLACEHOLDER, script_json({"graph": graph, "labels": labels}), 1)


def script_json(value: Any) -> str:
    """JSON that is safe as the text of an HTML ``<script>`` element.

    ASCII only (lone surrogates and U+2028 escaped as well), and ``<``, ``>``, ``&`` as
    ``\\u`` escapes: the text can neither end the element nor start a comment in it.
    """
    text = json.dumps(value, ensure_ascii=True, allow_nan=False)
    for char, escaped in _SCRIPT_UNSAFE.items():
        text = text.replace(char, escaped)
    return text


__all__ = [
    "FORMATS",
    "graph_text",
    "graphml_text",
    "node_label",
    "render_html",
    "script_json",
    "to_networkx",
]
