"""Figurative images: safe decoding, the pretrained EfficientNet-Lite0, the four parts."""

from __future__ import annotations

import base64
import io
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps
from support.data import shared_data

from ipsim.models.base import InvalidContent
from ipsim.models.image import (
    FIGURE_PARTS,
    FigurativeEncoder,
    ImageEncoder,
    content_box,
    letterbox,
    rename_weights,
    to_tensor,
)
from ipsim.models.image_decode import decode_image
from ipsim.models.registry import UnknownModel, load_encoder

TRADEMARKS = shared_data("trademarks")
needs_icons = pytest.mark.skipif(
    not (TRADEMARKS / "icons").is_dir(), reason="shared trademark icons absent"
)


def _encoded(image: Image.Image, image_format: str = "PNG", **options: object) -> str:
    out = io.BytesIO()
    image.save(out, image_format, **options)
    return base64.b64encode(out.getvalue()).decode("ascii")


def _icon(path: str) -> Image.Image:
    with Image.open(TRADEMARKS / "icons" / path) as image:
        return image.convert("RGBA")


def _parts(rows: np.ndarray) -> dict[str, np.ndarray]:
    out, start = {}, 0
    for name, size in FIGURE_PARTS.items():
        out[name] = rows[:, start : start + size]
        start += size
    return out


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny valid PNG stream whose header claims ``width`` x ``height`` RGB pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _recoloured(image: Image.Image) -> Image.Image:
    red, green, blue, alpha = image.split()
    return Image.merge("RGBA", (blue, red, green, alpha))


def _tinted(image: Image.Image, colour: tuple[int, int, int]) -> Image.Image:
    """The icon's shading in one colour: dark pixels stay dark, light ones take the colour."""
    grey = ImageOps.grayscale(image.convert("RGB"))
    tinted = ImageOps.colorize(grey, black=(0, 0, 0), white=colour).convert("RGBA")
    tinted.putalpha(image.getchannel("A"))
    return tinted


@pytest.fixture(scope="module")
def figures() -> FigurativeEncoder:
    return FigurativeEncoder("cpu")


@pytest.fixture(scope="module")
def plain() -> ImageEncoder:
    encoder = load_encoder("image", None, device="cpu", chunk_tokens=256, chunk_overlap=32)
    assert isinstance(encoder, ImageEncoder)
    return encoder


# --- decoding ---------------------------------------------------------------------------


def test_decodes_png_in_every_base64_spelling() -> None:
    image = Image.new("RGBA", (40, 20), (255, 0, 0, 128))
    standard = _encoded(image)
    urlsafe = base64.urlsafe_b64encode(base64.b64decode(standard)).decode().rstrip("=")
    wrapped = "\n".join(standard[i : i + 60] for i in range(0, len(standard), 60))
    for spelling in (standard, urlsafe, wrapped, f"data:image/png;base64,{standard}"):
        decoded = decode_image(spelling)
        assert (decoded.mode, decoded.size) == ("RGBA", (40, 20))
        assert decoded.getpixel((3, 3)) == (255, 0, 0, 128)


def test_jpeg_webp_and_gif_are_accepted_and_an_animation_is_its_first_frame() -> None:
    red = Image.new("RGB", (16, 16), (255, 0, 0))
    blue = Image.new("RGB", (16, 16), (0, 0, 255))
    animated = _encoded(red, "GIF", save_all=True, append_images=[blue], duration=100)
    first = decode_image(animated).convert("RGB").getpixel((8, 8))
    assert first == (255, 0, 0)
    for image_format in ("JPEG", "WEBP"):
        decoded = decode_image(_encoded(red, image_format, quality=95))
        assert decoded.mode == "RGB"
        r, g, b = decoded.getpixel((8, 8))  # type: ignore[misc]
        assert r > 240 and g < 20 and b < 20


def test_sixteen_bit_grey_is_scaled_not_clipped() -> None:
    levels = np.array([[0, 32768, 65535]], dtype=np.uint16)
    decoded = decode_image(_encoded(Image.fromarray(levels)))
    assert [decoded.getpixel((x, 0))[0] for x in range(3)] == [0, 128, 255]  # type: ignore[index]


def test_jpeg_exif_orientation_is_applied() -> None:
    image = Image.new("RGB", (40, 20), (0, 128, 0))
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view"
    assert decode_image(_encoded(image, "JPEG", exif=exif)).size == (20, 40)


