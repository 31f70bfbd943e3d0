"""Image encoding on a remote Triton / KServe v2 server: :class:`RemoteImageEncoder`.

Decoding, validation and the renderings (content box, letterbox to 224 x 224, pixels scaled
to [-1, 1]) stay local and are :class:`~ipsim.models.image.ImageEncoder`'s own
``preprocess``, so a bad image is a 400 here and never travels; only the network runs on
the remote. The remote model's metadata (read once, re-read after a failure) decides what
one call sends:

* one ``BYTES`` input: the image files, one element per image (an ipsim server's ``/v2``
  ``IMAGE`` input, which renders them itself exactly as here);
* one ``FP32`` input ``[-1, views, 3, 224, 224]``: the rendered pixels (what
  ``ipsim export triton --model efficientnet-lite0`` models take).

The output is read and normalised as for text (:mod:`ipsim.models.triton_backend`, whose
client, URL rule and failure rule, :class:`RemoteUnavailable` → ``unavailable``, are
shared). The remote model's name defaults to ``efficientnet-lite0``. A unit carries both
the renderings and the file because which one travels is known only from the remote's
metadata, read at the first encode.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from ipsim.models.base import Prepared, Purpose
from ipsim.models.image import COMPOSITE_VIEWS, INPUT_SIZE, MODEL_NAME, ImageEncoder
from ipsim.models.image_decode import MAX_IMAGE_BYTES, _base64_bytes
from ipsim.models.triton_backend import (
    REMOTE_TIMEOUT_S,
    RemoteSignature,
    RemoteUnavailable,
    TritonClient,
    TritonUrl,
    described_tensors,
    embedding_output,
    unit_rows,
)


def image_signature(metadata: Mapping[str, Any], dim: int) -> RemoteSignature:
    """Check a v2 model-metadata answer against what the image encoder needs
    (``takes_text``: it takes the image files)."""
    inputs, outputs, described = described_tensors(metadata)
    views = len(COMPOSITE_VIEWS)
    pixels = {(views, 3, INPUT_SIZE, INPUT_SIZE), (-1, 3, INPUT_SIZE, INPUT_SIZE)}
    if len(inputs) == 1 and inputs[0].datatype == "BYTES":
        takes_files = True
    elif len(inputs) == 1 and inputs[0].datatype == "FP32" and inputs[0].shape[1:] in pixels:
        takes_files = False
    else:
        raise RemoteUnavailable(
            f"it takes inputs [{described}]; expected one BYTES input (image files) or one"
            f" FP32 input [-1, {views}, 3, {INPUT_SIZE}, {INPUT_SIZE}] (rendered pixels)"
        )
    return RemoteSignature(inputs, embedding_output(outputs, dim), takes_files)


@dataclass(frozen=True)
class RemoteImage:
    """One image prepared for a remote model: its renderings, and its file."""

    pixels: torch.Tensor
    """``(views, 3, 224, 224)`` float32 in [-1, 1]: ``ImageEncoder.preprocess``'s unit."""
    data: bytes
    """The decoded file, for a remote that renders images itself (BYTES)."""


class RemoteImageEncoder(ImageEncoder):
    """An :class:`ImageEncoder` whose network runs on a remote Triton / KServe v2 model.

    Its units are :class:`RemoteImage` (the renderings plus the file), hence the overrides'
    ignored type differences: the units never leave the encoder.
    """

    def __init__(
        self,
        *,
        url: str,
        remote_model: str | None = None,
        timeout_s: float = REMOTE_TIMEOUT_S,
    ) -> None:
        # Not ImageEncoder.__init__: that loads the network, which lives on the remote.
        self.remote_model = remote_model or MODEL_NAME
        self.client = TritonClient(TritonUrl.parse(url), timeout_s=timeout_s)
        self.device = "remote"
        self._signature: RemoteSignature | None = None

    def preprocess(  # type: ignore[override]
        self, content: Mapping[str, Any], purpose: Purpose
    ) -> Prepared[RemoteImage]:
        """Validate, decode and render locally (``ImageEncoder.preprocess``); keep the file."""
        prepared = super().preprocess(content, purpose)
        (pixels,) = prepared.units
        data = _base64_bytes(content["image_b64"], "image_b64", MAX_IMAGE_BYTES)  # valid now
        return Prepared(units=[RemoteImage(pixels, data)], spans=prepared.spans)

    def encode(self, units: Sequence[RemoteImage]) -> npt.NDArray[np.float32]:  # type: ignore[override]
        """Unit-norm composite embeddings from the remote model, one row per image."""
        if not units:
            return np.zeros((0, self.dim), np.float32)
        try:
            if self._signature is None:
                metadata = self.client.metadata(self.remote_model)
                self._signature = image_signature(metadata, self.dim)
            rows = self.client.infer(
                self.remote_model, self.request_arrays(units, self._signature), self._signature
            )
            return unit_rows(rows, len(units), self.dim)
        except RemoteUnavailable as exc:
            self._signature = None  # re-read: the remote may come back with another model
            raise RemoteUnavailable(
                f"remote encoder {self.remote_model!r} at {self.client.url}: {exc}"
            ) from exc

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "remote": str(self.client.url), "model": self.remote_model}

    @staticmethod
    def request_arrays(
        units: Sequence[RemoteImage], signature: RemoteSignature
    ) -> dict[str, npt.NDArray[Any]]:
        """The named input array one remote call sends for ``units``."""
        (tensor,) = signature.inputs
        if signature.takes_text:
            extra = [1] * max(0, len(tensor.shape) - 1)
            files = np.array([u.data for u in units], dtype=np.object_)
            return {tensor.name: files.reshape([len(units), *extra])}
        pixels = np.stack([u.pixels.numpy() for u in units]).astype(np.float32, copy=False)
        return {tensor.name: pixels}
