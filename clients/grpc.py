"""The Python SDK over gRPC: ``GrpcClient``, the same methods and answers as the HTTP ``Client``.

Answers are plain dicts shaped like the HTTP API's JSON, and failures raise the
:mod:`ipsim.clients.errors` classes, so code written against one transport runs on the
other::

    with GrpcClient("127.0.0.1:50051") as client:
        client.upsert("patents", [{"id": "EP1", "content": {"text": "..."}}])
        answer = client.search("patents", {"text": "a folding bicycle"}, k=5)

Two things only gRPC offers: :meth:`GrpcClient.upsert` sends its batches over one
client stream, and :meth:`GrpcClient.search_stream` runs many searches over one
bidirectional stream (the server batches the ones in flight together).
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any, Self, TypeVar

import grpc
from google.protobuf.struct_pb2 import Struct

from ipsim.clients.batching import batched
from ipsim.clients.errors import (
    BadRequest,
    IpsimError,
    PayloadTooLarge,
    TransportError,
    error_from_code,
)
from ipsim.clients.http import API_KEY_ENV
from ipsim.proto import (
    ERROR_CODE_METADATA,
    RETRY_AFTER_METADATA,
    from_struct,
    from_value,
    search_pb2,
    search_pb2_grpc,
    to_struct,
)

DEFAULT_TARGET = "127.0.0.1:50051"

JSONObject = dict[str, Any]
T = TypeVar("T")

# gRPC status → the HTTP API's error code, for failures that carry no ipsim-error-code
# (a proxy, or a server other than ipsim's). Transport failures are handled apart.
_CODE_OF_STATUS: dict[grpc.StatusCode, str] = {
    grpc.StatusCode.INVALID_ARGUMENT: "invalid_argument",
    grpc.StatusCode.OUT_OF_RANGE: "invalid_argument",
    grpc.StatusCode.UNAUTHENTICATED: "unauthenticated",
    grpc.StatusCode.PERMISSION_DENIED: "permission_denied",
    grpc.StatusCode.NOT_FOUND: "not_found",
    grpc.StatusCode.ALREADY_EXISTS: "conflict",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "resource_exhausted",
    grpc.StatusCode.UNAVAILABLE: "unavailable",
}
_TRANSPORT_STATUSES = (
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.CANCELLED,
)


class GrpcClient:
    """A blocking gRPC client for one ipsim server; close it, or use it as a context manager.

    ``target`` is ``HOST:PORT``. ``api_key`` is sent as ``authorization: Bearer KEY``
    metadata; when omitted it is read from the ``IPSIM_API_KEY`` environment variable.
    ``timeout`` (seconds) bounds each unary call; the streaming calls (:meth:`upsert`,
    :meth:`search_stream`) have no overall deadline, as their length is the caller's.
    ``credentials`` makes the channel TLS.
    """

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        credentials: grpc.ChannelCredentials | None = None,
    ) -> None:
        self.target = target
        self._timeout = timeout
        key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        self._metadata = (("authorization", f"Bearer {key}"),) if key else ()
        # The server bounds what it accepts; what it answers (a document holding a large
        # image, a page of 1000 hits) is trusted at any size.
        options = [("grpc.max_receive_message_length", -1)]
        if credentials is None:
            self._channel = grpc.insecure_channel(target, options=options)
        else:
            self._channel = grpc.secure_channel(target, credentials, options=options)
        # Generated code is untyped: every RPC below is read back through a typed helper.
        self._stub: Any = search_pb2_grpc.SearchServiceStub(self._channel)  # type: ignore[no-untyped-call]

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the channel; the client cannot be used afterwards."""
        self._channel.close()

    def create_collection(
        self,
        name: str,
        modality: str,
        *,
        index: str | JSONObject | None = None,
        shards: int | None = None,
        model: str | None = None,
    ) -> JSONObject:
        """Create a collection and return its info; ``index`` is a type name or a full spec."""
        request = search_pb2.CreateCollectionRequest(name=name, modality=modality)
        if index is not None:
            spec = {"type": index} if isinstance(index, str) else index
            request.index.CopyFrom(_struct(spec, "index"))
        if shards is not None:
            request.shards = shards
        if model is not None:
            request.model = model
        return collection_json(self._unary(self._stub.CreateCollection, request))

    def list_collections(self) -> list[JSONObject]:
        """Every collection's info."""
        request = search_pb2.ListCollectionsRequest()
        answer: search_pb2.ListCollectionsResponse = self._unary(
            self._stub.ListCollections, request
        )
        return [collection_json(info) for info in answer.collections]

    def get_collection(self, name: str) -> JSONObject:
        """One collection's info (``name, modality, count, dim, index, shards, model``)."""
        request = search_pb2.GetCollectionRequest(name=name)
        return collection_json(self._unary(self._stub.GetCollection, request))

    def delete_collection(self, name: str) -> None:
        """Delete a collection and everything in it."""
        self._unary(self._stub.DeleteCollection, search_pb2.DeleteCollectionRequest(name=name))

    def upsert(
        self, collection: str, documents: Iterable[JSONObject], *, batch_size: int = 256
    ) -> int:
        """Add or replace documents over one stream, ``batch_size`` per message.

        Documents are ``{"id": str, "content": {...}, "fields": {...}}``; return how many
        were upserted. Each message is all-or-nothing on the server; when one fails, the
        messages before it stay written, and the error names the failing document by its
        position in ``documents`` (``documents[1300].content.text``).
        """
        batches = batched(documents, batch_size)
        first = next(batches, None)
        if first is None:
            return 0  # as the HTTP client: nothing to send, no call
        messages = (
            upsert_message(collection, batch, first_index=index * batch_size)
            for index, batch in enumerate(itertools.chain([first], batches))
        )
        answer: search_pb2.UpsertResponse = self._streaming(
            lambda requests: self._stub.Upsert(requests, metadata=self._metadata), messages
        )
        return answer.upserted

    def get(self, collection: str, doc_id: str) -> JSONObject:
        """One stored document (``id, content, fields``)."""
        request = search_pb2.GetDocumentRequest(collection=collection, id=doc_id)
        return document_json(self._unary(self._stub.GetDocument, request))

    def delete(self, collection: str, doc_id: str) -> None:
        """Delete one document."""
        request = search_pb2.DeleteDocumentRequest(collection=collection, id=doc_id)
        self._unary(self._stub.DeleteDocument, request)

    def create_watch(
        self,
        collection: str,
        query: JSONObject,
        *,
        threshold: float,
        mode: str | None = None,
        filter: JSONObject | None = None,
        callback_url: str | None = None,
    ) -> JSONObject:
        """Watch ``collection`` for new documents scoring ``threshold`` or more on ``query``."""
        request = search_pb2.CreateWatchRequest(
            collection=collection, query=_struct(query, "query"), threshold=threshold
        )
        if mode is not None:
            request.mode = mode
        if filter is not None:
            request.filter.CopyFrom(_struct(filter, "filter"))
        if callback_url is not None:
            request.callback_url = callback_url
        return watch_json(self._unary(self._stub.CreateWatch, request))

    def get_watch(self, watch_id: str) -> JSONObject:
        """One watch."""
        request = search_pb2.GetWatchRequest(id=watch_id)
        return watch_json(self._unary(self._stub.GetWatch, request))

    def delete_watch(self, watch_id: str) -> None:
        """Delete a watch and its notifications."""
        self._unary(self._stub.DeleteWatch, search_pb2.DeleteWatchRequest(id=watch_id))

    def watch_notifications(
        self, watch_id: str, *, offset: int = 0, limit: int = 100
    ) -> JSONObject:
        """A page of a watch's notifications, oldest first: ``{"notifications", "total"}``."""
        request = search_pb2.ListNotificationsRequest(watch_id=watch_id, offset=offset, limit=limit)
        answer = self._unary(self._stub.ListNotifications, request)
        return {
            "notifications": [notification_json(n) for n in answer.notifications],
            "total": answer.total,
        }

    def search(
        self,
        collection: str,
        query: JSONObject,
        *,
        k: int = 10,
        offset: int = 0,
        filter: JSONObject | None = None,
        mode: str | None = None,
        group_by: str | None = None,
        group_size: int | None = None,
    ) -> JSONObject:
        """Search one collection; return the answer (``hits``, ``total``, ``took_ms``;
        ``groups`` with ``group_by``; ``missing_shards`` when some index shards did not
        answer, in cluster mode)."""
        request = search_message(
            {
                "collection": collection,
                "query": query,
                "k": k,
                "offset": offset,
                "filter": filter,
                "mode": mode,
                "group_by": group_by,
                "group_size": group_size,
            },
            "",
        )
        return search_json(self._unary(self._stub.Search, request))

    def search_many(
        self,
        collections: Iterable[str],
        query: JSONObject,
        *,
        k: int = 10,
        offset: int = 0,
        filter: JSONObject | None = None,
        mode: str | None = None,
        fusion: str | None = None,
        weights: Mapping[str, float] | None = None,
        timeout_ms: float | None = None,
        group_by: str | None = None,
        group_size: int | None = None,
    ) -> JSONObject:
        """One window over several collections (``SOURCE:NAME`` for a remote source's);
        the answer is shaped like the HTTP one: fused ``hits`` each with ``collection`` and
        ``source_score``, ``partial``, ``sources`` (each with its ``status``, and its
        ``missing_shards`` when it is ``partial``)."""
        message = search_pb2.SearchManyRequest(
            collections=[_string(name, f"collections[{i}]") for i, name in enumerate(collections)],
            query=_struct(query, "query"),
            k=_integer(k, "k"),
            offset=_integer(offset, "offset"),
        )
        if filter is not None:
            message.filter.CopyFrom(_struct(filter, "filter"))
        for name, value in (("mode", mode), ("fusion", fusion), ("group_by", group_by)):
            if value is not None:
                setattr(message, name, _string(value, name))
        if group_size is not None:
            message.group_size = _integer(group_size, "group_size")
        if timeout_ms is not None:
            message.timeout_ms = timeout_ms
        message.weights.update(weights or {})
        return search_many_json(self._unary(self._stub.SearchMany, message))

    def search_stream(self, requests: Iterable[JSONObject]) -> Iterator[JSONObject]:
        """Run many searches over one stream; yield one answer per request, in order.

        Each request is ``{"collection", "query", "k"?, "offset"?, "filter"?, "mode"?,
        "request_id"?}`` (``request_id`` defaults to the request's position, as a string).
        An answer is the :meth:`search` answer plus its ``request_id``; a request that
        failed answers ``{"request_id", "error": {"code", "message"}}`` (plus
        ``retry_after`` for ``resource_exhausted``) and the stream goes on. Failures of
        the stream itself (auth, transport) raise. Stop iterating to cancel the stream.
        """
        messages = (
            search_message(request, f"requests[{position}]", default_id=str(position))
            for position, request in enumerate(requests)
        )
        failure: list[IpsimError] = []
        call = self._stub.SearchStream(_capture(messages, failure), metadata=self._metadata)
        try:
            for answer in call:
                yield stream_answer_json(answer)
        except grpc.RpcError as exc:
            raise self._stream_error(exc, failure) from exc
        finally:
            call.cancel()  # no-op once the stream ended; frees it when the caller stops early

    # --- calls and their failures -------------------------------------------------------

    def _unary(self, method: Callable[..., T], request: Any) -> T:
        try:
            return method(request, timeout=self._timeout, metadata=self._metadata)
        except grpc.RpcError as exc:
            raise self._error(exc) from exc

    def _streaming(self, call: Callable[[Iterator[Any]], T], messages: Iterator[Any]) -> T:
        # grpc reads the request iterator on its own thread and reports an exception there
        # only as CANCELLED; keep the exception to raise it instead.
        failure: list[IpsimError] = []
        try:
            return call(_capture(messages, failure))
        except grpc.RpcError as exc:
            raise self._stream_error(exc, failure) from exc

    def _stream_error(self, exc: grpc.RpcError, failure: list[IpsimError]) -> IpsimError:
        # A request the client could not encode ends the stream; report that, not CANCELLED.
        return failure[0] if failure else self._error(exc)

    def _error(self, exc: grpc.RpcError) -> IpsimError:
        """The ``IpsimError`` for a failed call, from its ipsim-error-code when it has one."""
        status = exc.code()
        message = exc.details() or status.name
        trailing: dict[str, str | bytes] = {
            item.key: item.value for item in exc.trailing_metadata() or ()
        }
        retry_after = _seconds(trailing.get(RETRY_AFTER_METADATA))
        code = trailing.get(ERROR_CODE_METADATA)
        if isinstance(code, str):
            return error_from_code(code, message, retry_after=retry_after)
        # Not from ipsim's servicer: gRPC itself (connection, deadline, size limit) or a proxy.
        if status in _TRANSPORT_STATUSES:
            return TransportError(f"call to {self.target} failed ({status.name}): {message}")
        if status == grpc.StatusCode.RESOURCE_EXHAUSTED and "larger than max" in message:
            return PayloadTooLarge(message)
        return error_from_code(
            _CODE_OF_STATUS.get(status, "internal"), message, retry_after=retry_after
        )


