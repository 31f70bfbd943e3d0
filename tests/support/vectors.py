"""Test vectors with known neighbours: embedding-like data, exact ground truth, recall."""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float32]
Ints = npt.NDArray[np.int64]


def embeddings(n: int, seed: int, dim: int, latent: int = 16) -> Floats:
    """Unit vectors from a ``latent``-dimensional space plus noise, like sentence embeddings.

    Approximate indexes reach realistic recall on these; on uniform random vectors in 64+
    dimensions (no structure to exploit) IVF, PQ and binary codes all do badly.
    """
    basis = np.random.default_rng(0).standard_normal((latent, dim)).astype(np.float32)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, latent)).astype(np.float32) @ basis
    x += 0.4 * rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def unit_vectors(n: int, seed: int, dim: int) -> Floats:
    """Uniformly random unit vectors."""
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def truth(
    queries: Floats, vectors: Floats, labels: Ints, k: int, metric: Literal["ip", "l2"] = "ip"
) -> Ints:
    """Exact top-k labels per query (ties by position)."""
    if metric == "ip":
        scores = queries @ vectors.T
    else:
        scores = -((queries[:, None, :] - vectors[None, :, :]) ** 2).sum(-1)
    return labels[np.argsort(-scores, axis=1, kind="stable")[:, :k]]


def recall(found: Ints, exact: Ints) -> float:
    """Mean fraction of each query's true neighbours that were found."""
    return float(np.mean([np.isin(t, f).mean() for f, t in zip(found, exact, strict=True)]))
