"""Loading files into a collection, resumably: the engine behind ``ipsim ingest``.

Three parts:

- **Readers**, one per file extension, turn a file into documents
  (``{"id", "content", "fields"}``) and say where each one ends, so reading can resume
  there. ``.jsonl`` / ``.ndjson`` (one document per line) ship here; a modality's own
  formats are added with :func:`register_reader` (the chemical ones in
  :mod:`ipsim.clients.chem_files`, mesh files in :mod:`ipsim.clients.mesh_files`).
- **Checkpoints** record, per server URL + collection + file (absolute path, size, mtime),
  how far the server has acknowledged. They live under ``$IPSIM_STATE_DIR/ingest/``
  (default ``~/.cache/ipsim/ingest/``) and are replaced atomically after every batch.
- :class:`IngestJob` sends batches, saves a checkpoint after each acknowledged one and
  skips what an earlier run already sent. Upserts are idempotent on the server (same id
  overwrites), so a crash between an answer and its checkpoint re-sends one batch at most.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ipsim.clients.errors import BadRequest, Overloaded, Unavailable

JSONObject = dict[str, Any]

STATE_DIR_ENV = "IPSIM_STATE_DIR"
RETRY_ATTEMPTS = 5
MAX_RETRY_DELAY_S = 60.0


# --- readers ------------------------------------------------------------------------


@dataclass(frozen=True)
class Position:
    """A place in a file: its byte offset, and how many lines and records come before it.

    The record count lets a resumed reader go on numbering records (names such as
    ``file:12`` for a record without an id stay the same in every run).
    """

    offset: int = 0
    line: int = 0
    record: int = 0


@dataclass(frozen=True)
class Line:
    """One line of a text file, without its line break; ``end`` is the byte offset after it."""

    text: str
    number: int
    end: int


@dataclass(frozen=True)
class Record:
    """One document read from a file, with where it starts and where reading resumes."""

    document: JSONObject
    line: int
    end: Position


#: Reads ``path`` from ``start`` (a ``Record.end`` it yielded earlier, or the beginning).
Reader = Callable[[Path, Position], Iterator[Record]]


class InvalidRecord(BadRequest):
    """A record in an input file is malformed; ``path`` and ``line`` say where."""

    def __init__(self, path: Path, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason


_READERS: dict[str, Reader] = {}


def register_reader(suffix: str, reader: Reader) -> None:
    """Use ``reader`` for files whose name ends with ``suffix`` (``".sdf"``, any case)."""
    if not suffix.startswith("."):
        raise ValueError(f"suffix must start with '.', got {suffix!r}")
    _READERS[suffix.lower()] = reader


def known_suffixes() -> list[str]:
    """The extensions a reader is registered for, sorted."""
    return sorted(_READERS)


def reader_for(path: Path) -> Reader:
    """The reader for ``path`` by its extension; raise ``BadRequest`` when none fits."""
    reader = _find_reader(path)
    if reader is None:
        known = ", ".join(known_suffixes())
        raise BadRequest(f"{path}: cannot ingest a file of this type (known: {known})")
    return reader


def _find_reader(path: Path) -> Reader | None:
    # The longest registered suffix wins, so ".st26.xml" can override ".xml".
    name = path.name.lower()
    matches = [suffix for suffix in _READERS if name.endswith(suffix)]
    return _READERS[max(matches, key=len)] if matches else None


def source_files(path: Path) -> list[Path]:
    """The files to ingest for ``path``: the file itself, or a folder's readable files.

    A folder is read one level deep, in name order; hidden files and files no reader
    knows are left out. Raise ``BadRequest`` when there is nothing to read.
    """
    if not path.is_dir():
        reader_for(path)
        return [path]
    files = sorted(
        child
        for child in path.iterdir()
        if child.is_file() and not child.name.startswith(".") and _find_reader(child)
    )
    if not files:
        known = ", ".join(known_suffixes())
        raise BadRequest(f"{path}: no files to ingest in this folder (known: {known})")
    return files


def check_document(value: object, path: Path, line: int) -> JSONObject:
    """Check the shape every reader's documents must have; raise ``InvalidRecord`` if not.

    The server checks each modality's content; this catches what makes a record unusable
    before anything is sent.
    """
    if not isinstance(value, dict):
        raise InvalidRecord(path, line, f"expected a JSON object, got {_json_kind(value)}")
    if "id" not in value:
        raise InvalidRecord(path, line, 'missing "id"')
    if not isinstance(value["id"], str) or not value["id"]:
        raise InvalidRecord(path, line, '"id" must be a non-empty string')
    for key in ("content", "fields"):
        if key in value and not isinstance(value[key], dict):
            raise InvalidRecord(path, line, f'"{key}" must be an object')
    return value


def read_lines(path: Path, start: Position) -> Iterator[Line]:
    """The UTF-8 text lines of ``path`` from ``start``, numbered on from ``start.line``.

    Line-based readers share it so that byte offsets (what checkpoints keep), a leading
    byte-order mark and undecodable bytes are handled once.
    """
    offset, number = start.offset, start.line
    with path.open("rb") as stream:
        stream.seek(offset)
        for raw in stream:
            at_start = offset == 0
            offset += len(raw)
            number += 1
            if at_start and raw.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark
                raw = raw[3:]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidRecord(path, number, f"not UTF-8 text ({exc.reason})") from exc
            yield Line(text.rstrip("\r\n"), number, offset)


def read_jsonl(path: Path, start: Position) -> Iterator[Record]:
    """JSON Lines: one document per line; blank lines are skipped."""
    record = start.record
    for line in read_lines(path, start):
        if not line.text.strip():
            continue
        try:
            value = json.loads(line.text)
        except json.JSONDecodeError as exc:
            raise InvalidRecord(
                path, line.number, f"not valid JSON ({exc.msg} at column {exc.colno})"
            ) from exc
        document = check_document(value, path, line.number)
        record += 1
        yield Record(document, line.number, Position(line.end, line.number, record))


register_reader(".jsonl", read_jsonl)
register_reader(".ndjson", read_jsonl)


def _json_kind(value: object) -> str:
    kinds = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), "a number")


# --- checkpoints --------------------------------------------------------------------


@dataclass(frozen=True)
class SourceKey:
    """What a checkpoint belongs to; a changed size or mtime makes it a different file."""

    url: str
    collection: str
    path: str
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, url: str, collection: str, path: Path) -> SourceKey:
        """The key for ``path`` as it is on disk now."""
        resolved = path.resolve()
        stat = resolved.stat()
        return cls(url.rstrip("/"), collection, str(resolved), stat.st_size, stat.st_mtime_ns)

    def digest(self) -> str:
        """A file name for this key's checkpoint."""
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def default_state_dir() -> Path:
    """``$IPSIM_STATE_DIR`` when set, else ``~/.cache/ipsim``."""
    configured = os.environ.get(STATE_DIR_ENV)
    return Path(configured) if configured else Path.home() / ".cache" / "ipsim"


