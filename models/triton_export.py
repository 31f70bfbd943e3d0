"""``ipsim export triton``: an encoder as a Triton model repository (ONNX + ``config.pbtxt``).

Layout (Triton's): ``OUT/<name>/config.pbtxt`` and ``OUT/<name>/1/model.onnx``, served by
``tritonserver --model-repository OUT`` on the ``onnxruntime_onnx`` platform, with
``dynamic_batching`` and ``max_batch_size`` so Triton merges concurrent requests.

Text (all-MiniLM-L6-v2 or any local sentence-transformers / Hugging Face model directory):

=================  =====  ===================  ======================================
tensor             type   dims (batch first)   meaning
=================  =====  ===================  ======================================
``input_ids``      INT64  [-1, -1]             token ids, padded to the longest text
``attention_mask`` INT64  [-1, -1]             1 for a token, 0 for padding
``EMBEDDING``      FP32   [-1, dim]            the sentence vector, unit length
=================  =====  ===================  ======================================

The graph is the model's own sentence-transformers module stack (transformer, its pooling
— mean for MiniLM —, any Dense layer) followed by L2 normalisation, exported by
``torch.onnx.export`` with dynamic batch and sequence axes: the vectors equal
:class:`~ipsim.models.text.TextEncoder`'s within float error (the tests hold it to 1e-4).
Tokenisation stays with the client, the standard Triton arrangement for transformer
models (an ONNX graph cannot hold a WordPiece tokenizer without custom operators, and a
python-backend tokenizer would put a Python interpreter in every request's path): the
client tokenises with the model's own tokenizer, as :func:`ipsim.models.triton_backend.tokenize`
does, truncating to the model's window (256 tokens for MiniLM). ``token_type_ids`` is
fixed to zeros inside the graph (one segment), so the client sends two tensors. Triton's
dynamic batcher only merges requests of the same padded length; ipsim's remote backend
sends whole batches, so that costs it nothing.

The legacy TorchScript exporter (``dynamo=False``) is used: it needs no ``onnxscript`` and
traces the tokenizer-padded example (two texts of different length) through the masked
attention path, so padding is handled exactly.

Image (``efficientnet-lite0``, the ``image`` modality): input ``PIXELS`` FP32
``[-1, views, 3, 224, 224]`` — the renderings :class:`~ipsim.models.image.ImageEncoder`'s
``preprocess`` makes (pixels scaled to [-1, 1]) —, output ``EMBEDDING`` FP32 ``[-1, 1280]``:
each view's GeM-pooled unit feature, summed over views and normalised, which is exactly
``ImageEncoder.encode``. Decoding and rendering the image stays client-side.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ipsim.models.registry import resolve_text_model
from ipsim.models.triton_backend import default_remote_name, tokenize

ONNX_OPSET = 17
DEFAULT_MAX_BATCH_SIZE = 64
"""Matches the engine's default ``max_batch_size``: a batch ipsim sends always fits."""
MAX_QUEUE_DELAY_US = 2000
"""Triton's dynamic batching wait, as ipsim's own ``max_delay_ms`` default (2 ms)."""
_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


@dataclass(frozen=True)
class TensorSpec:
    """One input or output of an exported model; ``dims`` exclude the batch dimension."""

    name: str
    data_type: str
    """Triton's config name: ``TYPE_INT64``, ``TYPE_FP32``."""
    dims: tuple[int, ...]


@dataclass(frozen=True)
class ExportedModel:
    """What :func:`export_triton` wrote."""

    name: str
    config: Path
    onnx: Path
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]


def export_triton(
    model: str,
    out: Path,
    *,
    name: str | None = None,
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
) -> ExportedModel:
    """Write ``out/<name>/config.pbtxt`` and ``out/<name>/1/model.onnx`` for ``model``.

    ``model`` is ``efficientnet-lite0`` (the image encoder) or a text model name or
    directory; :class:`~ipsim.models.registry.UnknownModel` for anything else.
    """
    from ipsim.models.image import MODEL_NAME as IMAGE_MODEL

    if max_batch_size < 1:
        raise ValueError("max_batch_size must be at least 1")
    if model == IMAGE_MODEL:
        return _write(out, _checked(name or IMAGE_MODEL), max_batch_size, _ImageExport())
    text_name, path = resolve_text_model(model)
    name = _checked(name or default_remote_name(text_name))
    return _write(out, name, max_batch_size, _TextExport(path))


def config_pbtxt(
    name: str,
    max_batch_size: int,
    inputs: Sequence[TensorSpec],
    outputs: Sequence[TensorSpec],
) -> str:
    """A Triton ``config.pbtxt`` for an ONNX model with dynamic batching."""

    def tensors(specs: Sequence[TensorSpec]) -> str:
        rows = []
        for spec in specs:
            dims = ", ".join(map(str, spec.dims))
            rows.append(f'  {{ name: "{spec.name}" data_type: {spec.data_type} dims: [ {dims} ] }}')
        return ",\n".join(rows)

    return (
        f'name: "{name}"\n'
        'platform: "onnxruntime_onnx"\n'
        f"max_batch_size: {max_batch_size}\n"
        f"input [\n{tensors(inputs)}\n]\n"
        f"output [\n{tensors(outputs)}\n]\n"
        f"dynamic_batching {{ max_queue_delay_microseconds: {MAX_QUEUE_DELAY_US} }}\n"
        "instance_group [ { kind: KIND_AUTO count: 1 } ]\n"
    )


