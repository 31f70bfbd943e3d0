"""Text and image encoding on a remote Triton / KServe v2 server instead of torch here.

``IPSIM_TRITON_URL`` (``http://host:8000``, ``https://…``, ``grpc://host:8001``,
``grpcs://…``) makes every text collection encode through :class:`RemoteTextEncoder` and
every image collection through :class:`~ipsim.models.triton_image.RemoteImageEncoder`
(in its own module, so a text server never imports torch). Text:

* ``preprocess`` stays local and is *inherited* from :class:`~ipsim.models.text.TextEncoder`
  (the same validation and the same token-window chunking, from the model's own tokenizer),
  so a document's chunks, and hence its stored spans, are the same as in-process. Only the
  tokenizer is loaded, never the weights.
* ``encode`` sends one batch (already batched by the engine's dynamic batcher) per call.
  The remote model's metadata decides what travels, read once and cached:

  - one ``BYTES`` input: the chunk texts (an ipsim server's own ``/v2`` endpoint, a Triton
    python-backend or ensemble model that tokenises server-side);
  - ``input_ids`` + ``attention_mask`` (+ ``token_type_ids``), ``INT64`` or ``INT32``:
    tokenised here with :func:`tokenize` (what ``ipsim export triton`` models take).

  The output is the model's only output, or the one named ``EMBEDDING`` /
  ``sentence_embedding`` / ``embeddings``, shaped ``[batch, dim]``; rows are L2-normalised
  here (idempotent for a model that already does), as the ``ip`` metric assumes.

Images (the ``image`` modality, ``efficientnet-lite0``): decoding, validation and the
renderings (content box, letterbox to 224 x 224, pixels scaled to [-1, 1]) stay local and
are :class:`~ipsim.models.image.ImageEncoder`'s own ``preprocess``, so a bad image is a 400
here and never travels. The remote model's metadata decides what is sent:

  - one ``BYTES`` input: the image files (an ipsim server's ``/v2`` ``IMAGE`` input, which
    renders them itself exactly as here);
  - one ``FP32`` input ``[-1, views, 3, 224, 224]``: the rendered pixels (what
    ``ipsim export triton --model efficientnet-lite0`` models take).

  The output is read and normalised as for text; the remote model's name defaults to
  ``efficientnet-lite0``.

The collection's model name stays the local model's (``all-MiniLM-L6-v2``): the remote only
executes it, so a collection built either way holds the same vectors and moves freely
between servers. The remote model's name defaults to that name (a model directory's base
name for a local path: what ``ipsim export triton`` names it); ``IPSIM_TRITON_MODEL``
overrides it for the default text model.

Nothing is contacted when the encoder is built, so a server starts while its Triton server
is still down; every failure of the remote (refused, timed out, unknown model, inputs or
outputs that do not fit) raises :class:`RemoteUnavailable`, which the engine answers as
``unavailable`` (503 / UNAVAILABLE), never ``internal``. The metadata is re-read after a
failure, so a remote that comes back (or is re-deployed) is picked up.

tritonclient's HTTP client runs on gevent and is not safe across threads: each thread gets
its own client (the batcher encodes on one thread, so in practice there is one).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ipsim.models.text import TextEncoder

REMOTE_TIMEOUT_S = 60.0
"""Connect and answer time-out of one remote call: a 64-chunk batch on a CPU Triton takes
seconds, a wedged server should not hold the batcher for minutes."""
TOKEN_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
EMBEDDING_OUTPUTS = ("EMBEDDING", "embedding", "sentence_embedding", "embeddings")
"""Output names taken when a model has several outputs, in this order of preference."""
_INT_TYPES = {"INT64": np.int64, "INT32": np.int32}
_FLOAT_TYPES = ("FP32", "FP16", "FP64")
_URL = re.compile(r"(?P<scheme>https?|grpcs?)://(?P<address>[^\s/?#]+:\d{1,5})(?P<path>/\S*)?")


class RemoteUnavailable(RuntimeError):
    """The remote inference server cannot encode now: down, slow, or not serving what we need."""


@dataclass(frozen=True)
class TritonUrl:
    """Where the remote server listens and over which protocol."""

    protocol: Literal["http", "grpc"]
    address: str
    """``host:port`` (plus a base path for HTTP), as tritonclient takes it."""
    ssl: bool

    @classmethod
    def parse(cls, url: str) -> TritonUrl:
        """``http(s)://HOST:PORT[/base]`` or ``grpc(s)://HOST:PORT``; ValueError otherwise."""
        match = _URL.fullmatch(url.strip())
        if match is None:
            raise ValueError(
                f"triton_url must look like http://HOST:PORT or grpc://HOST:PORT, got {url!r}"
            )
        scheme, path = match["scheme"], (match["path"] or "").rstrip("/")
        if scheme.startswith("grpc") and path:
            raise ValueError(f"triton_url: a gRPC address takes no path, got {url!r}")
        protocol: Literal["http", "grpc"] = "grpc" if scheme.startswith("grpc") else "http"
        return cls(protocol, match["address"] + path, scheme.endswith("s"))

    def __str__(self) -> str:
        return f"{self.protocol}{'s' if self.ssl else ''}://{self.address}"