# --- requests: plain dicts → messages -------------------------------------------------


def upsert_message(
    collection: str, documents: list[JSONObject], *, first_index: int = 0
) -> search_pb2.UpsertRequest:
    """One Upsert message; ``BadRequest`` names a malformed document by its position."""
    message = search_pb2.UpsertRequest(collection=collection)
    for position, document in enumerate(documents, start=first_index):
        field = f"documents[{position}]"
        if not isinstance(document, Mapping):
            raise BadRequest(f"{field}: must be an object, got {type(document).__name__}")
        doc_id = document.get("id")
        if not isinstance(doc_id, str):
            raise BadRequest(f"{field}.id: must be a string")
        message.documents.add(
            id=doc_id,
            content=_struct(document.get("content"), f"{field}.content"),
            fields=_struct(document.get("fields") or {}, f"{field}.fields"),
        )
    return message


def search_message(
    request: Mapping[str, Any], path: str, *, default_id: str = ""
) -> search_pb2.SearchRequest:
    """A SearchRequest from ``{"collection", "query", "k"?, "offset"?, ...}``.

    ``path`` names the request in errors (``requests[3]``); empty for a lone search.
    """
    if not isinstance(request, Mapping):
        raise BadRequest(f"{path or 'request'}: must be an object, got {type(request).__name__}")
    prefix = f"{path}." if path else ""
    message = search_pb2.SearchRequest(
        collection=_string(request.get("collection"), f"{prefix}collection"),
        query=_struct(request.get("query"), f"{prefix}query"),
        request_id=_string(request.get("request_id", default_id), f"{prefix}request_id"),
    )
    for name in ("k", "offset"):
        if request.get(name) is not None:
            setattr(message, name, _integer(request[name], f"{prefix}{name}"))
    if request.get("filter") is not None:
        message.filter.CopyFrom(_struct(request["filter"], f"{prefix}filter"))
    for name in ("mode", "group_by"):
        if request.get(name) is not None:
            setattr(message, name, _string(request[name], f"{prefix}{name}"))
    if request.get("group_size") is not None:
        message.group_size = _integer(request["group_size"], f"{prefix}group_size")
    return message


