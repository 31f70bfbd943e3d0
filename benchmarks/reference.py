"""The baselines: the same work done without ipsim (sentence-transformers and FAISS directly).

Every benchmark compares ipsim against one of these in the same run, so the numbers it
prints are ratios on the same machine at the same moment, not against figures from
elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ipsim.models.registry import resolve_text_model

# Benchmarks never download: the model comes from the bundled package or a local folder.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

Matrix = npt.NDArray[np.float32]
Labels = npt.NDArray[np.int64]


@dataclass
class TextModel:
    """A sentence-transformers model loaded straight from its folder, outside ipsim."""

    name: str
    path: Path
    model: Any  # sentence_transformers.SentenceTransformer (untyped library)

    @property
    def dim(self) -> int:
        """Embedding width."""
        return int(self.model.get_embedding_dimension() or 0)

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> Matrix:
        """Unit-normalised embeddings, one row per text, in input order."""
        vectors = self.model.encode(
            list(texts),
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def load_text_model(model: str) -> TextModel:
    """Load ``model`` (``all-MiniLM-L6-v2`` or a local model folder) as ipsim resolves it."""
    from sentence_transformers import SentenceTransformer

    name, path = resolve_text_model(model)
    loaded = SentenceTransformer(str(path), device="cpu", local_files_only=True)
    loaded.eval()
    return TextModel(name=name, path=path, model=loaded)


def exact_top_k(base: Matrix, queries: Matrix, k: int) -> tuple[Matrix, Labels]:
    """The true top-``k`` by inner product (FAISS ``IndexFlatIP``): scores and row numbers."""
    import faiss

    if base.ndim != 2 or queries.ndim != 2 or base.shape[1] != queries.shape[1]:
        raise ValueError(f"shapes do not match: base {base.shape}, queries {queries.shape}")
    index = faiss.IndexFlatIP(base.shape[1])
    index.add(np.ascontiguousarray(base, dtype=np.float32))
    scores, labels = index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
    return scores, labels.astype(np.int64)
