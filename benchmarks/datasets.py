"""Loaders every benchmark shares: the real labelled texts and the large vector set.

The text data is the shared real data folder (``shared/data`` beside the repository, or
``$IPSIM_BENCH_DATA``); nothing here downloads. Derived arrays (embeddings, ground truth)
are cached under ``var/bench/`` (``$IPSIM_BENCH_CACHE``), which git ignores.

The large vector set for the ANN benchmarks is built by a documented procedure, not
invented: real texts are embedded with the real model ("seeds"), a few are held out as
queries, and the base set is the remaining seeds followed by Gaussian perturbations of
them, re-normalised (see :func:`perturbed_vectors`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from ipsim.benchmarks.reference import Labels, Matrix, exact_top_k, load_text_model

REPO = Path(__file__).resolve().parent.parent
Scale = Literal["quick", "full"]
Language = Literal["en", "ru"]

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")
_MIN_SENTENCE_CHARS = 20


def data_root() -> Path:
    """The real data folder: ``$IPSIM_BENCH_DATA``, else ``shared/data`` beside the repo."""
    configured = os.environ.get("IPSIM_BENCH_DATA")
    candidates = [Path(configured)] if configured else []
    candidates += [REPO.parent / "shared" / "data", Path("/work/shared/data")]
    for path in candidates:
        if (path / "text").is_dir():
            return path
    raise FileNotFoundError(
        "the real data folder was not found: set IPSIM_BENCH_DATA to the folder holding "
        f"text/, trademarks/ and ip/ (looked in {', '.join(map(str, candidates))})"
    )


def read_text(path: Path) -> str:
    """A text file as UTF-8, or as Windows-1252 when it is not (``lee.cor``, the polarity set)."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def cache_dir() -> Path:
    """Where derived arrays are kept between runs (created on first use)."""
    path = Path(os.environ.get("IPSIM_BENCH_CACHE", REPO / "var" / "bench"))
    path.mkdir(parents=True, exist_ok=True)
    return path


# -- labelled texts ----------------------------------------------------------------------


@dataclass(frozen=True)
class PatentTitle:
    """One US application title with its USPTO classification labels."""

    application_number: str
    title: str
    art_unit: str
    technology_center: str


