"""The KServe v2 gRPC service, ``inference.GRPCInferenceService``, over the engine's encoders.

The servicer subclasses the generated base class that ships inside ``tritonclient``
(``tritonclient.grpc.service_pb2_grpc``) instead of generating its own copy of Triton's
``grpc_service.proto``: one definition of the wire format, the same one the clients use,
and every RPC not overridden here (statistics, shared memory, model control, streaming)
answers UNIMPLEMENTED. The models, validation and inference are those of
:mod:`ipsim.server.kserve`; this module only converts messages and maps failures to status
codes. Health, server metadata and liveness need no key; the model RPCs need ``read``,
from the ``authorization`` metadata as ipsim's own service reads it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import grpc
from tritonclient.grpc import service_pb2, service_pb2_grpc

from ipsim import __version__
from ipsim.engine.errors import EngineError, InvalidInput
from ipsim.server.auth import ApiKeys, AuthError
from ipsim.server.grpc_convert import STATUS_OF_CODE, metadata_value
from ipsim.server.kserve import (
    EXTENSIONS,
    OUTPUT,
    SERVER_NAME,
    VERSION,
    ServedModel,
    Tensor,
    check_outputs,
    find_model,
    infer,
    model_metadata,
    require_bytes,
    served_models,
    split_bytes,
)

if TYPE_CHECKING:
    from ipsim.engine.engine import Engine

log = logging.getLogger(__name__)

SERVICE_NAME: str = service_pb2.DESCRIPTOR.services_by_name["GRPCInferenceService"].full_name
T = TypeVar("T")
Context = grpc.aio.ServicerContext[Any, Any]


class InferenceServicer(service_pb2_grpc.GRPCInferenceServiceServicer):  # type: ignore[misc]
    """``inference.GRPCInferenceService``: health, metadata, the repository index, ModelInfer."""

    def __init__(self, engine: Engine, *, api_keys: ApiKeys | None, max_items: int) -> None:
        self._engine = engine
        self._api_keys = api_keys
        self._max_items = max_items

    async def ServerLive(self, request: Any, context: Context) -> Any:
        return service_pb2.ServerLiveResponse(live=True)

    async def ServerReady(self, request: Any, context: Context) -> Any:
        return service_pb2.ServerReadyResponse(ready=self._engine.ready)

    async def ServerMetadata(self, request: Any, context: Context) -> Any:
        return service_pb2.ServerMetadataResponse(
            name=SERVER_NAME, version=__version__, extensions=list(EXTENSIONS)
        )

    async def ModelReady(self, request: Any, context: Context) -> Any:
        """Ready when the engine is and the model exists (an unknown one is just not ready)."""

        async def work() -> Any:
            names = {model.name for model in served_models(self._engine)}
            ready = self._engine.ready and request.name in names
            return service_pb2.ModelReadyResponse(ready=ready and request.version in ("", VERSION))

        return await self._serve(context, work)

    async def ModelMetadata(self, request: Any, context: Context) -> Any:
        async def work() -> Any:
            model = find_model(self._engine, request.name, request.version)
            metadata = await model_metadata(self._engine, model)
            tensor = service_pb2.ModelMetadataResponse.TensorMetadata
            return service_pb2.ModelMetadataResponse(
                name=metadata.name,
                versions=metadata.versions,
                platform=metadata.platform,
                inputs=[
                    tensor(name=t.name, datatype=t.datatype, shape=t.shape) for t in metadata.inputs
                ],
                outputs=[
                    tensor(name=t.name, datatype=t.datatype, shape=t.shape)
                    for t in metadata.outputs
                ],
            )

        return await self._serve(context, work)

    async def RepositoryIndex(self, request: Any, context: Context) -> Any:
        async def work() -> Any:
            state = "READY" if self._engine.ready else "UNAVAILABLE"
            index = service_pb2.RepositoryIndexResponse.ModelIndex
            models = [
                index(name=m.name, version=VERSION, state=state)
                for m in served_models(self._engine)
            ]
            return service_pb2.RepositoryIndexResponse(models=models)

        return await self._serve(context, work)

    async def ModelInfer(self, request: Any, context: Context) -> Any:
        async def work() -> Any:
            model = find_model(self._engine, request.model_name, request.model_version)
            check_outputs([output.name for output in request.outputs])
            tensors = _input_tensors(request)
            rows = await infer(self._engine, model, tensors, max_items=self._max_items)
            return _infer_response(model, request.id, rows)

        return await self._serve(context, work)

    async def _serve(self, context: Context, work: Callable[[], Awaitable[T]]) -> T:
        """Authorize (scope ``read``), run ``work``, turn every failure into a status."""
        try:
            if self._api_keys is not None:
                self._api_keys.authorize(metadata_value(context, "authorization"), "read")
            return await work()
        except (AuthError, EngineError) as exc:
            await _abort(context, exc.code, exc.message)
        except Exception:
            log.exception("unexpected error in %s", getattr(work, "__qualname__", "an RPC"))
            await _abort(context, "internal", "internal error; the server log has the details")


def _input_tensors(request: Any) -> list[Tensor]:
    """Each input's BYTES elements, from ``raw_input_contents`` (what tritonclient sends)
    or from ``contents.bytes_contents``."""
    raw = list(request.raw_input_contents)
    if raw and len(raw) != len(request.inputs):
        raise InvalidInput(
            "raw_input_contents", f"holds {len(raw)} tensors for {len(request.inputs)} inputs"
        )
    tensors = []
    for i, tensor in enumerate(request.inputs):
        require_bytes(tensor.name, tensor.datatype)
        items = split_bytes(raw[i], tensor.name) if raw else list(tensor.contents.bytes_contents)
        tensors.append(Tensor(tensor.name, tensor.datatype, list(tensor.shape), items))
    return tensors


def _infer_response(model: ServedModel, request_id: str, rows: Any) -> Any:
    output = service_pb2.ModelInferResponse.InferOutputTensor(
        name=OUTPUT, datatype="FP32", shape=list(rows.shape)
    )
    return service_pb2.ModelInferResponse(
        model_name=model.name,
        model_version=VERSION,
        id=request_id,
        outputs=[output],
        raw_output_contents=[rows.astype("<f4").tobytes()],
    )


async def _abort(context: Context, code: str, message: str) -> NoReturn:
    await context.abort(STATUS_OF_CODE.get(code, grpc.StatusCode.INTERNAL), message)


def add_to_server(
    server: grpc.aio.Server, engine: Engine, api_keys: ApiKeys | None, *, max_items: int
) -> InferenceServicer:
    """Register ``inference.GRPCInferenceService`` on ``server`` (beside ipsim's own service)."""
    servicer = InferenceServicer(engine, api_keys=api_keys, max_items=max_items)
    service_pb2_grpc.add_GRPCInferenceServiceServicer_to_server(servicer, server)
    return servicer


__all__ = ["SERVICE_NAME", "InferenceServicer", "add_to_server"]
