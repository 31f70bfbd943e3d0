"""Attachments of applications (design views, trademark images): content-addressed files.

A file is stored once, under its SHA-256, at ``<data>/attachments/<first 2 hex>/<sha256>``,
written to a temporary file in the same folder, flushed to disk and renamed into place, so a
reader never sees half a file and two uploads of the same bytes leave one copy. The table
``attachments`` (revision 0002) records its size and media type; the row is inserted after the
file is in place, so a row always has its file (a file without a row, left by a crash between
the two, is simply written again by the next upload).

What is accepted is decided by the bytes, not by the ``Content-Type`` the client sent:
PNG and JPEG images (magic bytes) and meshes — binary glTF (``glTF`` magic), STL, OBJ, PLY
and OFF (the engine's own sniffing, :mod:`ipsim.models.mesh_io`). A declared type must agree
with the bytes; ``application/octet-stream`` (or none) lets the bytes decide. Anything else is
415 naming ``content_type``; more than :data:`MAX_ATTACHMENT_BYTES` is 413 naming ``body``.
The stored media type is the canonical one (``image/png``, ``model/stl``…), never the header.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Engine,
    MetaData,
    Select,
    String,
    Table,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError

from ipsim.engine.errors import InvalidInput, NotFound
from ipsim.models.mesh_io import sniff_format as sniff_mesh
from ipsim.platform.database import writer

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
FOLDER = "attachments"
GENERIC = "application/octet-stream"
IMAGE_TYPES: dict[str, str] = {"png": "image/png", "jpeg": "image/jpeg"}
MESH_TYPES: dict[str, str] = {
    "glb": "model/gltf-binary",
    "stl": "model/stl",
    "obj": "model/obj",
    "ply": "model/x-ply",
    "off": "model/x-off",
}
MEDIA_TYPES: dict[str, str] = {**IMAGE_TYPES, **MESH_TYPES}
"""Format → the canonical media type stored and answered."""
ALIASES: dict[str, str] = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "application/sla": "model/stl",
    "application/vnd.ms-pki.stl": "model/stl",
    "model/x.stl-binary": "model/stl",
    "model/x.stl-ascii": "model/stl",
    "application/ply": "model/x-ply",
    "model/ply": "model/x-ply",
    "model/off": "model/x-off",
}
"""Other names clients send for the same types."""
SHA256 = re.compile(r"[0-9a-f]{64}")

metadata = MetaData()
attachments_table = Table(
    "attachments",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("uploader", String(64), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
)


class AttachmentTooLarge(InvalidInput):
    """The upload is over the size limit (HTTP 413)."""

    code = "payload_too_large"


class UnsupportedAttachment(InvalidInput):
    """The upload is not a type an application may reference (HTTP 415)."""

    code = "unsupported_media_type"


@dataclass(frozen=True)
class Attachment:
    """A stored file: what ``POST /v1/attachments`` answers."""

    sha256: str
    size: int
    media_type: str

    @property
    def family(self) -> str:
        """``image`` or ``mesh``: what a filing may use it for."""
        return family_of(self.media_type)

    def to_json(self) -> dict[str, object]:
        return {"sha256": self.sha256, "size": self.size, "media_type": self.media_type}


def detect_media_type(data: bytes) -> str | None:
    """The canonical media type the bytes are, or None when they are none we accept."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return IMAGE_TYPES["png"]
    if data.startswith(b"\xff\xd8\xff"):
        return IMAGE_TYPES["jpeg"]
    if data[:4] == b"glTF" and int.from_bytes(data[4:8], "little") == 2:
        return MESH_TYPES["glb"]
    fmt = sniff_mesh(data)
    return None if fmt is None else MESH_TYPES[fmt]


def check_sha256(value: object, field: str) -> str:
    """A well-formed attachment reference (64 lower-case hex digits)."""
    if not isinstance(value, str) or not SHA256.fullmatch(value):
        raise InvalidInput(field, "must be a sha256: 64 lower-case hex digits")
    return value


