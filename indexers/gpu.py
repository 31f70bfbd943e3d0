"""FAISS on CUDA: device parsing, CPU↔GPU cloning, and the GPU mirror families search with.

A family moved to ``cuda:N`` keeps its CPU index as the source of truth (writes, filtered
searches, ``save``) and holds a :class:`GpuMirror`: a GPU clone used for unfiltered
searches. Adds are mirrored onto the clone; removals drop it and it is cloned again on
the next search, because FAISS GPU indexes cannot remove ids. Filtered searches stay on
CPU because ``IDSelector`` search parameters are a CPU feature of FAISS.

With faiss-cpu, :func:`faiss_gpu_count` is 0, nothing here touches CUDA, and every
family's ``to("cuda")`` returns the index unchanged, on CPU.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

import faiss
import numpy as np
import numpy.typing as npt

from ipsim.indexers.base import Labels, Metric, Vectors, parse_device

if TYPE_CHECKING:  # torch loads only when a torch mirror is made (it takes seconds)
    from ipsim.indexers.torch_search import TorchFlatSearch

log = logging.getLogger(__name__)

# FAISS GPU k-selection handles at most this many neighbours per query.
GPU_MAX_K = 2048

_resources: dict[int, Any] = {}
_resources_lock = threading.Lock()
_device_locks: dict[int, threading.RLock] = {}


def faiss_gpu_count() -> int:
    """GPUs FAISS can use (0 with faiss-cpu or without a CUDA device)."""
    get_num_gpus = getattr(faiss, "get_num_gpus", None)
    if get_num_gpus is None:
        return 0
    try:
        return int(get_num_gpus())
    except RuntimeError:
        return 0


def device_lock(device: int) -> threading.RLock:
    """The lock every use of GPU ``device``'s shared :func:`gpu_resources` holds.

    A ``StandardGpuResources`` hands out temporary memory from a stack that is not safe to
    use from several threads at once (FAISS aborts: "p + size == head_"), and a sharded
    index searches its shards in parallel threads, several of them on one GPU.
    """
    with _resources_lock:
        return _device_locks.setdefault(device, threading.RLock())


def gpu_resources(device: int) -> Any:
    """The process's one ``StandardGpuResources`` for GPU ``device`` (scratch memory, streams)."""
    with _resources_lock:
        if device not in _resources:
            _resources[device] = faiss.StandardGpuResources()
        return _resources[device]


def to_gpu(index: Any, device: int, *, float16_lookup: bool = False) -> Any:
    """A GPU clone of a CPU FAISS index on GPU ``device``.

    ``float16_lookup`` stores IVF-PQ distance tables in half precision, which halves
    their shared memory so larger ``m`` fit (ranking barely changes; we re-rank exactly).
    """
    options: Any = faiss.GpuClonerOptions()
    options.useFloat16LookupTables = float16_lookup
    return faiss.index_cpu_to_gpu(gpu_resources(device), device, index, options)


def to_gpu_replicas(index: Any, devices: Sequence[int], *, float16_lookup: bool = False) -> Any:
    """An ``IndexReplicas``: a full clone of ``index`` on each of ``devices``; a batch of
    queries is split between them and each part searched on its own GPU at once.

    Each replica gets its own ``StandardGpuResources`` (the replicas search in parallel
    threads, and one resources object is not safe to share between threads), kept alive
    by the index. A device may repeat: two replicas on one GPU is how the tests exercise
    this on a single-GPU machine.
    """
    options: Any = faiss.GpuMultipleClonerOptions()
    options.shard = False  # replicate, do not split the vectors
    options.useFloat16LookupTables = float16_lookup
    resources = [faiss.StandardGpuResources() for _ in devices]
    return faiss.index_cpu_to_gpu_multiple_py(resources, index, options, list(devices))


def to_cpu(index: Any) -> Any:
    """A CPU clone of a FAISS index (a copy even when it is already on CPU)."""
    # index_gpu_to_cpu exists only in GPU builds of FAISS; it copies CPU indexes too.
    gpu_to_cpu = getattr(faiss, "index_gpu_to_cpu", None)
    return faiss.clone_index(index) if gpu_to_cpu is None else gpu_to_cpu(index)


class GpuMirror:
    """A lazily made GPU clone of a family's current CPU index, for unfiltered search.

    ``source`` returns the CPU index to clone; it is called again after :meth:`invalidate`.
    With several ``devices`` the clone is an ``IndexReplicas`` (:func:`to_gpu_replicas`).
    Searches on the clone are serialised: a FAISS GPU index is not safe to search from
    several threads at once.
    """

    def __init__(
        self,
        device: int,
        source: Callable[[], Any],
        *,
        float16_lookup: bool = False,
        devices: Sequence[int] = (),
    ):
        self.device = device
        self.devices = tuple(devices) or (device,)
        self._source = source
        self._float16_lookup = float16_lookup
        self._index: Any = None
        # Replicas have resources of their own; a single clone shares its device's.
        self._lock = threading.RLock() if len(self.devices) > 1 else device_lock(device)
        with self._lock:
            self._clone()  # fail now, in to(), rather than in the first search

    def _clone(self) -> Any:
        if len(self.devices) > 1:
            self._index = to_gpu_replicas(
                self._source(), self.devices, float16_lookup=self._float16_lookup
            )
        else:
            self._index = to_gpu(self._source(), self.device, float16_lookup=self._float16_lookup)
        return self._index

    def search(self, queries: Vectors, k: int) -> tuple[npt.NDArray[np.float32], Labels]:
        """FAISS ``(D, I)`` from the GPU clone."""
        with self._lock:
            index = self._index if self._index is not None else self._clone()
            distances, labels = index.search(queries, k)
        return distances, labels

    def add(self, labels: Labels, vectors: Vectors) -> None:
        """Mirror an add already applied to the CPU index."""
        with self._lock:
            if self._index is None:
                return
            try:
                self._index.add_with_ids(vectors, labels)
            except RuntimeError:
                self._index = None  # cloned afresh from the CPU index on the next search

    def invalidate(self) -> None:
        """Forget the clone (after a removal or a change of index)."""
        with self._lock:
            self._index = None


