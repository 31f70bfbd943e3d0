"""The KServe v2 / Triton inference protocol over every encoder: the models, and its HTTP side.

A researcher's Triton client (``tritonclient.http`` / ``tritonclient.grpc``) works against
ipsim unchanged: each encoder the engine can load is a model, named as the encoder is
(``all-MiniLM-L6-v2``, ``efficientnet-lite0``, ``morgan2-2048``, ...), with BYTES inputs (one
element per item) and one FP32 output ``EMBEDDING`` of shape ``[n, dim]``. Inference goes
through :meth:`Engine.embed`: the encoder's own ``preprocess`` validates each item, and the
same dynamic batcher as the collections' encodes, so concurrent Triton requests, searches
and upserts share batches.

The first half of this module is transport-neutral (:func:`served_models`, :func:`infer` on
decoded :class:`Tensor` objects) and is shared by the gRPC servicer in
:mod:`ipsim.server.kserve_grpc`. The second half is the HTTP router. It parses bodies itself
rather than through pydantic-typed parameters because the protocol's binary extension
(``Inference-Header-Content-Length`` + raw tensor bytes, what tritonclient sends by default)
is not JSON, and because protocol errors have their own shape, ``{"error": "message"}``,
not ipsim's ``{"error": {"code", "message"}}``: the router answers every failure itself.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import struct
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, ValidationError

from ipsim import __version__
from ipsim.engine.errors import EngineError, InvalidInput, NotFound, Overloaded
from ipsim.server.auth import ApiKeys, AuthError
from ipsim.server.errors import STATUS, describe_validation_error

if TYPE_CHECKING:
    from ipsim.engine.engine import Engine

log = logging.getLogger(__name__)

SERVER_NAME = "ipsim"
EXTENSIONS = ("binary_tensor_data", "model_repository")
"""``model_repository``: the index only (models load on first use, never on request)."""
PLATFORM = "ipsim"
VERSION = "1"
"""Every model has the one version; ``""`` (the protocol's "any") means it too."""
OUTPUT = "EMBEDDING"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")
_CONTENT_FIELD = re.compile(r"contents\[(\d+)\]\.(\w+)")
_INTERNAL = "internal error; the server log has the details"


# --- the models -----------------------------------------------------------------------


@dataclass(frozen=True)
class InputSpec:
    """One BYTES input of a modality's models and the content key it fills per item."""

    name: str
    key: str
    file: bool = False
    """Raw file bytes (an image, a mesh), handed to ``preprocess`` as base64; else UTF-8 text."""
    optional: bool = False
    """May be left out, or an element left empty, as long as the item has another input."""


INPUTS: dict[str, tuple[InputSpec, ...]] = {
    "text": (InputSpec("TEXT", "text"),),
    "image": (InputSpec("IMAGE", "image_b64", file=True),),
    "chemical": (InputSpec("SMILES", "smiles"),),
    "sequence": (InputSpec("SEQUENCE", "sequence"),),
    "mesh": (InputSpec("MESH", "mesh_b64", file=True), InputSpec("FORMAT", "format")),
    "trademark": (
        InputSpec("WORD", "word", optional=True),
        InputSpec("IMAGE", "image_b64", file=True, optional=True),
    ),
}


@dataclass(frozen=True)
class ServedModel:
    """A model of the protocol: one encoder of the engine."""

    name: str
    modality: str

    @property
    def inputs(self) -> tuple[InputSpec, ...]:
        return INPUTS[self.modality]


@dataclass(frozen=True)
class TensorMetadata:
    name: str
    datatype: str
    shape: list[int]


@dataclass(frozen=True)
class ModelMetadata:
    """The protocol's model metadata (the same fields over HTTP and gRPC)."""

    name: str
    versions: list[str]
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]


@dataclass(frozen=True)
class Tensor:
    """A decoded input tensor: its BYTES elements, flattened in row-major order."""

    name: str
    datatype: str
    shape: list[int]
    items: list[bytes]


def served_models(engine: Engine) -> list[ServedModel]:
    """Every encoder the engine serves whose name a URL path can carry (a model directory's
    path or a mesh checkpoint's is left out), first of each name winning."""
    models: dict[str, ServedModel] = {}
    for modality, name in engine.encoders():
        if modality in INPUTS and _NAME.fullmatch(name) and name not in models:
            models[name] = ServedModel(name, modality)
    return list(models.values())


