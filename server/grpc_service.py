"""The gRPC front door: ``ipsim.v1.SearchService`` over the Engine, plus health and reflection.

Like the HTTP routes this layer only authorizes, validates the shape of a request,
calls the engine and converts its answer; every rule about content lives in the engine.
Failures become gRPC status codes, each with the trailing metadata ``ipsim-error-code``
(the HTTP API's error code, so the SDK raises the same exception over either transport)
and, for a full queue, ``retry-after`` in seconds::

    server, service = create_server(engine, api_keys=keys, limits=GrpcLimits.from_settings(s))
    server.add_insecure_port("127.0.0.1:50051")
    await server.start()
    await service.set_serving(engine.ready)
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio  # type: ignore[attr-defined]  # not in grpc-stubs
from grpc_reflection.v1alpha import reflection

from ipsim.engine.errors import EngineError, InvalidInput, Overloaded
from ipsim.engine.federation import Federation
from ipsim.engine.sources import LocalSource
from ipsim.engine.types import (
    Document,
)
from ipsim.engine.watches import DEFAULT_PAGE as DEFAULT_NOTIFICATIONS
from ipsim.proto import (
    ERROR_CODE_METADATA,
    RETRY_AFTER_METADATA,
    from_struct,
    search_pb2,
    search_pb2_grpc,
)
from ipsim.server import kserve_grpc
from ipsim.server.auth import ApiKeys, AuthError
from ipsim.server.grpc_convert import (
    STATUS_OF_CODE,
    GrpcLimits,
    collection_message,
    collection_spec,
    document_message,
    error_message,
    metadata_value,
    notification_message,
    required,
    search_many_request,
    search_many_response,
    search_request,
    search_response,
    upsert_documents,
    watch_message,
)

# Types only: the servicer calls the Engine's methods and nothing else, so its tests run
# against a fake engine without loading models or FAISS.
if TYPE_CHECKING:
    from ipsim.engine.engine import Engine

log = logging.getLogger(__name__)

SERVICE_NAME: str = search_pb2.DESCRIPTOR.services_by_name["SearchService"].full_name

_INTERNAL_MESSAGE = "internal error; the server log has the details"
_DOCUMENT_FIELD = re.compile(r"documents\[(\d+)\]")
T = TypeVar("T")
Context = grpc.aio.ServicerContext[Any, Any]


class SearchServicer:
    """``ipsim.v1.SearchService``: each RPC authorizes, validates, calls the engine, converts.

    With ``api_keys`` set, every RPC needs ``authorization: Bearer KEY`` metadata whose key
    grants the RPC's scope; ``None`` turns auth off.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        api_keys: ApiKeys | None,
        limits: GrpcLimits,
        federation: Federation | None = None,
    ) -> None:
        self._engine = engine
        self._api_keys = api_keys
        self._limits = limits
        self._federation = federation or Federation(LocalSource(engine), max_k=limits.max_k)

    async def CreateCollection(
        self, request: search_pb2.CreateCollectionRequest, context: Context
    ) -> search_pb2.Collection:
        """Create a collection (scope ``admin``)."""

        async def work() -> search_pb2.Collection:
            info = await self._engine.create_collection(collection_spec(request))
            return collection_message(info)

        return await self._serve(context, "admin", work)

    async def ListCollections(
        self, request: search_pb2.ListCollectionsRequest, context: Context
    ) -> search_pb2.ListCollectionsResponse:
        """Every collection (scope ``read``)."""

        async def work() -> search_pb2.ListCollectionsResponse:
            infos = self._engine.list_collections()
            return search_pb2.ListCollectionsResponse(
                collections=[collection_message(info) for info in infos]
            )

        return await self._serve(context, "read", work)

    async def GetCollection(
        self, request: search_pb2.GetCollectionRequest, context: Context
    ) -> search_pb2.Collection:
        """One collection (scope ``read``)."""

        async def work() -> search_pb2.Collection:
            name = required(request.name, "name")
            return collection_message(self._engine.collection_info(name))

        return await self._serve(context, "read", work)

    async def DeleteCollection(
        self, request: search_pb2.DeleteCollectionRequest, context: Context
    ) -> search_pb2.DeleteCollectionResponse:
        """Delete a collection (scope ``admin``)."""

        async def work() -> search_pb2.DeleteCollectionResponse:
            await self._engine.delete_collection(required(request.name, "name"))
            return search_pb2.DeleteCollectionResponse()

        return await self._serve(context, "admin", work)

    async def Upsert(
        self, request_iterator: AsyncIterator[search_pb2.UpsertRequest], context: Context
    ) -> search_pb2.UpsertResponse:
        """Upsert a stream of document batches, each all-or-nothing, in order (scope ``write``)."""

        async def work() -> search_pb2.UpsertResponse:
            return search_pb2.UpsertResponse(upserted=await self._upsert(request_iterator))

        return await self._serve(context, "write", work)

    async def GetDocument(
        self, request: search_pb2.GetDocumentRequest, context: Context
    ) -> search_pb2.Document:
        """One stored document (scope ``read``)."""

        async def work() -> search_pb2.Document:
            collection = required(request.collection, "collection")
            document = await self._engine.get_document(collection, required(request.id, "id"))
            return document_message(document)

        return await self._serve(context, "read", work)

    async def DeleteDocument(
        self, request: search_pb2.DeleteDocumentRequest, context: Context
    ) -> search_pb2.DeleteDocumentResponse:
        """Delete one document (scope ``write``)."""

        async def work() -> search_pb2.DeleteDocumentResponse:
            collection = required(request.collection, "collection")
            await self._engine.delete_document(collection, required(request.id, "id"))
            return search_pb2.DeleteDocumentResponse()

        return await self._serve(context, "write", work)

    async def CreateWatch(
        self, request: search_pb2.CreateWatchRequest, context: Context
    ) -> search_pb2.Watch:
        """Watch a collection for new documents close to a query (scope ``write``)."""

        async def work() -> search_pb2.Watch:
            if not request.HasField("query"):
                raise InvalidInput("query", "is required")
            if not request.HasField("threshold"):
                raise InvalidInput("threshold", "is required (a number from 0 to 1)")
            watch = await self._engine.create_watch(
                required(request.collection, "collection"),
                from_struct(request.query),
                request.mode if request.HasField("mode") else None,
                request.threshold,
                from_struct(request.filter) if request.HasField("filter") else None,
                request.callback_url if request.HasField("callback_url") else None,
            )
            return watch_message(watch)

        return await self._serve(context, "write", work)

    async def GetWatch(
        self, request: search_pb2.GetWatchRequest, context: Context
    ) -> search_pb2.Watch:
        """One watch (scope ``read``)."""

        async def work() -> search_pb2.Watch:
            return watch_message(self._engine.get_watch(required(request.id, "id")))

        return await self._serve(context, "read", work)

    async def DeleteWatch(
        self, request: search_pb2.DeleteWatchRequest, context: Context
    ) -> search_pb2.DeleteWatchResponse:
        """Delete a watch and its notifications (scope ``write``)."""

        async def work() -> search_pb2.DeleteWatchResponse:
            self._engine.delete_watch(required(request.id, "id"))
            return search_pb2.DeleteWatchResponse()

        return await self._serve(context, "write", work)

    async def ListNotifications(
        self, request: search_pb2.ListNotificationsRequest, context: Context
    ) -> search_pb2.ListNotificationsResponse:
        """A page of a watch's notifications, oldest first (scope ``read``)."""

        async def work() -> search_pb2.ListNotificationsResponse:
            notes, total = self._engine.watch_notifications(
                required(request.watch_id, "watch_id"),
                request.offset if request.HasField("offset") else 0,
                request.limit if request.HasField("limit") else DEFAULT_NOTIFICATIONS,
            )
            return search_pb2.ListNotificationsResponse(
                notifications=[notification_message(n) for n in notes], total=total
            )

        return await self._serve(context, "read", work)

    async def Search(
        self, request: search_pb2.SearchRequest, context: Context
    ) -> search_pb2.SearchResponse:
        """One search (scope ``read``)."""
        return await self._serve(context, "read", lambda: self._search(request))

    async def SearchMany(
        self, request: search_pb2.SearchManyRequest, context: Context
    ) -> search_pb2.SearchManyResponse:
        """One window over several collections, local and remote (scope ``read``)."""

        async def work() -> search_pb2.SearchManyResponse:
            return search_many_response(await self._federation.search(search_many_request(request)))

        return await self._serve(context, "read", work)

    async def SearchStream(
        self, request_iterator: AsyncIterator[search_pb2.SearchRequest], context: Context
    ) -> AsyncIterator[search_pb2.SearchResponse]:
        """One response per request, in order; a failed request answers with ``error`` set.

        Up to ``stream_window`` requests run at once, so the engine's batcher sees them
        together; the window is also the back-pressure on a client that sends faster
        than it reads the answers.
        """
        try:
            self._authorize(context, "read")
        except AuthError as exc:
            await _abort(context, exc.code, exc.message)
        slots = asyncio.Semaphore(self._limits.stream_window)
        started: asyncio.Queue[asyncio.Task[search_pb2.SearchResponse] | None] = asyncio.Queue()
        reader = asyncio.create_task(self._start_searches(request_iterator, slots, started))
        try:
            while (task := await started.get()) is not None:
                response = await task
                slots.release()
                yield response
            await reader  # re-raises a failure to read the request stream
        finally:
            reader.cancel()
            while not started.empty():
                if (pending := started.get_nowait()) is not None:
                    pending.cancel()

    # --- the work behind the RPCs ------------------------------------------------------

    async def _search(self, request: search_pb2.SearchRequest) -> search_pb2.SearchResponse:
        collection, search = search_request(request, self._limits)
        response = search_response(await self._engine.search(collection, search))
        response.request_id = request.request_id
        return response

    async def _search_or_error(
        self, request: search_pb2.SearchRequest
    ) -> search_pb2.SearchResponse:
        # Triton's rule: one failed request answers for itself and never sinks the stream.
        try:
            return await self._search(request)
        except EngineError as exc:
            error = error_message(exc.code, exc.message, _retry_after(exc))
        except Exception:
            log.exception("unexpected error in SearchStream request %r", request.request_id)
            error = error_message("internal", _INTERNAL_MESSAGE)
        return search_pb2.SearchResponse(request_id=request.request_id, error=error)

    async def _start_searches(
        self,
        requests: AsyncIterator[search_pb2.SearchRequest],
        slots: asyncio.Semaphore,
        started: asyncio.Queue[asyncio.Task[search_pb2.SearchResponse] | None],
    ) -> None:
        # A full window stops reading, and gRPC flow control then holds the client back.
        try:
            async for request in requests:
                await slots.acquire()
                started.put_nowait(asyncio.create_task(self._search_or_error(request)))
        finally:
            started.put_nowait(None)  # the end mark; the queue is unbounded, so no waiting

    async def _upsert(self, requests: AsyncIterator[search_pb2.UpsertRequest]) -> int:
        collection = ""
        received = upserted = 0
        async for request in requests:
            if request.collection and collection and request.collection != collection:
                raise InvalidInput(
                    "collection",
                    f"one Upsert stream writes one collection: {collection!r}, "
                    f"then {request.collection!r}",
                )
            collection = collection or required(request.collection, "collection")
            documents = upsert_documents(request, self._limits, first_index=received)
            if documents:
                upserted += await _upsert_batch(self._engine, collection, documents, received)
                received += len(documents)
        if not collection:
            raise InvalidInput("collection", "must not be empty (no UpsertRequest was sent)")
        if not received:
            self._engine.collection_info(collection)  # NOT_FOUND for an unknown collection
        return upserted

    # --- auth and failures -------------------------------------------------------------

    def _authorize(self, context: Context, scope: str) -> None:
        if self._api_keys is not None:
            self._api_keys.authorize(metadata_value(context, "authorization"), scope)

    async def _serve(self, context: Context, scope: str, work: Callable[[], Awaitable[T]]) -> T:
        """Authorize, run ``work`` and turn every failure into a status (never a crash)."""
        try:
            self._authorize(context, scope)
            return await work()
        except AuthError as exc:
            await _abort(context, exc.code, exc.message)
        except EngineError as exc:
            await _abort(context, exc.code, exc.message, _retry_after(exc))
        except Exception:
            log.exception("unexpected error in %s", getattr(work, "__qualname__", "an RPC"))
            await _abort(context, "internal", _INTERNAL_MESSAGE)