# --- answers: messages → plain dicts shaped like the HTTP JSON ---------------------------


def collection_json(info: search_pb2.Collection) -> JSONObject:
    """``{"name", "modality", "count", "dim", "index", "shards", "model"}``."""
    return {
        "name": info.name,
        "modality": info.modality,
        "count": info.count,
        "dim": info.dim,
        "index": from_struct(info.index),
        "shards": info.shards,
        "model": info.model,
    }


def document_json(document: search_pb2.Document) -> JSONObject:
    """``{"id", "content", "fields"}``."""
    return {
        "id": document.id,
        "content": from_struct(document.content),
        "fields": from_struct(document.fields),
    }


def watch_json(watch: search_pb2.Watch) -> JSONObject:
    """A watch as the HTTP API answers it."""
    return {
        "id": watch.id,
        "collection": watch.collection,
        "query": from_struct(watch.query),
        "mode": watch.mode if watch.HasField("mode") else None,
        "threshold": watch.threshold,
        "filter": from_struct(watch.filter) if watch.HasField("filter") else None,
        "callback_url": watch.callback_url if watch.HasField("callback_url") else None,
        "created": watch.created,
    }


def notification_json(note: search_pb2.Notification) -> JSONObject:
    """A notification as the HTTP API answers it."""
    return {
        "id": note.id,
        "watch_id": note.watch_id,
        "document_id": note.document_id,
        "score": note.score,
        "detail": from_struct(note.detail),
        "created": note.created,
        "delivery": note.delivery,
        "attempts": note.attempts,
        "last_error": note.last_error if note.HasField("last_error") else None,
    }