class Mirror(Protocol):
    """A GPU copy a family searches unfiltered queries with: FAISS's or torch's."""

    device: int
    devices: tuple[int, ...]
    """Every GPU holding a copy (one, unless FAISS replicates the index over several)."""

    def search(self, queries: Vectors, k: int) -> tuple[npt.NDArray[np.float32], Labels]: ...

    def add(self, labels: Labels, vectors: Vectors) -> None: ...

    def invalidate(self) -> None: ...


class TorchMirror:
    """The flat family's GPU copy when FAISS has no GPU but torch has CUDA: exact top-k
    by matrix products on the card (:mod:`ipsim.indexers.torch_search`)."""

    def __init__(
        self, device: int, metric: Metric, source: Callable[[], tuple[Labels, Vectors]]
    ) -> None:
        if metric not in ("ip", "l2"):
            raise RuntimeError(f"torch search has no {metric!r} metric")
        self.device = device
        self.devices: tuple[int, ...] = (device,)
        self._metric: Literal["ip", "l2"] = "ip" if metric == "ip" else "l2"
        self._source = source
        self._search: TorchFlatSearch | None = None
        self._lock = threading.Lock()
        self._load()  # fail now, in to(), rather than in the first search

    def _load(self) -> TorchFlatSearch:
        from ipsim.indexers.torch_search import TorchFlatSearch

        labels, vectors = self._source()
        self._search = TorchFlatSearch(f"cuda:{self.device}", self._metric, labels, vectors)
        return self._search

    def search(self, queries: Vectors, k: int) -> tuple[npt.NDArray[np.float32], Labels]:
        with self._lock:
            search = self._search if self._search is not None else self._load()
        return search.search(queries, k)

    def add(self, labels: Labels, vectors: Vectors) -> None:
        with self._lock:
            if self._search is not None:
                self._search.add(labels, vectors)

    def invalidate(self) -> None:
        with self._lock:
            self._search = None


def cuda_device_count() -> int:
    """CUDA devices torch sees (torch is imported on the first call)."""
    from ipsim.indexers.torch_search import cuda_device_count as torch_count

    return torch_count()


def gpu_count() -> int:
    """GPUs an index may be spread over: FAISS's, else torch's (flat indexes use torch)."""
    return faiss_gpu_count() or cuda_device_count()


def mirror_for(
    device: str,
    current: Mirror | None,
    source: Callable[[], Any],
    *,
    float16_lookup: bool = False,
    flat: tuple[Metric, Callable[[], tuple[Labels, Vectors]]] | None = None,
) -> Mirror | None:
    """The mirror a family should hold after ``to(device)``.

    ``cpu`` gives None. A flat index (``flat`` = its metric and its live vectors) on one
    GPU gets a torch copy when torch has CUDA: exact like FAISS's GPU flat index but
    measured 5x faster at batch 1 and 3x at batch 16 on an H200 (``benchmarks/RESULTS.md``,
    issue 8). Otherwise a FAISS GPU clone when FAISS has GPUs — on plain ``cuda`` with
    several GPUs, a replica on each (a sharded index instead spreads its shards, passing
    each one ``cuda:N``). Where neither can serve (or the index type is unsupported there)
    ``current`` is kept, so the index stays where it was and says so in ``describe``.
    """
    wanted = parse_device(device)
    if wanted is None:
        return None
    gpus = faiss_gpu_count()
    devices = tuple(range(gpus)) if device == "cuda" and gpus > 1 else (wanted,)
    if current is not None and current.devices == devices:
        return current
    try:
        if flat is not None and len(devices) == 1 and cuda_device_count() > wanted:
            return TorchMirror(wanted, *flat)
        if gpus > wanted:
            return GpuMirror(wanted, source, float16_lookup=float16_lookup, devices=devices)
    except RuntimeError as e:
        log.warning("cannot move index to %s, staying where it is: %s", device, e)
        return current
    log.warning("device %s requested but no GPU path can serve this index; staying", device)
    return current


def device_name(mirror: Mirror | None) -> str:
    """Where a family with this mirror searches: ``cpu``, ``cuda:N``, or ``cuda:0,1,…`` for
    replicas on several GPUs."""
    if mirror is None:
        return "cpu"
    return "cuda:" + ",".join(str(d) for d in mirror.devices)
