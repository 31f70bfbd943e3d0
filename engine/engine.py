"""The Engine: the registry of collections and the one interface the server and platform call."""

from __future__ import annotations

import asyncio
import functools
import logging
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ipsim.engine.batcher import DynamicBatcher
from ipsim.engine.collection import Collection, Vector
from ipsim.engine.device import Device, resolve_device
from ipsim.engine.errors import Conflict, InvalidInput, NotFound, NotReady
from ipsim.engine.facets import FacetResult, FacetSpec, facet_counts, parse_facets
from ipsim.engine.grouping import Grouping, grouped_page, parse_grouping
from ipsim.engine.pages import PageCache
from ipsim.engine.reindex import Reindexer
from ipsim.engine.types import (
    MODALITIES,
    CollectionInfo,
    CollectionSpec,
    Depiction,
    Document,
    Hit,
    HitGroup,
    IndexSpec,
    SearchRequest,
    SearchResult,
)
from ipsim.engine.validation import check_collection_name, check_page
from ipsim.engine.versions import Alias, collection_names, live_path, remove_all, write_alias
from ipsim.engine.watches import Notification, Watch, Watches
from ipsim.indexers.factory import IndexParamError, validate_index_params
from ipsim.indexers.store import CollectionStore, DocHit, StoreOptions
from ipsim.models.base import Encoder, InvalidContent, Prepared, pooled
from ipsim.models.registry import (
    AVAILABLE_MODALITIES,
    UnknownModel,
    default_model_name,
    load_encoder,
)
from ipsim.models.triton_backend import RemoteUnavailable

if TYPE_CHECKING:
    from ipsim.engine.ray_cluster import RayCluster

log = logging.getLogger(__name__)

MAX_SHARDS = 64


@dataclass(frozen=True)
class EngineOptions:
    """The engine's share of the settings."""

    data: Path
    device: str = "auto"
    text_model: str = "all-MiniLM-L6-v2"
    chunk_tokens: int = 256
    chunk_overlap: int = 32
    max_batch_size: int = 64
    max_delay_ms: float = 2.0
    max_queue: int = 4096
    max_k: int = 1000
    max_offset: int = 10000
    snapshot_every: int = 50_000
    wal_group_commit_ms: float = 2.0
    mesh_max_bytes: int = 16 * 1024 * 1024
    mesh_max_faces: int = 500_000
    triton_url: str | None = None
    """Text encodes on this Triton / KServe v2 server (:mod:`ipsim.models.triton_backend`)."""
    triton_model: str | None = None
    """The remote name of ``text_model`` (default: its own name)."""
    ray_address: str | None = None
    """Cluster mode: sharded collections keep their shards in Ray actors there
    (:mod:`ipsim.engine.ray_cluster`); None: in process, and Ray is never imported."""


@dataclass
class _Model:
    encoder: Encoder[Any]
    batcher: DynamicBatcher[Any, Vector]


