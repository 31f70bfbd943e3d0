"""The write-ahead log: round trips, torn tails, concurrency and group commit."""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ipsim.indexers import wal as wal_module
from ipsim.indexers.wal import (
    MAGIC,
    WalCorruptError,
    WalError,
    WalFull,
    WalRecord,
    WriteAheadLog,
    encode_frame,
    segment_name,
)


@pytest.fixture
def opened() -> Iterator[list[WriteAheadLog]]:
    """Logs a test opened, closed at teardown even when the test fails."""
    logs: list[WriteAheadLog] = []
    yield logs
    for log in logs:
        log.close()


def open_log(logs: list[WriteAheadLog], path: Path, **kwargs: object) -> WriteAheadLog:
    kwargs.setdefault("group_commit_ms", 0.0)
    log = WriteAheadLog(path, **kwargs)  # type: ignore[arg-type]
    logs.append(log)
    return log


def payloads(log: WriteAheadLog, after: int = 0) -> list[tuple[int, dict[str, object], bytes]]:
    return [(r.seq, r.header, r.body) for r in log.records(after)]


def test_round_trip_keeps_headers_bodies_and_seqs(tmp_path: Path, opened: list) -> None:
    log = open_log(opened, tmp_path)
    written = [
        ({"op": "upsert", "ids": ["a", "b"], "x": 1.5}, b"\x00\x01\x02" * 100),
        ({"op": "delete", "ids": ["é"]}, b""),
        ({"empty": {}}, bytes(range(256))),
    ]
    seqs = [log.append(h, b) for h, b in written]
    assert seqs == [1, 2, 3]
    assert log.last_seq == 3
    log.close()
    again = open_log(opened, tmp_path)
    assert payloads(again) == [(i + 1, h, b) for i, (h, b) in enumerate(written)]
    assert payloads(again, after=2) == [(3, written[2][0], written[2][1])]
    assert again.append({"op": "next"}) == 4
    assert [r.seq for r in again.records()] == [1, 2, 3, 4]


def test_start_seq_is_honoured_and_bad_input_refused(tmp_path: Path, opened: list) -> None:
    log = open_log(opened, tmp_path, start_seq=41)
    assert log.append({"a": 1}) == 41
    with pytest.raises(ValueError):
        log.append({"a": float("nan")})
    with pytest.raises(ValueError):
        WriteAheadLog(tmp_path / "other", start_seq=0)
    log.close()
    with pytest.raises(WalError, match="closed"):
        log.append({"a": 1})


def write_three(path: Path) -> tuple[Path, int]:
    """A segment with three records; returns it and the offset where the third starts."""
    log = WriteAheadLog(path, group_commit_ms=0)
    log.append({"n": 1}, b"first")
    log.append({"n": 2}, b"second")
    log.append({"n": 3, "pad": "x" * 20}, b"third")
    log.close()
    segment = path / segment_name(1)
    last = len(encode_frame(3, b'{"n":3,"pad":"' + b"x" * 20 + b'"}', b"third"))
    return segment, segment.stat().st_size - last


def test_every_torn_tail_is_dropped_and_the_rest_kept(tmp_path: Path, opened: list) -> None:
    segment, start = write_three(tmp_path / "orig")
    data = segment.read_bytes()
    for cut in range(start, len(data)):
        folder = tmp_path / f"cut{cut}"
        folder.mkdir()
        (folder / segment.name).write_bytes(data[:cut])
        log = open_log(opened, folder)
        assert [r.header["n"] for r in log.records()] == [1, 2], cut
        assert (folder / segment.name).stat().st_size == start
        assert log.append({"n": "new"}) == 3
        log.close()
        assert [r.header["n"] for r in log.records()] == [1, 2, "new"]


def test_every_flipped_byte_of_the_last_record_drops_only_it(tmp_path: Path, opened: list) -> None:
    segment, start = write_three(tmp_path / "orig")
    data = segment.read_bytes()
    for at in range(start, len(data)):
        folder = tmp_path / f"flip{at}"
        folder.mkdir()
        damaged = bytearray(data)
        damaged[at] ^= 0x5A
        (folder / segment.name).write_bytes(bytes(damaged))
        log = open_log(opened, folder)
        assert [r.header["n"] for r in log.records()] == [1, 2], at
        assert log.last_seq == 2
        log.close()


def test_a_segment_torn_while_created_is_restarted(tmp_path: Path, opened: list) -> None:
    log = open_log(opened, tmp_path)
    log.append({"n": 1})
    log.close()
    (tmp_path / segment_name(2)).write_bytes(MAGIC[:3])
    again = open_log(opened, tmp_path)
    assert again.append({"n": 2}) == 2
    again.close()
    assert [r.seq for r in open_log(opened, tmp_path).records()] == [1, 2]
    assert (tmp_path / segment_name(2)).read_bytes().startswith(MAGIC)


