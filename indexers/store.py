"""One collection's durable state: documents, their unit vectors, fields, payloads and index.

Writes follow the log-then-apply rule: a write is validated, appended to the WAL (group
committed, fsynced), then applied to memory and the index, and only then acknowledged.
Records are applied in WAL order (a gate on the sequence number), so the state after
replay equals the state that was served. A snapshot (everything in memory plus the
index) is written atomically every ``snapshot_every`` document operations and on close;
opening loads the snapshot named by CURRENT and replays the WAL records after it.

Layout::

    collection.json   dim, metric, index type and parameters, shards, meta (written once)
    LOCK              flock'ed by the process that has the store open
    CURRENT           name of the live snapshot
    snapshots/        snap-…/{manifest.json, docs.jsonl, vectors.npy, index.bin}
    wal/              wal-<first seq>.log segments
"""

from __future__ import annotations

import copy
import fcntl
import json
import logging
import math
import shutil
import threading
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Generic, NamedTuple, TypeVar

import numpy as np

from ipsim.indexers.base import Labels, Metric, Selection, VectorIndex, Vectors
from ipsim.indexers.factory import load_index, make_index
from ipsim.indexers.field_counts import Bucketing
from ipsim.indexers.filters import FieldIndex, Filter, ValueKey
from ipsim.indexers.idmap import IdMap, Int64s, VectorArena
from ipsim.indexers.records import (
    Entry,
    Record,
    StoredDoc,
    decode_upsert,
    encode_upsert,
    json_copy,
    validate_record,
)
from ipsim.indexers.rwlock import ReadWriteLock
from ipsim.indexers.shards import ShardedIndex, ShardPlacer
from ipsim.indexers.snapshot import SnapshotDir, SnapshotError, atomic_directory
from ipsim.indexers.wal import WalCorruptError, WalError, WalFull, WalRecord, WriteAheadLog

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
CONFIG_FILE = "collection.json"
LOCK_FILE = "LOCK"
WAL_DIR = "wal"
_DOCS = "docs.jsonl"
_VECTORS = "vectors.npy"
_INDEX = "index.bin"
_VECTOR_CHUNK_ROWS = 4096

_T = TypeVar("_T")
_K = TypeVar("_K", bound=Hashable)

IndexAnswer = tuple[Labels, np.ndarray[Any, Any]]
"""Labels and their final scores, as a family-specific index query answers them."""


@dataclass(frozen=True)
class DocHit:
    """One document found: its best unit's exact score, which unit that was, and its span."""

    id: str
    score: float
    unit: int
    span: tuple[int, int]
    fields: dict[str, Any]


@dataclass(frozen=True)
class StoreOptions:
    """Durability knobs."""

    snapshot_every: int = 50_000
    """Document operations (each upserted or deleted id) between automatic snapshots."""
    group_commit_ms: float = 2.0
    """How long the WAL committer waits to gather concurrent appends into one fsync."""
    fsync: bool = True
    device: str = "cpu"
    """Where the vector index searches (``cuda:N`` mirrors it onto that GPU when FAISS has one)."""
    place_shards: ShardPlacer | None = None
    """Places a sharded index's shards elsewhere (a Ray cluster: ``engine/ray_cluster.py``),
    with the store as their :class:`~ipsim.indexers.shards.ShardSource`; ``device`` is then
    the placer's business."""


@dataclass(frozen=True)
class FieldCounts(Generic[_K]):
    """What :meth:`CollectionStore.count_by` found."""

    buckets: dict[_K, int]
    """Documents per bucket; buckets with none are absent."""
    present: int
    """Documents passing the filter that have any (indexable) value in the field."""
    documents: int
    """Documents passing the filter."""


class SearchAnswer(NamedTuple):
    """What :meth:`CollectionStore.search_reported` found."""

    hits: list[list[DocHit]]
    """Per query, the top documents."""
    total: int
    """Documents passing the filter."""
    missing_shards: tuple[int, ...] = ()
    """Index shards that did not answer (a remote shard restarting): the hits are the best
    of the other shards'."""