@dataclass(frozen=True)
class Tensor:
    """One input or output of the remote model, as its metadata describes it."""

    name: str
    datatype: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class RemoteSignature:
    """How to call a remote model: what to send (texts or token ids; image files or pixels)
    and which output to read."""

    inputs: tuple[Tensor, ...]
    output: Tensor
    takes_text: bool
    """One BYTES input taking the items themselves: texts, or image files."""

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any], dim: int) -> RemoteSignature:
        """Check a v2 model-metadata answer against what a text encoder of ``dim`` needs."""
        inputs, outputs, described = described_tensors(metadata)
        if len(inputs) == 1 and inputs[0].datatype == "BYTES":
            takes_text = True
        elif {"input_ids", "attention_mask"} <= {t.name for t in inputs} and all(
            t.name in TOKEN_INPUTS and t.datatype in _INT_TYPES for t in inputs
        ):
            takes_text = False
        else:
            raise RemoteUnavailable(
                f"it takes inputs [{described}]; expected one BYTES input (texts) or INT64/INT32"
                " input_ids + attention_mask (token ids)"
            )
        return cls(inputs, embedding_output(outputs, dim), takes_text)


class TritonClient:
    """tritonclient over HTTP or gRPC, one client per thread; every failure is RemoteUnavailable."""

    def __init__(self, url: TritonUrl, *, timeout_s: float = REMOTE_TIMEOUT_S) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self._local = threading.local()

    def metadata(self, model: str) -> dict[str, Any]:
        """The model's v2 metadata as JSON (gRPC's int64 shapes come back as strings)."""
        client = self._client()
        kwargs: dict[str, Any] = {}
        if self.url.protocol == "grpc":
            kwargs = {"as_json": True, "client_timeout": self.timeout_s}
        answer: dict[str, Any] = self._call(model, client.get_model_metadata, model, **kwargs)
        return answer

    def infer(
        self, model: str, arrays: Mapping[str, npt.NDArray[Any]], signature: RemoteSignature
    ) -> npt.NDArray[Any]:
        """Run the model on named input arrays; return the signature's output."""
        module = self._module()
        types = {t.name: t.datatype for t in signature.inputs}
        inputs = []
        for name, array in arrays.items():
            tensor = module.InferInput(name, list(array.shape), types[name])
            tensor.set_data_from_numpy(array)
            inputs.append(tensor)
        outputs = [module.InferRequestedOutput(signature.output.name)]
        kwargs = {"client_timeout": self.timeout_s} if self.url.protocol == "grpc" else {}
        result = self._call(model, self._client().infer, model, inputs, outputs=outputs, **kwargs)
        rows = result.as_numpy(signature.output.name)
        if rows is None:
            raise RemoteUnavailable(f"its answer has no output {signature.output.name!r}")
        return np.asarray(rows)

    def _call(self, model: str, method: Any, *args: Any, **kwargs: Any) -> Any:
        from tritonclient.utils import InferenceServerException

        try:
            return method(*args, **kwargs)
        except InferenceServerException as exc:
            status = f" ({exc.status()})" if exc.status() else ""
            raise RemoteUnavailable(f"{exc.message()}{status}") from exc
        except (OSError, TimeoutError) as exc:  # HTTP: refused, reset, timed out
            raise RemoteUnavailable(f"cannot reach it: {exc}") from exc

    def _module(self) -> Any:
        if self.url.protocol == "grpc":
            import tritonclient.grpc as module
        else:
            import tritonclient.http as module
        return module

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            module = self._module()
            if self.url.protocol == "grpc":
                client = module.InferenceServerClient(self.url.address, ssl=self.url.ssl)
            else:
                client = module.InferenceServerClient(
                    self.url.address,
                    ssl=self.url.ssl,
                    connection_timeout=self.timeout_s,
                    network_timeout=self.timeout_s,
                )
            self._local.client = client
        return client


