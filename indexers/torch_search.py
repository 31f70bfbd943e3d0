"""Exact top-k on a torch device: the GPU path of the flat family when FAISS has no GPU.

The pip ``faiss-cpu`` wheel has no CUDA, and the ``faiss-gpu`` wheels are built for one
CUDA major version; torch, which the encoders need anyway, runs on whatever CUDA the
machine has. An exact (flat) search is a matrix product and a top-k, which torch does at
the card's speed: the vectors live on the device as one ``(n, dim)`` tensor, queries are
multiplied against it in row blocks (bounding the ``queries × block`` score matrix), each
block keeps its own top-k, and the blocks' candidates are merged.

Answers are FAISS-shaped (``D, I`` with ``-1`` labels for missing hits; inner products,
or squared L2 distances, ascending) so a family can use it where it would use a FAISS GPU
clone. ``half=True`` keeps the vectors in float16 (half the memory traffic, tensor cores):
scores then differ from float32 in the fourth digit, which is why the store re-ranks every
family's candidates with the exact stored vectors.

This module imports only numpy and torch, so it runs (and is tested) on a GPU machine
without FAISS.
"""

from __future__ import annotations

import threading
from typing import Literal

import numpy as np
import numpy.typing as npt
import torch

Metric = Literal["ip", "l2"]
Labels = npt.NDArray[np.int64]
Vectors = npt.NDArray[np.float32]

BLOCK_SCORES = 1 << 28
"""Largest ``queries × rows`` score block (1 GiB of float32): bounds the scratch memory."""


class TorchFlatSearch:
    """Labelled vectors on a torch device, searched exactly.

    Thread-safe: searches and adds are serialised (a search reads the tensors whole).
    """

    def __init__(
        self, device: str, metric: Metric, labels: Labels, vectors: Vectors, *, half: bool = False
    ) -> None:
        self.device = torch.device(device)
        self.metric: Metric = metric
        self.dtype = torch.float16 if half else torch.float32
        self._lock = threading.Lock()
        dim = int(vectors.shape[1]) if vectors.ndim == 2 else 0
        self._vectors = torch.empty((0, dim), dtype=self.dtype, device=self.device)
        self._norms = torch.empty((0,), dtype=torch.float32, device=self.device)
        self._labels = torch.empty((0,), dtype=torch.int64, device=self.device)
        self.add(labels, vectors)

    @property
    def ntotal(self) -> int:
        return int(self._labels.shape[0])

    def add(self, labels: Labels, vectors: Vectors) -> None:
        """Append vectors under their labels (the caller keeps labels unique)."""
        if len(labels) == 0:
            return
        rows = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32)).to(self.device)
        with self._lock:
            self._vectors = torch.cat([self._vectors, rows.to(self.dtype)])
            self._norms = torch.cat([self._norms, (rows * rows).sum(dim=1)])
            ids = torch.from_numpy(np.ascontiguousarray(labels, dtype=np.int64))
            self._labels = torch.cat([self._labels, ids.to(self.device)])

    def search(self, queries: Vectors, k: int) -> tuple[npt.NDArray[np.float32], Labels]:
        """FAISS ``(D, I)``: per query the ``k`` best labels, ``-1`` where there are fewer."""
        q = torch.from_numpy(np.ascontiguousarray(queries, dtype=np.float32)).to(self.device)
        nq = int(q.shape[0])
        with self._lock, torch.inference_mode():
            n = self.ntotal
            take = min(k, n)
            if take == 0:
                empty = torch.empty((nq, 0))
                return _padded(empty, empty.long(), k, self.metric)
            block = max(1, BLOCK_SCORES // max(nq, 1))
            best_scores, best_rows = [], []
            for start in range(0, n, block):
                scores = self._scores(q, start, min(n, start + block))
                top = torch.topk(scores, min(take, scores.shape[1]), dim=1)
                best_scores.append(top.values)
                best_rows.append(top.indices + start)
            scores = torch.cat(best_scores, dim=1)
            rows = torch.cat(best_rows, dim=1)
            top = torch.topk(scores, take, dim=1)
            rows = torch.gather(rows, 1, top.indices)
            found = self._labels[rows]
            values = top.values if self.metric == "ip" else -top.values
        return _padded(values, found, k, self.metric)

    def _scores(self, q: torch.Tensor, start: int, end: int) -> torch.Tensor:
        """Higher-is-better scores of the queries against rows ``[start, end)`` (float32)."""
        block = self._vectors[start:end]
        products = (q.to(self.dtype) @ block.T).float()
        if self.metric == "ip":
            return products
        # -(|q|² - 2 q·x + |x|²), so that top-k picks the nearest.
        q_norms = (q * q).sum(dim=1, keepdim=True)
        return -(q_norms - 2.0 * products + self._norms[start:end][None, :])


def _padded(
    values: torch.Tensor, labels: torch.Tensor, k: int, metric: Metric
) -> tuple[npt.NDArray[np.float32], Labels]:
    """To numpy, padded to ``k`` columns the way FAISS pads (label -1, the worst distance)."""
    d = values.float().cpu().numpy()
    i = labels.cpu().numpy().astype(np.int64)
    missing = k - d.shape[1]
    if missing > 0:
        worst = -np.inf if metric == "ip" else np.inf
        d = np.pad(d, ((0, 0), (0, missing)), constant_values=worst)
        i = np.pad(i, ((0, 0), (0, missing)), constant_values=-1)
    return d.astype(np.float32), i


def cuda_device_count() -> int:
    """CUDA devices torch can use (0 when torch has no CUDA or no device answers)."""
    try:
        return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0
    except RuntimeError:
        return 0