def test_damage_in_an_older_segment_is_an_error(tmp_path: Path, opened: list) -> None:
    log = open_log(opened, tmp_path, segment_bytes=64)
    for i in range(6):
        log.append({"i": i}, b"x" * 40)
    log.close()
    segments = sorted(tmp_path.iterdir())
    assert len(segments) >= 3
    data = bytearray(segments[0].read_bytes())
    data[-3] ^= 0xFF
    segments[0].write_bytes(bytes(data))
    with pytest.raises(WalCorruptError):
        WriteAheadLog(tmp_path)


def test_segments_rotate_and_discard_through_drops_covered_ones(
    tmp_path: Path, opened: list
) -> None:
    log = open_log(opened, tmp_path, segment_bytes=100)
    for i in range(10):
        log.append({"i": i}, b"y" * 50)
    assert len(list(tmp_path.iterdir())) > 5
    log.discard_through(6)
    # Two records fit a segment: [1, 2] … [5, 6] are covered, [7, 8] and [9, 10] are not.
    assert [r.seq for r in log.records()] == [7, 8, 9, 10]
    log.discard_through(10)  # everything covered: only an empty active segment is left
    assert list(log.records()) == []
    assert [p.name for p in tmp_path.iterdir()] == [segment_name(11)]
    assert log.append({"i": 10}) == 11
    log.close()
    assert [r.seq for r in open_log(opened, tmp_path, start_seq=11).records()] == [11]


def test_a_start_seq_past_the_log_drops_the_covered_segments(tmp_path: Path, opened: list) -> None:
    log = open_log(opened, tmp_path)
    log.append({"n": 1})
    log.close()
    jumped = open_log(opened, tmp_path, start_seq=10)
    assert jumped.append({"n": 10}) == 10
    jumped.close()
    assert [r.seq for r in open_log(opened, tmp_path).records()] == [10]


def test_concurrent_appends_are_all_recovered_with_unique_seqs(
    tmp_path: Path, opened: list
) -> None:
    log = open_log(opened, tmp_path, group_commit_ms=1.0)
    seqs: dict[int, list[int]] = {}

    def writer(t: int) -> None:
        seqs[t] = [log.append({"t": t, "i": i}, bytes([t]) * i) for i in range(50)]

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    log.close()
    records = list(open_log(opened, tmp_path).records())
    assert [r.seq for r in records] == list(range(1, 401))
    by_seq: dict[int, WalRecord] = {r.seq: r for r in records}
    for t, mine in seqs.items():
        assert mine == sorted(mine)
        for i, seq in enumerate(mine):
            assert by_seq[seq].header == {"t": t, "i": i}
            assert by_seq[seq].body == bytes([t]) * i


def test_group_commit_fsyncs_fewer_times_than_it_appends(
    tmp_path: Path, opened: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = open_log(opened, tmp_path, group_commit_ms=20.0)
    calls = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        calls.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(wal_module.os, "fsync", counting_fsync)
    start = threading.Barrier(8)

    def writer(t: int) -> None:
        start.wait()  # all eight threads start appending together
        for i in range(10):
            log.append({"t": t, "i": i})

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    stats = log.stats
    assert stats.records == 80
    assert stats.fsyncs == len(calls) == stats.commits
    assert stats.commits < 80 / 2, stats


def test_a_failed_fsync_fails_the_caller_and_every_later_append(
    tmp_path: Path, opened: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = open_log(opened, tmp_path)
    assert log.append({"n": 1}) == 1

    def broken(fd: int) -> None:
        raise OSError(5, "I/O error")

    monkeypatch.setattr(wal_module.os, "fsync", broken)
    with pytest.raises(WalError, match="failed"):
        log.append({"n": 2})
    monkeypatch.undo()
    with pytest.raises(WalError, match="failed"):
        log.append({"n": 3})
    assert log.last_seq == 1


def test_a_full_disk_refuses_the_write_and_the_log_goes_on(
    tmp_path: Path, opened: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = open_log(opened, tmp_path)
    assert log.append({"n": 1}, b"one") == 1

    real_fsync, calls = os.fsync, []

    def full_once(fd: int) -> None:  # the bytes reached the page cache; the disk had no room
        calls.append(fd)
        if len(calls) == 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)  # the cut-back batch's fsync: there is room again

    monkeypatch.setattr(wal_module.os, "fsync", full_once)
    with pytest.raises(WalFull, match="no room"):
        log.append({"n": 2}, b"two" * 1000)
    monkeypatch.undo()
    # the refused record's seq is given out again; nothing of it stays in the file
    assert log.append({"n": 3}, b"three") == 2
    assert log.last_seq == 2
    log.close()
    reopened = open_log(opened, tmp_path)
    assert payloads(reopened) == [(1, {"n": 1}, b"one"), (2, {"n": 3}, b"three")]


def test_without_fsync_records_are_still_written(
    tmp_path: Path, opened: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = open_log(opened, tmp_path, fsync=False)
    monkeypatch.setattr(wal_module.os, "fsync", lambda fd: pytest.fail("fsync called"))
    log.append({"n": 1}, b"z")
    monkeypatch.undo()
    log.close()
    assert payloads(open_log(opened, tmp_path)) == [(1, {"n": 1}, b"z")]
