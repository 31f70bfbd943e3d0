from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateCollectionRequest(_message.Message):
    __slots__ = ("name", "modality", "index", "shards", "model")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MODALITY_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    SHARDS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    name: str
    modality: str
    index: _struct_pb2.Struct
    shards: int
    model: str
    def __init__(self, name: _Optional[str] = ..., modality: _Optional[str] = ..., index: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., shards: _Optional[int] = ..., model: _Optional[str] = ...) -> None: ...

class Collection(_message.Message):
    __slots__ = ("name", "modality", "count", "dim", "index", "shards", "model")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MODALITY_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    DIM_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    SHARDS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    name: str
    modality: str
    count: int
    dim: int
    index: _struct_pb2.Struct
    shards: int
    model: str
    def __init__(self, name: _Optional[str] = ..., modality: _Optional[str] = ..., count: _Optional[int] = ..., dim: _Optional[int] = ..., index: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., shards: _Optional[int] = ..., model: _Optional[str] = ...) -> None: ...

class ListCollectionsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListCollectionsResponse(_message.Message):
    __slots__ = ("collections",)
    COLLECTIONS_FIELD_NUMBER: _ClassVar[int]
    collections: _containers.RepeatedCompositeFieldContainer[Collection]
    def __init__(self, collections: _Optional[_Iterable[_Union[Collection, _Mapping]]] = ...) -> None: ...

class GetCollectionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteCollectionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteCollectionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Document(_message.Message):
    __slots__ = ("id", "content", "fields")
    ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    id: str
    content: _struct_pb2.Struct
    fields: _struct_pb2.Struct
    def __init__(self, id: _Optional[str] = ..., content: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., fields: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class UpsertRequest(_message.Message):
    __slots__ = ("collection", "documents")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    collection: str
    documents: _containers.RepeatedCompositeFieldContainer[Document]
    def __init__(self, collection: _Optional[str] = ..., documents: _Optional[_Iterable[_Union[Document, _Mapping]]] = ...) -> None: ...

class UpsertResponse(_message.Message):
    __slots__ = ("upserted",)
    UPSERTED_FIELD_NUMBER: _ClassVar[int]
    upserted: int
    def __init__(self, upserted: _Optional[int] = ...) -> None: ...

class GetDocumentRequest(_message.Message):
    __slots__ = ("collection", "id")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    collection: str
    id: str
    def __init__(self, collection: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class DeleteDocumentRequest(_message.Message):
    __slots__ = ("collection", "id")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    collection: str
    id: str
    def __init__(self, collection: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class DeleteDocumentResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SearchRequest(_message.Message):
    __slots__ = ("collection", "query", "k", "offset", "filter", "mode", "request_id", "group_by", "group_size")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    GROUP_SIZE_FIELD_NUMBER: _ClassVar[int]
    collection: str
    query: _struct_pb2.Struct
    k: int
    offset: int
    filter: _struct_pb2.Struct
    mode: str
    request_id: str
    group_by: str
    group_size: int
    def __init__(self, collection: _Optional[str] = ..., query: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., k: _Optional[int] = ..., offset: _Optional[int] = ..., filter: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., mode: _Optional[str] = ..., request_id: _Optional[str] = ..., group_by: _Optional[str] = ..., group_size: _Optional[int] = ...) -> None: ...

class Chunk(_message.Message):
    __slots__ = ("index", "start", "end")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    index: int
    start: int
    end: int
    def __init__(self, index: _Optional[int] = ..., start: _Optional[int] = ..., end: _Optional[int] = ...) -> None: ...

class Hit(_message.Message):
    __slots__ = ("id", "score", "fields", "chunk", "match", "preview")
    class PreviewEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    MATCH_FIELD_NUMBER: _ClassVar[int]
    PREVIEW_FIELD_NUMBER: _ClassVar[int]
    id: str
    score: float
    fields: _struct_pb2.Struct
    chunk: Chunk
    match: _struct_pb2.Struct
    preview: _containers.ScalarMap[str, str]
    def __init__(self, id: _Optional[str] = ..., score: _Optional[float] = ..., fields: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., chunk: _Optional[_Union[Chunk, _Mapping]] = ..., match: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., preview: _Optional[_Mapping[str, str]] = ...) -> None: ...

class SearchResponse(_message.Message):
    __slots__ = ("hits", "total", "took_ms", "request_id", "error", "truncated", "groups", "missing_shards")
    HITS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    TOOK_MS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    MISSING_SHARDS_FIELD_NUMBER: _ClassVar[int]
    hits: _containers.RepeatedCompositeFieldContainer[Hit]
    total: int
    took_ms: float
    request_id: str
    error: Error
    truncated: bool
    groups: _containers.RepeatedCompositeFieldContainer[HitGroup]
    missing_shards: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, hits: _Optional[_Iterable[_Union[Hit, _Mapping]]] = ..., total: _Optional[int] = ..., took_ms: _Optional[float] = ..., request_id: _Optional[str] = ..., error: _Optional[_Union[Error, _Mapping]] = ..., truncated: _Optional[bool] = ..., groups: _Optional[_Iterable[_Union[HitGroup, _Mapping]]] = ..., missing_shards: _Optional[_Iterable[int]] = ...) -> None: ...

class HitGroup(_message.Message):
    __slots__ = ("value", "hits")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    HITS_FIELD_NUMBER: _ClassVar[int]
    value: _struct_pb2.Value
    hits: _containers.RepeatedCompositeFieldContainer[Hit]
    def __init__(self, value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., hits: _Optional[_Iterable[_Union[Hit, _Mapping]]] = ...) -> None: ...

class SearchManyRequest(_message.Message):
    __slots__ = ("collections", "query", "k", "offset", "filter", "mode", "fusion", "weights", "timeout_ms", "group_by", "group_size")
    class WeightsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    COLLECTIONS_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    FUSION_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    GROUP_SIZE_FIELD_NUMBER: _ClassVar[int]
    collections: _containers.RepeatedScalarFieldContainer[str]
    query: _struct_pb2.Struct
    k: int
    offset: int
    filter: _struct_pb2.Struct
    mode: str
    fusion: str
    weights: _containers.ScalarMap[str, float]
    timeout_ms: float
    group_by: str
    group_size: int
    def __init__(self, collections: _Optional[_Iterable[str]] = ..., query: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., k: _Optional[int] = ..., offset: _Optional[int] = ..., filter: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., mode: _Optional[str] = ..., fusion: _Optional[str] = ..., weights: _Optional[_Mapping[str, float]] = ..., timeout_ms: _Optional[float] = ..., group_by: _Optional[str] = ..., group_size: _Optional[int] = ...) -> None: ...

class SourcedHit(_message.Message):
    __slots__ = ("collection", "hit", "score")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    HIT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    collection: str
    hit: Hit
    score: float
    def __init__(self, collection: _Optional[str] = ..., hit: _Optional[_Union[Hit, _Mapping]] = ..., score: _Optional[float] = ...) -> None: ...

class SourceReport(_message.Message):
    __slots__ = ("collection", "status", "took_ms", "total", "code", "message", "missing_shards")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TOOK_MS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    MISSING_SHARDS_FIELD_NUMBER: _ClassVar[int]
    collection: str
    status: str
    took_ms: float
    total: int
    code: str
    message: str
    missing_shards: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, collection: _Optional[str] = ..., status: _Optional[str] = ..., took_ms: _Optional[float] = ..., total: _Optional[int] = ..., code: _Optional[str] = ..., message: _Optional[str] = ..., missing_shards: _Optional[_Iterable[int]] = ...) -> None: ...

class SourcedGroup(_message.Message):
    __slots__ = ("value", "hits")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    HITS_FIELD_NUMBER: _ClassVar[int]
    value: _struct_pb2.Value
    hits: _containers.RepeatedCompositeFieldContainer[SourcedHit]
    def __init__(self, value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., hits: _Optional[_Iterable[_Union[SourcedHit, _Mapping]]] = ...) -> None: ...

class SearchManyResponse(_message.Message):
    __slots__ = ("hits", "total", "took_ms", "partial", "sources", "fusion", "truncated", "groups")
    HITS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    TOOK_MS_FIELD_NUMBER: _ClassVar[int]
    PARTIAL_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    FUSION_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    hits: _containers.RepeatedCompositeFieldContainer[SourcedHit]
    total: int
    took_ms: float
    partial: bool
    sources: _containers.RepeatedCompositeFieldContainer[SourceReport]
    fusion: str
    truncated: bool
    groups: _containers.RepeatedCompositeFieldContainer[SourcedGroup]
    def __init__(self, hits: _Optional[_Iterable[_Union[SourcedHit, _Mapping]]] = ..., total: _Optional[int] = ..., took_ms: _Optional[float] = ..., partial: _Optional[bool] = ..., sources: _Optional[_Iterable[_Union[SourceReport, _Mapping]]] = ..., fusion: _Optional[str] = ..., truncated: _Optional[bool] = ..., groups: _Optional[_Iterable[_Union[SourcedGroup, _Mapping]]] = ...) -> None: ...

class Error(_message.Message):
    __slots__ = ("code", "message", "reason", "retry_after")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    reason: str
    retry_after: float
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., reason: _Optional[str] = ..., retry_after: _Optional[float] = ...) -> None: ...

