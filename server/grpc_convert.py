"""Conversions between the gRPC messages of ``ipsim.v1`` and the engine's types.

Requests are checked for shape only (required fields, page bounds, documents per
message); every rule about content lives in the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.struct_pb2 import Value

from ipsim.config import Settings
from ipsim.engine.errors import EngineError, InvalidInput
from ipsim.engine.federation import MultiSearchRequest, MultiSearchResult, SourcedHit
from ipsim.engine.types import (
    CollectionInfo,
    CollectionSpec,
    Document,
    Hit,
    IndexSpec,
    SearchRequest,
    SearchResult,
)
from ipsim.engine.validation import check_document_id, check_page
from ipsim.engine.watches import Notification, Watch
from ipsim.proto import from_struct, search_pb2, to_struct, to_value

# The HTTP API's error codes as gRPC status codes. A too-large request shares
# RESOURCE_EXHAUSTED with a full queue (as gRPC's own size limit does); only the latter
# carries retry-after, and ipsim-error-code tells the two apart.
STATUS_OF_CODE: dict[str, grpc.StatusCode] = {
    "invalid_argument": grpc.StatusCode.INVALID_ARGUMENT,
    "unauthenticated": grpc.StatusCode.UNAUTHENTICATED,
    "permission_denied": grpc.StatusCode.PERMISSION_DENIED,
    "not_found": grpc.StatusCode.NOT_FOUND,
    "conflict": grpc.StatusCode.ALREADY_EXISTS,
    "payload_too_large": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "resource_exhausted": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "insufficient_storage": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "unavailable": grpc.StatusCode.UNAVAILABLE,
    "internal": grpc.StatusCode.INTERNAL,
}

# The engine's defaults for what a SearchRequest leaves unset (k, offset).
_DEFAULT_SEARCH = SearchRequest(query={})


@dataclass(frozen=True)
class GrpcLimits:
    """The request limits the gRPC front door enforces (the HTTP ones, from :class:`Settings`)."""

    max_k: int = 1000
    max_offset: int = 10_000
    max_documents_per_request: int = 1000
    #: Largest message the server accepts; gRPC itself refuses bigger ones.
    max_message_bytes: int = 32 * 1024 * 1024
    #: SearchStream requests of one stream in flight at once (so the engine can batch them).
    stream_window: int = 64

    @classmethod
    def from_settings(cls, settings: Settings) -> GrpcLimits:
        """The limits the settings give the HTTP side too."""
        return cls(
            max_k=settings.max_k,
            max_offset=settings.max_offset,
            max_documents_per_request=settings.max_documents_per_request,
            max_message_bytes=settings.max_body_bytes,
        )


class PayloadTooLarge(EngineError):
    """Too many documents in one message (HTTP answers 413 for the same)."""

    code = "payload_too_large"


def required(value: str, field: str) -> str:
    if not value:
        raise InvalidInput(field, "must not be empty")
    return value


# --- requests: proto → engine types (shape checks only; the engine checks content) -------


def collection_spec(request: search_pb2.CreateCollectionRequest) -> CollectionSpec:
    """The engine's spec for a CreateCollection request."""
    index = IndexSpec()
    if request.HasField("index"):
        params = from_struct(request.index)
        kind = params.pop("type", "auto")
        if not isinstance(kind, str):
            raise InvalidInput("index.type", "must be a string")
        index = IndexSpec(type=kind, params=params)
    return CollectionSpec(
        name=request.name,
        modality=request.modality,
        index=index,
        shards=request.shards if request.HasField("shards") else 1,
        model=request.model if request.HasField("model") else None,
    )


def search_request(
    request: search_pb2.SearchRequest, limits: GrpcLimits
) -> tuple[str, SearchRequest]:
    """The collection name and the engine's request for a SearchRequest."""
    collection = required(request.collection, "collection")
    if not request.HasField("query"):
        raise InvalidInput("query", "is required")
    k, offset = check_page(
        request.k if request.HasField("k") else _DEFAULT_SEARCH.k,
        request.offset if request.HasField("offset") else _DEFAULT_SEARCH.offset,
        max_k=limits.max_k,
        max_offset=limits.max_offset,
    )
    search = SearchRequest(
        query=from_struct(request.query),
        k=k,
        offset=offset,
        filter=from_struct(request.filter) if request.HasField("filter") else None,
        mode=request.mode if request.HasField("mode") else None,
        group_by=request.group_by if request.HasField("group_by") else None,
        group_size=request.group_size if request.HasField("group_size") else None,
    )
    return collection, search


def search_many_request(request: search_pb2.SearchManyRequest) -> MultiSearchRequest:
    """The federation's request for a SearchManyRequest (it checks the values itself)."""
    if not request.HasField("query"):
        raise InvalidInput("query", "is required")
    return MultiSearchRequest(
        collections=tuple(request.collections),
        query=from_struct(request.query),
        k=request.k if request.HasField("k") else _DEFAULT_SEARCH.k,
        offset=request.offset if request.HasField("offset") else _DEFAULT_SEARCH.offset,
        filter=from_struct(request.filter) if request.HasField("filter") else None,
        mode=request.mode if request.HasField("mode") else None,
        fusion=request.fusion if request.HasField("fusion") else "rrf",
        weights=dict(request.weights) or None,
        timeout_ms=request.timeout_ms if request.HasField("timeout_ms") else None,
        group_by=request.group_by if request.HasField("group_by") else None,
        group_size=request.group_size if request.HasField("group_size") else None,
    )


