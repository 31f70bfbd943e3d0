"""The hot paths, timed by pytest-benchmark, each in a group beside its baseline.

Not part of ``make test`` (``testpaths`` is ``tests/``): ``make bench`` runs it and compares
with the saved baseline in ``benchmarks/baselines/``; ``make bench-save`` refreshes that.

* encode batch: ``TextEncoder.encode`` of 32 real patent titles (``demo/patents.jsonl``) |
  sentence-transformers called directly;
* index search: ipsim ``FlatIndex`` and HNSW over 50k random unit vectors, batch 1 and 16 |
  raw FAISS ``IndexFlatIP`` / ``IndexHNSWFlat`` with the same parameters;
* Tanimoto scan: ``FingerprintIndex.similar`` (threshold 0.7) over Morgan fingerprints of the
  demo molecules tiled to 100k rows | RDKit ``BulkTanimotoSimilarity`` over the same rows;
* mesh descriptor: ``mesh_histogram.describe`` of a demo mesh | its D2 part alone;
* SW alignment: ``alignment.align`` (with traceback) of two real demo proteins | parasail's
  striped kernel called directly;
* HTTP round trip: ``Client.search`` against a real ``ipsim serve`` (one per module) holding
  the demo titles | ``GET /healthz`` on the same connection (the bare round trip).

    .venv/bin/pytest benchmarks/suite --benchmark-storage=benchmarks/baselines
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import faiss
import httpx
import numpy as np
import numpy.typing as npt
import pytest

from ipsim.benchmarks.datasets import REPO, short_texts
from ipsim.benchmarks.reference import load_text_model
from ipsim.benchmarks.server import (
    create_text_collection,
    fresh_data_dir,
    running_server,
    upsert_texts,
)
from ipsim.indexers.base import VectorIndex
from ipsim.indexers.factory import make_index

DEMO = REPO / "demo"
MODEL = "all-MiniLM-L6-v2"
N_VECTORS = 50_000
DIM = 384
HNSW = {"M": 32, "ef_construction": 40, "ef_search": 64}
TANIMOTO_ROWS = 100_000
FP_BITS = 2048
K = 10

Benchmark = Any  # pytest-benchmark's fixture
Matrix = npt.NDArray[np.float32]


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@pytest.fixture(scope="module")
def titles() -> list[str]:
    """32 real short texts: the first patent titles of the demo data."""
    rows = _jsonl(DEMO / "patents.jsonl")
    return [str(r["content"]["text"]) for r in rows if r["content"].get("text")][:32]


# -- encode batch ---------------------------------------------------------------------------


def test_encode_batch_ipsim(benchmark: Benchmark, titles: list[str]) -> None:
    from ipsim.models.registry import resolve_text_model
    from ipsim.models.text import TextEncoder

    encoder = TextEncoder(*resolve_text_model(MODEL))
    benchmark.group = "encode batch of 32 titles"
    vectors = benchmark(encoder.encode, titles)
    assert vectors.shape == (32, encoder.dim)


def test_encode_batch_sentence_transformers(benchmark: Benchmark, titles: list[str]) -> None:
    model = load_text_model(MODEL)
    benchmark.group = "encode batch of 32 titles"
    vectors = benchmark(model.encode, titles, batch_size=32)
    assert vectors.shape[0] == 32


# -- index search ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vectors() -> tuple[Matrix, Matrix]:
    """50k random unit vectors and 16 queries (seed 0)."""
    rng = np.random.default_rng(0)
    data = rng.standard_normal((N_VECTORS + 16, DIM)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    return data[:N_VECTORS], data[N_VECTORS:]


@pytest.fixture(scope="module")
def ipsim_indexes(vectors: tuple[Matrix, Matrix]) -> dict[str, VectorIndex]:
    base, _ = vectors
    labels = np.arange(len(base), dtype=np.int64)
    out = {"flat": make_index("flat", DIM, "ip"), "hnsw": make_index("hnsw", DIM, "ip", HNSW)}
    for index in out.values():
        index.add(labels, base)
    return out


@pytest.fixture(scope="module")
def faiss_indexes(vectors: tuple[Matrix, Matrix]) -> dict[str, Any]:
    base, _ = vectors
    flat = faiss.IndexFlatIP(DIM)
    hnsw = faiss.IndexHNSWFlat(DIM, HNSW["M"], faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = HNSW["ef_construction"]
    hnsw.hnsw.efSearch = HNSW["ef_search"]
    for index in (flat, hnsw):
        index.add(base)
    return {"flat": flat, "hnsw": hnsw}


@pytest.mark.parametrize("batch", [1, 16])
@pytest.mark.parametrize("family", ["flat", "hnsw"])
def test_index_search_ipsim(
    benchmark: Benchmark,
    ipsim_indexes: dict[str, VectorIndex],
    vectors: tuple[Matrix, Matrix],
    family: str,
    batch: int,
) -> None:
    queries = vectors[1][:batch]
    benchmark.group = f"search {family} 50k x 384, batch {batch}"
    found = benchmark(ipsim_indexes[family].search, queries, K)
    assert found.labels.shape == (batch, K)


@pytest.mark.parametrize("batch", [1, 16])
@pytest.mark.parametrize("family", ["flat", "hnsw"])
def test_index_search_faiss(
    benchmark: Benchmark,
    faiss_indexes: dict[str, Any],
    vectors: tuple[Matrix, Matrix],
    family: str,
    batch: int,
) -> None:
    queries = vectors[1][:batch]
    benchmark.group = f"search {family} 50k x 384, batch {batch}"
    _, labels = benchmark(faiss_indexes[family].search, queries, K)
    assert labels.shape == (batch, K)


# -- Tanimoto scan --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fingerprints() -> npt.NDArray[np.uint8]:
    """Morgan r=2 fingerprints (packed little-endian) of the demo molecules, tiled."""
    from rdkit import Chem, rdBase
    from rdkit.Chem import rdFingerprintGenerator

    rdBase.DisableLog("rdApp.*")
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=FP_BITS)
    smiles = [str(r["content"]["smiles"]) for r in _jsonl(DEMO / "chemicals.jsonl")]
    mols = [m for m in map(Chem.MolFromSmiles, smiles) if m is not None]
    rows = np.array([generator.GetFingerprintAsNumPy(m) for m in mols], dtype=bool)
    packed = np.packbits(rows, axis=1, bitorder="little")
    return np.resize(packed, (TANIMOTO_ROWS, packed.shape[1]))


def test_tanimoto_scan_ipsim(benchmark: Benchmark, fingerprints: npt.NDArray[np.uint8]) -> None:
    from ipsim.bitwords import bits_to_words16
    from ipsim.indexers.fingerprint import FingerprintIndex

    rows = bits_to_words16(fingerprints)
    index = FingerprintIndex(FP_BITS // 16, bits=FP_BITS)
    index.add(np.arange(len(rows), dtype=np.int64), rows)
    query = rows[7]
    index.similar(query, k=1)  # sorts the buffered rows into a block
    benchmark.group = f"Tanimoto >= 0.7 over {TANIMOTO_ROWS:,} demo fingerprints"
    hits = benchmark(index.similar, query, k=None, threshold=0.7)
    assert hits.total >= TANIMOTO_ROWS // len(_jsonl(DEMO / "chemicals.jsonl"))


def test_tanimoto_scan_rdkit(benchmark: Benchmark, fingerprints: npt.NDArray[np.uint8]) -> None:
    from rdkit import DataStructs

    fps = [DataStructs.CreateFromBinaryText(row.tobytes()) for row in fingerprints]
    benchmark.group = f"Tanimoto >= 0.7 over {TANIMOTO_ROWS:,} demo fingerprints"

    def scan() -> int:
        scores = DataStructs.BulkTanimotoSimilarity(fps[7], fps)
        return sum(s >= 0.7 for s in scores)

    assert benchmark(scan) > 0


# -- mesh descriptor ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mesh() -> Any:
    """A demo mesh (CGAL's ``anchor.off``), normalised as the encoder sees it."""
    from ipsim.models.mesh_geometry import normalise
    from ipsim.models.mesh_training import read_mesh

    return normalise(read_mesh(DEMO / "meshes" / "cgal" / "anchor.off"))


def test_mesh_describe(benchmark: Benchmark, mesh: Any) -> None:
    from ipsim.models.mesh_histogram import HISTOGRAM_DIM, describe

    benchmark.group = "mesh descriptor (anchor.off)"
    assert benchmark(describe, mesh).shape == (HISTOGRAM_DIM,)


def test_mesh_d2_only(benchmark: Benchmark, mesh: Any) -> None:
    from ipsim.models.mesh_histogram import d2_only

    benchmark.group = "mesh descriptor (anchor.off)"
    assert benchmark(d2_only, mesh).ndim == 1


# -- Smith–Waterman -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def proteins() -> tuple[str, str]:
    """The two longest proteins of the demo Pkinase ST.26 listing."""
    from ipsim.models.sequence_formats import parse_st26

    listing = parse_st26((DEMO / "sequences" / "Pkinase.st26.xml").read_bytes())
    residues = sorted((e.residues for e in listing.entries), key=len, reverse=True)
    return residues[0], residues[1]


def test_sw_align_ipsim(benchmark: Benchmark, proteins: tuple[str, str]) -> None:
    from ipsim.models.alignment import PROTEIN, align

    query, subject = proteins
    benchmark.group = f"SW alignment {len(query)} x {len(subject)} residues"
    result = benchmark(align, query, subject, PROTEIN, database_size=len(subject))
    assert result.score > 0


def test_sw_align_parasail(benchmark: Benchmark, proteins: tuple[str, str]) -> None:
    import parasail

    from ipsim.models.alignment import PROTEIN

    query, subject = proteins
    benchmark.group = f"SW alignment {len(query)} x {len(subject)} residues"
    args = (query, subject, PROTEIN.parasail_open, PROTEIN.gap_extend, parasail.blosum62)
    assert benchmark(parasail.sw_trace_striped_16, *args).score > 0


# -- HTTP round trip ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``ipsim serve`` with the demo titles in a flat text collection."""
    rows = [r for r in _jsonl(DEMO / "patents.jsonl") if r["content"].get("text")]
    documents: list[tuple[str, str, dict[str, Any]]] = [
        (str(r["id"]), str(r["content"]["text"]), {}) for r in rows[:300]
    ]
    data = fresh_data_dir(tmp_path_factory.mktemp("bench") / "data")
    with running_server(data) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        create_text_collection(http, "titles")
        upsert_texts(http, "titles", documents)
        yield server.url


def test_http_search(benchmark: Benchmark, server_url: str) -> None:
    from ipsim.clients.http import Client

    # Distinct real texts: a repeated one would be a page-cache hit, not a search.
    texts = itertools.cycle(short_texts())
    with Client(server_url) as client:
        client.search("titles", {"text": next(texts)}, k=K)
        benchmark.group = "HTTP round trip"
        search: Callable[[], Any] = lambda: client.search("titles", {"text": next(texts)}, k=K)  # noqa: E731
        assert len(benchmark(search)["hits"]) == K


def test_http_health(benchmark: Benchmark, server_url: str) -> None:
    with httpx.Client(base_url=server_url) as http:
        benchmark.group = "HTTP round trip"
        assert benchmark(lambda: http.get("/healthz").status_code) == 200
