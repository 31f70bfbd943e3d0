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
    headers = ["RANK", "ID", "SCORE", "FIELDS"] + (["MATCH"] if with_chunks else [])
    rows = []
    for rank, hit in enumerate(hits, start=offset + 1):
        score = hit.get("score")
        row = [
            rank,
            hit.get("id"),
            f"{score:.4f}" if isinstance(score, int | float) else score,
            fields_label(hit.get("fields")),
        ]
        if with_chunks:
            row.append(chunk_label(hit.get("chunk")))
        rows.append(row)
    total = answer.get("total")
    of_total = f" of {total}" if isinstance(total, int) else ""
    return f"{render_table(headers, rows)}\n{len(hits)} hits{of_total}{timing}"


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
