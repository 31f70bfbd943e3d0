"""Re-indexing as a resumable background job that switches a collection blue/green.

A job builds a new version of a collection (:mod:`ipsim.engine.versions`) beside the live
one, copies every document into it, and switches the collection's alias to it:

1. **Create** the new version's store from the new model and/or index spec, validated by
   the engine exactly as ``create_collection`` validates (a bad spec is a 400 before any
   job exists). A rollback's target is instead the previous version, reopened.
2. **Copy** the live documents in batches, in id order. Each id is *synced*: the live
   record (payload + client fields) is compared with the target's and re-encoded into the
   target only when they differ; an id gone from the live version is deleted from the
   target. Encoding goes through the target's batcher (the :data:`CopyDocuments` seam),
   so searches keep being served; a job given a Ray cluster (``ray``) encodes on encoder
   actors there instead (:mod:`ipsim.engine.reindex_ray`), and a resumed job does too.
   After each batch the job file records the last id synced (the checkpoint) and the
   progress, atomically, once the batch is durable in the target's WAL.
3. **Catch up** with writes made during the copy: while a job runs, every id the engine
   writes to the collection is journaled (:class:`WriteGate`) and synced again.
4. **Switch**: new writes to the collection wait (briefly), writes in flight finish, the
   last journaled ids are synced, the alias file is replaced atomically and the engine's
   in-memory collection is swapped under its lock; then writes go on, to the new version.
   Queries never wait: one that already holds the old version finishes on it, since the
   old version is closed only after :data:`DRAIN_SECONDS` (it stays on disk for rollback).

Why a comparing sync rather than a blind copy: the journal lives in memory, so after a
kill the writes made between the job's start and the kill are unknown. A resumed job (the
engine resumes unfinished jobs on start; the job file says where) therefore runs the same
pass from the first id: ids up to the checkpoint are only read and compared, so nothing is
encoded twice, and changes made while the job was down are found. The same pass makes a
rollback lossless: writes made after the switch are copied back into the previous version
(with its own model) before the alias returns to it.

Job states: queued → running → switching → done | failed | cancelled (the collection was
deleted). A job killed while switching finds the alias on restart: switched means done.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ipsim.engine import versions
from ipsim.engine.collection import Collection
from ipsim.engine.errors import Conflict, InvalidInput, NotFound
from ipsim.engine.types import Document, IndexSpec
from ipsim.engine.versions import Alias
from ipsim.indexers.factory import INTERNAL_TYPES
from ipsim.indexers.snapshot import TMP_PREFIX, atomic_write_bytes
from ipsim.indexers.store import CollectionStore, Record

if TYPE_CHECKING:
    from ipsim.engine.engine import Engine
    from ipsim.engine.reindex_ray import RayEncoding
    from ipsim.engine.watches import Watches

log = logging.getLogger(__name__)

STATES = ("queued", "running", "switching", "done", "failed", "cancelled")
UNFINISHED = ("queued", "running", "switching")
BATCH = 256
"""Documents per copy batch (and per checkpoint)."""
CATCH_UP_ROUNDS = 8
"""Journal drains before the switch; the last (paused) one should be small."""
DRAIN_SECONDS = 30.0
"""How long a replaced version stays open for the queries that already hold it."""

CopyDocuments = Callable[[Collection, Sequence[Document]], Awaitable[int]]
"""Encodes documents into a target version and stores them; the seam for Ray encoding."""


async def encode_in_process(target: Collection, documents: Sequence[Document]) -> int:
    """The default copy: the target's own upsert (its batcher, its side indexes)."""
    return await target.upsert(documents)


