"""Atomic files and directories, and the snapshot folder with its CURRENT pointer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ipsim.indexers import snapshot as snapshot_module
from ipsim.indexers.snapshot import (
    CURRENT,
    SnapshotDir,
    SnapshotError,
    atomic_directory,
    atomic_write_bytes,
    remove_temporaries,
)


def test_atomic_write_replaces_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "file"
    atomic_write_bytes(target, b"one")
    atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_a_failed_atomic_write_keeps_the_old_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "file"
    atomic_write_bytes(target, b"old")

    def crash(src: object, dst: object) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(snapshot_module.os, "replace", crash)
    with pytest.raises(OSError, match="disk gone"):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_atomic_directory_appears_whole_or_not_at_all(tmp_path: Path) -> None:
    final = tmp_path / "dir"
    with atomic_directory(final) as temp:
        (temp / "a").write_text("1")
        (temp / "sub").mkdir()
        (temp / "sub" / "b").write_text("2")
        assert not final.exists()
    assert (final / "sub" / "b").read_text() == "2"
    with pytest.raises(FileExistsError), atomic_directory(final):
        pass
    broken = tmp_path / "broken"
    with pytest.raises(RuntimeError, match="half way"), atomic_directory(broken) as temp:
        (temp / "a").write_text("1")
        raise RuntimeError("half way")
    assert not broken.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir"]


def test_snapshots_publish_through_current_and_prune_the_old(tmp_path: Path) -> None:
    snaps = SnapshotDir(tmp_path)
    assert snaps.current() is None
    with snaps.write(5, {"format": 1}) as folder:
        (folder / "data").write_text("five")
    live = snaps.current()
    assert live is not None
    assert live[1] == {"format": 1, "covered_seq": 5}
    assert (live[0] / "data").read_text() == "five"
    first = live[0]
    with snaps.write(9, {"format": 1}) as folder:
        (folder / "data").write_text("nine")
    live = snaps.current()
    assert live is not None and live[1]["covered_seq"] == 9
    assert (live[0] / "data").read_text() == "nine"
    assert not first.exists()
    assert [p.name for p in (tmp_path / "snapshots").iterdir()] == [live[0].name]


def test_a_snapshot_that_fails_half_way_changes_nothing(tmp_path: Path) -> None:
    snaps = SnapshotDir(tmp_path)
    with snaps.write(1, {}) as folder:
        (folder / "data").write_text("one")
    with pytest.raises(RuntimeError), snaps.write(2, {}) as folder:
        (folder / "data").write_text("partial")
        raise RuntimeError("crash")
    live = snaps.current()
    assert live is not None and live[1]["covered_seq"] == 1
    assert len(list((tmp_path / "snapshots").iterdir())) == 1


def test_leftover_temporaries_are_ignored_then_removed(tmp_path: Path) -> None:
    snaps = SnapshotDir(tmp_path)
    with snaps.write(3, {}) as folder:
        (folder / "data").write_text("three")
    # What a crash leaves: a half-written snapshot, an unpublished one, a CURRENT temp.
    leftover = tmp_path / "snapshots" / f".tmp-snap-{7:020d}-dead"
    leftover.mkdir()
    (leftover / "manifest.json").write_text('{"covered_seq": 7}')
    unpublished = tmp_path / "snapshots" / f"snap-{8:020d}-beef"
    unpublished.mkdir()
    (tmp_path / ".tmp-CURRENT-1-ab").write_text("snap-x")
    live = snaps.current()
    assert live is not None and live[1]["covered_seq"] == 3
    snaps.prune()
    assert not leftover.exists() and not unpublished.exists()
    assert not (tmp_path / ".tmp-CURRENT-1-ab").exists()
    assert snaps.current() == live


def test_current_naming_a_missing_or_bad_snapshot_is_an_error(tmp_path: Path) -> None:
    snaps = SnapshotDir(tmp_path)
    (tmp_path / CURRENT).write_text("snap-missing\n")
    with pytest.raises(SnapshotError, match="unreadable"):
        snaps.current()
    (tmp_path / CURRENT).write_text("../escape\n")
    with pytest.raises(SnapshotError, match="no valid snapshot"):
        snaps.current()
    (tmp_path / CURRENT).write_text("snap-list\n")
    (tmp_path / "snapshots" / "snap-list").mkdir(parents=True)
    (tmp_path / "snapshots" / "snap-list" / "manifest.json").write_text("[1]")
    with pytest.raises(SnapshotError, match="not a JSON object"):
        snaps.current()


def test_remove_temporaries_leaves_other_names(tmp_path: Path) -> None:
    (tmp_path / ".tmp-x").mkdir()
    (tmp_path / ".tmp-y").write_text("")
    (tmp_path / "keep").write_text("")
    remove_temporaries(tmp_path)
    remove_temporaries(tmp_path / "absent")
    assert os.listdir(tmp_path) == ["keep"]