def search_json(answer: search_pb2.SearchResponse) -> JSONObject:
    """``{"hits": [{"id", "score", "fields", "chunk"}], "total", "took_ms", "truncated"}``,
    ``groups`` (``[{"value", "hits"}]``) when the search was grouped, and ``missing_shards``
    when some index shards did not answer (cluster mode)."""
    groups = [
        {"value": from_value(g.value), "hits": [_hit_json(h) for h in g.hits]}
        for g in answer.groups
    ]
    result: JSONObject = {
        "hits": [_hit_json(hit) for hit in answer.hits],
        "total": answer.total,
        "took_ms": answer.took_ms,
        "truncated": answer.truncated,
    }
    if groups:
        result["groups"] = groups
    if answer.missing_shards:
        result["missing_shards"] = list(answer.missing_shards)
    return result


def search_many_json(answer: search_pb2.SearchManyResponse) -> JSONObject:
    """A SearchMany answer shaped like the HTTP ``/v1/search`` JSON."""
    groups = [
        {"value": from_value(g.value), "hits": [_sourced_json(h) for h in g.hits]}
        for g in answer.groups
    ]
    sources = [
        {
            "collection": s.collection,
            "status": s.status,
            "took_ms": s.took_ms,
            "total": s.total if s.HasField("total") else None,
            "code": s.code or None,
            "message": s.message or None,
            "missing_shards": list(s.missing_shards) or None,
        }
        for s in answer.sources
    ]
    return {
        "hits": [_sourced_json(hit) for hit in answer.hits],
        "total": answer.total,
        "took_ms": answer.took_ms,
        "partial": answer.partial,
        "sources": sources,
        "fusion": answer.fusion,
        "truncated": answer.truncated,
        "groups": groups or None,
    }


