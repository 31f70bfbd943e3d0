"""Packed bit strings as float32 rows: the words16 encoding the store carries fingerprints in.

The store keeps every document as float32 vectors (WAL, snapshots, arena). A bit string
travels through it as one float per little-endian 16-bit word: an integer 0..65535, exact
in float32, so the bits survive every copy unchanged. Indexes that scan bits turn the rows
back into uint64 words with :func:`words16_to_uint64`, in the same bit order as the packed
bytes (byte 0 is the lowest byte of word 0; with ``np.packbits(..., bitorder="little")``,
bit ``i`` of the string is bit ``i % 64`` of word ``i // 64``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

WORD16_MAX = 0xFFFF


def bits_to_words16(packed: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """``(n, nbytes)`` packed bits (``nbytes`` even) as ``(n, nbytes // 2)`` words16 floats."""
    p = np.asarray(packed)
    if p.dtype != np.uint8:
        raise ValueError(f"packed must be uint8, got {p.dtype}")
    if p.ndim != 2 or p.shape[1] % 2:
        raise ValueError(f"packed must have shape (n, even number of bytes), got {p.shape}")
    return np.ascontiguousarray(p).view("<u2").astype(np.float32)


def words16_to_uint64(words: npt.NDArray[np.float32]) -> npt.NDArray[np.uint64]:
    """``(n, dim)`` words16 rows (``dim % 4 == 0``) as ``(n, dim // 4)`` uint64 words.

    ValueError when a value is not an integer in 0..65535 (NaN included): such a row was
    never a bit string, and truncating it would silently search for other bits.
    """
    w = np.asarray(words)
    if w.ndim != 2 or w.shape[1] % 4:
        raise ValueError(f"words must have shape (n, multiple of 4), got {w.shape}")
    if not np.issubdtype(w.dtype, np.floating) and not np.issubdtype(w.dtype, np.integer):
        raise ValueError(f"words must be numbers, got {w.dtype}")
    valid = (w >= 0) & (w <= WORD16_MAX) & (np.rint(w) == w)
    if not valid.all():
        row, col = (int(i) for i in np.argwhere(~valid)[0])
        raise ValueError(
            f"words must be integers in 0..{WORD16_MAX}, got {w[row, col]!r} at [{row}, {col}]"
        )
    little = np.ascontiguousarray(w.astype("<u2")).view("<u8")
    return little.astype(np.uint64, copy=False)