class AttachmentStore:
    """Files under ``<data>/attachments``, their metadata in the platform database."""

    def __init__(self, engine: Engine, data: Path, max_bytes: int = MAX_ATTACHMENT_BYTES) -> None:
        self._engine = engine
        self._writer = writer(engine)
        self.root = data / FOLDER
        self.max_bytes = max_bytes

    def put(self, data: bytes, declared: str | None, uploader: str) -> Attachment:
        """Store ``data`` (once, whoever uploads it again) and describe it."""
        if len(data) > self.max_bytes:
            raise AttachmentTooLarge(
                "body", f"is {len(data):,} bytes; attachments are at most {self.max_bytes:,}"
            )
        if not data:
            raise InvalidInput("body", "is empty")
        media_type = _check_type(data, declared)
        digest = sha256(data).hexdigest()
        self._write(self.path(digest), data)
        attachment = Attachment(digest, len(data), media_type)
        row = {**attachment.to_json(), "uploader": uploader, "created": datetime.now(UTC)}
        try:
            with self._writer.begin() as db:
                if db.execute(_by_sha(digest)).first() is None:
                    db.execute(insert(attachments_table).values(**row))
        except IntegrityError:
            pass  # the same bytes, uploaded at the same moment by someone else: one row is enough
        return attachment

    def get(self, digest: str) -> Attachment:
        """The attachment with this sha256; ``NotFound`` otherwise."""
        with self._engine.connect() as db:
            row = db.execute(_by_sha(check_sha256(digest, "sha256"))).first()
        if row is None or not self.path(digest).is_file():
            raise NotFound(f"attachment {digest} does not exist")
        return Attachment(row.sha256, row.size, row.media_type)

    def path(self, digest: str) -> Path:
        """Where the file with this sha256 lives."""
        return self.root / digest[:2] / digest

    @staticmethod
    def media_types(db: Connection, digests: Iterable[str]) -> dict[str, str]:
        """sha256 → media type of those of ``digests`` that are stored (inside a transaction)."""
        wanted = sorted(set(digests))
        if not wanted:
            return {}
        rows = db.execute(
            select(attachments_table.c.sha256, attachments_table.c.media_type).where(
                attachments_table.c.sha256.in_(wanted)
            )
        )
        return {row.sha256: row.media_type for row in rows}

    @staticmethod
    def _write(target: Path, data: bytes) -> None:
        if target.is_file() and target.stat().st_size == len(data):
            return  # content-addressed: the same name holds the same bytes
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def family_of(media_type: str) -> str:
    """``image`` or ``mesh`` for a stored media type."""
    return "image" if media_type in IMAGE_TYPES.values() else "mesh"


def _by_sha(digest: str) -> Select[Any]:
    return select(attachments_table).where(attachments_table.c.sha256 == digest)


def _check_type(data: bytes, declared: str | None) -> str:
    detected = detect_media_type(data)
    accepted = ", ".join(MEDIA_TYPES.values())
    if detected is None:
        raise UnsupportedAttachment(
            "content_type", f"the body is none of the accepted types ({accepted})"
        )
    claimed = (declared or GENERIC).split(";")[0].strip().lower()
    claimed = ALIASES.get(claimed, claimed)
    if claimed not in (GENERIC, detected):
        raise UnsupportedAttachment(
            "content_type",
            f"is {claimed!r} but the body is {detected}"
            if claimed in MEDIA_TYPES.values()
            else f"{claimed!r} is not accepted; send one of {accepted}",
        )
    return detected


__all__ = [
    "MAX_ATTACHMENT_BYTES",
    "MEDIA_TYPES",
    "SHA256",
    "Attachment",
    "AttachmentStore",
    "AttachmentTooLarge",
    "UnsupportedAttachment",
    "attachments_table",
    "check_sha256",
    "detect_media_type",
    "family_of",
]