class RemoteTextEncoder(TextEncoder):
    """A :class:`TextEncoder` whose ``encode`` runs on a remote Triton / KServe v2 model."""

    def __init__(
        self,
        name: str,
        path: Path,
        *,
        url: str,
        remote_model: str | None = None,
        chunk_tokens: int = 256,
        chunk_overlap: int = 32,
        timeout_s: float = REMOTE_TIMEOUT_S,
    ) -> None:
        # Not TextEncoder.__init__: that loads the weights, which live on the remote.
        from transformers import AutoTokenizer

        self.name = name
        self.remote_model = remote_model or default_remote_name(name)
        self.client = TritonClient(TritonUrl.parse(url), timeout_s=timeout_s)
        self.device = "remote"
        self._tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self.max_seq_length = max_seq_length(path, self._tokenizer)
        self.dim = embedding_dim(path)
        window = self.max_seq_length - 2  # as TextEncoder: room for [CLS] and [SEP]
        self.chunk_tokens = max(8, min(chunk_tokens, window))
        self.chunk_overlap = min(chunk_overlap, self.chunk_tokens // 2)
        self._tok_lock = threading.Lock()
        self._signature: RemoteSignature | None = None

    def encode(self, units: Sequence[str]) -> npt.NDArray[np.float32]:
        """Unit-normalised embeddings from the remote model, one row per unit."""
        if not units:
            return np.zeros((0, self.dim), np.float32)
        try:
            signature = self._remote_signature()
            rows = self.client.infer(
                self.remote_model, self.request_arrays(units, signature), signature
            )
            return unit_rows(rows, len(units), self.dim)
        except RemoteUnavailable as exc:
            self._signature = None  # re-read: the remote may come back with another model
            raise RemoteUnavailable(
                f"remote encoder {self.remote_model!r} at {self.client.url}: {exc}"
            ) from exc

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "remote": str(self.client.url), "model": self.remote_model}

    def _remote_signature(self) -> RemoteSignature:
        if self._signature is None:
            metadata = self.client.metadata(self.remote_model)
            self._signature = RemoteSignature.from_metadata(metadata, self.dim)
        return self._signature

    def request_arrays(
        self, units: Sequence[str], signature: RemoteSignature
    ) -> dict[str, npt.NDArray[Any]]:
        """The named input arrays one remote call sends for ``units``."""
        if signature.takes_text:
            (text,) = signature.inputs
            extra = [1] * max(0, len(text.shape) - 1)  # [-1, 1] models take one text per row
            data = np.array([u.encode("utf-8") for u in units], dtype=np.object_)
            return {text.name: data.reshape([len(units), *extra])}
        with self._tok_lock:
            tokens = tokenize(self._tokenizer, units, self.max_seq_length)
        return {t.name: tokens[t.name].astype(_INT_TYPES[t.datatype]) for t in signature.inputs}