def find_model(engine: Engine, name: str, version: str = "") -> ServedModel:
    """The model called ``name`` (``NotFound`` for an unknown name or version)."""
    for model in served_models(engine):
        if model.name == name:
            if version not in ("", VERSION):
                raise NotFound(f"model {name!r} has no version {version!r} (only {VERSION!r})")
            return model
    raise NotFound(f"unknown model {name!r}")


async def model_metadata(engine: Engine, model: ServedModel) -> ModelMetadata:
    """Inputs and outputs with datatypes and shapes (loads the encoder to learn its ``dim``)."""
    encoder = await engine.encoder(model.modality, model.name)
    return ModelMetadata(
        name=model.name,
        versions=[VERSION],
        platform=PLATFORM,
        inputs=[TensorMetadata(spec.name, "BYTES", [-1]) for spec in model.inputs],
        outputs=[TensorMetadata(OUTPUT, "FP32", [-1, encoder.dim])],
    )


async def infer(
    engine: Engine, model: ServedModel, tensors: Sequence[Tensor], *, max_items: int
) -> npt.NDArray[np.float32]:
    """``(n, dim)`` float32 rows, one per item of the input tensors.

    Raise ``InvalidInput`` naming the input (``TEXT``) or the element (``SMILES[2]``).
    """
    given = _check_inputs(model, tensors)
    count = _batch_size(given, max_items)
    contents = [
        {
            spec.key: _element(spec, tensor, i)
            for spec, tensor in given
            if not (spec.optional and tensor.items[i] == b"")
        }
        for i in range(count)
    ]
    try:
        return await engine.embed(model.modality, model.name, contents)
    except InvalidInput as exc:
        raise _by_input(model, exc) from exc


def _check_inputs(model: ServedModel, tensors: Sequence[Tensor]) -> list[tuple[InputSpec, Tensor]]:
    specs = {spec.name: spec for spec in model.inputs}
    given: dict[str, Tensor] = {}
    for tensor in tensors:
        if tensor.name not in specs:
            expected = ", ".join(specs)
            raise InvalidInput(tensor.name, f"is not an input of model {model.name!r} ({expected})")
        if tensor.name in given:
            raise InvalidInput(tensor.name, "is given twice")
        given[tensor.name] = tensor
    missing = [spec.name for spec in model.inputs if not spec.optional and spec.name not in given]
    if missing:
        raise InvalidInput(missing[0], f"is required by model {model.name!r}")
    if not given:
        names = " or ".join(specs)
        raise InvalidInput("inputs", f"model {model.name!r} needs {names}")
    return [(specs[name], tensor) for name, tensor in given.items()]


def _batch_size(given: list[tuple[InputSpec, Tensor]], max_items: int) -> int:
    counts = set()
    for _, tensor in given:
        require_bytes(tensor.name, tensor.datatype)
        shape = tensor.shape
        if not (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)) or shape[0] < 0:
            raise InvalidInput(tensor.name, f"shape must be [n] or [n, 1], not {shape}")
        if len(tensor.items) != shape[0]:
            raise InvalidInput(
                tensor.name,
                f"shape {shape} needs {shape[0]} elements, the data holds {len(tensor.items)}",
            )
        counts.add(shape[0])
    if len(counts) > 1:
        raise InvalidInput("inputs", f"every input needs the same batch size, not {sorted(counts)}")
    count = counts.pop()
    if count == 0:
        raise InvalidInput(given[0][1].name, "the batch is empty (shape [0])")
    if count > max_items:
        raise InvalidInput(given[0][1].name, f"at most {max_items} items per request, got {count}")
    return count


def _element(spec: InputSpec, tensor: Tensor, i: int) -> str:
    value = tensor.items[i]
    if spec.file:
        return base64.b64encode(value).decode("ascii")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{spec.name}[{i}]", "is not UTF-8 text") from exc


def _by_input(model: ServedModel, exc: InvalidInput) -> InvalidInput:
    """``contents[2].smiles: ...`` (the engine's field) → ``SMILES[2]: ...``."""
    match = _CONTENT_FIELD.fullmatch(exc.field or "")
    if match is None:
        return exc
    index, key = match.groups()
    names = {spec.key: spec.name for spec in model.inputs}
    if key not in names:  # a key no input fills (``content``): blame the first input
        key = model.inputs[0].key
    return InvalidInput(f"{names[key]}[{index}]", exc.detail)


