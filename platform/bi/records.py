"""Bibliographic records for business intelligence: one row per application, in SQL.

A record is what the analytics count: ``id`` (1-64 letters, digits, ``. _ / -``), ``kind``
(invention | utility_model | industrial_design | trademark), ``country`` (the applicant's
residence, ISO 3166-1 alpha-2), ``filing_date``, optional ``publication_date`` (not before
filing), ``ipc`` (up to 100 IPC codes at subclass level or below, any common spelling, stored
in the printed form ``A61K 31/495`` — a design or mark has none), optional ``status`` (the
office's word for the procedural state, 1-40 characters), ``source`` (where it came from:
``demo``, ``csv``, ``jsonl``…) and ``synthetic`` (true for generated demonstration data, which
every view of them must say).

Why the choices:

- Records come from outside (CSV exports, JSON Lines from a gateway), so every field is
  checked here, once, for every front door; an error is :class:`InvalidInput` naming
  ``records[i].field`` and nothing is written when any record is bad (one transaction).
- The write is the dialect's ``INSERT … ON CONFLICT (id) DO UPDATE`` (as the attorney
  register does): a re-import updates rows in place and never duplicates one.
- ``imported_at`` is set on every write, so the analytical store can refresh incrementally
  ("rows written since my last look") without a change log.
- A filing date must lie between 1883 (the Paris Convention) and today: a date in the future
  is a typo or a swapped day and month, and would plant a fake trend.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
    Index,
    MetaData,
    Row,
    String,
    Table,
    func,
    select,
)

from ipsim.engine.classification import IPC
from ipsim.engine.errors import InvalidInput
from ipsim.platform.database import as_utc, upsert_statement, writer
from ipsim.platform.filing.content import COUNTRIES
from ipsim.platform.filing.states import KINDS

FORMATS = ("csv", "jsonl")
CSV_COLUMNS = ("id", "kind", "country", "filing_date", "ipc")
"""The columns a CSV must have; ``publication_date``, ``status``, ``source`` may follow."""
MAX_IPC = 100
MAX_RECORDS = 100_000
"""Records in one call: a bigger file is imported in parts."""
EARLIEST_FILING = date(1883, 3, 20)
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,63}")
_SOURCE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,31}")
_STATUS_CHARS = 40
_SUBCLASS_DEPTH = 3

metadata = MetaData()

bi_records_table = Table(
    "bi_records",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("source", String(32), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("status", String(40)),
    Column("country", String(2), nullable=False),
    Column("filing_date", Date, nullable=False),
    Column("publication_date", Date),
    Column("ipc", JSON, nullable=False),
    Column("synthetic", Boolean, nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    Index("bi_records_by_filing", "filing_date"),
    Index("bi_records_by_imported", "imported_at"),
)


@dataclass(frozen=True)
class BiRecord:
    """One application as the analytics see it."""

    id: str
    kind: str
    country: str
    filing_date: date
    ipc: tuple[str, ...] = ()
    publication_date: date | None = None
    status: str | None = None
    source: str = "import"
    synthetic: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "country": self.country,
            "filing_date": self.filing_date.isoformat(),
            "publication_date": self.publication_date and self.publication_date.isoformat(),
            "ipc": list(self.ipc),
            "status": self.status,
            "source": self.source,
            "synthetic": self.synthetic,
        }


class BiRecordStore:
    """The ``bi_records`` table of the platform database (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = writer(engine)

    def upsert_many(self, records: Iterable[object], *, source: str = "import") -> int:
        """Insert or update (by id) every record in one transaction; how many were written.

        ``source`` is the default for records that do not name theirs. Nothing is written
        when any record is invalid."""
        default_source = _check_source(source, "source")
        checked: list[BiRecord] = []
        for i, record in enumerate(records):
            if i >= MAX_RECORDS:
                raise InvalidInput("records", f"at most {MAX_RECORDS} records per import")
            checked.append(check_record(record, f"records[{i}]", default_source))
        _refuse_duplicates(checked)
        if not checked:
            return 0
        now = datetime.now(UTC)
        with self._writer.begin() as db:
            db.execute(
                upsert_statement(bi_records_table, db.dialect.name, "id"),
                [_row(r, now) for r in checked],
            )
        return len(checked)

    def count(self, *, source: str | None = None) -> int:
        """How many records there are (from one source, if given)."""
        query = select(func.count()).select_from(bi_records_table)
        if source is not None:
            query = query.where(bi_records_table.c.source == source)
        with self._engine.connect() as db:
            return int(db.execute(query).scalar_one())

    def ids(self, *, source: str) -> set[str]:
        """The ids of every record from ``source``."""
        query = select(bi_records_table.c.id).where(bi_records_table.c.source == source)
        with self._engine.connect() as db:
            return set(db.execute(query).scalars())

    def changed_since(self, after: datetime | None = None) -> Iterator[tuple[BiRecord, datetime]]:
        """Every record written after ``after`` (all, if None) with its write time, oldest
        first: what an incremental refresh reads."""
        query = select(bi_records_table).order_by(bi_records_table.c.imported_at)
        if after is not None:
            query = query.where(bi_records_table.c.imported_at > after)
        with self._engine.connect() as db:
            for row in db.execute(query):
                yield _record(row), as_utc(row.imported_at)


def check_record(record: object, field: str, default_source: str = "import") -> BiRecord:
    """One record checked and normalised; ``InvalidInput`` names ``field.<key>``."""
    if not isinstance(record, Mapping):
        raise InvalidInput(field, "must be an object")
    unknown = sorted(str(k) for k in record if k not in _KEYS)
    if unknown:
        raise InvalidInput(f"{field}.{unknown[0]}", f"unknown field; known: {', '.join(_KEYS)}")
    # Checked in the order a reader scans a record, so the first fault named is the first.
    record_id = _check_id(record.get("id"), f"{field}.id")
    kind = _check_kind(record.get("kind"), f"{field}.kind")
    country = _check_country(record.get("country"), f"{field}.country")
    filing = _check_date(record.get("filing_date"), f"{field}.filing_date")
    publication = record.get("publication_date")
    published = (
        None if publication is None else _check_date(publication, f"{field}.publication_date")
    )
    if published is not None and published < filing:
        raise InvalidInput(f"{field}.publication_date", "must not be before the filing date")
    source = record.get("source")
    return BiRecord(
        id=record_id,
        kind=kind,
        country=country,
        filing_date=filing,
        ipc=_check_ipc(record.get("ipc", []), f"{field}.ipc"),
        publication_date=published,
        status=_check_status(record.get("status"), f"{field}.status"),
        source=default_source if source is None else _check_source(source, f"{field}.source"),
        synthetic=_check_flag(record.get("synthetic", False), f"{field}.synthetic"),
    )


def read_records(data: bytes | str, format: str) -> list[dict[str, Any]]:
    """Records from an uploaded file: ``csv`` (see :func:`read_csv`) or ``jsonl`` (one JSON
    object per line, blank lines skipped)."""
    if format not in FORMATS:
        raise InvalidInput("format", f"must be one of {', '.join(FORMATS)}")
    text = _text(data)
    return read_csv(text) if format == "csv" else read_jsonl(text)


def read_csv(source: Path | str) -> list[dict[str, Any]]:
    """Records from a CSV file (a :class:`Path`) or CSV text (a ``str``): UTF-8, a header row
    with at least :data:`CSV_COLUMNS`; ``ipc`` codes separated by ``;``; empty cells are
    absent values."""
    text = source.read_text(encoding="utf-8-sig") if isinstance(source, Path) else source
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise InvalidInput("csv", f"missing column {missing[0]}; needs {', '.join(CSV_COLUMNS)}")
    records: list[dict[str, Any]] = []
    for row in reader:
        # A short row leaves None values; an over-long one a None key.
        record: dict[str, Any] = {
            k.strip(): v.strip() for k, v in row.items() if k and v and v.strip()
        }
        record["ipc"] = [c.strip() for c in record.get("ipc", "").split(";") if c.strip()]
        if "synthetic" in record:
            record["synthetic"] = record["synthetic"].lower() in ("1", "true", "yes")
        records.append(record)
    return records


def read_jsonl(text: str) -> list[dict[str, Any]]:
    """Records from JSON Lines text: one object per line."""
    records: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"line {number}", f"not JSON: {exc.msg}") from exc
        if not isinstance(value, dict):
            raise InvalidInput(f"line {number}", "must be a JSON object")
        records.append(value)
    return records