def load_patent_titles(root: Path | None = None) -> list[PatentTitle]:
    """``text/patents/us_application_titles.jsonl``, in file order."""
    path = (root or data_root()) / "text" / "patents" / "us_application_titles.jsonl"
    titles = []
    for number, line in enumerate(read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        try:
            titles.append(
                PatentTitle(
                    application_number=str(row["application_number"]),
                    title=str(row["patent_title"]).strip(),
                    art_unit=str(row["art_unit"]),
                    technology_center=str(row["technology_center"]),
                )
            )
        except KeyError as exc:
            raise ValueError(f"{path}:{number}: missing key {exc}") from exc
    return titles


@dataclass(frozen=True)
class LeeCorpus:
    """Lee & Pincombe (2005): documents and their mean human similarity ratings in [0, 1]."""

    documents: list[str]
    ratings: npt.NDArray[np.float64]  # (n, n), symmetric

    def pairs(self) -> tuple[Labels, Labels, npt.NDArray[np.float64]]:
        """Every unordered pair ``i < j`` and its rating."""
        first, second = np.triu_indices(len(self.documents), k=1)
        return first.astype(np.int64), second.astype(np.int64), self.ratings[first, second]


def load_lee(root: Path | None = None) -> LeeCorpus:
    """``text/lee/lee.cor`` (one document a line) and ``lee_similarities0-1.txt``.

    The ratings file holds the upper triangle (the lower one is zeros); it is mirrored.
    """
    folder = (root or data_root()) / "text" / "lee"
    documents = [d.strip() for d in read_text(folder / "lee.cor").splitlines()]
    documents = [d for d in documents if d]
    raw = np.loadtxt(folder / "lee_similarities0-1.txt", dtype=np.float64)
    n = len(documents)
    if raw.shape != (n, n):
        raise ValueError(f"{folder}: {n} documents but a {raw.shape} ratings matrix")
    upper = np.triu(raw)
    ratings = upper + np.triu(raw, k=1).T
    return LeeCorpus(documents=documents, ratings=ratings)


def load_words(language: Language, root: Path | None = None) -> list[str]:
    """``trademarks/words_<language>_20k.txt``: one word a line."""
    path = (root or data_root()) / "trademarks" / f"words_{language}_20k.txt"
    return [w.strip() for w in read_text(path).splitlines() if w.strip()]


def load_ipc_titles(root: Path | None = None) -> list[str]:
    """Distinct titles of ``ip/ipc/wipo_ipc_all.tsv`` (a line without a tab continues one)."""
    path = (root or data_root()) / "ip" / "ipc" / "wipo_ipc_all.tsv"
    titles: list[str] = []
    for line in read_text(path).splitlines():
        _code, tab, title = line.partition("\t")
        if tab:
            titles.append(title.strip())
        elif titles and line.strip():
            titles[-1] = f"{titles[-1]} {line.strip()}"
    return _distinct(titles)


def load_polarity_sentences(root: Path | None = None) -> list[str]:
    """``text/pang_lee_polarity.cor`` without its ``__label__`` prefixes."""
    path = (root or data_root()) / "text" / "pang_lee_polarity.cor"
    out = []
    for line in read_text(path).splitlines():
        words = [w for w in line.split() if not w.startswith("__label__")]
        if words:
            out.append(" ".join(words))
    return out


def split_sentences(text: str) -> list[str]:
    """Naive sentence split (end mark, space, capital), dropping fragments under 20 chars."""
    parts = (p.strip() for p in _SENTENCE_END.split(text))
    return [p for p in parts if len(p) >= _MIN_SENTENCE_CHARS]


def load_lee_sentences(root: Path | None = None) -> list[str]:
    """The sentences of the Lee background corpus (``lee_background.cor``)."""
    path = (root or data_root()) / "text" / "lee" / "lee_background.cor"
    return [s for doc in read_text(path).splitlines() for s in split_sentences(doc)]


def load_reuters_titles(root: Path | None = None) -> list[str]:
    """Headlines of ``text/reuters_tm/docs.jsonl``."""
    path = (root or data_root()) / "text" / "reuters_tm" / "docs.jsonl"
    rows = (json.loads(line) for line in read_text(path).splitlines() if line.strip())
    return [str(r["title"]).strip() for r in rows if str(r.get("title") or "").strip()]


def short_texts(root: Path | None = None) -> list[str]:
    """Distinct real short texts for query load: titles, headlines, review and news sentences."""
    root = root or data_root()
    return _distinct(
        [t.title for t in load_patent_titles(root)]
        + load_reuters_titles(root)
        + load_polarity_sentences(root)
        + load_lee_sentences(root)
    )


def seed_texts(scale: Scale, root: Path | None = None) -> list[str]:
    """The real texts embedded to make the large vector set.

    ``quick``: the short texts and 2,000 English words (a few seconds to embed).
    ``full``: those, every English and Russian word, and every IPC title (minutes, cached).
    """
    root = root or data_root()
    english = load_words("en", root)
    if scale == "quick":
        return _distinct(short_texts(root) + english[:: max(1, len(english) // 2000)][:2000])
    return _distinct(short_texts(root) + english + load_words("ru", root) + load_ipc_titles(root))


def _distinct(texts: Iterable[str]) -> list[str]:
    """Non-empty texts in first-seen order, each once."""
    return list(dict.fromkeys(t for t in texts if t))


# -- the large vector set ------------------------------------------------------------------


def noise_sigma(cosine: float, dim: int) -> float:
    """Per-coordinate Gaussian σ that puts a perturbed unit vector at ``cosine`` to its seed.

    With noise ``e ~ N(0, σ²I)`` in ``dim`` dimensions, ``|e|² ≈ dim·σ²`` and
    ``cos(s, s + e) ≈ 1 / sqrt(1 + dim·σ²)``.
    """
    if not 0.0 < cosine < 1.0:
        raise ValueError(f"cosine must be in (0, 1), got {cosine}")
    if dim < 1:
        raise ValueError(f"dim must be positive, got {dim}")
    return float(np.sqrt((1.0 / cosine**2 - 1.0) / dim))


def seed_rows(rows: npt.NDArray[np.int64], seeds: int) -> npt.NDArray[np.int64]:
    """Which seed each row of :func:`perturbed_vectors` came from."""
    rows = np.asarray(rows, dtype=np.int64)
    return np.where(rows < seeds, rows, (rows - seeds) % seeds)


def perturbed_vectors(
    seeds: Matrix, n: int, *, cosine: float, rng_seed: int = 0, chunk: int = 65_536
) -> Matrix:
    """``n`` unit vectors: the seeds themselves, then rounds of re-normalised perturbations.

    Row ``r < len(seeds)`` is seed ``r``; row ``r`` beyond is seed ``(r - len(seeds)) %
    len(seeds)`` plus Gaussian noise sized by :func:`noise_sigma`, scaled back to unit
    length. Deterministic for given seeds, ``n``, ``cosine`` and ``rng_seed``.
    """
    if seeds.ndim != 2 or seeds.shape[0] == 0:
        raise ValueError(f"seeds must be a non-empty (count, dim) array, got {seeds.shape}")
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    count, dim = seeds.shape
    sigma = noise_sigma(cosine, dim)
    out = np.empty((n, dim), dtype=np.float32)
    head = min(n, count)
    out[:head] = seeds[:head]
    rng = np.random.default_rng(rng_seed)
    for start in range(head, n, chunk):
        stop = min(n, start + chunk)
        rows = seed_rows(np.arange(start, stop, dtype=np.int64), count)
        block = seeds[rows] + rng.standard_normal((stop - start, dim), dtype=np.float32) * sigma
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start:stop] = block
    return out


@dataclass(frozen=True)
class VectorSet:
    """A base set and held-out queries (unit vectors, inner product) with their provenance."""

    base: Matrix
    queries: Matrix
    seed_texts: list[str]  # the real texts of the base seeds, row r < len(seed_texts)
    query_texts: list[str]
    description: str

    def text_of(self, row: int) -> str:
        """The real text that base row ``row`` is (or perturbs)."""
        seeds = np.array([row], dtype=np.int64)
        return self.seed_texts[int(seed_rows(seeds, len(self.seed_texts))[0])]


def embed_cached(
    texts: list[str], model: str, tag: str, log: Callable[[str], None] = print
) -> Matrix:
    """Embeddings of ``texts`` with ``model``, cached under ``var/bench`` by content hash."""
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:12]
    name = Path(model).name or model
    path = cache_dir() / f"embed-{tag}-{name}-{len(texts)}-{digest}.npy"
    if path.exists():
        cached: Matrix = np.load(path)
        return cached
    log(f"embedding {len(texts)} texts with {model} (once; cached as {path}) ...")
    loaded = load_text_model(model)
    # Longest first in big batches is what sentence-transformers does inside; chunks only
    # keep the progress line moving.
    parts = []
    with tqdm(total=len(texts), desc=f"embedding with {name}", unit="text") as progress:
        for start in range(0, len(texts), 8192):
            parts.append(loaded.encode(texts[start : start + 8192], batch_size=64))
            progress.update(len(parts[-1]))
    vectors = np.concatenate(parts)
    np.save(path.with_suffix(".tmp.npy"), vectors)
    path.with_suffix(".tmp.npy").replace(path)
    return vectors


def vector_set(
    n: int,
    n_queries: int,
    *,
    scale: Scale,
    model: str = "all-MiniLM-L6-v2",
    cosine: float = 0.85,
    rng_seed: int = 0,
    log: Callable[[str], None] = print,
) -> VectorSet:
    """``n`` base vectors and ``n_queries`` held-out real query vectors (see the module doc)."""
    texts = seed_texts(scale)
    if n_queries < 1 or n_queries >= len(texts):
        raise ValueError(f"n_queries must be in [1, {len(texts) - 1}], got {n_queries}")
    embedded = embed_cached(texts, model, scale, log)
    held_out = np.random.default_rng(rng_seed).permutation(len(texts))[:n_queries]
    keep = np.ones(len(texts), dtype=bool)
    keep[held_out] = False
    seeds = embedded[keep]
    base = perturbed_vectors(seeds, n, cosine=cosine, rng_seed=rng_seed + 1)
    description = (
        f"{n:,} x {embedded.shape[1]} base: {min(n, len(seeds)):,} real embeddings of "
        f"{len(seeds):,} texts ({scale} seed set, model {model})"
        + (
            f" + {n - len(seeds):,} Gaussian perturbations of them at cosine ~{cosine} to "
            "their seed, re-normalised"
            if n > len(seeds)
            else ""
        )
        + f"; {n_queries} queries: real embeddings of held-out texts"
    )
    return VectorSet(
        base=base,
        queries=np.ascontiguousarray(embedded[held_out]),
        seed_texts=[t for t, k in zip(texts, keep, strict=True) if k],
        query_texts=[texts[i] for i in held_out],
        description=description,
    )


def ground_truth(vectors: VectorSet, k: int) -> Labels:
    """Exact top-``k`` base rows per query, cached under ``var/bench`` by content hash."""
    digest = hashlib.sha256()
    digest.update(vectors.queries.tobytes())
    digest.update(vectors.base[:: max(1, len(vectors.base) // 4096)].tobytes())
    digest.update(str(vectors.base.shape).encode())
    path = cache_dir() / f"gt-{k}-{digest.hexdigest()[:16]}.npy"
    if path.exists():
        cached: Labels = np.load(path)
        return cached
    labels = exact_top_k(vectors.base, vectors.queries, k)[1]
    np.save(path, labels)
    return labels