class Engine:
    """All collections under one data directory, their encoders and batchers.

    Every method is safe to call from the asyncio loop; blocking work (encoding, FAISS,
    fsync) runs in worker threads. Errors are :mod:`ipsim.engine.errors` types.
    """

    def __init__(self, options: EngineOptions) -> None:
        self.options = options
        self.device: Device = resolve_device(options.device)
        self._root = options.data / "collections"
        self._collections: dict[str, Collection] = {}
        self._models: dict[tuple[str, str], _Model] = {}
        self._pages: PageCache[DocHit] = PageCache()
        self._lock = asyncio.Lock()
        self._ready = False
        self._watches = Watches(options.data / "watches")
        self.jobs = Reindexer(self, options.data / "jobs")
        """Re-index and rollback jobs (:mod:`ipsim.engine.reindex`)."""
        self.cluster: RayCluster | None = None
        if options.ray_address:
            from ipsim.engine.ray_cluster import RayCluster  # Ray loads only in cluster mode

            self.cluster = RayCluster(options.ray_address)
        self._store_options = StoreOptions(
            snapshot_every=options.snapshot_every,
            group_commit_ms=options.wal_group_commit_ms,
            device=self.device.index_device,
            place_shards=self.cluster.place if self.cluster else None,
        )

    @property
    def ready(self) -> bool:
        """True once every collection has loaded (snapshot + log replay)."""
        return self._ready

    async def start(self) -> None:
        """Open every collection under the data directory (after connecting to the cluster)."""
        if self.cluster is not None:
            await asyncio.to_thread(self.cluster.start)
        self._root.mkdir(parents=True, exist_ok=True)
        # A name is an alias of one store version (ipsim.engine.versions).
        for name in await asyncio.to_thread(collection_names, self._root):
            collection = await self.open_version(name, live_path(self._root, name))
            self._collections[name] = collection
            log.info("opened collection %s (%d documents)", name, len(collection.store))
        await self._watches.start()
        self._ready = True
        await self.jobs.start()

    async def close(self) -> None:
        """Stop batchers, snapshot and close every collection."""
        self._ready = False
        await self.jobs.close()
        await self._watches.close()
        for collection in self._collections.values():
            await collection.close()
        self._collections.clear()
        for model in self._models.values():
            await model.batcher.stop()
        if self.cluster is not None:
            await asyncio.to_thread(self.cluster.close)

    async def _model(self, modality: str, name: str | None) -> _Model:
        """The shared encoder + batcher for a (modality, model), loaded once."""
        try:
            encoder = await asyncio.to_thread(self._load_encoder, modality, name)
        except UnknownModel as exc:
            raise InvalidInput("model", str(exc)) from exc
        key = (modality, encoder.name)
        if key not in self._models:
            batcher: DynamicBatcher[Any, Vector] = DynamicBatcher(
                encoder.name,
                functools.partial(_encode_rows, encoder),
                max_batch_size=self.options.max_batch_size,
                max_delay_ms=self.options.max_delay_ms,
                max_queue=self.options.max_queue,
            )
            self._models[key] = _Model(encoder, batcher)
        return self._models[key]

    def _load_encoder(self, modality: str, name: str | None) -> Encoder[Any]:
        mesh_limits = None
        if modality == "text" and name is None:
            name = self.options.text_model  # the default, not whichever text model loaded first
        if modality == "mesh":
            from ipsim.models.mesh import DEFAULT_MESH_MODEL
            from ipsim.models.mesh_io import MeshLimits

            name = name or DEFAULT_MESH_MODEL
            mesh_limits = MeshLimits(
                max_bytes=self.options.mesh_max_bytes, max_faces=self.options.mesh_max_faces
            )
        for (loaded_modality, loaded_name), model in self._models.items():
            if loaded_modality == modality and name == loaded_name:
                return model.encoder
        return load_encoder(
            modality,
            name,
            device=self.device.torch,
            chunk_tokens=self.options.chunk_tokens,
            chunk_overlap=self.options.chunk_overlap,
            mesh_limits=mesh_limits,
            triton_url=self.options.triton_url,
            # The override names the default text model's remote twin, not every text model's.
            triton_model=self.options.triton_model if name == self.options.text_model else None,
        )

    def _collection(
        self, name: str, store: CollectionStore, model: _Model, *, watched: bool = True
    ) -> Collection:
        kind = _collection_class(str(store.meta["modality"]))
        extra: dict[str, Any] = {"watches": self._watches} if kind.watchable and watched else {}
        return kind(
            name,
            store,
            model.encoder,
            model.batcher,
            self._pages,
            max_search_batch=self.options.max_batch_size,
            max_search_queue=self.options.max_queue,
            **extra,
        )

    def _get(self, name: str) -> Collection:
        if not self._ready:
            raise NotReady("the engine is not ready")
        collection = self._collections.get(name)
        if collection is None:
            raise NotFound(f"collection {name!r} does not exist")
        return collection

    async def create_collection(self, spec: CollectionSpec) -> CollectionInfo:
        """Raise ``InvalidInput`` (bad name/modality/index/model) or ``Conflict`` (exists)."""
        check_collection_name(spec.name)
        if spec.modality not in MODALITIES:
            raise InvalidInput("modality", f"must be one of {', '.join(MODALITIES)}")
        if spec.modality not in AVAILABLE_MODALITIES:
            raise InvalidInput(
                "modality",
                f"{spec.modality!r} has no encoder in this build yet "
                f"(available: {', '.join(AVAILABLE_MODALITIES)})",
            )
        if isinstance(spec.shards, bool) or not 1 <= spec.shards <= MAX_SHARDS:
            raise InvalidInput("shards", f"must be an integer from 1 to {MAX_SHARDS}")
        async with self._lock:
            if spec.name in self._collections:
                raise Conflict(f"collection {spec.name!r} already exists")
            store, model = await self._create_store(spec, self._root / spec.name)
            collection = self._collection(spec.name, store, model)
            self._collections[spec.name] = collection
            return collection.info()

    async def _create_store(
        self, spec: CollectionSpec, path: Path
    ) -> tuple[CollectionStore, _Model]:
        """Validate ``spec``'s model and index (``InvalidInput``), then create its empty store."""
        model = await self._model(spec.modality, spec.model)
        index_type, raw_params = _collection_class(spec.modality).index_for(
            spec.index.type, spec.index.params, model.encoder
        )
        try:
            params = validate_index_params(
                index_type, raw_params, model.encoder.dim, model.encoder.metric
            )
        except IndexParamError as exc:
            raise InvalidInput(exc.field, exc.message) from exc
        if path.exists():  # a half-made collection from a crash during create
            await asyncio.to_thread(shutil.rmtree, path)
        store = await asyncio.to_thread(
            CollectionStore.create,
            path,
            dim=model.encoder.dim,
            metric=model.encoder.metric,
            index_type=index_type,
            index_params=params,
            shards=spec.shards,
            meta={"modality": spec.modality, "model": model.encoder.name},
            options=self._store_options,
        )
        return store, model

    def list_collections(self) -> list[CollectionInfo]:
        if not self._ready:
            raise NotReady("the engine is not ready")
        return [c.info() for c in self._collections.values()]

    def collection_info(self, name: str) -> CollectionInfo:
        """Raise ``NotFound``."""
        return self._get(name).info()

    async def delete_collection(self, name: str) -> None:
        """Raise ``NotFound``."""
        self._get(name)
        await self.jobs.forget(name)  # outside the lock: a job's switch takes it
        async with self._lock:
            collection = self._get(name)
            del self._collections[name]
            self._pages.drop(name)
            await asyncio.to_thread(self._watches.drop_collection, name)
            await collection.destroy()
            await asyncio.to_thread(remove_all, self._root, name)  # the other versions

    async def upsert(self, name: str, documents: Sequence[Document]) -> int:
        """Validate, encode (batched), log durably, index; return the number upserted.

        All-or-nothing: an invalid document fails the whole call with ``InvalidInput``
        whose field is ``documents[i].content.text`` and nothing is written.
        """
        if not documents:
            raise InvalidInput("documents", "must hold at least one document")
        ids = [doc.id for doc in documents if isinstance(doc.id, str)]
        async with self.jobs.writes.writing(name, ids):  # a re-index journals them
            return await self._get(name).upsert(documents)

    async def get_document(self, name: str, doc_id: str) -> Document:
        """Raise ``NotFound``."""
        document = await self._get(name).get(doc_id)
        if document is None:
            raise NotFound(f"document {doc_id!r} is not in collection {name!r}")
        return document

    async def depict(self, name: str, doc_id: str, form: str) -> Depiction:
        """A drawing of a stored document: ``svg`` of a chemical structure, ``png`` / ``glb``
        previews of a mesh.

        Raise ``NotFound``, or ``InvalidInput`` (field ``depict``) for a collection whose
        documents have no drawing or an unknown ``form``.
        """
        return await self._get(name).depict(doc_id, form)

    async def depict_query(self, name: str, query: Any) -> Depiction:
        """An SVG drawing of a query structure (``{"smiles"|"molblock"|"smarts": …}``) by the
        chemistry of collection ``name``.

        Raise ``NotFound``, or ``InvalidInput`` naming ``query.<key>`` for a structure RDKit
        cannot read, or ``collection`` for a collection that is not chemical.
        """
        return await self._get(name).depict_query(query)

    async def create_watch(
        self,
        collection: str,
        query: dict[str, Any],
        mode: str | None,
        threshold: float,
        filter: dict[str, Any] | None,
        callback_url: str | None,
    ) -> Watch:
        """Watch ``collection`` for new documents scoring ``threshold`` or more against ``query``.

        Raise ``NotFound`` (collection) or ``InvalidInput`` (a query, mode or filter the
        collection could not run, a threshold outside [0, 1], a bad callback URL).
        """
        await self._get(collection).validate_watch(query, mode, filter)
        return await asyncio.to_thread(
            self._watches.create,
            collection=collection,
            query=query,
            mode=mode,
            threshold=threshold,
            filter=filter,
            callback_url=callback_url,
        )

    def get_watch(self, watch_id: str) -> Watch:
        """Raise ``NotFound``."""
        return self._watches.get(watch_id)

    def delete_watch(self, watch_id: str) -> None:
        """Raise ``NotFound``."""
        self._watches.delete(watch_id)

    def watch_notifications(
        self, watch_id: str, offset: int, limit: int
    ) -> tuple[list[Notification], int]:
        """A page of a watch's notifications, oldest first, and their total; ``NotFound``."""
        return self._watches.notifications(watch_id, offset=offset, limit=limit)

    async def delete_document(self, name: str, doc_id: str) -> None:
        """Raise ``NotFound``."""
        async with self.jobs.writes.writing(name, [doc_id]):
            deleted = await self._get(name).delete(doc_id)
        if not deleted:
            raise NotFound(f"document {doc_id!r} is not in collection {name!r}")

    async def search(self, name: str, request: SearchRequest) -> SearchResult:
        """Encode the query (batched), search with the filter inside, page stably.

        With ``group_by`` the page holds ``k`` groups of at most ``group_size`` hits.
        """
        collection = self._get(name)
        check_page(
            request.k, request.offset, max_k=self.options.max_k, max_offset=self.options.max_offset
        )
        if not isinstance(request.query, dict):
            raise InvalidInput("query", "must be an object")
        grouping = parse_grouping(request.group_by, request.group_size)
        specs = parse_facets(request.facets) if request.facets is not None else None
        if grouping is None:
            result = await collection.search(request)
        else:
            result = await self._grouped_search(collection, request, grouping)
        if specs is None:
            return result
        flt = collection.parse_filter(request.filter)
        counts = await asyncio.to_thread(facet_counts, collection.store, specs, flt)
        return replace(result, facets=counts)

    async def _grouped_search(
        self, collection: Collection, request: SearchRequest, grouping: Grouping
    ) -> SearchResult:
        started = time.perf_counter()
        last: list[SearchResult] = []

        async def rank(depth: int) -> tuple[list[Hit], bool]:
            ungrouped = replace(request, k=depth, offset=0, group_by=None, group_size=None)
            last[:] = [await collection.search(ungrouped)]
            return last[0].hits, len(last[0].hits) < depth

        page = await grouped_page(
            rank,
            grouping,
            offset=request.offset,
            k=request.k,
            max_depth=self.options.max_offset + self.options.max_k,
            fields_of=lambda hit: hit.fields,
            identity_of=lambda hit: hit.id,
        )
        groups = [HitGroup(g.value, g.hits) for g in page.groups]
        return SearchResult(
            hits=[hit for g in groups for hit in g.hits],
            total=last[0].total,
            took_ms=(time.perf_counter() - started) * 1000.0,
            truncated=page.truncated or last[0].truncated,
            missing_shards=last[0].missing_shards,
            groups=groups,
        )

    def document_fields(self, name: str) -> list[tuple[str, dict[str, Any]]]:
        """Every document's id and fields in collection ``name`` (``NotFound``); blocking:
        call it from a worker thread."""
        return self._get(name).store.all_fields()

    def collection_version(self, name: str) -> int:
        """A number that grows with every change to the collection (``NotFound``)."""
        return self._get(name).store.version

    async def facets(
        self, name: str, specs: Sequence[FacetSpec], filter: Any = None
    ) -> dict[str, FacetResult]:
        """Documents per child code (or value) of each facet, over those passing ``filter``.

        ``specs`` come from :func:`~ipsim.engine.facets.parse_facets` or ``facet_spec``.
        Raise ``NotFound`` (collection) or ``InvalidInput`` (``filter…``).
        """
        collection = self._get(name)
        flt = collection.parse_filter(filter)
        return await asyncio.to_thread(facet_counts, collection.store, specs, flt)

    # --- versions (blue/green re-indexing; the jobs are in ipsim.engine.reindex) ----------

    @property
    def collections_root(self) -> Path:
        """The folder holding every collection's versions."""
        return self._root

    @property
    def watch_registry(self) -> Watches:
        return self._watches

    def live_collection(self, name: str) -> Collection:
        """The version ``name`` serves now (``NotFound``, ``NotReady``)."""
        return self._get(name)

    async def open_version(self, name: str, path: Path, *, watched: bool = True) -> Collection:
        """Open the store version at ``path`` as collection ``name`` (not registered)."""
        store = await asyncio.to_thread(CollectionStore.open, path, self._store_options)
        try:
            model = await self._model(str(store.meta["modality"]), str(store.meta["model"]))
        except BaseException:
            await asyncio.to_thread(store.close)
            raise
        return self._collection(name, store, model, watched=watched)

    async def create_version(
        self, name: str, *, model: str, index: IndexSpec, shards: int, path: Path
    ) -> Collection:
        """A new empty version of ``name`` at ``path``, validated as a new collection is
        (``InvalidInput`` naming ``model`` or ``index…``); not registered, no watches."""
        live = self._get(name)
        spec = CollectionSpec(name, live.modality, index=index, shards=shards, model=model)
        store, loaded = await self._create_store(spec, path)
        return self._collection(name, store, loaded, watched=False)

    async def swap_version(self, name: str, target: Collection, alias: Alias) -> Collection:
        """Point ``name`` at ``target`` (alias file first, then memory); return the old one.

        The target's change counter continues from the old one's, so page caches and
        result sets keyed by :meth:`collection_version` see the switch as a change.
        """
        async with self._lock:
            old = self._get(name)
            await asyncio.to_thread(write_alias, self._root, name, alias)
            target.store.version += old.store.version + 1
            self._collections[name] = target
            self._pages.drop(name)
            return old

    # --- encoders as a service (the KServe v2 / Triton front door) -----------------------

    def encoders(self) -> list[tuple[str, str]]:
        """``(modality, model)`` of every encoder :meth:`embed` serves: the loaded ones, then
        each modality's default (loaded on first use)."""
        served = list(self._models)
        for modality in AVAILABLE_MODALITIES:
            default = (modality, default_model_name(modality, self.options.text_model))
            if default not in served:
                served.append(default)
        return served

    async def encoder(self, modality: str, model: str | None) -> Encoder[Any]:
        """The shared encoder of a (modality, model), loaded on first use (``InvalidInput``)."""
        return (await self._served_model(modality, model)).encoder

    async def embed(
        self, modality: str, model: str | None, contents: Sequence[Mapping[str, Any]]
    ) -> npt.NDArray[np.float32]:
        """``(len(contents), dim)``: each content's vector as a search would encode it as a
        query, through the same dynamic batcher as the collections using that encoder.

        Raise ``InvalidInput`` (``contents[i].KEY`` for a bad item, ``contents``, ``modality``,
        ``model``) or ``Overloaded``.
        """
        if not contents:
            raise InvalidInput("contents", "must hold at least one item")
        loaded = await self._served_model(modality, model)
        prepared = await asyncio.to_thread(_prepare_queries, loaded.encoder, contents)
        rows = await loaded.batcher.submit([unit for p in prepared for unit in p.units])
        return _one_row_per_item(rows, [len(p.units) for p in prepared])

    async def _served_model(self, modality: str, model: str | None) -> _Model:
        if modality not in AVAILABLE_MODALITIES:
            raise InvalidInput("modality", f"must be one of {', '.join(AVAILABLE_MODALITIES)}")
        return await self._model(modality, model)


