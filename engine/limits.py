"""The input limits a client should know before it sends: what the portal checks in the browser.

The server enforces every one of them anyway (each model validates its own input); this module
only gathers them in one answer so that a page can refuse an oversized upload before sending it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ipsim.models.chemical import MAX_MOLBLOCK_CHARS, MAX_SMILES_CHARS
from ipsim.models.image_decode import MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS
from ipsim.models.sequence import MAX_LENGTH as MAX_SEQUENCE_LENGTH
from ipsim.models.text import MAX_TEXT_CHARS
from ipsim.models.trademark import MAX_WORD_CHARS

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
MESH_FORMATS = ("stl", "obj", "ply", "off")


@dataclass(frozen=True)
class UploadLimits:
    body_bytes: int
    image_bytes: int
    image_pixels: int
    image_types: tuple[str, ...]
    mesh_bytes: int
    mesh_faces: int
    mesh_formats: tuple[str, ...]
    text_chars: int
    word_chars: int
    smiles_chars: int
    molblock_chars: int
    sequence_length: int
    max_k: int
    max_offset: int


def upload_limits(
    *, body_bytes: int, mesh_bytes: int, mesh_faces: int, max_k: int, max_offset: int
) -> UploadLimits:
    """The limits of this server: the configured ones with the models' fixed ones."""
    return UploadLimits(
        body_bytes=body_bytes,
        image_bytes=MAX_IMAGE_BYTES,
        image_pixels=MAX_IMAGE_PIXELS,
        image_types=IMAGE_TYPES,
        mesh_bytes=mesh_bytes,
        mesh_faces=mesh_faces,
        mesh_formats=MESH_FORMATS,
        text_chars=MAX_TEXT_CHARS,
        word_chars=MAX_WORD_CHARS,
        smiles_chars=MAX_SMILES_CHARS,
        molblock_chars=MAX_MOLBLOCK_CHARS,
        sequence_length=MAX_SEQUENCE_LENGTH,
        max_k=max_k,
        max_offset=max_offset,
    )