def _text(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("body", "must be UTF-8 text") from exc


_KEYS = (
    "id",
    "kind",
    "country",
    "filing_date",
    "publication_date",
    "ipc",
    "status",
    "source",
    "synthetic",
)


def _check_id(value: object, field: str) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise InvalidInput(field, "must be 1-64 letters, digits or . _ / - (starting alphanumeric)")
    return value


def _check_kind(value: object, field: str) -> str:
    if value not in KINDS:
        raise InvalidInput(field, f"must be one of {', '.join(KINDS)}")
    return str(value)


def _check_country(value: object, field: str) -> str:
    if not isinstance(value, str) or value.upper() not in COUNTRIES:
        raise InvalidInput(field, "must be an ISO 3166-1 alpha-2 country code such as 'RU'")
    return value.upper()


def _check_date(value: object, field: str) -> date:
    if isinstance(value, datetime):
        raise InvalidInput(field, "must be a date (YYYY-MM-DD), not a time")
    if isinstance(value, date):
        day = value
    elif isinstance(value, str):
        try:
            day = date.fromisoformat(value.strip())
        except ValueError as exc:
            raise InvalidInput(field, "must be a date such as 2024-03-31") from exc
    else:
        raise InvalidInput(field, "must be a date such as 2024-03-31")
    if not EARLIEST_FILING <= day <= datetime.now(UTC).date():
        raise InvalidInput(field, f"must lie between {EARLIEST_FILING} and today")
    return day


def _check_ipc(value: object, field: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise InvalidInput(field, "must be a list of IPC codes")
    if len(value) > MAX_IPC:
        raise InvalidInput(field, f"at most {MAX_IPC} codes")
    codes: list[str] = []
    for i, code in enumerate(value):
        path = IPC.parse(code) if isinstance(code, str) else None
        if path is None or len(path) < _SUBCLASS_DEPTH:
            raise InvalidInput(
                f"{field}[{i}]", "must be an IPC code at subclass level or below, e.g. A61K 31/00"
            )
        if path[-1] not in codes:
            codes.append(path[-1])
    return tuple(codes)


def _check_status(value: object, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > _STATUS_CHARS:
        raise InvalidInput(field, f"must be 1-{_STATUS_CHARS} characters")
    if not value.isprintable():
        raise InvalidInput(field, "must not contain control characters")
    return value.strip()


def _check_source(value: object, field: str) -> str:
    if not isinstance(value, str) or not _SOURCE.fullmatch(value):
        raise InvalidInput(field, "must be 1-32 lower-case letters, digits or _ . -")
    return value


def _check_flag(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(field, "must be true or false")
    return value


def _refuse_duplicates(records: list[BiRecord]) -> None:
    seen: set[str] = set()
    for i, record in enumerate(records):
        if record.id in seen:
            raise InvalidInput(f"records[{i}].id", f"{record.id} is listed twice")
        seen.add(record.id)


def _row(record: BiRecord, now: datetime) -> dict[str, Any]:
    return {
        "id": record.id,
        "source": record.source,
        "kind": record.kind,
        "status": record.status,
        "country": record.country,
        "filing_date": record.filing_date,
        "publication_date": record.publication_date,
        "ipc": list(record.ipc),
        "synthetic": record.synthetic,
        "imported_at": now,
    }


def _record(row: Row[Any]) -> BiRecord:
    return BiRecord(
        id=row.id,
        kind=row.kind,
        country=row.country,
        filing_date=row.filing_date,
        ipc=tuple(row.ipc),
        publication_date=row.publication_date,
        status=row.status,
        source=row.source,
        synthetic=row.synthetic,
    )


__all__ = [
    "CSV_COLUMNS",
    "FORMATS",
    "KINDS",
    "MAX_RECORDS",
    "BiRecord",
    "BiRecordStore",
    "bi_records_table",
    "check_record",
    "metadata",
    "read_csv",
    "read_jsonl",
    "read_records",
]
