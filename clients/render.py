"""Plain-text rendering of server answers for the terminal (tables, hit lists)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

CELL_WIDTH = 48  # longest table cell before it is cut with "…"
SHOWN_FIELDS = 3  # fields of a hit shown in the table


def render_hits(answer: dict[str, Any], offset: int = 0) -> str:
    """A search answer as a table: rank, id, score, a few fields and the matched chunk."""
    hits = answer.get("hits") or []
    took = answer.get("took_ms")
    timing = f" in {took:.1f} ms" if isinstance(took, int | float) else ""
    if not hits:
        return f"no hits{timing}"
    with_chunks = any(isinstance(hit.get("chunk"), dict) for hit in hits)
    with_sources = any("collection" in hit for hit in hits)
    group_of = _group_values(answer.get("groups"))
    headers = ["RANK"] + (["GROUP"] if group_of else []) + (["COLLECTION"] if with_sources else [])
    headers += ["ID", "SCORE", "FIELDS"] + (["MATCH"] if with_chunks else [])
    rows = []
    for rank, hit in enumerate(hits, start=offset + 1):
        row = [rank] + ([group_of.get(_hit_key(hit), "")] if group_of else [])
        row += [hit.get("collection")] if with_sources else []
        row += [hit.get("id"), score_label(hit), fields_label(hit.get("fields"))]
        if with_chunks:
            row.append(chunk_label(hit.get("chunk")))
        rows.append(row)
    total = answer.get("total")
    of_total = f" of {total}" if isinstance(total, int) else ""
    lines = [render_table(headers, rows), f"{len(hits)} hits{of_total}{timing}"]
    lines += [f"partial: {failure}" for failure in _failed_sources(answer)]
    for facet in (answer.get("facets") or {}).values():
        lines += ["", render_facet(facet)]
    return "\n".join(lines)


def render_facet(facet: dict[str, Any]) -> str:
    """One facet's counts as a table and a summary line."""
    field = facet.get("field")
    rows = [(v.get("value"), v.get("count"), v.get("level") or "") for v in facet["values"]]
    under = f" under {facet['prefix']}" if facet.get("prefix") else ""
    other = f", {facet['other']} more values" if facet.get("other") else ""
    counts = f"{facet['documents']} documents, {facet['missing']} without it"
    summary = f"{field}{under}: {counts}{other}"
    return f"{render_table(('value', 'documents', 'level'), rows)}\n{summary}"


def _group_values(groups: Any) -> dict[tuple[Any, Any], str]:
    """The group value of each hit of a grouped answer (``hits`` lists the groups' hits)."""
    if not isinstance(groups, list):
        return {}
    values = {}
    for group in groups:
        for hit in group.get("hits") or []:
            values[_hit_key(hit)] = scalar(group.get("value"))
    return values


def _hit_key(hit: dict[str, Any]) -> tuple[Any, Any]:
    return hit.get("collection"), hit.get("id")


def _failed_sources(answer: dict[str, Any]) -> list[str]:
    """`name: status (message)` for each source of a one-window answer that did not answer."""
    return [
        f"{s.get('collection')}: {s.get('status')} ({s.get('message') or s.get('code')})"
        for s in answer.get("sources") or []
        if isinstance(s, dict) and s.get("status") != "ok"
    ]


def score_label(hit: dict[str, Any]) -> Any:
    """A hit's (or notification's) ``score`` to four decimals."""
    score = hit.get("score")
    return f"{score:.4f}" if isinstance(score, int | float) else score


def render_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns padded to their widest cell."""
    cells = [list(headers)] + [[cell(value) for value in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    )


def cell(value: Any) -> str:
    """One table cell: whitespace folded, long text cut with an ellipsis."""
    text = "" if value is None else " ".join(str(value).split())
    return text if len(text) <= CELL_WIDTH else text[: CELL_WIDTH - 1] + "…"


def index_label(index: Any) -> str:
    """A collection's index as its family name."""
    if isinstance(index, dict):
        return str(index.get("type", json.dumps(index)))
    return "" if index is None else str(index)


def fields_label(fields: Any) -> str:
    """The first few fields as `key=value`."""
    if not isinstance(fields, dict):
        return ""
    shown = [f"{key}={scalar(value)}" for key, value in list(fields.items())[:SHOWN_FIELDS]]
    more = len(fields) - SHOWN_FIELDS
    return ", ".join(shown) + (f", +{more}" if more > 0 else "")


def scalar(value: Any) -> str:
    """A field value on one line (lists joined by `|`)."""
    if isinstance(value, list):
        return "|".join(str(item) for item in value)
    return str(value)


def chunk_label(chunk: Any) -> str:
    """Which chunk of a long document matched."""
    if not isinstance(chunk, dict):
        return ""
    if isinstance(chunk.get("text"), str):
        return str(chunk["text"])
    span = f" [{chunk.get('start')}:{chunk.get('end')}]" if "start" in chunk else ""
    return f"chunk {chunk.get('index', '?')}{span}"
