"""3D mesh files for ``ipsim ingest``: each ``.stl``, ``.obj``, ``.ply`` or ``.off`` file is
one document.

The document is ``{"id": <file name>, "content": {"mesh_b64": ..., "format": <extension>},
"fields": {"file": <file name>}}``. The client does not parse the mesh (it does not depend
on trimesh): the server decodes and validates it and names what is wrong. Only the size is
checked here, before the file is read, so that a file the server would refuse anyway is not
read, encoded and sent.

A file is one record, so resuming either re-sends the whole file or skips it: the position
after the record is the end of the file.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

from ipsim.clients.ingest import (
    InvalidRecord,
    JSONObject,
    Position,
    Record,
    check_document,
    register_reader,
)

MESH_SUFFIXES = (".stl", ".obj", ".ply", ".off")
MAX_MESH_BYTES = 16 * 1024 * 1024
"""The server's default limit on a mesh file (``ipsim.models.mesh_io.MeshLimits``)."""


def read_mesh(path: Path, start: Position) -> Iterator[Record]:
    """The one document of a mesh file, or nothing when ``start`` is past it."""
    if start.record > 0:
        return
    size = path.stat().st_size
    if size == 0:
        raise InvalidRecord(path, 1, "the mesh file is empty")
    if size > MAX_MESH_BYTES:
        raise InvalidRecord(
            path,
            1,
            f"the mesh file is {size:,} bytes; the limit is {MAX_MESH_BYTES:,} bytes "
            f"({MAX_MESH_BYTES // 2**20} MiB)",
        )
    raw = path.read_bytes()
    document: JSONObject = {
        "id": path.name,
        "content": {
            "mesh_b64": base64.b64encode(raw).decode("ascii"),
            "format": path.suffix[1:].lower(),
        },
        "fields": {"file": path.name},
    }
    yield Record(check_document(document, path, 1), 1, Position(len(raw), 1, 1))


for _suffix in MESH_SUFFIXES:
    register_reader(_suffix, read_mesh)


__all__ = ["MAX_MESH_BYTES", "MESH_SUFFIXES", "read_mesh"]
