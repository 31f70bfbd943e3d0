"""Atomic files, atomic directories, and the store's snapshot folder with its CURRENT pointer.

Every durable write here follows one recipe: write under a temporary name, fsync the
data, rename into place, fsync the directory holding the name. A crash at any point
leaves either the old state or the new one, plus at most a temporary leftover that
readers never look at (temporary names start with ``.tmp-``) and writers clean up.

Layout under a store's root::

    CURRENT                   the name of the live snapshot (one line)
    snapshots/snap-<seq>-<n>/ manifest.json + whatever the store wrote
    snapshots/.tmp-…          a snapshot being written, or the leftover of a crash
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

TMP_PREFIX = ".tmp-"
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
SNAPSHOTS = "snapshots"


class SnapshotError(RuntimeError):
    """The snapshot that CURRENT names is missing or unreadable."""


def _temp_sibling(path: Path) -> Path:
    return path.parent / f"{TMP_PREFIX}{path.name}-{os.getpid()}-{secrets.token_hex(4)}"


def fsync_file(path: Path) -> None:
    """Flush one file's data (or a directory's entries) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_directory(path: Path) -> None:
    """Make a directory's entries (files created, renamed or removed in it) durable."""
    fsync_file(path)


def fsync_tree(root: Path) -> None:
    """fsync every file and directory under ``root`` (files written by code we do not own)."""
    for here, _, files in os.walk(root):
        for name in files:
            fsync_file(Path(here) / name)
        fsync_directory(Path(here))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new bytes, never a mix."""
    temp = _temp_sibling(path)
    try:
        with temp.open("wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


@contextmanager
def atomic_directory(final: Path) -> Iterator[Path]:
    """Yield an empty temporary directory; on success it becomes ``final`` atomically.

    Everything written inside is fsynced before the rename. ``final`` must not exist.
    On an exception the temporary directory is removed and ``final`` is untouched.
    """
    if final.exists():
        raise FileExistsError(final)
    temp = _temp_sibling(final)
    temp.mkdir(parents=True)
    try:
        yield temp
        fsync_tree(temp)
        os.rename(temp, final)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    fsync_directory(final.parent)


def remove_temporaries(directory: Path) -> None:
    """Delete leftovers of interrupted atomic writes in ``directory``."""
    if not directory.is_dir():
        return
    for path in directory.iterdir():
        if path.name.startswith(TMP_PREFIX):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


class SnapshotDir:
    """The snapshots of one store: writing a new one, finding the live one, pruning the rest."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder = root / SNAPSHOTS

    def current(self) -> tuple[Path, dict[str, Any]] | None:
        """The live snapshot's folder and manifest, or None before the first snapshot."""
        pointer = self.root / CURRENT
        try:
            name = pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        folder = self.folder / name
        if not name or name.startswith(TMP_PREFIX) or "/" in name:
            raise SnapshotError(f"{pointer} names no valid snapshot: {name!r}")
        try:
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SnapshotError(f"snapshot {folder} is unreadable: {exc}") from exc
        if not isinstance(manifest, dict):
            raise SnapshotError(f"{folder / MANIFEST} is not a JSON object")
        return folder, manifest

    @contextmanager
    def write(self, covered_seq: int, manifest: Mapping[str, Any]) -> Iterator[Path]:
        """Yield a temporary folder to fill; on success publish it as the live snapshot.

        ``manifest`` (plus ``covered_seq``) is written last, the folder renamed into place,
        CURRENT switched atomically, and older snapshots and leftovers removed.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"snap-{covered_seq:020d}-{secrets.token_hex(4)}"
        with atomic_directory(self.folder / name) as temp:
            yield temp
            body = {**manifest, "covered_seq": covered_seq}
            (temp / MANIFEST).write_text(json.dumps(body, indent=1), encoding="utf-8")
        atomic_write_bytes(self.root / CURRENT, f"{name}\n".encode())
        self.prune(keep=name)

    def prune(self, keep: str | None = None) -> None:
        """Remove every snapshot but ``keep`` (by default the live one), and temporaries."""
        if keep is None:
            live = self.current()
            keep = live[0].name if live else None
        if not self.folder.is_dir():
            return
        for path in self.folder.iterdir():
            if path.name == keep:
                continue
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        remove_temporaries(self.root)
