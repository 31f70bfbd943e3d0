"""Documents as the store takes them in and logs them: validation and the WAL encoding."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ipsim.indexers.base import Vectors
from ipsim.indexers.wal import WalCorruptError, WalRecord


@dataclass(frozen=True)
class Record:
    """One document as written and read: its unit vectors, their spans, fields and payload."""

    id: str
    vectors: npt.NDArray[np.float32]  # (n_units, dim), n_units >= 1
    spans: list[tuple[int, int]]  # one (start, end) per unit, in the original content
    fields: dict[str, Any]
    payload: dict[str, Any]


@dataclass(frozen=True)
class StoredDoc:
    fields: dict[str, Any]
    payload: dict[str, Any]
    spans: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Entry:
    """One validated document of an upsert, as applied (from a caller or from the log)."""

    id: str
    vectors: Vectors
    doc: StoredDoc


def json_copy(value: Any, what: str) -> Any:
    """A private deep copy of a JSON value, or ValueError saying why it is not JSON."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
        text.encode()  # lone surrogates cannot be logged
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} is not valid JSON: {exc}") from exc
    return json.loads(text)


def validate_record(record: Record, dim: int) -> Entry:
    """Check one record and take private copies of everything in it."""
    doc_id = record.id
    if not isinstance(doc_id, str) or not doc_id:
        raise ValueError(f"document id must be a non-empty string, got {doc_id!r}")
    try:
        doc_id.encode()
    except UnicodeEncodeError as exc:
        raise ValueError(f"document id {doc_id!r} is not valid JSON text: {exc}") from exc
    vectors = np.array(record.vectors, dtype=np.float32, order="C", copy=True)
    if vectors.ndim != 2 or vectors.shape[0] < 1 or vectors.shape[1] != dim:
        raise ValueError(
            f"document {doc_id!r}: vectors must have shape (n_units >= 1, {dim}), "
            f"got {vectors.shape}"
        )
    if not np.isfinite(vectors).all():
        raise ValueError(f"document {doc_id!r}: vectors contain NaN or infinity")
    if len(record.spans) != vectors.shape[0]:
        raise ValueError(
            f"document {doc_id!r}: {len(record.spans)} spans for {vectors.shape[0]} units"
        )
    spans = []
    for span in record.spans:
        if len(span) != 2 or not all(type(x) is int or isinstance(x, np.integer) for x in span):
            raise ValueError(f"document {doc_id!r}: a span is two integers, got {span!r}")
        spans.append((int(span[0]), int(span[1])))
    for what, value in (("fields", record.fields), ("payload", record.payload)):
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise ValueError(f"document {doc_id!r}: {what} must be an object with string keys")
    fields, payload = json_copy(
        [record.fields, record.payload], f"document {doc_id!r} fields or payload"
    )
    return Entry(doc_id, vectors, StoredDoc(fields, payload, tuple(spans)))


def encode_upsert(entries: Sequence[Entry]) -> tuple[dict[str, Any], bytes]:
    """The WAL header and body of an upsert: vectors travel as raw little-endian float32."""
    docs = [
        {
            "id": e.id,
            "units": e.vectors.shape[0],
            "spans": [list(s) for s in e.doc.spans],
            "fields": e.doc.fields,
            "payload": e.doc.payload,
        }
        for e in entries
    ]
    body = b"".join(e.vectors.astype("<f4", copy=False).tobytes() for e in entries)
    return {"op": "upsert", "docs": docs}, body


def decode_upsert(record: WalRecord, dim: int) -> list[Entry]:
    """The entries of a logged upsert; the vectors are views of the record's bytes."""
    docs = record.header["docs"]
    vectors = np.frombuffer(record.body, dtype="<f4")
    total = sum(int(d["units"]) for d in docs)
    if vectors.size != total * dim:
        raise WalCorruptError(f"WAL record {record.seq}: {vectors.size} floats for {total} units")
    vectors = vectors.reshape(total, dim)
    entries, offset = [], 0
    for d in docs:
        n = int(d["units"])
        spans = tuple((int(s), int(e)) for s, e in d["spans"])
        doc = StoredDoc(d["fields"], d["payload"], spans)
        entries.append(Entry(str(d["id"]), vectors[offset : offset + n], doc))
        offset += n
    return entries
