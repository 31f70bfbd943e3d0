"""Untrusted base64 image content → a validated, decoded RGB or RGBA PIL image.

Only PNG, JPEG, GIF and WebP are accepted, recognised by their magic bytes and decoded by
that format's PIL plugin alone (so a file cannot pick a more exotic decoder). The size in
pixels is read from the header and checked before any pixel is decoded, which stops
decompression bombs (a few kilobytes that claim gigapixels). Decisions, for the record:

* base64 may be the standard or the URL-safe alphabet, padded or not, with whitespace or
  line breaks anywhere, and may carry a ``data:image/...;base64,`` prefix (what browsers
  produce).
* An animated GIF, APNG or WebP is its first frame.
* An image with no pixels (zero width or height) is refused; PIL already refuses most
  such headers as unreadable.
* A truncated or corrupt file is refused (PIL's "load truncated images" mode is never
  used: a half-decoded logo would be stored as if it were the mark).
* JPEG/WebP EXIF orientation is applied, so a phone photo of a logo stands upright.
* The result is RGBA when the file has transparency (alpha channel, or a transparent
  palette entry / colour key), else RGB; 16-bit greyscale is scaled to 8 bits, not clipped.
"""

from __future__ import annotations

import binascii
import io

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ipsim.models.base import InvalidContent

MAX_IMAGE_BYTES = 10 * 2**20
MAX_IMAGE_PIXELS = 25_000_000
ACCEPTED = "PNG, JPEG, GIF or WebP"

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
)
_REFUSED: tuple[tuple[bytes, str], ...] = (
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"%PDF", "PDF"),
    (b"<", "SVG/XML"),
)
"""Formats people do send, named in the refusal so the fix is obvious."""
_URLSAFE = str.maketrans("-_", "+/")
_SIXTEEN_BIT = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I"})


def decode_image(
    data_b64: object,
    *,
    field: str = "image_b64",
    max_bytes: int = MAX_IMAGE_BYTES,
    max_pixels: int = MAX_IMAGE_PIXELS,
) -> Image.Image:
    """Decode and validate base64 image content; every refusal is an InvalidContent(field).

    ``max_pixels`` above twice ``PIL.Image.MAX_IMAGE_PIXELS`` has no effect: PIL refuses
    such images itself (and that refusal is reported the same way).
    """
    raw = _base64_bytes(data_b64, field, max_bytes)
    image_format = _sniff(raw, field)
    try:
        image = Image.open(io.BytesIO(raw), formats=[image_format])
    except Image.DecompressionBombError as exc:
        raise InvalidContent(field, f"is too large to decode safely ({exc})") from exc
    except UnidentifiedImageError as exc:  # its message names a BytesIO: say it plainly
        raise InvalidContent(
            field, f"is not a readable {image_format} file (its header is damaged or incomplete)"
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidContent(field, f"is not a readable {image_format} file ({exc})") from exc
    width, height = image.size
    if width <= 0 or height <= 0:
        raise InvalidContent(field, f"is an empty image ({width} x {height} pixels)")
    if width * height > max_pixels:
        raise InvalidContent(
            field,
            f"is {width} x {height} pixels ({width * height:,}); the limit is {max_pixels:,}",
        )
    try:
        image.load()  # the first frame of an animation
        upright = ImageOps.exif_transpose(image)
    except Exception as exc:  # PIL's decoders raise many types for bad data: all mean "corrupt"
        raise InvalidContent(
            field, f"is a truncated or corrupt {image_format} file ({exc})"
        ) from exc
    return _rgb_or_rgba(upright)


def _base64_bytes(data: object, field: str, max_bytes: int) -> bytes:
    if not isinstance(data, str):
        raise InvalidContent(field, f"must be a base64 string, not {type(data).__name__}")
    text = data.strip()
    if text.startswith("data:"):
        header, comma, text = text.partition(",")
        if not comma or not header.endswith(";base64"):
            raise InvalidContent(field, "a data: URL must be base64 (data:image/png;base64,...)")
    # base64 is 4 characters per 3 bytes; allow line breaks every 64+ characters.
    if len(text) > (max_bytes + 2) // 3 * 4 * 65 // 64 + 4:
        raise InvalidContent(field, f"is larger than the limit of {max_bytes:,} bytes")
    compact = "".join(text.split()).translate(_URLSAFE)
    if not compact:
        raise InvalidContent(field, "is empty")
    compact += "=" * (-len(compact) % 4)
    try:
        raw = binascii.a2b_base64(compact.encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise InvalidContent(field, f"is not valid base64 ({exc})") from exc
    if not raw:
        raise InvalidContent(field, "is empty")
    if len(raw) > max_bytes:
        raise InvalidContent(field, f"is {len(raw):,} bytes; the limit is {max_bytes:,} bytes")
    return raw


def _sniff(raw: bytes, field: str) -> str:
    """The PIL format name from the magic bytes (PIL's own guess is never trusted)."""
    for magic, name in _MAGIC:
        if raw.startswith(magic):
            return name
    if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        return "WEBP"
    start = raw.lstrip()
    for magic, name in _REFUSED:
        if start.startswith(magic):
            raise InvalidContent(field, f"{name} images are not accepted; send {ACCEPTED}")
    if raw[4:8] == b"ftyp":
        raise InvalidContent(field, f"HEIF/AVIF images are not accepted; send {ACCEPTED}")
    raise InvalidContent(field, f"is not a {ACCEPTED} image")


def _rgb_or_rgba(image: Image.Image) -> Image.Image:
    if image.mode in _SIXTEEN_BIT:  # PIL's convert() would clip 16-bit values at 255
        pixels = np.asarray(image, dtype=np.uint32) >> 8
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "L")
    has_alpha = "A" in image.getbands() or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")