# --- registration ---------------------------------------------------------------------


@dataclass(frozen=True)
class GrpcService:
    """What :func:`add_to_server` registered; flip readiness through it."""

    servicer: SearchServicer
    health: health_aio.HealthServicer

    async def set_serving(self, serving: bool) -> None:
        """Report SERVING or NOT_SERVING, for the whole server and for ``SERVICE_NAME``."""
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for service in ("", SERVICE_NAME):
            await self.health.set(service, status)

    async def shutdown(self) -> None:
        """Report NOT_SERVING for good (call first on SIGTERM, before stopping the server)."""
        await self.health.enter_graceful_shutdown()


def add_to_server(
    server: grpc.aio.Server,
    engine: Engine,
    api_keys: ApiKeys | None,
    *,
    limits: GrpcLimits,
    federation: Federation | None = None,
) -> GrpcService:
    """Register SearchService, ``grpc.health.v1``, KServe v2's ``GRPCInferenceService`` and
    reflection on ``server``.

    Health needs no API key. Until the first :meth:`GrpcService.set_serving` the whole
    server (``""``) reports gRPC's default SERVING and ``SERVICE_NAME`` is unknown, so
    call ``await service.set_serving(engine.ready)`` as soon as the server has started.
    Reflection is open too: it describes the schema, which is public.
    """
    servicer = SearchServicer(engine, api_keys=api_keys, limits=limits, federation=federation)
    # Generated code is untyped; the servicer has every method of the service.
    search_pb2_grpc.add_SearchServiceServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]
    health_servicer = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    # KServe v2 / Triton clients' inference.GRPCInferenceService, over the same engine
    kserve_grpc.add_to_server(server, engine, api_keys, max_items=limits.max_documents_per_request)
    names = (SERVICE_NAME, health.SERVICE_NAME, kserve_grpc.SERVICE_NAME, reflection.SERVICE_NAME)
    reflection.enable_server_reflection(names, server)
    return GrpcService(servicer=servicer, health=health_servicer)


