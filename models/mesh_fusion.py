"""The ``fused`` mesh model: shape histograms and the Siamese embedding in one vector.

Both parts are unit vectors, but their cosines live on different scales: two unrelated
shapes' Hellinger histograms still score about 0.86 (every histogram is positive and
most mass sits in the same bins), their embeddings about 0. Concatenated as they are,
the network's spread decides almost every ranking. So each part is first **centred** on
its mean over the training shapes and scaled to unit length again (unrelated shapes then
score about 0 in both), and the two are weighted ``sqrt(w)`` and ``sqrt(1 - w)``: the
fused inner product is ``w · cos_histogram + (1 - w) · cos_network`` of the centred parts.

``w`` is chosen at training time on the training shapes alone (:func:`calibrate`): the
grid value with the best leave-one-out mean average precision over their classes. The
calibration is stored in the checkpoint (``meta["fusion"]``); a checkpoint without one
fuses the raw parts half and half.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ipsim.models.shape_metrics import shape_scores

Vectors = npt.NDArray[np.float32]
WEIGHT_GRID: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
"""Histogram weights tried by :func:`calibrate`."""


@dataclass(frozen=True)
class Fusion:
    """Part means (``None``: not centred) and the histogram's share of the inner product."""

    histogram_mean: Vectors | None = None
    network_mean: Vectors | None = None
    histogram_weight: float = 0.5

    def fuse(self, histograms: Vectors, embeddings: Vectors) -> Vectors:
        """``(n, dh + dn)`` unit rows from the parts' rows."""
        h = _centred(histograms, self.histogram_mean)
        n = _centred(embeddings, self.network_mean)
        w = self.histogram_weight
        fused = np.concatenate([h * np.sqrt(w), n * np.sqrt(1.0 - w)], axis=1)
        return np.ascontiguousarray(fused, dtype=np.float32)

    def to_meta(self) -> dict[str, Any]:
        """Plain values for a checkpoint's meta."""
        return {
            "histogram_mean": _listed(self.histogram_mean),
            "network_mean": _listed(self.network_mean),
            "histogram_weight": self.histogram_weight,
        }

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any] | None) -> Fusion:
        """The calibration in a checkpoint's ``meta["fusion"]`` (the default when absent)."""
        if not meta:
            return cls()
        return cls(
            _array(meta.get("histogram_mean")),
            _array(meta.get("network_mean")),
            float(meta.get("histogram_weight", 0.5)),
        )


def calibrate(
    histograms: Vectors, embeddings: Vectors, labels: Sequence[str]
) -> tuple[Fusion, dict[float, float]]:
    """Centre on these (training) shapes; pick the weight by leave-one-out class mAP.

    Returns the calibration and the mAP of every weight tried (ties: the smaller weight).
    """
    centred = Fusion(histograms.mean(axis=0), embeddings.mean(axis=0))
    scores: dict[float, float] = {}
    for weight in WEIGHT_GRID:
        trial = Fusion(centred.histogram_mean, centred.network_mean, weight)
        vectors = trial.fuse(histograms, embeddings)
        scores[weight] = round(shape_scores(vectors @ vectors.T, labels).map, 6)
    best = max(WEIGHT_GRID, key=lambda w: (scores[w], -w))
    return Fusion(centred.histogram_mean, centred.network_mean, best), scores


def _centred(rows: Vectors, mean: Vectors | None) -> Vectors:
    if mean is None:
        return rows
    shifted = rows - mean
    norms = np.linalg.norm(shifted, axis=1, keepdims=True)
    return np.asarray(shifted / np.maximum(norms, 1e-12), dtype=np.float32)


def _listed(vector: Vectors | None) -> list[float] | None:
    return None if vector is None else [float(x) for x in vector]


def _array(values: Any) -> Vectors | None:
    return None if values is None else np.asarray(values, dtype=np.float32)