class StoreError(RuntimeError):
    """The store cannot serve: closed, failed, opened elsewhere, or its files are damaged."""


class StoreLockedError(StoreError):
    """Another process (or another open store in this one) has this collection open."""


class StoreFull(StoreError):
    """The disk is full: the write was refused before anything of it was logged or applied;
    the store stays usable, and the same write succeeds once there is room."""


def _by_id(t: tuple[float, str, int, int]) -> str:
    return t[1]


def _below(index_score: float, exact_score: float) -> bool:
    """Whether an index's float32 score is surely below an exact float64 one."""
    return index_score < exact_score - 1e-5 * max(1.0, abs(exact_score))


class CollectionStore:
    """One collection's documents, vectors, fields and index, durable through WAL + snapshots.

    Thread-safe: writes are serialised (and exclusive against searches, since FAISS
    cannot add and search at once); reads run concurrently with each other.
    """

    def __init__(
        self, path: Path, config: Mapping[str, Any], options: StoreOptions, lock_file: IO[bytes]
    ) -> None:
        """Use :meth:`create` or :meth:`open`."""
        self.path = path
        self.dim: int = int(config["dim"])
        self.metric: Metric = config["metric"]
        self.index_type: str = str(config["index_type"])
        self.index_params: dict[str, Any] = dict(config["index_params"])
        self.shards: int = int(config["shards"])
        self.meta: dict[str, Any] = dict(config["meta"])
        self.version = 0
        self._options = options
        self._lock_file = lock_file
        self._snapshots = SnapshotDir(path)

        self._ids = IdMap()
        self._vectors = VectorArena(self.dim)
        self._fields = FieldIndex()
        self._docs: dict[int, StoredDoc] = {}
        # Built (and recovered) in process; placed on its device or cluster once recovered.
        self._index: VectorIndex = make_index(
            self.index_type, self.dim, self.metric, self.index_params, self.shards
        )

        self._rw = ReadWriteLock()
        self._gate = threading.Condition()  # guards the fields below
        self._applied_seq = 0
        self._applying = False
        self._paused = False  # a snapshot is reading the state: applies wait, searches go on
        self._writers = 0
        self._closed = False
        self._failure: BaseException | None = None
        self._ops = 0
        self._snapshot_seq = 0
        self._snapshot_ops = 0
        self._snapshotting = threading.Lock()
        self._wal: WriteAheadLog | None = None

    # -- lifecycle -----------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: Path,
        *,
        dim: int,
        metric: Metric,
        index_type: str,
        index_params: Mapping[str, object],
        shards: int,
        meta: Mapping[str, Any],
        options: StoreOptions = StoreOptions(),
    ) -> CollectionStore:
        """Create an empty collection at ``path`` (FileExistsError if it exists) and open it.

        The index spec is checked first (``IndexParamError``, ValueError), so a bad spec
        leaves nothing on disk; the folder appears atomically, complete or not at all.
        """
        path = Path(path)
        if path.exists():
            raise FileExistsError(path)
        make_index(index_type, dim, metric, index_params, shards)
        config = {
            "format": FORMAT_VERSION,
            "dim": dim,
            "metric": metric,
            "index_type": index_type,
            "index_params": json_copy(dict(index_params), "index_params"),
            "shards": shards,
            "meta": json_copy(dict(meta), "meta"),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_directory(path) as temp:
            (temp / CONFIG_FILE).write_text(json.dumps(config, indent=1), encoding="utf-8")
            (temp / WAL_DIR).mkdir()
        return cls.open(path, options)

    @classmethod
    def open(cls, path: Path, options: StoreOptions = StoreOptions()) -> CollectionStore:
        """Load the last snapshot, replay the WAL after it, and serve.

        Raises FileNotFoundError when ``path`` holds no collection, StoreLockedError when
        it is open elsewhere, StoreError/SnapshotError/WalCorruptError for damaged files.
        """
        if options.snapshot_every < 1 or options.group_commit_ms < 0:
            raise ValueError("snapshot_every must be >= 1 and group_commit_ms >= 0")
        path = Path(path)
        config = json.loads((path / CONFIG_FILE).read_text(encoding="utf-8"))
        if config.get("format") != FORMAT_VERSION:
            raise StoreError(f"{path}: unsupported store format {config.get('format')!r}")
        lock_file = (path / LOCK_FILE).open("ab")
        try:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            lock_file.close()
            raise StoreLockedError(f"{path} is open in another store") from exc
        try:
            store = cls(path, config, options, lock_file)
            store._recover()
        except BaseException:
            lock_file.close()
            raise
        return store

    def _recover(self) -> None:
        live = self._snapshots.current()
        covered = 0
        if live is not None:
            covered = self._load_snapshot(*live)
        wal = WriteAheadLog(
            self.path / WAL_DIR,
            start_seq=covered + 1,
            group_commit_ms=self._options.group_commit_ms,
            fsync=self._options.fsync,
        )
        self._wal = wal
        try:
            replayed = 0
            for record in wal.records(after=covered):
                self._apply(record)
                replayed += 1
            self._applied_seq = wal.last_seq
            self._snapshot_seq = covered
            self._index = self._placed(self._index)
            self._snapshots.prune()
            wal.discard_through(covered)
        except BaseException:
            wal.close()
            raise
        log.info(
            "opened %s: %d documents, snapshot at seq %d, %d WAL records replayed",
            self.path,
            len(self._ids),
            covered,
            replayed,
        )

    def _placed(self, index: VectorIndex) -> VectorIndex:
        """The recovered index on its device, or its shards handed to the placer."""
        place = self._options.place_shards
        if place is not None and isinstance(index, ShardedIndex) and len(index.shards) > 1:
            return place(index, self)
        return index.to(self._options.device)

    # -- the ShardSource a placed index restarts its shards from -------------------------

    def blank_shard(self) -> VectorIndex:
        """A new, empty index of this collection's family (one shard)."""
        return make_index(self.index_type, self.dim, self.metric, self.index_params)

    @contextmanager
    def writes_paused(self) -> Iterator[None]:
        """No write reaches the index while held (searches go on)."""
        with self._rw.read():
            yield

    def shard_vectors(self, shard: int, shards: int) -> tuple[Labels, Vectors]:
        """The live labels ``≡ shard mod shards`` and their vectors (hold writes_paused)."""
        rows = self._ids.live_rows()
        labels, vectors = [np.zeros(0, dtype=np.int64)], [np.zeros((0, self.dim), np.float32)]
        for start in range(0, rows.size, _VECTOR_CHUNK_ROWS):
            chunk = rows[start : start + _VECTOR_CHUNK_ROWS]
            ids = self._ids.labels_of_rows(chunk)
            mine = ids % shards == shard
            labels.append(ids[mine])
            vectors.append(self._vectors.gather(chunk)[mine])
        return np.concatenate(labels), np.concatenate(vectors)

    def close(self) -> None:
        """Finish in-flight writes, snapshot if anything changed since the last one, close."""
        self._shutdown(snapshot=True)

    def destroy(self) -> None:
        """Close (without a snapshot) and remove the collection's folder."""
        self._shutdown(snapshot=False)
        shutil.rmtree(self.path)

    def _shutdown(self, *, snapshot: bool) -> None:
        with self._gate:
            if self._closed:
                return
            self._closed = True
            while self._writers:
                self._gate.wait()
        # Holding the snapshot lock also waits for an automatic snapshot still running.
        with self._snapshotting:
            try:
                if snapshot and self._failure is None:
                    self._snapshot_now()
            finally:
                if self._wal is not None:
                    self._wal.close()
                self._index.close()
                self._lock_file.close()

    # -- writes --------------------------------------------------------------------------

    def upsert(self, records: Sequence[Record]) -> None:
        """Insert or overwrite documents; returns once they are durable and searchable.

        An overwrite replaces the document's units, fields and payload. Within one call a
        repeated id keeps its last record. Raises ValueError for a bad record (nothing is
        written then), StoreError when the store is closed or failed.
        """
        validated = [validate_record(r, self.dim) for r in records]
        entries = list({e.id: e for e in validated}.values())
        if not entries:
            return
        header, body = encode_upsert(entries)
        self._log_and_apply(header, body, lambda: self._apply_upsert(entries))

    def delete(self, ids: Sequence[str]) -> int:
        """Delete documents by id; return how many existed. Unknown ids are ignored."""
        wanted = list(dict.fromkeys(ids))
        for doc_id in wanted:
            if not isinstance(doc_id, str):
                raise ValueError(f"document ids are strings, got {doc_id!r}")
        with self._rw.read():
            present = [doc_id for doc_id in wanted if doc_id in self._ids]
        if not present:
            return 0  # nothing to log; a concurrent upsert of these ids orders after us
        return self._log_and_apply(
            {"op": "delete", "ids": present}, b"", lambda: self._apply_delete(present)
        )

    def _log_and_apply(self, header: Mapping[str, Any], body: bytes, apply: Callable[[], _T]) -> _T:
        with self._gate:
            self._check_usable()
            self._writers += 1
        try:
            assert self._wal is not None
            try:
                seq = self._wal.append(header, body)
            except WalFull as exc:
                raise StoreFull(f"{self.path}: {exc}") from exc  # nothing written; retry later
            except WalError as exc:
                self._failure = exc
                raise StoreError(f"{self.path}: the write-ahead log failed") from exc
            result = self._apply_in_order(seq, apply)
        finally:
            with self._gate:
                self._writers -= 1
                self._gate.notify_all()
        self._maybe_snapshot()
        return result

    def _apply_in_order(self, seq: int, apply: Callable[[], _T]) -> _T:
        """Run ``apply`` under the write lock once every earlier record has been applied."""
        with self._gate:
            while self._applied_seq != seq - 1 or self._paused:
                self._gate.wait()
            self._applying = True
        try:
            self._check_usable(closing_ok=True)
            with self._rw.write():
                return apply()
        except StoreError:
            raise
        except BaseException as exc:
            # The log holds a record memory lacks: serve nothing more; reopening replays it.
            self._failure = exc
            log.exception("applying WAL record %d failed; %s is out of service", seq, self.path)
            raise
        finally:
            with self._gate:
                self._applied_seq = seq
                self._applying = False
                self._gate.notify_all()

    def _apply(self, record: WalRecord) -> None:
        """Apply one logged record during recovery."""
        op = record.header.get("op")
        if op == "upsert":
            self._apply_upsert(decode_upsert(record, self.dim))
        elif op == "delete":
            self._apply_delete([str(i) for i in record.header["ids"]])
        else:
            raise WalCorruptError(f"WAL record {record.seq} has unknown op {op!r}")

    def _apply_upsert(self, entries: Sequence[Entry]) -> None:
        dropped = [self._forget(e.id) for e in entries]
        labels, vectors = [], []
        for entry in entries:
            row, new = self._ids.put(entry.id, entry.vectors.shape[0])
            self._docs[row] = entry.doc
            self._fields.add(row, entry.doc.fields)
            self._vectors.put(row, entry.vectors)
            labels.append(new)
            vectors.append(entry.vectors)
        old = [d for d in dropped if d is not None]
        if old:
            self._index.remove(np.concatenate(old))
        self._index.add(np.concatenate(labels), np.concatenate(vectors))
        self._ops += len(entries)
        self.version += 1

    def _apply_delete(self, ids: Sequence[str]) -> int:
        dropped = [d for d in (self._forget(i) for i in ids) if d is not None]
        if dropped:
            self._index.remove(np.concatenate(dropped))
        self._ops += len(ids)
        self.version += 1
        return len(dropped)

    def _forget(self, doc_id: str) -> Labels | None:
        """Drop a document from every in-memory structure but the index; return its labels."""
        popped = self._ids.pop(doc_id)
        if popped is None:
            return None
        row, labels = popped
        self._fields.remove(row, self._docs.pop(row).fields)
        self._vectors.drop(row)
        return labels

    def _check_usable(self, *, closing_ok: bool = False) -> None:
        if self._failure is not None:
            raise StoreError(f"{self.path} failed; reopen it to recover") from self._failure
        if self._closed and not closing_ok:
            raise StoreError(f"{self.path} is closed")

    # -- reads ---------------------------------------------------------------------------

    def __len__(self) -> int:
        """Live documents."""
        return len(self._ids)

    def get(self, doc_id: str) -> Record | None:
        """A copy of the stored document, or None."""
        with self._rw.read():
            self._check_usable()
            row = self._ids.row(doc_id)
            if row is None:
                return None
            doc = self._docs[row]
            return Record(
                id=doc_id,
                vectors=self._vectors.get(row).copy(),
                spans=list(doc.spans),
                fields=copy.deepcopy(doc.fields),
                payload=copy.deepcopy(doc.payload),
            )

    def all_fields(self) -> list[tuple[str, dict[str, Any]]]:
        """Every live document's id and client fields (copies, taken now), without vectors."""
        with self._rw.read():
            self._check_usable()
            return [
                (doc_id, copy.deepcopy(self._docs[row].fields))
                for doc_id in self._ids.ids()
                if (row := self._ids.row(doc_id)) is not None
            ]

    def ids(self) -> Iterator[str]:
        """Every live id (a copy taken now, in no particular order)."""
        with self._rw.read():
            self._check_usable()
            return iter(list(self._ids.ids()))

    def count(self, flt: Filter | None = None) -> int:
        """How many documents pass ``flt``."""
        with self._rw.read():
            self._check_usable()
            if flt is None or not flt.clauses:
                return len(self._ids)
            return int(self._fields.match(flt, self._ids.rows).sum())

    def field_values(self, field: str) -> list[ValueKey]:
        """Every distinct value of ``field`` among the stored documents."""
        with self._rw.read():
            self._check_usable()
            return self._fields.values(field)

    def count_by(
        self, fields: Mapping[str, Bucketing[_K]], flt: Filter | None = None
    ) -> dict[str, FieldCounts[_K]]:
        """Per field, the documents passing ``flt`` in each bucket of its values (facets).

        A document counts once per bucket. Answered from the field index (no document is
        read), every field in one state, the filter evaluated once.
        """
        with self._rw.read():
            self._check_usable()
            among = None
            documents = len(self._ids)
            if flt is not None and flt.clauses:
                among = self._fields.match(flt, self._ids.rows)
                documents = int(np.count_nonzero(among))
            counted = {}
            for field, bucketing in fields.items():
                counts, present = self._fields.count_by(field, bucketing, self._ids.rows, among)
                counted[field] = FieldCounts(counts, present, documents)
        return counted

    def index_description(self) -> dict[str, object]:
        """The index family's own description (type, parameters, device)."""
        with self._rw.read():
            return dict(self._index.describe())

    def search(self, queries: np.ndarray, k: int, flt: Filter | None = None) -> list[list[DocHit]]:
        """Per query, the top-``k`` documents passing ``flt``, by their best unit's exact score.

        The filter is applied inside the vector search; candidates are re-scored exactly
        with the stored vectors and ordered by (score descending, id ascending).
        """
        return self.search_counted(queries, k, flt)[0]

    def search_counted(
        self, queries: np.ndarray, k: int, flt: Filter | None = None
    ) -> tuple[list[list[DocHit]], int]:
        """:meth:`search` plus :meth:`count` of the same filter, evaluated once, in one state."""
        found = self.search_reported(queries, k, flt)
        return found.hits, found.total

    def search_reported(
        self, queries: np.ndarray, k: int, flt: Filter | None = None
    ) -> SearchAnswer:
        """:meth:`search_counted`, plus the index shards that did not answer (cluster mode)."""
        q = np.ascontiguousarray(queries, dtype=np.float32)
        if q.ndim == 1:
            q = q.reshape(1, -1)
        if q.ndim != 2 or q.shape[1] != self.dim:
            raise ValueError(f"queries must have shape (n, {self.dim}), got {q.shape}")
        if not np.isfinite(q).all():
            raise ValueError("queries contain NaN or infinity")
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        with self._rw.read():
            self._check_usable()
            allowed, docs, labels = self._selection(flt)
            if docs == 0:
                return SearchAnswer([[] for _ in range(q.shape[0])], 0)
            missing: set[int] = set()
            found = self._search(q, int(k), allowed, docs, labels, missing)
            return SearchAnswer(found, docs, tuple(sorted(missing)))

    def query_index(
        self, run: Callable[[VectorIndex, Selection | None], IndexAnswer], flt: Filter | None = None
    ) -> tuple[list[DocHit], int]:
        """Run a family-specific query (a threshold scan, a screen, …) on the index.

        ``run`` gets the index and the labels ``flt`` allows, under the store's read lock,
        and answers labels with their final scores; they come back as documents ordered
        by (score descending, id ascending), with the number of documents passing ``flt``.
        Meant for single-unit families whose scores need no re-scoring (fingerprints).
        """
        with self._rw.read():
            self._check_usable()
            allowed, docs, _ = self._selection(flt)
            if docs == 0:
                return [], 0
            labels, scores = run(self._index, allowed)
            rows = self._ids.rows_of(np.asarray(labels, dtype=np.int64))
            live = rows >= 0
            ranked = [
                (float(score), self._ids.doc_id(int(row)), int(row), 0)
                for row, score in zip(rows[live], np.asarray(scores)[live], strict=True)
            ]
            ranked.sort(key=lambda t: (-t[0], t[1]))
            return self._hits(ranked), docs

    def hits_for(self, scored: Sequence[tuple[str, float]]) -> list[DocHit]:
        """Documents by id with scores given by the caller (ids no longer here are skipped)."""
        with self._rw.read():
            self._check_usable()
            ranked = []
            for doc_id, score in scored:
                row = self._ids.row(doc_id)
                if row is not None:
                    ranked.append((float(score), doc_id, row, 0))
            return self._hits(ranked)

    def passing_ids(self, flt: Filter) -> set[str]:
        """The ids of the documents passing ``flt`` (for searches outside the vector index)."""
        with self._rw.read():
            self._check_usable()
            rows = np.flatnonzero(self._fields.match(flt, self._ids.rows))
            return {self._ids.doc_id(int(r)) for r in rows}

    def matching(self, flt: Filter | None, limit: int | None = None) -> tuple[list[DocHit], int]:
        """Documents passing ``flt`` in id order (score 1.0), at most ``limit``; and their count."""
        with self._rw.read():
            self._check_usable()
            if flt is None or not flt.clauses:
                rows = self._ids.live_rows()
            else:
                rows = np.flatnonzero(self._fields.match(flt, self._ids.rows))
            ranked = sorted(((1.0, self._ids.doc_id(int(r)), int(r), 0) for r in rows), key=_by_id)
            return self._hits(ranked[:limit]), int(rows.size)

    def _selection(self, flt: Filter | None) -> tuple[Selection | None, int, int]:
        """(labels the search may return, documents they cover, their count)."""
        if flt is None or not flt.clauses:
            return None, len(self._ids), self._ids.live_labels
        rows = np.flatnonzero(self._fields.match(flt, self._ids.rows))
        labels = self._ids.labels_of_rows(rows)
        selection = Selection.from_labels(labels, max(self._ids.next_label, 1))
        return selection, int(rows.size), int(labels.size)

    def _search(
        self,
        q: Vectors,
        k: int,
        allowed: Selection | None,
        docs: int,
        labels: int,
        missing: set[int],
    ) -> list[list[DocHit]]:
        """Ask the index for labels, widening until each query's top-k documents are settled.

        Several labels may belong to one document, so the first ask is for ``k`` times the
        mean units per document (plus one, see below), doubled for the queries not yet
        settled. A query is settled when the index is exhausted, or when it holds k
        documents and the last label it returned scores below the k-th document: no label
        further down can displace one, not even by a tie on score that the id order would
        break. The extra label is what shows that, without a second ask, in the common case.
        """
        if self.metric not in ("ip", "l2"):
            return self._search_final(q, min(k, labels), allowed, missing)
        want = min(k, docs)
        per_doc = self._ids.live_labels / max(1, len(self._ids))
        fetch = min(labels, math.ceil(want * max(1.0, per_doc)) + 1)
        results: list[list[DocHit]] = [[] for _ in range(q.shape[0])]
        pending = list(range(q.shape[0]))
        while pending:
            found = self._index.search(q[pending], fetch, allowed)
            missing.update(found.missing_shards)
            unsettled = []
            for i, query in enumerate(pending):
                valid = found.labels[i] >= 0
                rows = self._ids.rows_of(found.labels[i][valid])
                ranked = self._rank(q[query], np.unique(rows[rows >= 0]))
                exhausted = int(valid.sum()) < fetch or fetch >= labels
                if exhausted or (
                    len(ranked) >= want
                    and _below(float(found.scores[i][valid][-1]), ranked[want - 1][0])
                ):
                    results[query] = self._hits(ranked[:k])
                else:
                    unsettled.append(query)
            pending = unsettled
            fetch = min(labels, 2 * fetch)
        return results

    def _search_final(
        self, q: Vectors, k: int, allowed: Selection | None, missing: set[int]
    ) -> list[list[DocHit]]:
        """Families whose scores are final (fingerprints: one unit per document, exact)."""
        found = self._index.search(q, k, allowed)
        missing.update(found.missing_shards)
        results = []
        for labels, scores in zip(found.labels, found.scores, strict=True):
            rows = self._ids.rows_of(labels[labels >= 0])
            ranked = [
                (float(score), self._ids.doc_id(int(row)), int(row), 0)
                for row, score in zip(rows, scores[labels >= 0], strict=True)
                if row >= 0
            ]
            ranked.sort(key=lambda t: (-t[0], t[1]))
            results.append(self._hits(ranked))
        return results

    def _rank(self, query: Vectors, rows: Int64s) -> list[tuple[float, str, int, int]]:
        """(exact score, id, row, best unit) of these rows, best first, ties by id.

        Every unit of each row is scored, so a document's score is its true best unit's
        even when the index returned only some of its units.
        """
        if rows.size == 0:
            return []
        counts = self._ids.units_of_rows(rows)
        vectors = self._vectors.gather(rows).astype(np.float64)
        q = query.astype(np.float64)
        if self.metric == "ip":
            scores = vectors @ q
        else:
            diff = vectors - q
            scores = -np.einsum("ij,ij->i", diff, diff)
        starts = np.cumsum(counts) - counts
        owner = np.repeat(np.arange(rows.size), counts)
        # Sorted by document, then score descending (stable: the lower unit wins a tie).
        best = np.lexsort((-scores, owner))[starts]
        ranked = [
            (float(scores[b]), self._ids.doc_id(int(r)), int(r), int(b - start))
            for r, b, start in zip(rows, best, starts, strict=True)
        ]
        ranked.sort(key=lambda t: (-t[0], t[1]))
        return ranked

    def _hits(self, ranked: list[tuple[float, str, int, int]]) -> list[DocHit]:
        # A shallow copy per hit: this is the hot path of every search, and a hit is
        # read-only (its nested lists are shared with the store and must not be mutated).
        docs = self._docs
        return [
            DocHit(doc_id, score, unit, docs[row].spans[unit], dict(docs[row].fields))
            for score, doc_id, row, unit in ranked
        ]

    # -- snapshots -----------------------------------------------------------------------

    def snapshot(self) -> None:
        """Write a snapshot of everything applied so far, then drop the WAL it covers."""
        with self._snapshotting:
            with self._gate:
                self._check_usable()
            self._snapshot_now()

    def _maybe_snapshot(self) -> None:
        if self._ops - self._snapshot_ops < self._options.snapshot_every:
            return
        if not self._snapshotting.acquire(blocking=False):
            return  # another thread is writing one right now
        try:
            if not self._closed and self._failure is None:
                self._snapshot_now()
        except Exception:
            # The writes are safe in the WAL; a failed snapshot only delays truncating it.
            log.exception("automatic snapshot of %s failed", self.path)
        finally:
            self._snapshotting.release()

    def _snapshot_now(self) -> None:
        """Snapshot unless nothing changed since the last one (``_snapshotting`` held).

        Applies pause meanwhile, so the state read is exactly the one at ``covered``;
        searches carry on, since nothing but applies changes the state.
        """
        with self._gate:
            self._paused = True
            while self._applying:
                self._gate.wait()
            covered, ops = self._applied_seq, self._ops
        try:
            if covered == self._snapshot_seq:
                return
            manifest = {
                "format": FORMAT_VERSION,
                "next_label": self._ids.next_label,
                "documents": len(self._ids),
                "units": self._ids.live_labels,
            }
            with self._snapshots.write(covered, manifest) as folder:
                self._dump(folder)
        finally:
            with self._gate:
                self._paused = False
                self._gate.notify_all()
        self._snapshot_seq, self._snapshot_ops = covered, ops
        assert self._wal is not None
        self._wal.discard_through(covered)
        log.info("snapshot of %s at seq %d", self.path, covered)

    def _dump(self, folder: Path) -> None:
        """Write documents, vectors and index into a snapshot folder (applies paused)."""
        rows = self._ids.live_rows()
        with (folder / _DOCS).open("w", encoding="utf-8") as out:
            for row in rows:
                doc = self._docs[int(row)]
                line = {
                    "id": self._ids.doc_id(int(row)),
                    "first_label": self._ids.first_label(int(row)),
                    "spans": [list(s) for s in doc.spans],
                    "fields": doc.fields,
                    "payload": doc.payload,
                }
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
        total = self._ids.live_labels
        stored = np.lib.format.open_memmap(
            folder / _VECTORS, mode="w+", dtype=np.float32, shape=(total, self.dim)
        )
        offset = 0
        for start in range(0, rows.size, _VECTOR_CHUNK_ROWS):
            chunk = self._vectors.gather(rows[start : start + _VECTOR_CHUNK_ROWS])
            stored[offset : offset + chunk.shape[0]] = chunk
            offset += chunk.shape[0]
        stored.flush()
        del stored
        self._index.save(folder / _INDEX)

    def _load_snapshot(self, folder: Path, manifest: Mapping[str, Any]) -> int:
        """Fill memory and the index from a snapshot; return the seq it covers."""
        if manifest.get("format") != FORMAT_VERSION:
            raise SnapshotError(f"{folder}: unsupported snapshot format {manifest.get('format')!r}")
        self._ids = IdMap(next_label=int(manifest["next_label"]))
        vectors = np.load(folder / _VECTORS, mmap_mode="r")
        offset = 0
        with (folder / _DOCS).open(encoding="utf-8") as lines:
            for line in lines:
                d = json.loads(line)
                spans = tuple((int(s), int(e)) for s, e in d["spans"])
                row, _ = self._ids.put(str(d["id"]), len(spans), int(d["first_label"]))
                self._docs[row] = StoredDoc(d["fields"], d["payload"], spans)
                self._fields.add(row, d["fields"])
                self._vectors.put(row, vectors[offset : offset + len(spans)])
                offset += len(spans)
        self._index = load_index(folder / _INDEX)
        if offset != vectors.shape[0] or self._index.ntotal != self._ids.live_labels:
            raise SnapshotError(
                f"{folder} is inconsistent: {vectors.shape[0]} vectors, {offset} units, "
                f"{self._index.ntotal} in the index"
            )
        return int(manifest["covered_seq"])


__all__ = [
    "CollectionStore",
    "DocHit",
    "FieldCounts",
    "Record",
    "SearchAnswer",
    "StoreError",
    "StoreLockedError",
    "StoreOptions",
]
