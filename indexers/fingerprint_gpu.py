"""CUDA scans for :class:`~ipsim.indexers.fingerprint.FingerprintIndex` (CuPy ``RawKernel``).

The same two scans as :mod:`ipsim.indexers.popcount`, with ``__popcll``: intersection
counts tested against the integer thresholds ``cmin``, and the subset test for the
screen. They return the same integers (positions ascending, intersection counts), which
the index turns into scores with the CPU's float64 formula, so a GPU search answers
exactly what a CPU search does.

CuPy is optional and imported on first use; without it, or without the CUDA device
asked for, :class:`GpuScanner` raises :class:`GpuUnavailable` and the index stays on CPU.
Each block's rows are copied to the device once, on its first scan, and freed with it.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

U64s = npt.NDArray[np.uint64]
I32s = npt.NDArray[np.int32]
I64s = npt.NDArray[np.int64]
Bitmap = npt.NDArray[np.uint8]

_THREADS = 256
_LANES = 8
"""Threads sharing one row in the threshold scan: neighbouring lanes read neighbouring words,
so a warp's loads are 64-byte runs rather than 32 scattered words."""

# LANES is defined at compile time (-DLANES), from _LANES.
_SOURCE = r"""
__device__ __forceinline__ bool selected(
    const unsigned char* __restrict__ mask, long long mask_bytes, long long label) {
  long long byte = label >> 3;
  return byte < mask_bytes && ((mask[byte] >> (label & 7)) & 1);
}

extern "C" __global__ void threshold_hits(
    const unsigned long long* __restrict__ query, const unsigned long long* __restrict__ rows,
    int nwords, const int* __restrict__ counts, const long long* __restrict__ labels,
    const unsigned char* __restrict__ mask, long long mask_bytes, const int* __restrict__ cmin,
    long long start, long long stop, long long* pos, int* common, unsigned long long* found) {
  long long thread = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  long long i = start + thread / LANES;
  int lane = threadIdx.x % LANES;
  int c = 0;
  if (i < stop) {
    const unsigned long long* row = rows + i * nwords;
    for (int w = lane; w < nwords; w += LANES) c += __popcll(query[w] & row[w]);
  }
  for (int offset = LANES / 2; offset > 0; offset >>= 1) {
    c += __shfl_xor_sync(0xffffffffu, c, offset);
  }
  if (i >= stop || lane != 0) return;
  if (c >= cmin[counts[i]] && selected(mask, mask_bytes, labels[i])) {
    unsigned long long slot = atomicAdd(found, 1ULL);
    pos[slot] = i;
    common[slot] = c;
  }
}

extern "C" __global__ void superset_rows(
    const unsigned long long* __restrict__ query, const long long* __restrict__ words,
    int nquery, const unsigned long long* __restrict__ rows, int nwords,
    const long long* __restrict__ labels, const unsigned char* __restrict__ mask,
    long long mask_bytes, long long n, long long* pos, unsigned long long* found) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const unsigned long long* row = rows + i * nwords;
  for (int j = 0; j < nquery; ++j) {
    long long w = words[j];
    if ((row[w] & query[w]) != query[w]) return;
  }
  if (selected(mask, mask_bytes, labels[i])) {
    unsigned long long slot = atomicAdd(found, 1ULL);
    pos[slot] = i;
  }
}
"""


class GpuUnavailable(RuntimeError):
    """CuPy or the CUDA device asked for is missing."""


class Rows(Protocol):
    """A block of fingerprints as the index keeps it (sorted rows and their labels)."""

    @property
    def sim(self) -> U64s: ...
    @property
    def screen(self) -> U64s: ...
    @property
    def counts(self) -> I32s: ...
    @property
    def labels(self) -> I64s: ...


def _cupy() -> Any:
    try:
        import cupy
    except ImportError as e:
        raise GpuUnavailable(f"CuPy is not installed ({e})") from e
    return cupy


