"""Attachments: content-addressed files whose type is decided by their bytes, on both backends."""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from hashlib import sha256
from pathlib import Path

import pytest
from PIL import Image

from ipsim.engine.errors import InvalidInput, NotFound
from ipsim.platform import migrate
from ipsim.platform.database import open_database
from ipsim.platform.filing.attachments import (
    AttachmentStore,
    AttachmentTooLarge,
    UnsupportedAttachment,
    detect_media_type,
)


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 10, 10)).save(out, format="PNG")
    return out.getvalue()


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), (10, 10, 200)).save(out, format="JPEG")
    return out.getvalue()


TRIANGLE_OBJ = b"# a triangle\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"
TRIANGLE_OFF = b"OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n"
TRIANGLE_PLY = b"ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nend_header\n"
ASCII_STL = (
    b"solid t\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nendloop\nendfacet\nendsolid t\n"
)
BINARY_STL = b"\0" * 80 + struct.pack("<I", 1) + b"\0" * 50
GLB = b"glTF" + struct.pack("<II", 2, 12)


@pytest.fixture
def store(platform_url: str, tmp_path: Path) -> Iterator[AttachmentStore]:
    engine = open_database(platform_url)
    migrate.upgrade(engine)
    yield AttachmentStore(engine, tmp_path / "data", max_bytes=64 * 1024)
    engine.dispose()


@pytest.mark.parametrize(
    ("data", "media_type"),
    [
        (png(), "image/png"),
        (jpeg(), "image/jpeg"),
        (TRIANGLE_OBJ, "model/obj"),
        (TRIANGLE_OFF, "model/x-off"),
        (TRIANGLE_PLY, "model/x-ply"),
        (ASCII_STL, "model/stl"),
        (BINARY_STL, "model/stl"),
        (GLB, "model/gltf-binary"),
        (b"%PDF-1.7\n...", None),
        (b"GIF89a....", None),
        (b"hello, world", None),
    ],
)
def test_the_bytes_decide_the_type(data: bytes, media_type: str | None) -> None:
    assert detect_media_type(data) == media_type


def test_an_upload_is_stored_once_under_its_hash(store: AttachmentStore) -> None:
    data = png()
    digest = sha256(data).hexdigest()
    first = store.put(data, "image/png", "alice")
    again = store.put(data, None, "bob")
    assert first == again
    assert (first.sha256, first.size, first.media_type) == (digest, len(data), "image/png")
    path = store.root / digest[:2] / digest
    assert path.read_bytes() == data
    assert [p.name for p in path.parent.iterdir()] == [digest]  # no temporary file left
    assert store.get(digest) == first


def test_a_declared_type_must_agree_with_the_bytes(store: AttachmentStore) -> None:
    assert store.put(TRIANGLE_OBJ, "application/octet-stream", "a").media_type == "model/obj"
    assert store.put(jpeg(), "image/jpg; q=1", "a").media_type == "image/jpeg"  # an alias
    with pytest.raises(UnsupportedAttachment) as caught:
        store.put(png(), "image/jpeg", "a")
    assert caught.value.field == "content_type" and caught.value.code == "unsupported_media_type"
    with pytest.raises(UnsupportedAttachment) as caught:
        store.put(png(), "application/pdf", "a")
    assert caught.value.field == "content_type"
    with pytest.raises(UnsupportedAttachment):
        store.put(b"%PDF-1.7 not a view", "image/png", "a")


def test_an_oversized_or_empty_upload_is_refused(store: AttachmentStore) -> None:
    with pytest.raises(AttachmentTooLarge) as caught:
        store.put(b"v 0 0 0\n" * 9000, "model/obj", "a")
    assert caught.value.field == "body" and caught.value.code == "payload_too_large"
    with pytest.raises(InvalidInput) as empty:
        store.put(b"", "model/obj", "a")
    assert empty.value.field == "body"
    assert not store.root.exists()  # nothing was written


def test_an_unknown_or_malformed_hash_is_not_found_or_invalid(store: AttachmentStore) -> None:
    with pytest.raises(NotFound):
        store.get("0" * 64)
    with pytest.raises(InvalidInput) as caught:
        store.get("../../etc/passwd")
    assert caught.value.field == "sha256"