def _prepare_queries(
    encoder: Encoder[Any], contents: Sequence[Mapping[str, Any]]
) -> list[Prepared[Any]]:
    prepared = []
    for i, content in enumerate(contents):
        try:
            prepared.append(encoder.preprocess(content, "query"))
        except InvalidContent as exc:
            raise InvalidInput(f"contents[{i}].{exc.field}", exc.message) from exc
    return prepared


def _one_row_per_item(rows: Sequence[Vector], counts: Sequence[int]) -> npt.NDArray[np.float32]:
    """Each item's row: its one unit's, or the normalised mean of its chunks' (the rule
    ``Collection._query_vector`` applies to a long query)."""
    items = []
    start = 0
    for count in counts:
        items.append(pooled(rows[start : start + count]))
        start += count
    return np.ascontiguousarray(np.stack(items), dtype=np.float32)


def _collection_class(modality: str) -> type[Collection]:
    if modality == "chemical":
        from ipsim.engine.chemical import ChemicalCollection  # RDKit only when used

        return ChemicalCollection
    if modality == "trademark":
        from ipsim.engine.trademark import TrademarkCollection

        return TrademarkCollection
    if modality == "mesh":
        from ipsim.engine.mesh import MeshCollection

        return MeshCollection
    if modality == "sequence":
        from ipsim.engine.sequence import SequenceCollection

        return SequenceCollection
    if modality == "text":
        from ipsim.engine.text import TextCollection

        return TextCollection
    return Collection


def _encode_rows(encoder: Encoder[Any], units: Sequence[Any]) -> list[Vector]:
    """The batcher hands out results per unit: the rows of the encoded matrix."""
    try:
        return list(encoder.encode(units))
    except RemoteUnavailable as exc:  # a remote (Triton) encoder is down: 503, not 500
        raise NotReady(str(exc)) from exc