BAD_INPUTS = [
    pytest.param(123, "must be a base64 string", id="not a string"),
    pytest.param("", "is empty", id="empty"),
    pytest.param("  \n ", "is empty", id="whitespace"),
    pytest.param("not base64!", "is not valid base64", id="not base64"),
    pytest.param(
        base64.b64encode(b"just some text, not a picture").decode(),
        "is not a PNG, JPEG, GIF or WebP image",
        id="not an image",
    ),
    pytest.param(
        _encoded(Image.new("RGB", (8, 8)), "BMP"), "BMP images are not accepted", id="BMP"
    ),
    pytest.param(
        _encoded(Image.new("RGB", (8, 8)), "TIFF"), "TIFF images are not accepted", id="TIFF"
    ),
    pytest.param(
        base64.b64encode(b'<svg xmlns="http://www.w3.org/2000/svg"/>').decode(),
        "SVG/XML images are not accepted",
        id="SVG",
    ),
    pytest.param(
        base64.b64encode(_png_claiming(100_000, 100_000)).decode(),
        "too large to decode safely",
        id="bomb 100k x 100k",
    ),
    pytest.param(
        base64.b64encode(_png_claiming(6000, 6000)).decode(),
        "is 6000 x 6000 pixels (36,000,000); the limit is 25,000,000",
        id="36 megapixels",
    ),
    pytest.param(
        base64.b64encode(b"GIF89a" + b"\x00" * 20).decode(),
        "is not a readable GIF file (its header is damaged or incomplete)",
        id="corrupt GIF",
    ),
    pytest.param(
        base64.b64encode(_png_claiming(0, 0)).decode(),
        "is not a readable PNG file",
        id="zero-size PNG",
    ),
]


@pytest.mark.parametrize(("data", "reason"), BAD_INPUTS)
def test_bad_input_is_refused_naming_the_field(data: object, reason: str) -> None:
    with pytest.raises(InvalidContent) as caught:
        decode_image(data, field="query.image_b64")
    assert caught.value.field == "query.image_b64"
    assert reason in caught.value.message


