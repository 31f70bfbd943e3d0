"""The write-ahead log: append-only segment files of checksummed, sequenced records.

On-disk layout: a directory of segments ``wal-<first seq, 20 digits>.log``. Each segment
starts with the 8-byte magic ``IPSWAL01`` and holds frames::

    [u32 length][u32 crc32 of payload][payload]
    payload = [u64 seq][u32 header length][header: UTF-8 JSON object][body: raw bytes]

(all integers little-endian). The header carries what the writer needs to describe the
operation; the body carries bulk data (float32 vectors) exactly as it will be used, so
replay never re-encodes it.

Group commit: :meth:`WriteAheadLog.append` hands its record to one committer thread and
waits. The committer gathers what arrives within ``group_commit_ms`` of the first waiting
record, writes the lot, fsyncs once and wakes every caller whose record is now durable.

Recovery: records are read until the first torn or corrupt frame (short read, impossible
length, bad CRC, out-of-order seq) in the newest segment; that tail is truncated. Damage
in an older segment cannot come from a crash (segments are fsynced before the next one
starts), so it raises :class:`WalCorruptError` rather than silently losing records.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import struct
import threading
import time
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ipsim.indexers.snapshot import fsync_directory

log = logging.getLogger(__name__)

MAGIC = b"IPSWAL01"
MAX_RECORD_BYTES = 1 << 30
DEFAULT_SEGMENT_BYTES = 64 << 20

_FRAME = struct.Struct("<II")
_PREFIX = struct.Struct("<QI")
_SEGMENT_PREFIX = "wal-"
_SEGMENT_SUFFIX = ".log"


class WalError(RuntimeError):
    """The log cannot accept writes (an earlier write or fsync failed, or it is closed)."""


class WalCorruptError(WalError):
    """A segment other than the newest is damaged; recovery would lose acknowledged writes."""


class WalFull(WalError):
    """The disk (or quota) is full: this record was not written, and nothing after the last
    durable record was kept, so the log still accepts writes once there is room again."""


_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


@dataclass(frozen=True)
class WalRecord:
    """One logged operation as read back."""

    seq: int
    header: dict[str, Any]
    body: bytes


@dataclass(frozen=True)
class WalStats:
    """Counters since open: records appended, commits (write batches) and fsync calls."""

    records: int
    commits: int
    fsyncs: int


@dataclass
class _Pending:
    seq: int
    header: bytes
    body: bytes
    refused: WalFull | None = None
    """Set when the disk was full: the record was dropped (its seq is given out again)."""


def segment_name(first_seq: int) -> str:
    """The file name of the segment whose first record has ``first_seq``."""
    return f"{_SEGMENT_PREFIX}{first_seq:020d}{_SEGMENT_SUFFIX}"


def encode_frame(seq: int, header: bytes, body: bytes) -> bytes:
    """One frame: length, CRC and payload."""
    payload = _PREFIX.pack(seq, len(header)) + header + body
    return _FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def _segments(directory: Path) -> list[tuple[int, Path]]:
    found = []
    for path in directory.iterdir():
        name = path.name
        if name.startswith(_SEGMENT_PREFIX) and name.endswith(_SEGMENT_SUFFIX):
            digits = name[len(_SEGMENT_PREFIX) : -len(_SEGMENT_SUFFIX)]
            if digits.isdigit():
                found.append((int(digits), path))
    return sorted(found)


def _read_frames(file: BinaryIO, first_seq: int) -> Iterator[tuple[int, WalRecord]]:
    """Valid records from the current position; yields (end offset, record); stops at damage."""
    expected = first_seq
    offset = file.tell()
    while True:
        head = file.read(_FRAME.size)
        if len(head) < _FRAME.size:
            return
        length, crc = _FRAME.unpack(head)
        if not _PREFIX.size <= length <= MAX_RECORD_BYTES + _PREFIX.size:
            return
        payload = file.read(length)
        if len(payload) < length or zlib.crc32(payload) != crc:
            return
        seq, header_len = _PREFIX.unpack_from(payload)
        if seq != expected or header_len > length - _PREFIX.size:
            return
        try:
            header = json.loads(payload[_PREFIX.size : _PREFIX.size + header_len])
        except ValueError:
            return
        if not isinstance(header, dict):
            return
        offset += _FRAME.size + length
        yield offset, WalRecord(seq, header, payload[_PREFIX.size + header_len :])
        expected += 1


class WriteAheadLog:
    """An append-only, group-committed log of records in one directory.

    ``append`` is thread-safe and returns once the record is on disk (fsynced unless
    ``fsync`` is False). Reading (:meth:`records`) is for recovery, before appending.
    """

    def __init__(
        self,
        directory: Path,
        *,
        start_seq: int = 1,
        group_commit_ms: float = 2.0,
        fsync: bool = True,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
    ) -> None:
        """Open (creating if needed) the log in ``directory``, dropping any torn tail.

        ``start_seq`` is the least seq the next record may take: a snapshot may cover
        records whose segments are already gone.
        """
        if start_seq < 1:
            raise ValueError(f"start_seq must be >= 1, got {start_seq}")
        self.directory = directory
        self._group_commit_s = max(0.0, group_commit_ms) / 1000.0
        self._fsync = fsync
        self._segment_bytes = segment_bytes
        directory.mkdir(parents=True, exist_ok=True)
        self._segments = _segments(directory)
        last = self._recover()
        self._next_seq = max(start_seq, last + 1)
        # Guarded by _io_lock: the seq of the newest record written to a segment.
        self._written_seq = self._next_seq - 1
        self._durable_seq = self._next_seq - 1
        self._file: BinaryIO | None = None
        self._open_active(last)

        self._cond = threading.Condition()
        self._pending: list[_Pending] = []
        self._first_pending_at = 0.0
        self._failure: BaseException | None = None
        self._closing = False
        self._io_lock = threading.Lock()
        self._records = self._commits = self._fsyncs = 0
        self._committer = threading.Thread(
            target=self._commit_loop, name=f"wal-committer:{directory}", daemon=True
        )
        self._committer.start()

    # -- recovery ----------------------------------------------------------------------

    def _recover(self) -> int:
        """Check every segment, truncate the newest one's torn tail; return the last seq."""
        last = 0
        for i, (first, path) in enumerate(self._segments):
            newest = i == len(self._segments) - 1
            end, last = self._scan(path, first, newest=newest)
            if newest:
                size = path.stat().st_size
                if end == 0 or end != size:
                    if size > len(MAGIC):
                        log.warning(
                            "%s: dropped a torn or corrupt tail of %d bytes after seq %d (a write"
                            " cut short by a crash; it was never acknowledged)",
                            path,
                            size - end,
                            last,
                        )
                    self._truncate(path, end)
            elif last != self._segments[i + 1][0] - 1:
                raise WalCorruptError(
                    f"{path} ends at seq {last} (offset {end}) but the next segment starts at "
                    f"{self._segments[i + 1][0]}; the log is damaged"
                )
        return last

    @staticmethod
    def _scan(path: Path, first: int, *, newest: bool) -> tuple[int, int]:
        """(end offset of the valid prefix, last valid seq) of one segment."""
        with path.open("rb") as file:
            if file.read(len(MAGIC)) != MAGIC:
                if newest:  # torn while being created
                    return 0, first - 1
                raise WalCorruptError(f"{path} does not start with the WAL magic")
            end, last_seq = len(MAGIC), first - 1
            for end, record in _read_frames(file, first):  # noqa: B007
                last_seq = record.seq
            return end, last_seq

    def _truncate(self, path: Path, end: int) -> None:
        with path.open("r+b") as file:
            file.truncate(end)
            if end == 0:
                file.write(MAGIC)
            file.flush()
            os.fsync(file.fileno())

    def records(self, after: int = 0) -> Iterator[WalRecord]:
        """Every recovered record with ``seq > after``, in order (call before appending)."""
        for first, path in list(self._segments):
            with path.open("rb") as file:
                if file.read(len(MAGIC)) == MAGIC:
                    for _, record in _read_frames(file, first):
                        if record.seq > after:
                            yield record

    # -- segments ----------------------------------------------------------------------

    def _open_active(self, last: int) -> None:
        """Append to the newest segment when it ends right before the next seq, else start one."""
        if self._segments and last != self._next_seq - 1:
            # start_seq jumped past the log (a snapshot covers more than survived of it):
            # every segment is covered, and keeping them would leave a gap in the seqs.
            for _, path in self._segments:
                path.unlink()
            self._segments = []
        if self._segments and self._segments[-1][1].stat().st_size < self._segment_bytes:
            self._file = self._segments[-1][1].open("ab")
        else:
            self._start_segment()

    def _start_segment(self) -> None:
        """Close the active segment and start one named for the next record to be written."""
        if self._file is not None:
            self._file.close()
            self._file = None
        first = self._written_seq + 1
        path = self.directory / segment_name(first)
        with path.open("wb") as file:
            file.write(MAGIC)
            file.flush()
            if self._fsync:
                os.fsync(file.fileno())
        if self._fsync:
            fsync_directory(self.directory)
        self._segments.append((first, path))
        self._file = path.open("ab")

    def discard_through(self, seq: int) -> None:
        """Delete segments holding only records with seq <= ``seq`` (a snapshot covers them).

        The active segment is closed and a new one started first when it is fully covered.
        """
        with self._io_lock:
            if self._failure is not None or self._file is None:
                return
            if self._segments[-1][0] <= self._written_seq <= seq:
                self._start_segment()
            removed = False
            while len(self._segments) > 1 and self._segments[1][0] - 1 <= seq:
                _, path = self._segments.pop(0)
                path.unlink(missing_ok=True)
                removed = True
            if removed and self._fsync:
                fsync_directory(self.directory)

    # -- appending ---------------------------------------------------------------------

    @property
    def last_seq(self) -> int:
        """The seq of the newest durable record (0 when none was ever written)."""
        with self._cond:
            return self._durable_seq

    @property
    def stats(self) -> WalStats:
        """Counters since open."""
        with self._cond:
            return WalStats(self._records, self._commits, self._fsyncs)

    def append(self, header: Mapping[str, Any], body: bytes = b"") -> int:
        """Log one record; return its seq once it is durable.

        Raises ValueError for a header that is not JSON (NaN included) or a record over
        :data:`MAX_RECORD_BYTES`, and :class:`WalError` if the log failed or is closed.
        """
        encoded = json.dumps(
            dict(header), separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode()
        if len(encoded) + len(body) > MAX_RECORD_BYTES:
            raise ValueError(
                f"record of {len(encoded) + len(body)} bytes exceeds {MAX_RECORD_BYTES}"
            )
        with self._cond:
            self._check_open()
            seq = self._next_seq
            self._next_seq += 1
            if not self._pending:
                self._first_pending_at = time.monotonic()
            pending = _Pending(seq, encoded, body)
            self._pending.append(pending)
            self._cond.notify_all()
            # Refusal first: a refused record's seq is given out again, and the record that
            # reuses it may be durable before this waiter wakes.
            while pending.refused is None and self._durable_seq < seq:
                if self._failure is not None:
                    raise WalError("the write-ahead log failed") from self._failure
                self._cond.wait()
            if pending.refused is not None:
                raise pending.refused
            return seq

    def _check_open(self) -> None:
        if self._failure is not None:
            raise WalError("the write-ahead log failed") from self._failure
        if self._closing:
            raise WalError("the write-ahead log is closed")

    def _commit_loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    self._cond.wait()
                if not self._pending:
                    return
                # Wait from the first record's arrival, not from waking: a batch that piled
                # up during the previous fsync goes out at once.
                deadline = self._first_pending_at + self._group_commit_s
                while not self._closing and (remaining := deadline - time.monotonic()) > 0:
                    self._cond.wait(remaining)
                batch, self._pending = self._pending, []
            try:
                self._write(batch)
            except WalFull as exc:
                self._refuse(batch, exc)
                continue
            except BaseException as exc:
                with self._cond:
                    self._failure = exc
                    self._cond.notify_all()
                return
            with self._cond:
                self._durable_seq = batch[-1].seq
                self._records += len(batch)
                self._commits += 1
                self._cond.notify_all()

    def _refuse(self, batch: list[_Pending], exc: WalFull) -> None:
        """Drop ``batch`` and every record queued behind it (the disk is full); their seqs are
        given out again, so the log stays gapless and the store's apply order unbroken."""
        with self._cond:
            for pending in (*batch, *self._pending):
                pending.refused = exc
            self._pending = []
            self._next_seq = batch[0].seq
            self._cond.notify_all()

    def _write(self, batch: list[_Pending]) -> None:
        with self._io_lock:
            file = self._file
            assert file is not None
            start = file.tell()
            try:
                file.write(b"".join(encode_frame(p.seq, p.header, p.body) for p in batch))
                file.flush()
                if self._fsync:
                    os.fsync(file.fileno())
            except OSError as exc:
                if exc.errno not in _FULL_ERRNOS:
                    raise
                self._cut_back(file, start)  # raises if even that fails: the log fails then
                log.warning(
                    "%s: disk full, %d record(s) refused: %s", self.directory, len(batch), exc
                )
                raise WalFull(f"no room to log the write: {exc.strerror}") from exc
            if self._fsync:
                with self._cond:
                    self._fsyncs += 1
            self._written_seq = batch[-1].seq
            if file.tell() >= self._segment_bytes:
                self._start_segment()

    def _cut_back(self, file: BinaryIO, end: int) -> None:
        """Undo a partly written batch: drop the file object (its buffer may still hold bytes
        that did not fit), cut the segment back to ``end`` and reopen it for appending."""
        path = Path(file.name)
        with contextlib.suppress(OSError):
            file.close()  # its flush fails again, or lands bytes that the truncate removes
        os.truncate(path, end)
        self._file = path.open("ab")
        if self._fsync:
            os.fsync(self._file.fileno())

    def close(self) -> None:
        """Commit what is pending, stop the committer and close the active segment."""
        with self._cond:
            if self._closing:
                return
            self._closing = True
            self._cond.notify_all()
        self._committer.join()
        with self._io_lock:
            if self._file is not None:
                self._file.close()
                self._file = None
