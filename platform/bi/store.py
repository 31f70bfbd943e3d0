"""The analytical store: an embedded DuckDB fact table fed incrementally from the platform DB.

Tables (DuckDB, in memory by default or a file)::

    filings(id, source, kind, status, country, filing_date, year, quarter, publication_date,
            synthetic)                 one row per application or bibliographic record
    filing_fields(id, field, weight)   its WIPO technology fields, fractional weights (sum 1)
    fields(field, name, sector)        the 35 fields (the concordance)
    watermarks(name, value)            how far each feed has been read

Feeds:

* ``applications`` (online filings): the applicant's country, ``kind``, ``status``, the UTC
  date of ``created`` as filing date and ``content.ipc``; ``source`` = ``filing``, id
  ``app/<id>``. Changes are found through ``application_events.seq``: every change to an
  application (filing, transition…) appends an event, and the log promises that events become
  visible in ``seq`` order (:func:`~ipsim.platform.filing.applications.record_event`), so
  "applications with an event after my watermark" misses nothing.
* ``bi_records`` (imports and the synthetic demo): their own columns, id ``rec/<id>``;
  changes are rows whose ``imported_at`` is after the watermark (every write sets it).
  Caveat: two imports committing out of the order of their timestamps could let the later
  commit of the earlier stamp slip under the watermark; :meth:`AnalyticsStore.rebuild`
  reads everything again.
* ``collections`` (the engine's text collections, through the platform's engine facade
  :class:`~ipsim.platform.filing.facade.CollectionFeed`, once the server attaches it): each
  document whose fields carry a ``country`` (ISO alpha-2) and a ``filing_date`` (or
  ``date``, ISO) counts as an invention (or the ``kind`` field, when it is an application
  kind), with its ``ipc`` (a code or a list) and ``publication_date``, ``status``; id
  ``doc/<collection>/<id>``, ``source`` = ``collection:<name>``. A collection has no change
  log, only a version that grows with every write: when it moved, the whole collection is
  read again (at most every ``collections_interval_s``, 60 s by default: a collection being
  ingested is not re-read after every batch), and the facts of collections that are gone are
  dropped. Documents without a country or a date are left out (their count is logged).

Why DuckDB fed by Python rather than reading the platform database in place: the same code
runs on SQLite and PostgreSQL (the feed reads through SQLAlchemy), and DuckDB's ``postgres``
and ``sqlite`` extensions are downloaded at first use, which a closed server cannot do. The
facts are small (one row per application), so a copy costs little and keeps the analytical
scans off the transactional database.

Refresh: :meth:`refresh` reads what changed since the watermarks and upserts it (delete +
insert by id in one DuckDB transaction); it runs at most every ``min_interval_s`` unless
forced, and the BI service forces one when the event log moves. Thread-safety: one writer
at a time (a lock); readers take their own cursor (:meth:`cursor`), DuckDB's per-thread
connection to the same database, which sees committed data only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import Engine, func, select

from ipsim.engine.errors import NotFound
from ipsim.platform.bi.concordance import Concordance
from ipsim.platform.bi.records import BiRecord, BiRecordStore
from ipsim.platform.database import as_utc
from ipsim.platform.filing.applications import applications_table, events_table
from ipsim.platform.filing.facade import CollectionFeed

log = logging.getLogger(__name__)
APPLICATION_PREFIX = "app/"
RECORD_PREFIX = "rec/"
DOCUMENT_PREFIX = "doc/"
FILING_SOURCE = "filing"
COLLECTION_SOURCE = "collection:"
APPLICATION_KINDS = ("invention", "utility_model", "industrial_design", "trademark")
BATCH = 5000
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS filings (
        id VARCHAR PRIMARY KEY, source VARCHAR NOT NULL, kind VARCHAR NOT NULL,
        status VARCHAR, country VARCHAR NOT NULL, filing_date DATE NOT NULL,
        year INTEGER NOT NULL, quarter INTEGER NOT NULL, publication_date DATE,
        synthetic BOOLEAN NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS filing_fields (
        id VARCHAR NOT NULL, field INTEGER NOT NULL, weight DOUBLE NOT NULL)""",
    "CREATE TABLE IF NOT EXISTS fields (field INTEGER PRIMARY KEY, name VARCHAR, sector VARCHAR)",
    "CREATE TABLE IF NOT EXISTS watermarks (name VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
)
_INSERT_FILINGS = """INSERT INTO filings SELECT * FROM (SELECT
    unnest($1::VARCHAR[]), unnest($2::VARCHAR[]), unnest($3::VARCHAR[]), unnest($4::VARCHAR[]),
    unnest($5::VARCHAR[]), unnest($6::DATE[]), unnest($7::INTEGER[]), unnest($8::INTEGER[]),
    unnest($9::DATE[]), unnest($10::BOOLEAN[]))"""