def test_truncated_png_is_refused() -> None:
    pixels = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    whole = base64.b64decode(_encoded(Image.fromarray(pixels)))
    assert decode_image(base64.b64encode(whole).decode()).size == (64, 64)
    with pytest.raises(InvalidContent, match="truncated or corrupt PNG") as caught:
        decode_image(base64.b64encode(whole[: len(whole) // 2]).decode())
    assert caught.value.field == "image_b64"


def test_oversized_content_is_refused_before_and_after_decoding_base64() -> None:
    data = _encoded(Image.new("RGB", (64, 64), (1, 2, 3)))
    size = len(base64.b64decode(data))
    assert decode_image(data, max_bytes=size).size == (64, 64)
    with pytest.raises(InvalidContent, match=f"is {size:,} bytes; the limit is {size - 1:,}"):
        decode_image(data, max_bytes=size - 1)
    with pytest.raises(InvalidContent, match="larger than the limit of 10 bytes"):
        decode_image(data, max_bytes=10)


# --- the network ------------------------------------------------------------------------


@needs_icons
def test_weights_load_and_imagenet_predictions_make_sense(figures: FigurativeEncoder) -> None:
    expected = {
        "tango/devices/computer.png": {"desktop computer", "monitor", "screen"},
        "gnome/devices/printer.png": {"printer", "photocopier"},
        "tango/apps/accessories-calculator.png": {"hand-held computer"},
    }
    from timm.data import ImageNetInfo

    info = ImageNetInfo()
    pixels = torch.stack([to_tensor(letterbox(content_box(_icon(p)))) for p in expected])
    probabilities = figures.backbone.classify(pixels)
    for (path, names), row in zip(expected.items(), probabilities, strict=True):
        top5 = {info.index_to_description(int(i)).split(",")[0] for i in row.topk(5).indices}
        assert top5 & names, f"{path}: top-5 {sorted(top5)}"


def test_weights_that_do_not_fit_are_refused() -> None:
    target = {"a.weight": torch.zeros(2, 3), "a.bias": torch.zeros(2)}
    assert list(rename_weights({"x.weight": torch.ones(2, 3), "x.bias": torch.ones(2)}, target))
    with pytest.raises(RuntimeError, match="do not fit"):
        rename_weights({"x.bias": torch.ones(2), "x.weight": torch.ones(2, 3)}, target)
    with pytest.raises(RuntimeError, match="1 tensors in the weights file, 2 in timm"):
        rename_weights({"x.weight": torch.ones(2, 3)}, target)


# --- retrieval and the parts ------------------------------------------------------------


def _altered(image: Image.Image) -> list[Image.Image]:
    jpeg = io.BytesIO()
    on_white = Image.new("RGB", image.size, (255, 255, 255))
    on_white.paste(image, mask=image.getchannel("A"))
    on_white.save(jpeg, "JPEG", quality=30)
    grey = ImageOps.grayscale(image.convert("RGB")).convert("RGBA")
    grey.putalpha(image.getchannel("A"))
    return [
        image.resize((16, 16), Image.Resampling.LANCZOS),
        image.resize((64, 64), Image.Resampling.BICUBIC),
        image.crop((2, 1, 31, 30)),
        grey,
        Image.open(io.BytesIO(jpeg.getvalue())),
        image.rotate(-8, Image.Resampling.BICUBIC, expand=True),
    ]


@needs_icons
def test_altered_copies_find_their_original_first(plain: ImageEncoder) -> None:
    paths = sorted(
        f"{theme}/devices/{p.name}"
        for theme in ("tango", "gnome")
        for p in (TRADEMARKS / "icons" / theme / "devices").glob("*.png")
    )[:40]
    database = plain.encode(
        [plain.preprocess({"image_b64": _encoded(_icon(p))}, "document").units[0] for p in paths]
    )
    originals = [0, 7, 21, 33]
    queries = [
        (i, plain.preprocess({"image_b64": _encoded(copy)}, "query").units[0])
        for i in originals
        for copy in _altered(_icon(paths[i]))
    ]
    found = np.argmax(plain.encode([unit for _, unit in queries]) @ database.T, axis=1)
    assert [paths[f] for f in found] == [paths[i] for i, _ in queries]


@needs_icons
def test_parts_are_unit_norm_and_a_batch_equals_single_images(
    figures: FigurativeEncoder, plain: ImageEncoder
) -> None:
    images = [_icon("tango/devices/printer.png"), _icon("gnome/places/user-trash.png")]
    prepared = [figures.prepare(image) for image in images]
    batch = figures.encode(prepared)
    assert batch.shape == (2, figures.dim) and batch.dtype == np.float32
    for name, rows in _parts(batch).items():
        assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5), name
    singles = np.vstack([figures.encode([f]) for f in prepared])
    assert np.allclose(batch, singles, atol=1e-5)
    assert figures.encode([]).shape == (0, figures.dim)
    composite = plain.encode(
        [plain.preprocess({"image_b64": _encoded(i)}, "query").units[0] for i in images]
    )
    assert np.allclose(composite, _parts(batch)["composite"], atol=1e-5)


@needs_icons
def test_shape_ignores_recolouring_and_colour_separates_red_from_blue(
    figures: FigurativeEncoder,
) -> None:
    icon = _icon("tango/apps/internet-web-browser.png")
    images = [icon, _recoloured(icon), _tinted(icon, (230, 20, 20)), _tinted(icon, (20, 40, 230))]
    parts = _parts(figures.encode([figures.prepare(image) for image in images]))
    shape, colour = parts["shape"], parts["colour"]
    assert _cosine(shape[0], shape[1]) > 0.999  # the channels swapped: same darkest channel
    assert _cosine(shape[2], shape[3]) > 0.95
    assert _cosine(colour[0], colour[1]) < 0.8  # the recolouring was real (greys stay)
    assert _cosine(colour[2], colour[3]) < 0.2
    assert _cosine(parts["composite"][2], parts["composite"][3]) < _cosine(shape[2], shape[3])


def test_transparency_and_white_paper_are_the_same_figure(figures: FigurativeEncoder) -> None:
    figure = Image.new("RGBA", (48, 48), (0, 0, 255, 0))  # invisible blue everywhere
    for box, colour in (
        ((8, 8, 40, 24), (200, 30, 30, 255)),
        ((16, 24, 32, 44), (250, 200, 0, 255)),
    ):
        figure.paste(colour, box)
    on_paper = Image.new("RGB", (80, 60), (255, 255, 255))
    on_paper.paste(figure, (20, 5), mask=figure.getchannel("A"))
    rows = figures.encode([figures.prepare(figure), figures.prepare(on_paper)])
    for name, part in _parts(rows).items():
        assert _cosine(part[0], part[1]) > 0.99, name


@needs_icons
def test_phash_is_stable_under_resizing_and_tells_icons_apart(figures: FigurativeEncoder) -> None:
    icon = _icon("tango/devices/printer.png")
    other = _icon("tango/apps/internet-web-browser.png")

    def distance(a: str, b: str) -> int:
        return bin(int(a, 16) ^ int(b, 16)).count("1")

    same = figures.phash(icon)
    assert len(same) == 16 and same == figures.phash(icon.copy())
    assert distance(same, figures.phash(icon.resize((64, 64), Image.Resampling.BICUBIC))) <= 6
    assert distance(same, figures.phash(other)) >= 16


def test_image_content_is_validated(plain: ImageEncoder) -> None:
    assert (plain.modality, plain.dim, plain.metric) == ("image", 1280, "ip")
    prepared = plain.preprocess({"image_b64": _encoded(Image.new("RGB", (9, 5)))}, "document")
    assert len(prepared.units) == len(prepared.spans) == 1  # the engine's one-unit contract
    assert prepared.units[0].shape == (3, 3, 224, 224)  # the composite part's three views
    with pytest.raises(InvalidContent, match="image_b64: is required"):
        plain.preprocess({}, "query")
    with pytest.raises(InvalidContent, match="unknown key") as caught:
        plain.preprocess({"image_b64": "", "text": "x"}, "query")
    assert caught.value.field == "text"
    with pytest.raises(InvalidContent, match="image_b64: is not valid base64"):
        plain.preprocess({"image_b64": "%%%"}, "query")
    with pytest.raises(UnknownModel, match="unknown image model 'clip'"):
        load_encoder("image", "clip", device="cpu", chunk_tokens=256, chunk_overlap=32)
