"""Collection names as aliases of physical store versions (blue/green re-indexing).

A collection NAME names one store version; a re-index builds the next version beside the
live one and switches the alias. Layout under the data directory's ``collections/``::

    NAME/                     version 0: where every collection is born (and where data
                              directories from before versions keep working, unchanged)
    .versions/NAME/alias.json {"live": N, "previous": M | null}; absent means live 0
    .versions/NAME/vN/        version N >= 1 (a CollectionStore folder)

The alias file is replaced atomically (:func:`atomic_write_bytes`), so after a crash the
collection is served from the version before the switch or the one after it, never from a
mix. The previous version is kept for a rollback until the next switch replaces it.

A deletion removes the version the alias names first and the alias last, so an alias whose
live version is missing is a deletion that was interrupted: :func:`collection_names`
finishes it rather than resurrecting an older version.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from ipsim.indexers.snapshot import atomic_write_bytes, fsync_directory

log = logging.getLogger(__name__)

VERSIONS_DIR = ".versions"
ALIAS_FILE = "alias.json"


@dataclass(frozen=True)
class Alias:
    """Which version of a collection is live, and which one a rollback returns to."""

    live: int = 0
    previous: int | None = None


def version_path(root: Path, name: str, version: int) -> Path:
    """The folder of one version of collection ``name``."""
    return root / name if version == 0 else root / VERSIONS_DIR / name / f"v{version}"


def read_alias(root: Path, name: str) -> Alias:
    """The collection's alias (live 0, no previous, when it never switched)."""
    path = root / VERSIONS_DIR / name / ALIAS_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Alias()
    previous = raw.get("previous")
    return Alias(int(raw["live"]), None if previous is None else int(previous))


def write_alias(root: Path, name: str, alias: Alias) -> None:
    """Point ``name`` at ``alias.live`` atomically and durably."""
    folder = root / VERSIONS_DIR / name
    if not folder.is_dir():
        folder.mkdir(parents=True)
        fsync_directory(folder.parent)
    data = json.dumps({"live": alias.live, "previous": alias.previous}).encode()
    atomic_write_bytes(folder / ALIAS_FILE, data)


def live_path(root: Path, name: str) -> Path:
    """The folder of the version ``name`` is served from."""
    return version_path(root, name, read_alias(root, name).live)


def next_version(root: Path, name: str) -> int:
    """A version number no folder of ``name`` has used yet (numbers are never reused)."""
    alias = read_alias(root, name)
    used = [alias.live, alias.previous or 0]
    folder = root / VERSIONS_DIR / name
    if folder.is_dir():
        used += [int(p.name[1:]) for p in folder.iterdir() if _is_version_dir(p)]
    return max(used) + 1


def collection_names(root: Path) -> list[str]:
    """Every collection under ``root``: version-0 folders and aliased names, sorted.

    Finishes interrupted deletions (an alias whose live version is gone) on the way.
    """
    names = {p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")}
    versions = root / VERSIONS_DIR
    if versions.is_dir():
        for folder in versions.iterdir():
            if not folder.is_dir() or folder.name.startswith("."):
                continue
            if not (folder / ALIAS_FILE).exists():
                continue
            if live_path(root, folder.name).is_dir():
                names.add(folder.name)
            else:
                log.warning("finishing the interrupted deletion of collection %s", folder.name)
                remove_all(root, folder.name)
                names.discard(folder.name)
    return sorted(names)


def remove_version(root: Path, name: str, version: int) -> None:
    """Delete one (closed) version's folder, if it is there."""
    path = version_path(root, name, version)
    if path.is_dir():
        shutil.rmtree(path)


def remove_all(root: Path, name: str) -> None:
    """Delete every version of ``name`` and its alias (the live one first, see above)."""
    remove_version(root, name, read_alias(root, name).live)
    remove_version(root, name, 0)
    folder = root / VERSIONS_DIR / name
    for path in sorted(folder.glob("v*")) if folder.is_dir() else []:
        if _is_version_dir(path):
            shutil.rmtree(path)
    if folder.is_dir():
        shutil.rmtree(folder)


def _is_version_dir(path: Path) -> bool:
    return path.is_dir() and path.name.startswith("v") and path.name[1:].isdigit()