def require_bytes(name: str, datatype: str) -> None:
    """Every input is BYTES (checked before its data is decoded as such)."""
    if datatype != "BYTES":
        raise InvalidInput(name, f"datatype must be BYTES, not {datatype!r}")


def check_outputs(names: Sequence[str]) -> None:
    """Requested outputs may only be the one output."""
    for name in names:
        if name != OUTPUT:
            raise InvalidInput(name, f"is not an output (the one output is {OUTPUT})")


def split_bytes(raw: bytes, name: str) -> list[bytes]:
    """The elements of a BYTES tensor in the protocol's binary form: each a 4-byte
    little-endian length, then that many bytes."""
    items = []
    offset = 0
    while offset < len(raw):
        if offset + 4 > len(raw):
            raise InvalidInput(name, "binary BYTES data ends inside an element's length")
        (size,) = struct.unpack_from("<I", raw, offset)
        offset += 4
        if offset + size > len(raw):
            raise InvalidInput(name, "binary BYTES data ends inside an element")
        items.append(raw[offset : offset + size])
        offset += size
    return items


# --- HTTP ---------------------------------------------------------------------------------

router = APIRouter(prefix="/v2", tags=["kserve-v2"])
_MODEL = "/models/{name}"
_VERSIONED = "/models/{name}/versions/{version}"


class _InputBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    shape: list[int]
    datatype: str
    parameters: dict[str, Any] | None = None
    data: Any = None


class _OutputBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    parameters: dict[str, Any] | None = None


class _InferBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    parameters: dict[str, Any] | None = None
    inputs: list[_InputBody]
    outputs: list[_OutputBody] | None = None


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def _answer(
    request: Request, work: Callable[[Engine], Awaitable[Response]], *, scope: str | None = "read"
) -> Response:
    """Authorize, run ``work``, and turn every failure into the protocol's error shape."""
    try:
        keys: ApiKeys | None = request.app.state.api_keys
        if keys is not None and scope is not None:
            keys.authorize(request.headers.get("authorization"), scope)
        return await work(request.app.state.engine)
    except AuthError as exc:
        headers = {"WWW-Authenticate": "Bearer"} if exc.code == "unauthenticated" else None
        return _error(STATUS[exc.code], exc.message, headers)
    except Overloaded as exc:
        return _error(429, exc.message, {"Retry-After": str(max(1, round(exc.retry_after)))})
    except EngineError as exc:
        return _error(STATUS.get(exc.code, 500), exc.message)
    except Exception:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _error(500, _INTERNAL)


@router.get("")
async def server_metadata(request: Request) -> Response:
    async def work(_: Engine) -> Response:
        body = {"name": SERVER_NAME, "version": __version__, "extensions": list(EXTENSIONS)}
        return JSONResponse(body)

    return await _answer(request, work, scope=None)


@router.get("/health/live")
async def live() -> Response:
    return Response(status_code=200)


@router.get("/health/ready")
async def ready(request: Request) -> Response:
    engine_ready = bool(request.app.state.engine.ready)
    return Response(status_code=200) if engine_ready else _error(503, "starting or stopping")


@router.get(_MODEL)
@router.get(_VERSIONED)
async def get_model_metadata(request: Request, name: str, version: str = "") -> Response:
    async def work(engine: Engine) -> Response:
        metadata = await model_metadata(engine, find_model(engine, name, version))
        return JSONResponse(asdict(metadata))

    return await _answer(request, work)


@router.get(_MODEL + "/ready")
@router.get(_VERSIONED + "/ready")
async def model_ready(request: Request, name: str, version: str = "") -> Response:
    async def work(engine: Engine) -> Response:
        find_model(engine, name, version)
        if not engine.ready:
            return _error(503, "starting or stopping")
        return Response(status_code=200)

    return await _answer(request, work)


@router.post("/repository/index")
async def repository_index(request: Request) -> Response:
    async def work(engine: Engine) -> Response:
        state = "READY" if engine.ready else "UNAVAILABLE"
        models = [
            {"name": m.name, "version": VERSION, "state": state} for m in served_models(engine)
        ]
        return JSONResponse(models)

    return await _answer(request, work)