class _TextExport:
    """A sentence-transformers model → token ids in, unit sentence vectors out."""

    def __init__(self, path: Path) -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(path), device="cpu", local_files_only=True).eval()
        dim = int(self.model.get_embedding_dimension() or 0)
        self.inputs = (
            TensorSpec("input_ids", "TYPE_INT64", (-1,)),
            TensorSpec("attention_mask", "TYPE_INT64", (-1,)),
        )
        self.outputs = (TensorSpec("EMBEDDING", "TYPE_FP32", (dim,)),)

    def module(self) -> Any:
        import torch

        model = self.model
        with_types = "token_type_ids" in getattr(model.tokenizer, "model_input_names", ())

        class Pooled(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.stack = model

            def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> Any:
                features = {"input_ids": input_ids, "attention_mask": attention_mask}
                if with_types:
                    features["token_type_ids"] = torch.zeros_like(input_ids)
                vectors = self.stack(features)["sentence_embedding"]
                return torch.nn.functional.normalize(vectors, p=2.0, dim=1)

        return Pooled().eval()

    def example(self) -> tuple[Any, ...]:
        import torch

        # Two lengths, so the traced graph keeps the padding mask.
        texts = ["a short title", "a longer title: a method of making a polymer film, and its use"]
        tokens = tokenize(self.model.tokenizer, texts, int(self.model.max_seq_length or 512))
        return (torch.from_numpy(tokens["input_ids"]), torch.from_numpy(tokens["attention_mask"]))

    def dynamic_axes(self) -> dict[str, dict[int, str]]:
        return {
            "input_ids": {0: "batch", 1: "sequence"},
            "attention_mask": {0: "batch", 1: "sequence"},
            "EMBEDDING": {0: "batch"},
        }


class _ImageExport:
    """EfficientNet-Lite0 → the image modality's composite vector from its renderings."""

    def __init__(self) -> None:
        from ipsim.models.image import COMPOSITE_VIEWS, FEATURES, INPUT_SIZE

        self.views = len(COMPOSITE_VIEWS)
        self.size = INPUT_SIZE
        self.inputs = (TensorSpec("PIXELS", "TYPE_FP32", (self.views, 3, INPUT_SIZE, INPUT_SIZE)),)
        self.outputs = (TensorSpec("EMBEDDING", "TYPE_FP32", (FEATURES,)),)

    def module(self) -> Any:
        import torch

        from ipsim.models.image import GEM_POWER, load_network

        network = load_network("cpu").to(memory_format=torch.contiguous_format)

        class Composite(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.network = network

            def forward(self, pixels: torch.Tensor) -> torch.Tensor:
                batch, views = pixels.shape[0], pixels.shape[1]
                maps = self.network.forward_features(pixels.flatten(0, 1))
                pooled = maps.clamp(min=1e-6).pow(GEM_POWER).mean(dim=(2, 3)).pow(1 / GEM_POWER)
                unit = torch.nn.functional.normalize(pooled, p=2.0, dim=1)
                summed = unit.reshape(batch, views, -1).sum(dim=1)
                return torch.nn.functional.normalize(summed, p=2.0, dim=1)

        return Composite().eval()

    def example(self) -> tuple[Any, ...]:
        import torch

        return (torch.rand(2, self.views, 3, self.size, self.size) * 2 - 1,)

    def dynamic_axes(self) -> dict[str, dict[int, str]]:
        return {"PIXELS": {0: "batch"}, "EMBEDDING": {0: "batch"}}


def _write(
    out: Path, name: str, max_batch_size: int, export: _TextExport | _ImageExport
) -> ExportedModel:
    version = out / name / "1"
    version.mkdir(parents=True, exist_ok=True)
    onnx_path = version / "model.onnx"
    _onnx_export(export, onnx_path)
    config = out / name / "config.pbtxt"
    config.write_text(config_pbtxt(name, max_batch_size, export.inputs, export.outputs))
    return ExportedModel(name, config, onnx_path, export.inputs, export.outputs)


def _checked(name: str) -> str:
    if not _MODEL_NAME.fullmatch(name):
        raise ValueError(f"name: {name!r} is not a usable Triton model name (letters, digits, ._-)")
    return name


def _onnx_export(export: _TextExport | _ImageExport, path: Path) -> None:
    import torch

    module = export.module()
    names = [s.name for s in export.inputs]
    with warnings.catch_warnings(), torch.inference_mode():
        # Tracer warnings about Python branches on shapes: each is fixed the same for any input.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            export.example(),
            str(path),
            input_names=names,
            output_names=[s.name for s in export.outputs],
            dynamic_axes=export.dynamic_axes(),
            opset_version=ONNX_OPSET,
            dynamo=False,
        )


__all__ = ["ExportedModel", "TensorSpec", "config_pbtxt", "export_triton"]
