"""CAGRA: a graph built on the GPU (cuVS through FAISS), searched on the GPU, or on CPU as HNSW.

The CPU-side truth is a FAISS ``IndexHNSWCagra``: an HNSW index whose bottom level can be
a CAGRA graph. What builds that graph depends on what this process has:

* **FAISS with cuVS and a GPU** (``GpuIndexCagra`` present, the index moved to ``cuda``):
  :meth:`CagraIndex.rebuild` builds the CAGRA graph on the GPU from the live vectors and
  copies it into the CPU index (``copyTo``: FAISS adds the upper HNSW levels on CPU and
  replaces level 0 with the CAGRA graph). Unfiltered searches then run on the GPU graph.
* **No GPU** (faiss-cpu, CI): the same index is built by HNSW insertion on CPU, so a
  ``cagra`` collection works everywhere and a graph built on a GPU machine is searched on
  a CPU-only one exactly as an HNSW graph (which it is).

Writes go to the CPU graph (HNSW insertion, tombstones for removals, rebuilt when dead
rows pass ``rebuild_ratio`` — :class:`~ipsim.indexers.hnsw.HNSWIndex` does all that). The
GPU searches only a *pristine* CAGRA graph: one that CPU insertion has not touched since
its build (HNSW insertion can leave a node with fewer than ``graph_degree`` neighbours,
and CAGRA's kernels assume every row is full). So on a GPU, vectors inserted on CPU since
the last build are counted, searches run on CPU meanwhile, and once the count reaches
:data:`GPU_REBUILD_FRACTION` of the index (a bulk load reaches it at once) the whole graph
is rebuilt with CAGRA. Searches with a filter, with removed rows in the graph, or with
``k`` above CAGRA's limit also stay on CPU, where FAISS's selectors work.

A pristine graph read from a file (``built_on`` says where it was built) is copied to the
GPU as it is (``GpuIndexCagra.copyFrom``), not rebuilt.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Self

import faiss
import numpy as np

from ipsim.indexers.base import Labels, Metric, SearchHits, Selection, Vectors, parse_device
from ipsim.indexers.gpu import device_lock, faiss_gpu_count, gpu_resources
from ipsim.indexers.hnsw import DEFAULT_REBUILD_RATIO, HNSWIndex
from ipsim.indexers.index_file import IndexFile
from ipsim.indexers.ivf import metric_type
from ipsim.indexers.live_labels import LiveLabels, as_batch, as_queries, check_k

log = logging.getLogger(__name__)
# FAISS's type stubs lack the cuVS classes (GpuIndexCagra…) and IndexHNSWCagra.
_faiss: Any = faiss

DEFAULT_GRAPH_DEGREE = 64
DEFAULT_INTERMEDIATE_DEGREE = 128
DEFAULT_ITOPK = 128  # FAISS says 64; 128 keeps recall@10 above 0.9 on clustered data
DEFAULT_EF_SEARCH = 128
DEFAULT_EF_CONSTRUCTION = 200
# CAGRA's single-CTA search keeps its candidate list in shared memory: itopk at most 512
# there, k at most itopk. Larger k searches on CPU.
GPU_MAX_K = 512
GPU_BUILD_MIN = 4096
"""Fewer live vectors than this are inserted on CPU (a GPU build is pointless that small)."""
GPU_REBUILD_FRACTION = 0.1
"""An add of at least this fraction of the live vectors rebuilds the whole graph on the GPU
(bulk loads, re-indexing); smaller adds are inserted into the CPU graph."""


def cagra_available() -> bool:
    """Whether this FAISS can build and search CAGRA graphs on a GPU."""
    return hasattr(faiss, "GpuIndexCagra") and faiss_gpu_count() > 0


class CagraIndex(HNSWIndex):
    """An ``IndexHNSWCagra`` graph: CAGRA-built and GPU-searched where a GPU is, HNSW elsewhere."""

    family = "cagra"

    def __init__(
        self,
        dim: int,
        metric: Metric = "ip",
        *,
        graph_degree: int = DEFAULT_GRAPH_DEGREE,
        intermediate_graph_degree: int = DEFAULT_INTERMEDIATE_DEGREE,
        itopk_size: int = DEFAULT_ITOPK,
        ef_search: int = DEFAULT_EF_SEARCH,
        ef_construction: int = DEFAULT_EF_CONSTRUCTION,
        rebuild_ratio: float = DEFAULT_REBUILD_RATIO,
    ) -> None:
        self.graph_degree = graph_degree
        self.intermediate_graph_degree = intermediate_graph_degree
        self.itopk_size = itopk_size
        self._gpu_device: int | None = None
        self._gpu: Any = None  # GpuIndexCagra over the CPU graph, or None (made on demand)
        self._gpu_lock = threading.Lock()
        self.built_on = "cpu"
        """Where the current graph's bottom level was built: ``cpu`` (HNSW) or ``cuda:N``."""
        self.inserted_on_cpu = 0
        """Vectors inserted on CPU since the CAGRA build (0: the graph is pristine)."""
        # HNSW's M: level 0 holds 2·M neighbours, which is CAGRA's graph degree.
        super().__init__(
            dim,
            metric,
            M=max(2, graph_degree // 2),
            ef_construction=ef_construction,
            ef_search=ef_search,
            rebuild_ratio=rebuild_ratio,
        )

    def _new_graph(self) -> Any:
        graph = _faiss.IndexHNSWCagra(self.dim, self.M, metric_type(self.metric))
        graph.base_level_only = False  # keep the upper levels: CPU search and CPU inserts
        graph.hnsw.efConstruction = self.ef_construction
        return graph

    def _reset(self) -> None:
        super()._reset()
        self._hnsw = self._new_graph()
        self.built_on = "cpu"
        self.inserted_on_cpu = 0
        self._drop_gpu_copy()

    # --- writes: the CPU graph takes them; the GPU copy is made again when next needed ---

    def add(self, labels: Labels, vectors: Vectors) -> None:
        """Insert into the CPU graph (HNSW insertion), or on a GPU rebuild the whole graph
        with CAGRA once enough has been inserted since the last build (module docstring)."""
        labels, vectors = as_batch(labels, vectors, self.dim)
        pending = self.inserted_on_cpu + labels.size
        if (
            self._gpu_device is not None
            and cagra_available()
            and self.ntotal + labels.size >= GPU_BUILD_MIN
            and pending >= GPU_REBUILD_FRACTION * self.ntotal
        ):
            LiveLabels.of(self._live.labels()).insert(labels)  # ValueError before any change
            old_labels, old_vectors = self.items()
            self._build_on_gpu(
                np.concatenate([old_labels, labels]), np.concatenate([old_vectors, vectors])
            )
            return
        super().add(labels, vectors)
        if self.built_on != "cpu":
            self.inserted_on_cpu += labels.size
            self._drop_gpu_copy()

    def rebuild(self) -> None:
        """A fresh graph over the live vectors: CAGRA on the GPU when one is in use."""
        if self._gpu_device is None or not cagra_available() or self.ntotal < GPU_BUILD_MIN:
            super().rebuild()
            return
        self._build_on_gpu(*self.items())

    def _build_on_gpu(self, labels: Labels, vectors: Vectors) -> None:
        """Replace the graph by a CAGRA graph of exactly these vectors; nothing changes
        if the build fails (out of GPU memory, say)."""
        assert self._gpu_device is not None
        device = self._gpu_device
        config = _faiss.GpuIndexCagraConfig()
        config.device = device
        config.graph_degree = self.graph_degree
        config.intermediate_graph_degree = max(self.intermediate_graph_degree, self.graph_degree)
        graph = self._new_graph()
        with device_lock(device):
            gpu = _faiss.GpuIndexCagra(
                gpu_resources(device), self.dim, metric_type(self.metric), config
            )
            gpu.train(np.ascontiguousarray(vectors, dtype=np.float32))
            gpu.copyTo(graph)  # upper levels by HNSW insertion on CPU, level 0 = CAGRA's
        # Rows of the copied graph are the training rows, in order: map them to labels.
        self._reset()
        self._hnsw = graph
        self._row_labels.resize(labels.size)
        self._row_label_view()[:] = labels
        self._row_of = np.full(int(labels.max()) + 1, -1, dtype=np.int64)
        self._row_of[labels] = np.arange(labels.size, dtype=np.int64)
        self._live.insert(labels)
        self._live_rows.insert(np.arange(labels.size, dtype=np.int64))
        self.built_on = f"cuda:{device}"
        with self._gpu_lock:
            self._gpu = gpu  # the graph just built is the GPU's

    # --- search ---

    def search(self, queries: Vectors, k: int, allowed: Selection | None = None) -> SearchHits:
        """Unfiltered searches of a pristine graph on the GPU; the rest as HNSW on CPU."""
        k = check_k(k)
        if (
            self._gpu_device is not None
            and self.built_on != "cpu"
            and self.inserted_on_cpu == 0
            and allowed is None
            and self.tombstones == 0
            and k <= GPU_MAX_K
            and k <= self.ntotal
        ):
            q = as_queries(queries, self.dim)
            return self._search_gpu(q, k)
        return super().search(queries, k, allowed)

    def _search_gpu(self, queries: Vectors, k: int) -> SearchHits:
        assert self._gpu_device is not None
        with self._gpu_lock, device_lock(self._gpu_device):
            gpu = self._gpu if self._gpu is not None else self._copy_to_gpu()
            params = _faiss.SearchParametersCagra()
            params.itopk_size = min(GPU_MAX_K, max(self.itopk_size, k))
            distances, rows = gpu.search(queries, k, params=params)
        out: SearchHits = self._to_hits(distances, rows)
        return out

    def _copy_to_gpu(self) -> Any:
        """The pristine CPU graph (read from a file, say) on the GPU, as it is."""
        assert self._gpu_device is not None
        config = _faiss.GpuIndexCagraConfig()
        config.device = self._gpu_device
        gpu = _faiss.GpuIndexCagra(
            gpu_resources(self._gpu_device), self.dim, metric_type(self.metric), config
        )
        gpu.copyFrom(self._hnsw)
        self._gpu = gpu
        return gpu

    def _drop_gpu_copy(self) -> None:
        with self._gpu_lock:
            self._gpu = None

    # --- device, description, persistence ---

    def to(self, device: str) -> Self:
        """On ``cuda[:N]`` with FAISS's cuVS build: build the graph with CAGRA on that GPU
        (when it was not built on a GPU already) and search there; elsewhere stay on CPU."""
        wanted = parse_device(device)
        if wanted is None:
            self._gpu_device = None
            self._drop_gpu_copy()
            return self
        if not cagra_available() or wanted >= faiss_gpu_count():
            log.warning("device %s requested but this FAISS cannot run CAGRA there", device)
            return self
        moved = wanted != self._gpu_device
        self._gpu_device = wanted
        if moved:
            self._drop_gpu_copy()
        if self.ntotal and (self.built_on == "cpu" or self.inserted_on_cpu):
            self.rebuild()
        return self

    @property
    def device(self) -> str:
        """Where unfiltered searches run."""
        return "cpu" if self._gpu_device is None else f"cuda:{self._gpu_device}"

    def params(self) -> dict[str, object]:
        """The parameters in effect."""
        return {
            "graph_degree": self.graph_degree,
            "intermediate_graph_degree": self.intermediate_graph_degree,
            "itopk_size": self.itopk_size,
            "ef_search": self.ef_search,
            "ef_construction": self.ef_construction,
            "rebuild_ratio": self.rebuild_ratio,
        }

    def describe(self) -> dict[str, object]:
        """Family, parameters, where it searches and where its graph was built."""
        return {
            "type": self.family,
            **self.params(),
            "device": self.device,
            "built_on": self.built_on,
            "inserted_on_cpu": self.inserted_on_cpu,
        }

    def dump(self) -> IndexFile:
        """The CPU graph (CAGRA level 0 included) and its maps, as HNSW's."""
        file = super().dump()
        built = {"built_on": self.built_on, "inserted_on_cpu": self.inserted_on_cpu}
        return IndexFile(family=file.family, meta={**file.meta, **built}, arrays=file.arrays)

    @classmethod
    def restore(cls, file: IndexFile) -> Self:
        """Rebuild from :meth:`dump`'s output; the graph is kept as built."""
        meta = dict(file.meta)
        built_on = str(meta.pop("built_on", "cpu"))
        inserted = int(meta.pop("inserted_on_cpu", 0))
        index = super().restore(IndexFile(family=file.family, meta=meta, arrays=file.arrays))
        index.built_on, index.inserted_on_cpu = built_on, inserted
        return index