def cuda_device_count() -> int:
    """CUDA devices CuPy can use (0 without CuPy or a driver)."""
    try:
        cp = _cupy()
        return int(cp.cuda.runtime.getDeviceCount())
    except (GpuUnavailable, RuntimeError):
        # CuPy raises CUDARuntimeError (a RuntimeError) when there is no driver or device.
        return 0


class GpuScanner:
    """The scans of :mod:`ipsim.indexers.popcount` on one CUDA device.

    Thread-safe: calls are serialised (one device, and the block cache is shared).
    """

    def __init__(self, device: int) -> None:
        count = cuda_device_count()
        if device >= count:
            raise GpuUnavailable(f"cuda:{device} requested but CuPy sees {count} device(s)")
        self._cp = _cupy()
        self._ordinal = device
        self.device = f"cuda:{device}"
        with self._cp.cuda.Device(device):
            module = self._cp.RawModule(code=_SOURCE, options=(f"-DLANES={_LANES}",))
            self._threshold = module.get_function("threshold_hits")
            self._superset = module.get_function("superset_rows")
        self._blocks: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def _resident(self, block: Rows) -> dict[str, Any]:
        """The block's arrays on the device (copied on first use, freed with the block)."""
        arrays = self._blocks.get(block)
        if arrays is None:
            arrays = {
                name: self._cp.asarray(getattr(block, name))
                for name in ("sim", "screen", "counts", "labels")
            }
            self._blocks[block] = arrays
        return arrays

    def threshold_hits(
        self, block: Rows, query: U64s, mask: Bitmap, cmin: I32s, start: int, stop: int
    ) -> tuple[I64s, I32s]:
        """As :func:`ipsim.indexers.popcount.threshold_hits` over ``block.sim``."""
        cp = self._cp
        n = stop - start
        if n <= 0:
            return np.empty(0, np.int64), np.empty(0, np.int32)
        with self._lock, cp.cuda.Device(self._ordinal):
            rows = self._resident(block)
            pos = cp.empty(n, dtype=cp.int64)
            common = cp.empty(n, dtype=cp.int32)
            found = cp.zeros(1, dtype=cp.uint64)
            blocks = (n * _LANES + _THREADS - 1) // _THREADS
            self._threshold(
                (blocks,),
                (_THREADS,),
                (
                    cp.asarray(query),
                    rows["sim"],
                    np.int32(query.size),
                    rows["counts"],
                    rows["labels"],
                    cp.asarray(mask),
                    np.int64(mask.size),
                    cp.asarray(cmin),
                    np.int64(start),
                    np.int64(stop),
                    pos,
                    common,
                    found,
                ),
            )
            m = int(found.get()[0])
            hit_pos, hit_common = pos[:m].get(), common[:m].get()
        order = np.argsort(hit_pos)  # atomics fill slots in any order; the CPU's is ascending
        return hit_pos[order], hit_common[order]

    def superset_rows(self, block: Rows, query: U64s, mask: Bitmap) -> I64s:
        """As :func:`ipsim.indexers.popcount.superset_rows` over ``block.screen``."""
        cp = self._cp
        n = block.labels.size
        if n == 0:
            return np.empty(0, np.int64)
        words = np.flatnonzero(query).astype(np.int64)
        with self._lock, cp.cuda.Device(self._ordinal):
            rows = self._resident(block)
            pos = cp.empty(n, dtype=cp.int64)
            found = cp.zeros(1, dtype=cp.uint64)
            self._superset(
                ((n + _THREADS - 1) // _THREADS,),
                (_THREADS,),
                (
                    cp.asarray(query),
                    cp.asarray(words),
                    np.int32(words.size),
                    rows["screen"],
                    np.int32(query.size),
                    rows["labels"],
                    cp.asarray(mask),
                    np.int64(mask.size),
                    np.int64(n),
                    pos,
                    found,
                ),
            )
            m = int(found.get()[0])
            hit_pos = pos[:m].get()
        return np.sort(hit_pos)