def upsert_documents(
    request: search_pb2.UpsertRequest, limits: GrpcLimits, *, first_index: int = 0
) -> list[Document]:
    """The documents of one UpsertRequest; errors name them by their index in the stream."""
    count = len(request.documents)
    if count > limits.max_documents_per_request:
        raise PayloadTooLarge(
            f"documents: at most {limits.max_documents_per_request} per message, got {count}"
        )
    documents = []
    for number, document in enumerate(request.documents, start=first_index):
        field = f"documents[{number}]"
        if not document.HasField("content"):
            raise InvalidInput(f"{field}.content", "is required")
        documents.append(
            Document(
                id=check_document_id(document.id, f"{field}.id"),
                content=from_struct(document.content),
                fields=from_struct(document.fields),
            )
        )
    return documents


# --- answers: engine types → proto ------------------------------------------------------


def collection_message(info: CollectionInfo) -> search_pb2.Collection:
    """A collection's info as its message."""
    return search_pb2.Collection(
        name=info.name,
        modality=info.modality,
        count=info.count,
        dim=info.dim,
        index=to_struct(info.index, path="index", exact=False),
        shards=info.shards,
        model=info.model,
    )


def document_message(document: Document) -> search_pb2.Document:
    """A stored document as its message."""
    return search_pb2.Document(
        id=document.id,
        content=to_struct(document.content, path="content", exact=False),
        fields=to_struct(document.fields, path="fields", exact=False),
    )


def search_response(result: SearchResult) -> search_pb2.SearchResponse:
    """A page of hits as a SearchResponse (without ``request_id``)."""
    response = search_pb2.SearchResponse(
        total=result.total,
        took_ms=result.took_ms,
        truncated=result.truncated,
        missing_shards=result.missing_shards,
    )
    for hit in result.hits:
        _fill_hit(response.hits.add(), hit)
    for group in result.groups or []:
        message = response.groups.add(value=_group_value(group.value))
        for hit in group.hits:
            _fill_hit(message.hits.add(), hit)
    return response


def search_many_response(result: MultiSearchResult) -> search_pb2.SearchManyResponse:
    """A fused page as a SearchManyResponse."""
    response = search_pb2.SearchManyResponse(
        total=result.total,
        took_ms=result.took_ms,
        partial=result.partial,
        fusion=result.fusion,
        truncated=result.truncated,
    )
    for sourced in result.hits:
        _fill_sourced(response.hits.add(), sourced)
    for group in result.groups or []:
        message = response.groups.add(value=_group_value(group.value))
        for sourced in group.hits:
            _fill_sourced(message.hits.add(), sourced)
    for report in result.sources:
        source = response.sources.add(
            collection=report.collection,
            status=report.status,
            took_ms=report.took_ms,
            code=report.code or "",
            message=report.message or "",
            missing_shards=report.missing_shards,
        )
        if report.total is not None:
            source.total = report.total
    return response


def _fill_sourced(message: search_pb2.SourcedHit, sourced: SourcedHit) -> None:
    message.collection = sourced.collection
    message.score = sourced.score
    _fill_hit(message.hit, sourced.hit)


def _fill_hit(message: search_pb2.Hit, hit: Hit) -> None:
    message.id = hit.id
    message.score = hit.score
    message.fields.CopyFrom(to_struct(hit.fields, path="fields", exact=False))
    if hit.match is not None:
        message.match.CopyFrom(to_struct(hit.match, path="match", exact=False))
    if hit.preview is not None:
        message.preview.update(hit.preview)
    if hit.chunk is not None:
        message.chunk.index = hit.chunk.index
        message.chunk.start = hit.chunk.start
        message.chunk.end = hit.chunk.end


def _group_value(value: Any) -> Value:
    return to_value(value, path="group.value", exact=False)


def error_message(code: str, message: str, retry_after: float | None = None) -> search_pb2.Error:
    """The ``Error`` of one failed SearchStream request."""
    status = STATUS_OF_CODE.get(code, grpc.StatusCode.INTERNAL)
    return search_pb2.Error(
        code=status.value[0], message=message, reason=code, retry_after=retry_after or 0.0
    )


def watch_message(watch: Watch) -> search_pb2.Watch:
    """A watch as its message."""
    message = search_pb2.Watch(
        id=watch.id,
        collection=watch.collection,
        query=to_struct(watch.query, path="query", exact=False),
        threshold=watch.threshold,
        created=watch.created,
    )
    if watch.mode is not None:
        message.mode = watch.mode
    if watch.filter is not None:
        message.filter.CopyFrom(to_struct(watch.filter, path="filter", exact=False))
    if watch.callback_url is not None:
        message.callback_url = watch.callback_url
    return message


def notification_message(note: Notification) -> search_pb2.Notification:
    """A notification as its message."""
    message = search_pb2.Notification(
        id=note.id,
        watch_id=note.watch_id,
        document_id=note.document_id,
        score=note.score,
        detail=to_struct(note.detail, path="detail", exact=False),
        created=note.created,
        delivery=note.delivery,
        attempts=note.attempts,
    )
    if note.last_error is not None:
        message.last_error = note.last_error
    return message


def metadata_value(context: grpc.aio.ServicerContext[Any, Any], key: str) -> str | None:
    """The first value of request metadata ``key`` (``authorization``), as text."""
    for item_key, value in context.invocation_metadata() or ():
        if item_key == key:
            return value if isinstance(value, str) else value.decode("latin-1")
    return None