class CheckpointStore:
    """Checkpoint files in one folder, one JSON file per :class:`SourceKey`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def default(cls) -> CheckpointStore:
        """The store under :func:`default_state_dir`."""
        return cls(default_state_dir() / "ingest")

    def path_for(self, key: SourceKey) -> Path:
        """Where ``key``'s checkpoint is kept."""
        return self.root / f"{key.digest()}.json"

    def load(self, key: SourceKey) -> Position | None:
        """How far ``key`` got, or ``None`` when there is no usable checkpoint.

        A checkpoint that cannot be read counts as none: starting over only re-sends
        documents, which the server overwrites.
        """
        try:
            saved = json.loads(self.path_for(key).read_text(encoding="utf-8"))
            if saved["source"] != asdict(key):
                return None
            counts = (saved["offset"], saved["line"], saved["record"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not all(isinstance(count, int) and count >= 0 for count in counts):
            return None
        return Position(*counts)

    def save(self, key: SourceKey, position: Position) -> None:
        """Record ``position`` for ``key``, atomically and durably."""
        self.root.mkdir(parents=True, exist_ok=True)
        body = {"source": asdict(key), **asdict(position)}
        handle, temporary = tempfile.mkstemp(dir=self.root, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(body, stream)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, self.path_for(key))
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _fsync_dir(self.root)


def _fsync_dir(path: Path) -> None:
    # Makes the rename itself survive a power cut, not only the file's bytes.
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# --- the job ------------------------------------------------------------------------


class DocumentSink(Protocol):
    """Anything that upserts documents into a collection (``Client``, ``GrpcClient``)."""

    def upsert(
        self, collection: str, documents: Iterable[JSONObject], *, batch_size: int = ...
    ) -> int: ...


@dataclass(frozen=True)
class FileReport:
    """What one file's ingest did: documents sent now, and lines an earlier run had sent."""

    path: Path
    upserted: int
    resumed_at_line: int


@dataclass(frozen=True)
class IngestJob:
    """Sends files into ``collection`` batch by batch, resuming from checkpoints.

    ``url`` names the server in checkpoints. ``on_progress`` receives byte counts as the
    file is acknowledged (the already-sent part first). Batches answered with
    ``Overloaded`` or ``Unavailable`` are retried up to ``RETRY_ATTEMPTS`` times, waiting
    the server's ``Retry-After`` when it gives one.
    """

    sink: DocumentSink
    url: str
    collection: str
    store: CheckpointStore
    batch_size: int = 256
    restart: bool = False
    on_progress: Callable[[int], None] = field(default=lambda _: None)
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")

    def ingest_file(self, path: Path) -> FileReport:
        """Ingest one file from its checkpoint (or the start, with ``restart``).

        On a malformed record the documents before it are sent and checkpointed, nothing
        after it, and ``InvalidRecord`` is raised.
        """
        reader = reader_for(path)
        key = SourceKey.of(self.url, self.collection, path)
        start = (None if self.restart else self.store.load(key)) or Position()
        self.on_progress(min(start.offset, key.size))
        sent = 0
        done = start
        batch: list[Record] = []

        def flush() -> None:
            nonlocal sent, done, batch
            if not batch:
                return
            try:
                sent += self._send([record.document for record in batch])
            except BadRequest as exc:
                raise _locate(exc, path, batch) from exc
            end = batch[-1].end
            self.store.save(key, end)
            self.on_progress(end.offset - done.offset)
            done, batch = end, []

        try:
            for record in reader(path, start):
                batch.append(record)
                if len(batch) >= self.batch_size:
                    flush()
        except InvalidRecord:
            flush()
            raise
        flush()
        if done.offset < key.size:  # blank lines after the last record
            self.on_progress(key.size - done.offset)
            done = Position(key.size, done.line, done.record)
            self.store.save(key, done)
        return FileReport(path, sent, start.line)

    def _send(self, documents: list[JSONObject]) -> int:
        for attempt in range(1, RETRY_ATTEMPTS + 1):
            try:
                return self.sink.upsert(self.collection, documents, batch_size=len(documents))
            except (Overloaded, Unavailable) as exc:
                if attempt == RETRY_ATTEMPTS:
                    raise
                hint = exc.retry_after if isinstance(exc, Overloaded) else None
                delay = hint if hint is not None else 2.0 ** (attempt - 1)
                self.sleep(min(delay, MAX_RETRY_DELAY_S))
        raise AssertionError("unreachable: the last attempt returns or raises")


def _locate(error: BadRequest, path: Path, batch: Sequence[Record]) -> BadRequest:
    """Point a rejected batch's error at the file line of the document it names."""
    # The server names the field `documents[i].content…` (or `documents.i.id` from schema
    # validation): i indexes this batch.
    found = re.search(r"\bdocuments(?:\[(\d+)\]|\.(\d+)\b)", error.message)
    if found is None:
        return error
    index = int(found[1] or found[2])
    if index >= len(batch):
        return error
    line = batch[index].line
    return BadRequest(f"{path}:{line}: {error.message}", code=error.code, status=error.status)


__all__ = [
    "STATE_DIR_ENV",
    "CheckpointStore",
    "DocumentSink",
    "FileReport",
    "IngestJob",
    "InvalidRecord",
    "Line",
    "Position",
    "Reader",
    "Record",
    "SourceKey",
    "check_document",
    "default_state_dir",
    "known_suffixes",
    "read_jsonl",
    "read_lines",
    "reader_for",
    "register_reader",
    "source_files",
]

# The chemical readers register themselves; they import this module's types, so they load
# last (and importing either module first leaves both complete).
import ipsim.clients.chem_files  # noqa: E402, F401
from ipsim.clients import mesh_files as _mesh_files  # noqa: E402, F401
from ipsim.clients import sequence_files as _sequence_files  # noqa: E402, F401