class CreateWatchRequest(_message.Message):
    __slots__ = ("collection", "query", "mode", "threshold", "filter", "callback_url")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    CALLBACK_URL_FIELD_NUMBER: _ClassVar[int]
    collection: str
    query: _struct_pb2.Struct
    mode: str
    threshold: float
    filter: _struct_pb2.Struct
    callback_url: str
    def __init__(self, collection: _Optional[str] = ..., query: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., mode: _Optional[str] = ..., threshold: _Optional[float] = ..., filter: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., callback_url: _Optional[str] = ...) -> None: ...

class Watch(_message.Message):
    __slots__ = ("id", "collection", "query", "mode", "threshold", "filter", "callback_url", "created")
    ID_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    CALLBACK_URL_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    id: str
    collection: str
    query: _struct_pb2.Struct
    mode: str
    threshold: float
    filter: _struct_pb2.Struct
    callback_url: str
    created: str
    def __init__(self, id: _Optional[str] = ..., collection: _Optional[str] = ..., query: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., mode: _Optional[str] = ..., threshold: _Optional[float] = ..., filter: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., callback_url: _Optional[str] = ..., created: _Optional[str] = ...) -> None: ...

class GetWatchRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteWatchRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteWatchResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListNotificationsRequest(_message.Message):
    __slots__ = ("watch_id", "offset", "limit")
    WATCH_ID_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    watch_id: str
    offset: int
    limit: int
    def __init__(self, watch_id: _Optional[str] = ..., offset: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class Notification(_message.Message):
    __slots__ = ("id", "watch_id", "document_id", "score", "detail", "created", "delivery", "attempts", "last_error")
    ID_FIELD_NUMBER: _ClassVar[int]
    WATCH_ID_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    id: str
    watch_id: str
    document_id: str
    score: float
    detail: _struct_pb2.Struct
    created: str
    delivery: str
    attempts: int
    last_error: str
    def __init__(self, id: _Optional[str] = ..., watch_id: _Optional[str] = ..., document_id: _Optional[str] = ..., score: _Optional[float] = ..., detail: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., created: _Optional[str] = ..., delivery: _Optional[str] = ..., attempts: _Optional[int] = ..., last_error: _Optional[str] = ...) -> None: ...

class ListNotificationsResponse(_message.Message):
    __slots__ = ("notifications", "total")
    NOTIFICATIONS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    notifications: _containers.RepeatedCompositeFieldContainer[Notification]
    total: int
    def __init__(self, notifications: _Optional[_Iterable[_Union[Notification, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...