_INSERT_FIELDS = """INSERT INTO filing_fields SELECT * FROM (SELECT
    unnest($1::VARCHAR[]), unnest($2::INTEGER[]), unnest($3::DOUBLE[]))"""


@dataclass(frozen=True)
class Fact:
    """One row of ``filings`` and its field weights."""

    id: str
    source: str
    kind: str
    status: str | None
    country: str
    filing_date: date
    publication_date: date | None
    synthetic: bool
    weights: dict[int, float]


@dataclass(frozen=True)
class Refreshed:
    """What one refresh read: rows upserted per feed (all 0 when it was skipped)."""

    applications: int
    records: int
    documents: int = 0


class AnalyticsStore:
    """The DuckDB store over the platform database ``engine``.

    ``path``: a DuckDB file (kept between restarts with its watermarks); None: in memory,
    rebuilt from the platform database by the first refresh.
    """

    def __init__(
        self,
        engine: Engine,
        concordance: Concordance,
        path: Path | None = None,
        *,
        min_interval_s: float = 5.0,
        collections_interval_s: float = 60.0,
    ) -> None:
        self._engine = engine
        self._feed: CollectionFeed | None = None
        self._collections_interval_s = collections_interval_s
        self._collections_last = float("-inf")
        self._records = BiRecordStore(engine)
        self._concordance = concordance
        self._min_interval_s = min_interval_s
        self._lock = threading.Lock()
        self._last = float("-inf")
        self._con = duckdb.connect(":memory:" if path is None else str(path))
        for statement in _SCHEMA:
            self._con.execute(statement)
        self._con.execute("DELETE FROM fields")
        fields = concordance.fields
        self._con.execute(
            "INSERT INTO fields SELECT * FROM (SELECT unnest($1::INTEGER[]),"
            " unnest($2::VARCHAR[]), unnest($3::VARCHAR[]))",
            [[f.number for f in fields], [f.name for f in fields], [f.sector for f in fields]],
        )

    @property
    def concordance(self) -> Concordance:
        return self._concordance

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection of this thread's own to the store (closed on exit)."""
        cursor = self._con.cursor()
        try:
            yield cursor
        finally:
            cursor.close()

    def refresh(self, *, force: bool = False) -> Refreshed:
        """Upsert what changed in the platform database since the last refresh; skipped
        (zeros) when the last one was under ``min_interval_s`` ago, unless ``force``."""
        with self._lock:
            if not force and time.monotonic() - self._last < self._min_interval_s:
                return Refreshed(0, 0)
            applications = self._refresh_applications()
            records = self._refresh_records()
            documents = self._refresh_collections(force)
            self._last = time.monotonic()
            return Refreshed(applications, records, documents)

    def attach_collections(self, feed: CollectionFeed) -> None:
        """Also count the documents of the engine's text collections (see the module doc)."""
        with self._lock:
            self._feed = feed
            self._collections_last = float("-inf")

    def rebuild(self) -> Refreshed:
        """Forget everything and read both feeds from the start."""
        with self._lock:
            for table in ("filings", "filing_fields", "watermarks"):
                self._con.execute(f"DELETE FROM {table}")  # fixed names, no input
            self._last = float("-inf")
            self._collections_last = float("-inf")
        return self.refresh(force=True)

    def close(self) -> None:
        with self._lock:
            self._con.close()

    # --- the feeds ----------------------------------------------------------------

    def _refresh_applications(self) -> int:
        after = int(self._watermark("applications") or 0)
        with self._engine.connect() as db:
            newest = db.execute(select(func.max(events_table.c.seq))).scalar_one()
            if newest is None or newest <= after:
                return 0
            changed = list(
                db.execute(
                    select(events_table.c.application_id)
                    .where(events_table.c.seq > after, events_table.c.seq <= newest)
                    .distinct()
                ).scalars()
            )
            facts: list[Fact] = []
            for start in range(0, len(changed), BATCH):
                rows = db.execute(
                    select(applications_table).where(
                        applications_table.c.id.in_(changed[start : start + BATCH])
                    )
                )
                facts += [self._application_fact(row) for row in rows]
        self._upsert(facts, ("applications", str(newest)))
        return len(facts)

    def _refresh_records(self) -> int:
        mark = self._watermark("bi_records")
        after = None if mark is None else datetime.fromisoformat(mark)
        total = 0
        batch: list[Fact] = []
        newest = after
        for record, written in self._records.changed_since(after):
            batch.append(self._record_fact(record))
            newest = written if newest is None else max(newest, written)
            if len(batch) >= BATCH:
                total += len(batch)
                self._upsert(batch, None)
                batch = []
        if newest is not None and newest != after:
            total += len(batch)
            self._upsert(batch, ("bi_records", as_utc(newest).isoformat()))
        return total

    def _refresh_collections(self, force: bool) -> int:
        feed = self._feed
        if feed is None:
            return 0
        now = time.monotonic()
        if not force and now - self._collections_last < self._collections_interval_s:
            return 0
        self._collections_last = now
        texts = {ref.name for ref in feed.collection_list() if ref.modality == "text"}
        total = 0
        for name in sorted(texts):
            try:
                version = str(feed.collection_version(name))
                if version == self._watermark(COLLECTION_SOURCE + name):
                    continue
                documents = feed.collection_fields(name)
            except NotFound:  # deleted meanwhile: dropped below on the next refresh
                continue
            facts = [
                f
                for doc_id, fields in documents
                if (f := self._document_fact(name, doc_id, fields))
            ]
            if len(facts) < len(documents):
                log.info("BI: %d of %d documents in %s have no country or date",
                         len(documents) - len(facts), len(documents), name)  # fmt: skip
            self._replace_source(COLLECTION_SOURCE + name, facts, version)
            total += len(facts)
        with self.cursor() as cur:
            known = [
                str(row[0])[len(COLLECTION_SOURCE) :]
                for row in cur.execute(
                    "SELECT name FROM watermarks WHERE starts_with(name, ?)", [COLLECTION_SOURCE]
                ).fetchall()
            ]
        for gone in set(known) - texts:
            self._replace_source(COLLECTION_SOURCE + gone, [], None)
        return total

    def _document_fact(self, collection: str, doc_id: str, fields: dict[str, Any]) -> Fact | None:
        country = fields.get("country")
        filing = _iso_date(fields.get("filing_date", fields.get("date")))
        if not (isinstance(country, str) and len(country) == 2 and country.isalpha()) or not filing:
            return None
        kind = fields.get("kind")
        codes = fields.get("ipc", [])
        status = fields.get("status")
        return Fact(
            id=f"{DOCUMENT_PREFIX}{collection}/{doc_id}",
            source=COLLECTION_SOURCE + collection,
            kind=kind if kind in APPLICATION_KINDS else "invention",
            status=status if isinstance(status, str) else None,
            country=country.upper(),
            filing_date=filing,
            publication_date=_iso_date(fields.get("publication_date")),
            synthetic=False,
            weights=self._concordance.weights(
                _strings([codes] if isinstance(codes, str) else codes)
            ),
        )

    def _replace_source(self, source: str, facts: Sequence[Fact], version: str | None) -> None:
        """All of one collection's facts at once: the old ones out, these in, its watermark
        moved (or dropped, with ``version`` None), in one DuckDB transaction."""
        con = self._con
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(
                "DELETE FROM filing_fields WHERE id IN (SELECT id FROM filings WHERE source = ?)",
                [source],
            )
            con.execute("DELETE FROM filings WHERE source = ?", [source])
            self._insert(facts)
            if version is None:
                con.execute("DELETE FROM watermarks WHERE name = ?", [source])
            else:
                con.execute("INSERT OR REPLACE INTO watermarks VALUES (?, ?)", [source, version])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def _application_fact(self, row: Any) -> Fact:
        created = as_utc(row.created)
        codes = row.content.get("ipc", []) if isinstance(row.content, dict) else []
        return Fact(
            id=APPLICATION_PREFIX + row.id,
            source=FILING_SOURCE,
            kind=row.kind,
            status=row.status,
            country=str(row.applicant.get("country", "")).upper(),
            filing_date=created.date(),
            publication_date=None,
            synthetic=False,
            weights=self._concordance.weights(_strings(codes)),
        )

    def _record_fact(self, record: BiRecord) -> Fact:
        return Fact(
            id=RECORD_PREFIX + record.id,
            source=record.source,
            kind=record.kind,
            status=record.status,
            country=record.country,
            filing_date=record.filing_date,
            publication_date=record.publication_date,
            synthetic=record.synthetic,
            weights=self._concordance.weights(record.ipc),
        )

    # --- DuckDB writes --------------------------------------------------------------

    def _watermark(self, name: str) -> str | None:
        row = self._con.execute("SELECT value FROM watermarks WHERE name = ?", [name]).fetchone()
        return None if row is None else str(row[0])

    def _upsert(self, facts: Sequence[Fact], watermark: tuple[str, str] | None) -> None:
        """Replace the facts (by id) and move the watermark, in one transaction."""
        ids = [f.id for f in facts]
        con = self._con
        con.execute("BEGIN TRANSACTION")
        try:
            if facts:
                con.execute("DELETE FROM filing_fields WHERE id IN (SELECT unnest($1))", [ids])
                con.execute("DELETE FROM filings WHERE id IN (SELECT unnest($1))", [ids])
                self._insert(facts)
            if watermark is not None:
                con.execute("INSERT OR REPLACE INTO watermarks VALUES (?, ?)", list(watermark))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def _insert(self, facts: Sequence[Fact]) -> None:
        """Insert the facts and their field weights (inside the caller's transaction)."""
        if not facts:
            return
        self._con.execute(_INSERT_FILINGS, _columns(facts))
        pairs = [(f.id, field, weight) for f in facts for field, weight in f.weights.items()]
        if pairs:
            self._con.execute(_INSERT_FIELDS, [list(column) for column in zip(*pairs, strict=True)])


def _columns(facts: Sequence[Fact]) -> list[list[Any]]:
    return [
        [f.id for f in facts],
        [f.source for f in facts],
        [f.kind for f in facts],
        [f.status for f in facts],
        [f.country for f in facts],
        [f.filing_date for f in facts],
        [f.filing_date.year for f in facts],
        [(f.filing_date.month - 1) // 3 + 1 for f in facts],
        [f.publication_date for f in facts],
        [f.synthetic for f in facts],
    ]


def _iso_date(value: object) -> date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _strings(values: Iterable[object]) -> list[str]:
    return [v for v in values if isinstance(v, str)]


__all__ = ["AnalyticsStore", "Fact", "Refreshed"]