@dataclass
class Job:
    """One re-index (or rollback) of one collection, as its job file stores it."""

    id: str
    collection: str
    kind: str
    """``reindex`` or ``rollback``."""
    from_version: int
    to_version: int
    model: str
    index: dict[str, Any]
    state: str = "queued"
    done: int = 0
    """Live ids the copy pass has synced."""
    total: int = 0
    """Live documents when the pass started."""
    copied: int = 0
    """Documents encoded into the target (a resumed job does not encode them again)."""
    checkpoint: str | None = None
    """The last id the copy pass synced, in id order."""
    started: str | None = None
    finished: str | None = None
    error: str | None = None
    ray: str | None = None
    """The Ray cluster whose actors encode the copy (None: this process)."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Job:
        return cls(**{f.name: raw[f.name] for f in fields(cls) if f.name in raw})


class WriteGate:
    """The engine's writes per collection: counted, journaled during a job, pausable.

    Every upsert and delete runs inside :meth:`writing`; the ids it wrote join the
    collection's journal (when a job keeps one) as the write ends, so a sync that follows
    reads them as written.
    """

    def __init__(self) -> None:
        self._active: dict[str, int] = {}
        self._journals: dict[str, set[str]] = {}
        self._paused: dict[str, asyncio.Event] = {}
        self._idle: dict[str, asyncio.Event] = {}

    @asynccontextmanager
    async def writing(self, name: str, ids: Iterable[str]) -> AsyncIterator[None]:
        while (resumed := self._paused.get(name)) is not None:
            await resumed.wait()
        self._active[name] = self._active.get(name, 0) + 1
        try:
            yield
        finally:
            journal = self._journals.get(name)
            if journal is not None:
                journal.update(ids)
            self._active[name] -= 1
            if not self._active[name]:
                del self._active[name]
                if name in self._idle:
                    self._idle[name].set()

    def track(self, name: str) -> None:
        """Start journaling the ids written to ``name``."""
        self._journals.setdefault(name, set())

    def untrack(self, name: str) -> None:
        self._journals.pop(name, None)

    def drain(self, name: str) -> list[str]:
        """The ids journaled since the last drain, sorted; the journal starts afresh."""
        journal = self._journals.get(name)
        if journal is None:
            return []
        ids = sorted(journal)
        journal.clear()
        return ids

    async def pause(self, name: str) -> None:
        """Hold new writes to ``name`` and wait for those in flight to finish."""
        self._paused[name] = asyncio.Event()
        idle = self._idle[name] = asyncio.Event()
        if not self._active.get(name):
            idle.set()
        await idle.wait()

    def resume(self, name: str) -> None:
        self._idle.pop(name, None)
        paused = self._paused.pop(name, None)
        if paused is not None:
            paused.set()


@dataclass
class _Retired:
    """A replaced version, open until the queries holding it are done."""

    collection: Collection
    closing: asyncio.Task[None]


class Reindexer:
    """The engine's re-index and rollback jobs: start, run, resume, report."""

    def __init__(
        self, engine: Engine, folder: Path, copy: CopyDocuments = encode_in_process
    ) -> None:
        self._engine = engine
        self._folder = folder
        self.copy = copy
        """How a batch is encoded into the target: swap it for another strategy (Ray)."""
        self.writes = WriteGate()
        self.drain_seconds = DRAIN_SECONDS
        self._jobs: dict[str, Job] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._running: dict[str, str] = {}  # collection -> job id
        self._cancelled: set[str] = set()  # job ids cancelled because the collection went
        self._retired: dict[Path, _Retired] = {}
        self._encodings: dict[str, RayEncoding] = {}  # job id -> its Ray actors

    @property
    def _root(self) -> Path:
        return self._engine.collections_root

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Load the job files and resume the unfinished jobs (as background tasks)."""
        self._folder.mkdir(parents=True, exist_ok=True)
        for path in sorted(self._folder.glob("*.json")):
            if path.name.startswith(TMP_PREFIX):
                continue
            job = Job.from_json(json.loads(path.read_text(encoding="utf-8")))
            self._jobs[job.id] = job
            if job.state in UNFINISHED and job.collection not in self._running:
                log.info("resuming %s of %s (%s)", job.kind, job.collection, job.id)
                self._launch(job, None)

    async def close(self) -> None:
        """Stop the jobs (their files say where to resume) and close replaced versions."""
        for job_id in list(self._tasks):
            await self._stop(job_id)
        for retired in list(self._retired.values()):
            retired.closing.cancel()
            await retired.collection.close()
        self._retired.clear()

    async def forget(self, name: str) -> None:
        """The collection is being deleted: cancel its job, close its replaced versions."""
        job_id = self._running.get(name)
        if job_id is not None:
            self._cancelled.add(job_id)
            await self._stop(job_id)
        prefix = self._root / versions.VERSIONS_DIR / name
        for path in [p for p in self._retired if p == self._root / name or p.parent == prefix]:
            retired = self._retired.pop(path)
            retired.closing.cancel()
            await retired.collection.close()

    async def _stop(self, job_id: str) -> None:
        task = self._tasks.get(job_id)
        if task is None:
            return
        if self._jobs[job_id].state != "switching":  # a switch is brief: let it finish
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    # -- starting jobs -------------------------------------------------------------------

    def get(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise NotFound(f"job {job_id!r} does not exist")
        return job

    def list(self) -> list[Job]:
        """Every job, newest first."""
        return sorted(self._jobs.values(), key=lambda j: j.started or "", reverse=True)

    async def reindex(
        self,
        name: str,
        model: str | None,
        index: IndexSpec | None,
        ray: str | bool | None = None,
    ) -> Job:
        """Create the new version and start copying into it (``InvalidInput``, ``Conflict``).

        ``ray``: encode on that Ray cluster's actors (``True``: the server's own cluster).
        """
        live = self._engine.live_collection(name)
        address = self._ray_address(ray)
        with self._claim(name) as job_id:
            alias = versions.read_alias(self._root, name)
            version = await asyncio.to_thread(versions.next_version, self._root, name)
            spec_index = index or kept_index(live.store)
            target = await self._engine.create_version(
                name,
                model=model or live.encoder.name,
                index=spec_index,
                shards=live.store.shards,
                path=versions.version_path(self._root, name, version),
            )
            job = Job(
                job_id,
                name,
                "reindex",
                alias.live,
                version,
                model=target.encoder.name,
                index=spec_index.to_json(),
                started=_now(),
                ray=address,
            )
            return await self._begin(job, target)

    def _ray_address(self, ray: str | bool | None) -> str | None:
        """The cluster a job encodes on, checked as the ``ray_address`` setting is."""
        if ray is None or ray is False:
            return None
        if ray is True:
            if not self._engine.options.ray_address:
                raise InvalidInput(
                    "ray", "this server has no Ray cluster (IPSIM_RAY_ADDRESS): give an address"
                )
            return self._engine.options.ray_address
        if not isinstance(ray, str):
            raise InvalidInput("ray", "must be an address (HOST:PORT) or true")
        if ray != "auto":
            from ipsim.config import parse_hostport

            try:
                parse_hostport(ray.removeprefix("ray://"), field="ray")
            except ValueError as exc:
                raise InvalidInput("ray", f"{exc}, auto or ray://HOST:PORT") from exc
        return ray

    async def rollback(self, name: str) -> Job:
        """Return ``name`` to its previous version, with the writes made since (``Conflict``)."""
        live = self._engine.live_collection(name)
        with self._claim(name) as job_id:
            alias = versions.read_alias(self._root, name)
            if alias.previous is None:
                raise Conflict(f"collection {name!r} has no previous version to roll back to")
            target = await self._open(name, alias.previous)
            job = Job(
                job_id,
                name,
                "rollback",
                alias.live,
                alias.previous,
                model=target.encoder.name,
                index=IndexSpec(target.store.index_type, target.store.index_params).to_json(),
                total=len(live.store),
                started=_now(),
            )
            return await self._begin(job, target)

    @contextlib.contextmanager
    def _claim(self, name: str) -> Iterator[str]:
        """Reserve ``name`` for one job (``Conflict`` when it has one); free it on failure."""
        if name in self._running:
            raise Conflict(f"collection {name!r} already has a job running: {self._running[name]}")
        job_id = secrets.token_hex(8)
        self._running[name] = job_id
        self.writes.track(name)
        try:
            yield job_id
        except BaseException:
            self._release(name)
            raise

    def _release(self, name: str) -> None:
        self._running.pop(name, None)
        self.writes.untrack(name)

    async def _begin(self, job: Job, target: Collection) -> Job:
        self._jobs[job.id] = job
        try:
            await self._save(job)
        except BaseException:
            await self._discard(job, target)
            raise
        self._launch(job, target)
        return job

    def _launch(self, job: Job, target: Collection | None) -> None:
        self._running[job.collection] = job.id
        self.writes.track(job.collection)
        task = asyncio.get_running_loop().create_task(
            self._run(job, target), name=f"{job.kind}-{job.collection}"
        )
        self._tasks[job.id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job.id, None))

    # -- running -------------------------------------------------------------------------

    async def _run(self, job: Job, target: Collection | None) -> None:
        name = job.collection
        try:
            if target is None:  # resumed after a restart
                if await self._switched_before(job):
                    return
                target = await self._open(name, job.to_version)
            if job.ray is not None:
                from ipsim.engine.reindex_ray import RayEncoding  # Ray loads only when asked

                self._encodings[job.id] = await RayEncoding.open(job.ray, self._engine, target)
            job.state = "running"
            await self._save(job)
            live = self._engine.live_collection(name)
            await self._copy_all(job, live, target)
            for _ in range(CATCH_UP_ROUNDS):
                journaled = self.writes.drain(name)
                await self._sync(job, live, target, journaled)
                if len(journaled) <= BATCH:
                    break
            job.state = "switching"
            await self._save(job)
            await self._switch(job, live, target)
            await self._finish(job, "done")
        except asyncio.CancelledError:
            if job.id in self._cancelled:
                await self._finish(job, "cancelled", "the collection was deleted")
                await self._discard(job, target)
            elif target is not None:  # the engine is closing: resume on the next start
                await target.close()
            raise
        except Exception as exc:
            log.exception("%s of %s failed", job.kind, name)
            await self._finish(job, "failed", f"{type(exc).__name__}: {exc}")
            await self._discard(job, target)
        finally:
            encoding = self._encodings.pop(job.id, None)
            if encoding is not None:
                await encoding.close()
            self._cancelled.discard(job.id)
            self.writes.resume(name)
            if self._running.get(name) == job.id:
                self._release(name)

    async def _switched_before(self, job: Job) -> bool:
        """A job killed after its switch: the alias already names its target."""
        try:
            self._engine.live_collection(job.collection)
        except NotFound:
            await self._finish(job, "failed", "the collection no longer exists")
            return True
        if versions.read_alias(self._root, job.collection).live != job.to_version:
            return False
        await self._finish(job, "done")
        return True

    async def _copy_all(self, job: Job, live: Collection, target: Collection) -> None:
        """Sync every live id in id order, then drop from the target the ids live lacks."""
        ids = sorted(await asyncio.to_thread(lambda: list(live.store.ids())))
        job.total, job.done = len(ids), 0
        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH]
            await self._sync(job, live, target, batch)
            job.done, job.checkpoint = start + len(batch), batch[-1]
            await self._save(job)
        gone = await asyncio.to_thread(
            lambda: sorted(set(target.store.ids()) - set(live.store.ids()))
        )
        await self._sync(job, live, target, gone)

    async def _sync(
        self, job: Job, live: Collection, target: Collection, ids: Sequence[str]
    ) -> None:
        """Make the target hold what the live version holds now for each of ``ids``."""
        if not ids:
            return
        pairs = await asyncio.to_thread(_read_pairs, live.store, target.store, ids)
        changed = [
            Document(mine.id, mine.payload, mine.fields)
            for mine, theirs in pairs
            if mine is not None and not _same(mine, theirs)
        ]
        # A quarter of an encoder batch at a time: a query (or a write) arriving meanwhile
        # queues before the job's next slice, so it waits for one small batch, not for the
        # whole copy (the batcher is first come, first served). Ray actors serve no queries.
        encoding = self._encodings.get(job.id)
        copy = encoding.copy if encoding is not None else self.copy
        quarter = max(1, self._engine.options.max_batch_size // 4)
        step = max(1, len(changed)) if encoding is not None else quarter
        for start in range(0, len(changed), step):
            await copy(target, changed[start : start + step])
            job.copied += len(changed[start : start + step])
        for doc_id, (mine, theirs) in zip(ids, pairs, strict=True):
            if mine is None and theirs is not None:
                await target.delete(doc_id)

    async def _switch(self, job: Job, live: Collection, target: Collection) -> None:
        name = job.collection
        watches = self._engine.watch_registry
        await self.writes.pause(name)
        try:
            await self._sync(job, live, target, self.writes.drain(name))
            before = versions.read_alias(self._root, name)
            _set_watches(target, watches)
            old = await self._engine.swap_version(
                name, target, Alias(job.to_version, job.from_version)
            )
        finally:
            self.writes.resume(name)
        _set_watches(old, None)
        self._retire(versions.version_path(self._root, name, job.from_version), old)
        replaced = before.previous
        if replaced is not None and replaced not in (job.from_version, job.to_version):
            await self._drop_version(name, replaced)

    async def _finish(self, job: Job, state: str, error: str | None = None) -> None:
        job.state, job.error, job.finished = state, error, _now()
        await self._save(job)

    async def _discard(self, job: Job, target: Collection | None) -> None:
        """Close a failed job's target; a re-index's new version is removed."""
        if target is None:
            return
        if job.kind == "reindex":
            await target.destroy()
        else:
            await target.close()

    # -- versions ------------------------------------------------------------------------

    async def _open(self, name: str, version: int) -> Collection:
        """A version of ``name`` for a job: the replaced one still open, or opened now."""
        path = versions.version_path(self._root, name, version)
        retired = self._retired.pop(path, None)
        if retired is not None:
            retired.closing.cancel()
            return retired.collection
        if not path.is_dir():
            raise Conflict(f"version {version} of collection {name!r} is missing")
        return await self._engine.open_version(name, path, watched=False)

    def _retire(self, path: Path, collection: Collection) -> None:
        async def close_later() -> None:
            await asyncio.sleep(self.drain_seconds)
            self._retired.pop(path, None)
            await collection.close()

        closing = asyncio.get_running_loop().create_task(close_later(), name=f"retire-{path}")
        self._retired[path] = _Retired(collection, closing)

    async def _drop_version(self, name: str, version: int) -> None:
        path = versions.version_path(self._root, name, version)
        retired = self._retired.pop(path, None)
        if retired is not None:
            retired.closing.cancel()
            await retired.collection.close()
        await asyncio.to_thread(versions.remove_version, self._root, name, version)

    async def _save(self, job: Job) -> None:
        data = json.dumps(job.to_json(), ensure_ascii=False).encode()
        await asyncio.to_thread(atomic_write_bytes, self._folder / f"{job.id}.json", data)


def kept_index(store: CollectionStore) -> IndexSpec:
    """The index spec a re-index keeps when it is given none: the live version's.

    A family the collection chose for itself (chemical fingerprints) is chosen again.
    """
    if store.index_type in INTERNAL_TYPES:
        return IndexSpec()
    return IndexSpec(store.index_type, dict(store.index_params))


def _read_pairs(
    live: CollectionStore, target: CollectionStore, ids: Sequence[str]
) -> list[tuple[Record | None, Record | None]]:
    return [(live.get(doc_id), target.get(doc_id)) for doc_id in ids]


def _same(mine: Record, theirs: Record | None) -> bool:
    """Whether the target already holds this document (derived fields included)."""
    return theirs is not None and theirs.payload == mine.payload and theirs.fields == mine.fields


def _set_watches(collection: Collection, watches: Watches | None) -> None:
    """Watches notify from the live version only (copies into a target are not news)."""
    if collection.watchable:
        from ipsim.engine.trademark import TrademarkCollection

        if isinstance(collection, TrademarkCollection):
            collection.watches = watches


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