@router.post(_MODEL + "/infer")
@router.post(_VERSIONED + "/infer")
async def model_infer(request: Request, name: str, version: str = "") -> Response:
    async def work(engine: Engine) -> Response:
        model = find_model(engine, name, version)
        body, tensors = _parse_infer(request.headers, await request.body())
        binary = _binary_output(body)
        limit = request.app.state.settings.max_documents_per_request
        rows = await infer(engine, model, tensors, max_items=limit)
        return _infer_response(model, body.id, rows, binary)

    return await _answer(request, work)


def _parse_infer(headers: Any, raw: bytes) -> tuple[_InferBody, list[Tensor]]:
    """The JSON header and the decoded input tensors of an infer request body."""
    if headers.get("content-encoding") not in (None, "identity"):
        raise InvalidInput("Content-Encoding", "compressed requests are not supported")
    header_size = _header_size(headers.get("inference-header-content-length"), len(raw))
    try:
        document = json.loads(raw[:header_size])
        body = _InferBody.model_validate(document)
    except (ValueError, UnicodeDecodeError) as exc:
        if isinstance(exc, ValidationError):
            raise InvalidInput("request", describe_validation_error(list(exc.errors()))) from exc
        raise InvalidInput("request", "the inference header is not valid JSON") from exc
    binary = raw[header_size:]
    tensors = []
    for tensor in body.inputs:
        items, binary = _input_items(tensor, binary)
        tensors.append(Tensor(tensor.name, tensor.datatype, tensor.shape, items))
    if binary:
        raise InvalidInput("request", f"{len(binary)} bytes of binary data belong to no input")
    return body, tensors


def _header_size(value: str | None, body_size: int) -> int:
    if value is None:
        return body_size
    if not value.isdigit() or int(value) > body_size:
        raise InvalidInput(
            "Inference-Header-Content-Length", f"must be a byte count up to {body_size}"
        )
    return int(value)


def _input_items(tensor: _InputBody, binary: bytes) -> tuple[list[bytes], bytes]:
    """The tensor's elements, from its binary slice or its JSON ``data``, and what remains."""
    require_bytes(tensor.name, tensor.datatype)
    size = (tensor.parameters or {}).get("binary_data_size")
    if size is not None:
        if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= len(binary):
            message = f"binary_data_size must be a byte count up to {len(binary)}"
            raise InvalidInput(f"{tensor.name}.parameters", message)
        return split_bytes(binary[:size], tensor.name), binary[size:]
    if tensor.data is None:
        raise InvalidInput(tensor.name, "has neither data nor binary_data_size")
    items = []
    for value in _flatten(tensor.data):
        if not isinstance(value, str):
            raise InvalidInput(
                tensor.name, f"BYTES data must be strings, not {type(value).__name__}"
            )
        items.append(value.encode("utf-8"))
    return items, binary


def _flatten(data: Any) -> list[Any]:
    if not isinstance(data, list):
        return [data]
    return [leaf for value in data for leaf in _flatten(value)]


def _binary_output(body: _InferBody) -> bool:
    """Whether ``EMBEDDING`` goes back as raw bytes; refuse outputs the models do not have."""
    check_outputs([output.name for output in body.outputs or ()])
    if body.outputs:
        return any(bool((o.parameters or {}).get("binary_data")) for o in body.outputs)
    return bool((body.parameters or {}).get("binary_data_output"))


def _infer_response(
    model: ServedModel, request_id: str | None, rows: npt.NDArray[np.float32], binary: bool
) -> Response:
    output: dict[str, Any] = {"name": OUTPUT, "datatype": "FP32", "shape": list(rows.shape)}
    raw = rows.astype("<f4").tobytes()
    if binary:
        output["parameters"] = {"binary_data_size": len(raw)}
    else:
        output["data"] = rows.ravel().tolist()
    body: dict[str, Any] = {"model_name": model.name, "model_version": VERSION}
    if request_id is not None:
        body["id"] = request_id
    body["outputs"] = [output]
    if not binary:
        return JSONResponse(body)
    header = json.dumps(body).encode()
    return Response(
        header + raw,
        media_type="application/octet-stream",
        headers={"Inference-Header-Content-Length": str(len(header))},
    )


__all__ = [
    "INPUTS",
    "OUTPUT",
    "InputSpec",
    "ModelMetadata",
    "ServedModel",
    "Tensor",
    "check_outputs",
    "find_model",
    "infer",
    "model_metadata",
    "require_bytes",
    "router",
    "served_models",
    "split_bytes",
]
