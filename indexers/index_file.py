"""The one-file on-disk form shared by every index family.

A file is an uncompressed ``.npz`` archive: a JSON header (format version, family name,
the family's parameters) plus named arrays (FAISS indexes as ``faiss.serialize_index``
bytes, label arrays, …). The family name lets :func:`ipsim.indexers.factory.load_index`
dispatch without knowing what it reads; a sharded index nests its shards' files.
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from abc import abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Self

import numpy as np
from numpy.lib.npyio import NpzFile

from ipsim.indexers.base import VectorIndex

FORMAT_VERSION = 1
_HEADER = "__ipsim_index__"


@dataclass(frozen=True)
class IndexFile:
    """One index as written to disk: its family, JSON-able parameters and arrays."""

    family: str
    meta: dict[str, Any]
    arrays: dict[str, np.ndarray[Any, Any]] = field(default_factory=dict)

    def write(self, target: Path | BinaryIO) -> None:
        """Write to a path or an open binary file."""
        header = json.dumps({"version": FORMAT_VERSION, "family": self.family, "meta": self.meta})
        arrays = {_HEADER: np.frombuffer(header.encode(), dtype=np.uint8), **self.arrays}
        # numpy's stub reads **arrays as possibly holding its allow_pickle flag.
        savez: Any = np.savez
        if isinstance(target, Path):
            # An open file, because np.savez appends ".npz" to a path that lacks it.
            with target.open("wb") as f:
                savez(f, **arrays)
        else:
            savez(target, **arrays)

    def to_bytes(self) -> bytes:
        """The file's bytes."""
        buf = io.BytesIO()
        self.write(buf)
        return buf.getvalue()

    def to_array(self) -> np.ndarray[Any, np.dtype[np.uint8]]:
        """The file's bytes as a uint8 array, to nest one index file inside another."""
        return np.frombuffer(self.to_bytes(), dtype=np.uint8)

    @classmethod
    def read(cls, source: Path | BinaryIO) -> IndexFile:
        """Read a file written by :meth:`write`; ValueError when it is not one."""
        try:
            loaded = np.load(source, allow_pickle=False)
            if not isinstance(loaded, NpzFile):
                raise ValueError("a bare array, not an archive")
            with loaded as npz:
                arrays = {name: npz[name] for name in npz.files}
        except (ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
            raise ValueError(f"not an ipsim index file: {e}") from e
        if _HEADER not in arrays:
            raise ValueError("not an ipsim index file: no header")
        header = json.loads(arrays.pop(_HEADER).tobytes().decode())
        if header.get("version") != FORMAT_VERSION:
            raise ValueError(f"unsupported index file version {header.get('version')!r}")
        return cls(family=str(header["family"]), meta=dict(header["meta"]), arrays=arrays)

    @classmethod
    def from_bytes(cls, data: bytes) -> IndexFile:
        """Read a file from its bytes."""
        return cls.read(io.BytesIO(data))

    @classmethod
    def from_array(cls, array: np.ndarray[Any, Any]) -> IndexFile:
        """Read a file nested with :meth:`to_array`."""
        return cls.from_bytes(array.tobytes())


class PersistedIndex(VectorIndex):
    """A family whose ``save``/``load`` go through :class:`IndexFile`.

    Subclasses name their ``family`` and implement :meth:`dump` and :meth:`restore`.
    """

    family: str

    @abstractmethod
    def dump(self) -> IndexFile:
        """The index's full state (on CPU)."""

    @classmethod
    @abstractmethod
    def restore(cls, file: IndexFile) -> Self:
        """Rebuild from :meth:`dump`'s output."""

    def save(self, path: Path) -> None:
        """Write the index to ``path`` as one file."""
        self.dump().write(Path(path))

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read an index of this family written by :meth:`save`."""
        file = IndexFile.read(Path(path))
        if file.family != cls.family:
            raise ValueError(f"{path} holds a {file.family!r} index, not {cls.family!r}")
        return cls.restore(file)