def server_options(limits: GrpcLimits) -> list[tuple[str, Any]]:
    """Channel options for ``grpc.aio.server``: the receive size limit."""
    return [("grpc.max_receive_message_length", limits.max_message_bytes)]


def create_server(
    engine: Engine,
    *,
    api_keys: ApiKeys | None,
    limits: GrpcLimits,
    federation: Federation | None = None,
) -> tuple[grpc.aio.Server, GrpcService]:
    """A ``grpc.aio`` server with every service registered; bind a port, then start it.

    ``federation`` answers SearchMany (default: this engine's collections only).
    """
    server = grpc.aio.server(options=server_options(limits))
    return server, add_to_server(server, engine, api_keys, limits=limits, federation=federation)


# --- helpers --------------------------------------------------------------------------


async def _upsert_batch(
    engine: Engine, collection: str, documents: list[Document], first_index: int
) -> int:
    try:
        return await engine.upsert(collection, documents)
    except InvalidInput as exc:
        # The engine numbers documents within the batch; the client numbers them in the stream.
        if not first_index or exc.field is None:
            raise
        field = _DOCUMENT_FIELD.sub(
            lambda match: f"documents[{int(match.group(1)) + first_index}]", exc.field, count=1
        )
        detail = exc.message.removeprefix(f"{exc.field}: ")
        raise InvalidInput(field, detail) from exc


def _retry_after(exc: EngineError) -> float | None:
    return exc.retry_after if isinstance(exc, Overloaded) else None


async def _abort(
    context: Context, code: str, message: str, retry_after: float | None = None
) -> NoReturn:
    metadata: list[tuple[str, str]] = [(ERROR_CODE_METADATA, code)]
    if retry_after is not None:
        # Whole seconds, at least 1, as the HTTP side's Retry-After header.
        metadata.append((RETRY_AFTER_METADATA, str(max(1, round(retry_after)))))
    status = STATUS_OF_CODE.get(code, grpc.StatusCode.INTERNAL)
    await context.abort(status, message, trailing_metadata=tuple(metadata))


__all__ = [
    "SERVICE_NAME",
    "STATUS_OF_CODE",
    "GrpcLimits",
    "GrpcService",
    "SearchServicer",
    "add_to_server",
    "create_server",
    "server_options",
]