def tokenize(tokenizer: Any, texts: Sequence[str], max_length: int) -> dict[str, npt.NDArray[Any]]:
    """Token ids as an exported model takes them: padded to the longest text, truncated.

    ``token_type_ids`` is all zeros (one segment), also for tokenizers that do not make it.
    """
    encoded = tokenizer(
        list(texts),
        padding=True,
        truncation=True,
        max_length=max_length,
        return_tensors="np",
        return_token_type_ids=False,
    )
    ids = np.asarray(encoded["input_ids"], dtype=np.int64)
    mask = np.asarray(encoded["attention_mask"], dtype=np.int64)
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}


def default_remote_name(model: str) -> str:
    """The remote model's name for a text model: itself, or a model directory's base name."""
    return Path(model).name if "/" in model or "\\" in model else model


def max_seq_length(path: Path, tokenizer: Any) -> int:
    """Tokens per window, read as sentence-transformers reads it (its config, else the model's)."""
    config = _json(path / "sentence_bert_config.json")
    if isinstance(config.get("max_seq_length"), int):
        return int(config["max_seq_length"])
    positions = _json(path / "config.json").get("max_position_embeddings", 512)
    return int(min(positions, getattr(tokenizer, "model_max_length", positions)))


def embedding_dim(path: Path) -> int:
    """The sentence vector's size: the transformer's width, or the last Dense layer's output."""
    config = _json(path / "config.json")
    dim = config.get("hidden_size") or config.get("d_model") or config.get("dim")
    for module in _json_list(path / "modules.json"):
        if str(module.get("type", "")).endswith(".Dense"):
            dim = _json(path / str(module.get("path", "")) / "config.json").get("out_features")
    if not isinstance(dim, int) or dim <= 0:
        raise ValueError(f"cannot tell the embedding size of the model in {path}")
    return dim


def described_tensors(
    metadata: Mapping[str, Any],
) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...], str]:
    """A model's inputs and outputs from its metadata, and its inputs in words."""
    inputs = tuple(_tensor(t) for t in metadata.get("inputs", ()))
    outputs = tuple(_tensor(t) for t in metadata.get("outputs", ()))
    described = ", ".join(f"{t.name} {t.datatype} {list(t.shape)}" for t in inputs)
    return inputs, outputs, described


def _tensor(raw: Mapping[str, Any]) -> Tensor:
    return Tensor(
        str(raw.get("name", "")),
        str(raw.get("datatype", "")),
        tuple(int(d) for d in raw.get("shape", ())),
    )


def embedding_output(outputs: Sequence[Tensor], dim: int) -> Tensor:
    if len(outputs) == 1:
        output = outputs[0]
    else:
        named = [t for name in EMBEDDING_OUTPUTS for t in outputs if t.name == name]
        if not named:
            names = [t.name for t in outputs]
            raise RemoteUnavailable(f"none of its outputs {names} is one of {EMBEDDING_OUTPUTS}")
        output = named[0]
    if output.datatype not in _FLOAT_TYPES or len(output.shape) != 2:
        raise RemoteUnavailable(
            f"its output {output.name} is {output.datatype} {list(output.shape)}; expected FP32"
            " [batch, dim] sentence vectors (token vectors need pooling: see `ipsim export triton`)"
        )
    if output.shape[1] not in (-1, dim):
        raise RemoteUnavailable(
            f"its output {output.name} has {output.shape[1]} dimensions; this model has {dim}"
        )
    return output


def unit_rows(rows: npt.NDArray[Any], count: int, dim: int) -> npt.NDArray[np.float32]:
    if rows.shape != (count, dim):
        raise RemoteUnavailable(f"it answered shape {list(rows.shape)} for {count} texts × {dim}")
    vectors = rows.astype(np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _json_list(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [m for m in data if isinstance(m, dict)] if isinstance(data, list) else []


__all__ = [
    "RemoteSignature",
    "RemoteTextEncoder",
    "RemoteUnavailable",
    "TritonClient",
    "TritonUrl",
    "default_remote_name",
    "described_tensors",
    "embedding_dim",
    "embedding_output",
    "max_seq_length",
    "tokenize",
    "unit_rows",
]