def _sourced_json(sourced: search_pb2.SourcedHit) -> JSONObject:
    hit = _hit_json(sourced.hit)
    return {
        **hit,
        "score": sourced.score,
        "collection": sourced.collection,
        "source_score": sourced.hit.score,
    }


def stream_answer_json(answer: search_pb2.SearchResponse) -> JSONObject:
    """One SearchStream answer: the search answer or ``error``, with ``request_id``."""
    if answer.HasField("error"):
        error: JSONObject = {"code": answer.error.reason, "message": answer.error.message}
        if answer.error.retry_after:
            error["retry_after"] = answer.error.retry_after
        return {"request_id": answer.request_id, "error": error}
    return {"request_id": answer.request_id, **search_json(answer)}


def _hit_json(hit: search_pb2.Hit) -> JSONObject:
    # "chunk" is null for unchunked hits, as in the HTTP answer.
    chunk = (
        {"index": hit.chunk.index, "start": hit.chunk.start, "end": hit.chunk.end}
        if hit.HasField("chunk")
        else None
    )
    match = from_struct(hit.match) if hit.HasField("match") else None
    return {
        "id": hit.id,
        "score": hit.score,
        "fields": from_struct(hit.fields),
        "chunk": chunk,
        "match": match,
        "preview": dict(hit.preview) or None,
    }


# --- helpers ----------------------------------------------------------------------------


def _struct(value: Any, path: str) -> Struct:
    if not isinstance(value, Mapping):
        raise BadRequest(f"{path}: must be an object, got {type(value).__name__}")
    try:
        return to_struct(value, path=path)
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"{path}: must be a string, got {type(value).__name__}")
    return value


def _integer(value: Any, path: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadRequest(f"{path}: must be an integer, got {type(value).__name__}")
    if not -(2**31) <= value < 2**31:
        raise BadRequest(f"{path}: {value} is out of range")
    return value


def _capture(messages: Iterator[T], failure: list[IpsimError]) -> Iterator[T]:
    """Yield ``messages``, keeping an ``IpsimError`` they raise before ending the stream."""
    try:
        yield from messages
    except IpsimError as exc:
        failure.append(exc)
        raise


def _seconds(value: str | bytes | None) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(0.0, seconds) if math.isfinite(seconds) else None


__all__ = ["DEFAULT_TARGET", "GrpcClient"]
