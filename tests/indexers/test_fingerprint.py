"""FingerprintIndex: RDKit-exact scores, pruned top-k and threshold scans, screens, writes, GPU.

CPU tests use real fingerprints: RDKit Morgan radius 2 (2048 bits) plus the pattern
fingerprint (2048 bits, the screen part) of the NCI 5K molecules, with RDKit's own
similarity functions as the reference. The ``gpu`` tests use synthetic bit strings (the
GPU machine has no RDKit) and require the CUDA answers to equal the CPU answers exactly.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from support.data import CHEMISTRY

from ipsim.bitwords import bits_to_words16
from ipsim.indexers import popcount
from ipsim.indexers.base import Selection
from ipsim.indexers.fingerprint import MEASURES, FingerprintIndex, SimilarHits
from ipsim.indexers.fingerprint_gpu import cuda_device_count

DATA = CHEMISTRY
BITS = SCREEN_BITS = 2048
DIM = (BITS + SCREEN_BITS) // 16
REPLICAS = 10  # the pruning tests need more rows than one scan step

Packed = npt.NDArray[np.uint8]
Floats = npt.NDArray[np.float32]
Labels = npt.NDArray[np.int64]

# (measure, alpha, beta): Tversky(1, 1) is Tanimoto, (0.5, 0.5) is Dice, (1, 0) and (0, 1)
# are the two substructure-like asymmetric extremes, (0, 0) scores 1 for any overlap.
MEASURE_CASES = [
    ("tanimoto", 1.0, 1.0),
    ("dice", 1.0, 1.0),
    ("tversky", 0.3, 0.7),
    ("tversky", 0.9, 0.1),
    ("tversky", 1.0, 0.0),
    ("tversky", 0.0, 1.0),
    ("tversky", 0.0, 0.0),
    ("tversky", 0.5, 0.5),
]
QUERY_SMILES = {
    "aspirin": "CC(=O)Oc1ccccc1C(=O)O",
    "caffeine": "Cn1cnc2c1c(=O)n(C)c(=O)n2C",
    "member": "",  # filled with a library molecule's row (an exact match exists)
}


@dataclass(frozen=True)
class Library:
    """Molecules as RDKit bit vectors (the reference) and as packed bits (the index rows)."""

    fps: list[Any]
    sim: Packed  # (n, 256) Morgan bits, packed little-endian
    pattern: Packed  # (n, 256) pattern bits
    labels: Labels

    @property
    def rows(self) -> Floats:
        return bits_to_words16(np.concatenate([self.sim, self.pattern], axis=1))


@dataclass(frozen=True)
class Query:
    fp: Any
    row: Floats
    pattern: Packed


def _packed(bits: npt.NDArray[Any]) -> Packed:
    return np.packbits(np.asarray(bits, dtype=bool), axis=-1, bitorder="little")


class Chemistry:
    """RDKit, imported only by the tests that compare with it (the GPU host lacks it)."""

    def __init__(self) -> None:
        pytest.importorskip("rdkit")
        from rdkit import Chem, DataStructs, RDLogger
        from rdkit.Chem import rdFingerprintGenerator

        RDLogger.DisableLog("rdApp.*")
        self.Chem, self.DataStructs = Chem, DataStructs
        self.morgan = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=BITS)

    def vectors(self, mol: Any) -> tuple[Any, Packed, Packed]:
        fp = self.morgan.GetFingerprint(mol)
        pattern = np.zeros(SCREEN_BITS, dtype=np.uint8)
        self.DataStructs.ConvertToNumpyArray(
            self.Chem.PatternFingerprint(mol, fpSize=SCREEN_BITS), pattern
        )
        return fp, _packed(self.morgan.GetFingerprintAsNumPy(mol)), _packed(pattern)

    def reference(self, query: Any, fps: list[Any], measure: str, alpha: float, beta: float) -> Any:
        ds = self.DataStructs
        if measure == "tanimoto":
            return np.array(ds.BulkTanimotoSimilarity(query, fps))
        if measure == "dice":
            return np.array(ds.BulkDiceSimilarity(query, fps))
        return np.array(ds.BulkTverskySimilarity(query, fps, alpha, beta))


@pytest.fixture(scope="module")
def chem() -> Chemistry:
    return Chemistry()


@pytest.fixture(scope="module")
def library(chem: Chemistry) -> Library:
    if not (DATA / "nci_first_5K.smi").is_file():
        pytest.skip(f"no shared data at {DATA}")
    fps, sims, patterns = [], [], []
    for line in (DATA / "nci_first_5K.smi").read_text().splitlines():
        mol = chem.Chem.MolFromSmiles(line.split("\t")[0])
        if mol is not None:
            fp, sim, pattern = chem.vectors(mol)
            fps.append(fp)
            sims.append(sim)
            patterns.append(pattern)
    # One empty fingerprint: RDKit's zero-denominator rules must hold too.
    fps.append(chem.DataStructs.ExplicitBitVect(BITS))
    sims.append(np.zeros(BITS // 8, dtype=np.uint8))
    patterns.append(np.zeros(SCREEN_BITS // 8, dtype=np.uint8))
    # Labels with gaps, as a store's are after deletions.
    labels = 3 * np.arange(len(fps), dtype=np.int64) + 1
    return Library(fps, np.array(sims), np.array(patterns), labels)


@pytest.fixture(scope="module")
def queries(chem: Chemistry, library: Library) -> dict[str, Query]:
    out = {}
    for name, smiles in QUERY_SMILES.items():
        if smiles:
            fp, sim, pattern = chem.vectors(chem.Chem.MolFromSmiles(smiles))
        else:
            fp, sim, pattern = library.fps[1234], library.sim[1234], library.pattern[1234]
        row = bits_to_words16(np.concatenate([sim, pattern])[None, :])[0]
        out[name] = Query(fp, row, pattern)
    empty = np.zeros(DIM, dtype=np.float32)
    out["empty"] = Query(chem.DataStructs.ExplicitBitVect(BITS), empty, _packed(np.zeros(2048)))
    return out


@pytest.fixture(scope="module")
def index(library: Library) -> FingerprintIndex:
    index = FingerprintIndex(DIM, "tanimoto", bits=BITS, screen_bits=SCREEN_BITS)
    index.add(library.labels, library.rows)
    return index


@pytest.fixture(scope="module")
def replicated(library: Library) -> tuple[FingerprintIndex, Labels]:
    """The library ``REPLICAS`` times over (copies tie on score, so labels break ties)."""
    n = library.labels.size
    labels = np.arange(n * REPLICAS, dtype=np.int64)
    index = FingerprintIndex(DIM, bits=BITS, screen_bits=SCREEN_BITS)
    index.add(labels, np.tile(library.rows, (REPLICAS, 1)))
    return index, labels


def _expected(labels: Labels, scores: Any, k: int | None, threshold: float = 0.0) -> Any:
    """Brute force: the hits ≥ threshold by score descending, label ascending, first k."""
    keep = scores >= threshold
    labels, scores = labels[keep], scores[keep]
    order = np.lexsort((labels, -scores))[:k]
    return labels[order], scores[order]


def _assert_hits(got: SimilarHits, labels: Labels, scores: Any, total: int) -> None:
    np.testing.assert_array_equal(got.labels, labels)
    np.testing.assert_allclose(got.scores, scores, rtol=0, atol=1e-9)
    assert got.total == total


# -- scores ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("measure", "alpha", "beta"), MEASURE_CASES)
@pytest.mark.parametrize("query", [*QUERY_SMILES, "empty"])
def test_every_score_equals_rdkit(
    chem: Chemistry,
    library: Library,
    queries: dict[str, Query],
    index: FingerprintIndex,
    query: str,
    measure: Any,
    alpha: float,
    beta: float,
) -> None:
    q = queries[query]
    got = index.similar(q.row, k=None, measure=measure, alpha=alpha, beta=beta)
    want = chem.reference(q.fp, library.fps, measure, alpha, beta)
    assert got.total == library.labels.size
    by_label = dict(zip(got.labels.tolist(), got.scores.tolist(), strict=True))
    ours = np.array([by_label[label] for label in library.labels.tolist()])
    np.testing.assert_allclose(ours, want, rtol=0, atol=1e-9)


def test_zero_denominators_follow_rdkit(chem: Chemistry) -> None:
    """Empty fingerprints score 0 (older RDKit gave Tanimoto 1 for two empty ones), and
    Tversky with alpha = beta = 0 scores 1 for two disjoint non-empty ones."""
    ds = chem.DataStructs
    empty, one, other = (ds.ExplicitBitVect(64) for _ in range(3))
    one.SetBit(3)
    other.SetBit(5)
    sim = popcount.similarity
    cases = [(empty, empty, 0), (empty, one, 0), (one, empty, 0), (one, other, 0), (one, one, 1)]
    for fa, fb, c in cases:
        a, b = fa.GetNumOnBits(), fb.GetNumOnBits()
        assert sim(c, a, b, popcount.TANIMOTO, 1.0, 1.0) == ds.TanimotoSimilarity(fa, fb)
        assert sim(c, a, b, popcount.DICE, 1.0, 1.0) == ds.DiceSimilarity(fa, fb)
        for alpha, beta in ((0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (0.5, 0.5)):
            want = ds.TverskySimilarity(fa, fb, alpha, beta)
            assert sim(c, a, b, popcount.TVERSKY, alpha, beta) == want
    assert sim(0, 1, 1, popcount.TVERSKY, 0.0, 0.0) == 1.0


# -- top-k and thresholds ------------------------------------------------------------------


@pytest.mark.parametrize(("measure", "alpha", "beta"), MEASURE_CASES[:4])
@pytest.mark.parametrize("k", [1, 10, 250])
def test_top_k_equals_a_brute_force_sort(
    chem: Chemistry,
    library: Library,
    queries: dict[str, Query],
    replicated: tuple[FingerprintIndex, Labels],
    measure: Any,
    alpha: float,
    beta: float,
    k: int,
) -> None:
    index, labels = replicated
    for name in ("aspirin", "member"):
        q = queries[name]
        scores = np.tile(chem.reference(q.fp, library.fps, measure, alpha, beta), REPLICAS)
        got = index.similar(q.row, k=k, measure=measure, alpha=alpha, beta=beta)
        _assert_hits(got, *_expected(labels, scores, k), total=labels.size)


def test_top_k_stops_early_and_visits_best_bands_first(
    chem: Chemistry, library: Library, queries: dict[str, Query], replicated: Any
) -> None:
    index, labels = replicated
    q = queries["member"]
    before = index.rows_scanned
    got = index.similar(q.row, k=10)
    scanned = index.rows_scanned - before
    assert got.labels.size == 10 and got.scores[0] == 1.0
    assert scanned < labels.size / 2, f"scanned {scanned} of {labels.size} rows for a top-10"


@pytest.mark.parametrize(("measure", "alpha", "beta"), MEASURE_CASES)
@pytest.mark.parametrize("threshold", [0.0, 0.2, 0.35, 0.5, 0.7, 1.0])
def test_threshold_hits_and_total_equal_brute_force(
    chem: Chemistry,
    library: Library,
    queries: dict[str, Query],
    index: FingerprintIndex,
    measure: Any,
    alpha: float,
    beta: float,
    threshold: float,
) -> None:
    for name in ("caffeine", "member", "empty"):
        q = queries[name]
        scores = chem.reference(q.fp, library.fps, measure, alpha, beta)
        total = int((scores >= threshold).sum())
        for k in (None, 5):
            got = index.similar(
                q.row, k=k, threshold=threshold, measure=measure, alpha=alpha, beta=beta
            )
            _assert_hits(got, *_expected(library.labels, scores, k, threshold), total=total)


def _window_rows(counts: Any, lo: Fraction, hi: Fraction) -> int:
    return int(((counts >= lo) & (counts <= hi)).sum())


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.9])
def test_a_tanimoto_threshold_scans_only_its_popcount_window(
    library: Library, queries: dict[str, Query], index: FingerprintIndex, threshold: float
) -> None:
    """Rows scanned = rows with popcount b in [ceil(t·a), floor(a/t)] (FPSim2's bounds)."""
    counts = np.bitwise_count(library.sim).sum(axis=1)
    for name in ("aspirin", "caffeine", "member"):
        a = int(np.bitwise_count(_sim_bits(queries[name].row)).sum())
        # The decimal value: 18/20 rounds to the double 0.9, a hit in RDKit too.
        t = Fraction(str(threshold))
        index.similar(queries[name].row, k=None)  # settle the lazy rebuild first
        before = index.rows_scanned
        index.similar(queries[name].row, k=None, threshold=threshold)
        want = _window_rows(counts, t * a, a / t)
        assert index.rows_scanned - before == want
        assert want < counts.size  # the window excludes some rows


def _sim_bits(row: Floats) -> Any:
    return np.ascontiguousarray(row[: BITS // 16].astype("<u2")).view(np.uint8)


# Closed forms of {b : bound(a, b) >= t}, bound = the score at c = min(a, b):
#   Tanimoto  t·a <= b <= a/t
#   Dice      t·a/(2-t) <= b <= a·(2-t)/t
#   Tversky   below a: b/(αa + (1-α)b) >= t  ⇔  b >= tαa / (1 - t(1-α))
#             above a: a/((1-β)a + βb) >= t  ⇔  b <= a(1/t - 1 + β)/β   (no limit when β = 0)
def _closed_window(measure: str, alpha: Fraction, beta: Fraction, a: int, t: Fraction) -> Any:
    if measure == "tanimoto":
        return t * a, a / t
    if measure == "dice":
        return t * a / (2 - t), a * (2 - t) / t
    below = 1 - t * (1 - alpha)
    lo = t * alpha * a / below if below > 0 else Fraction(a)
    hi = a * (1 / t - 1 + beta) / beta if beta else Fraction(10**9)
    return lo, hi


@pytest.mark.parametrize(
    ("measure", "alpha", "beta"),
    [
        ("tanimoto", 1, 1),
        ("dice", 1, 1),
        ("tversky", 0.3, 0.7),
        ("tversky", 0.8, 0.2),
        ("tversky", 1.0, 0.0),
        ("tversky", 0.0, 1.0),
        ("tversky", 0.6, 0.9),
    ],
)
@pytest.mark.parametrize("threshold", [0.3137, 0.5731, 0.8123])
def test_popcount_bounds_match_their_closed_forms(
    measure: str, alpha: float, beta: float, threshold: float
) -> None:
    # Thresholds far (>> 1 ulp) from every p/q with q <= 200: exact and float agree.
    kind = {"tanimoto": popcount.TANIMOTO, "dice": popcount.DICE, "tversky": popcount.TVERSKY}
    bands = np.arange(0, 201, dtype=np.int64)
    for a in range(1, 100):
        bound = popcount.bounds(a, bands, kind[measure], alpha, beta, False)
        lo, hi = _closed_window(measure, Fraction(alpha), Fraction(beta), a, Fraction(threshold))
        want = [b > 0 and lo <= b <= hi for b in bands.tolist()]  # empty rows score 0
        np.testing.assert_array_equal(bound >= threshold, want, err_msg=f"a={a}")


@pytest.mark.parametrize("kind", [popcount.TANIMOTO, popcount.DICE, popcount.TVERSKY])
@pytest.mark.parametrize(("alpha", "beta"), [(1.0, 1.0), (0.2, 0.9), (0.0, 0.0), (1.7, 0.4)])
@pytest.mark.parametrize("single", [False, True])
def test_bounds_and_minimum_intersections_against_every_count(
    kind: int, alpha: float, beta: float, single: bool
) -> None:
    """bound(a, b) is the best score over c <= min(a, b); cmin[b] the least c reaching t."""
    score = popcount.similarity
    bands = np.arange(0, 40, dtype=np.int64)
    for a in range(0, 40, 3):
        bound = popcount.bounds(a, bands, kind, alpha, beta, single)
        for threshold in (0.0, 0.25, 1 / 3, 0.6, 1.0):
            cmin = np.full(41, -1, dtype=np.int32)
            popcount.min_common(a, bands, threshold, kind, alpha, beta, single, cmin)
            for b in bands.tolist():
                cs = range(min(a, b) + 1)
                exact = [score(c, a, b, kind, alpha, beta) for c in cs]
                rounded = [float(np.float32(s)) for s in exact] if single else exact
                assert bound[b] == max(rounded)
                reaching = [c for c, s in zip(cs, rounded, strict=True) if s >= threshold]
                assert cmin[b] == (reaching[0] if reaching else min(a, b) + 1)


# -- screen, filters, writes ---------------------------------------------------------------


@pytest.mark.parametrize("fragment", ["c1ccccc1", "C(=O)O", "c1ccncc1", "S", "member"])
def test_screen_equals_a_brute_force_subset_test(
    chem: Chemistry,
    library: Library,
    queries: dict[str, Query],
    index: FingerprintIndex,
    fragment: str,
) -> None:
    if fragment == "member":
        q = queries["member"]
        pattern, row = q.pattern, q.row
    else:
        _, _, pattern = chem.vectors(chem.Chem.MolFromSmiles(fragment))
        row = bits_to_words16(np.concatenate([np.zeros(BITS // 8, np.uint8), pattern])[None])[0]
    holds = ((library.pattern & pattern) == pattern).all(axis=1)
    got = index.screen(row)
    np.testing.assert_array_equal(got, library.labels[holds])
    assert 0 < got.size < library.labels.size
    allowed = Selection.from_labels(library.labels[::2], int(library.labels.max()) + 1)
    np.testing.assert_array_equal(index.screen(row, allowed), library.labels[::2][holds[::2]])


@pytest.mark.parametrize("share", [0.3, 0.001])
def test_allowed_restricts_every_query(
    chem: Chemistry,
    library: Library,
    queries: dict[str, Query],
    index: FingerprintIndex,
    share: float,
) -> None:
    rng = np.random.default_rng(7)
    chosen = rng.random(library.labels.size) < share
    chosen[1234] = True  # the exact match stays allowed
    allowed = Selection.from_labels(library.labels[chosen], int(library.labels.max()) + 1)
    q = queries["member"]
    scores = chem.reference(q.fp, library.fps, "tanimoto", 1.0, 1.0)[chosen]
    labels = library.labels[chosen]
    got = index.similar(q.row, k=10, allowed=allowed)
    _assert_hits(got, *_expected(labels, scores, 10), total=int(chosen.sum()))
    got = index.similar(q.row, k=None, threshold=0.3, allowed=allowed)
    _assert_hits(got, *_expected(labels, scores, None, 0.3), total=int((scores >= 0.3).sum()))
    found = index.search(q.row[None], 10, allowed)
    want_labels, want_scores = _expected(labels, scores.astype(np.float32), 10)
    np.testing.assert_array_equal(found.labels[0, : want_labels.size], want_labels)
    np.testing.assert_array_equal(found.scores[0, : want_scores.size], want_scores)


def _tanimoto(query: Packed, rows: Packed) -> Any:
    """An independent reference: numpy bit counts and the Tanimoto formula (0 when empty)."""
    c = np.bitwise_count(rows & query).sum(axis=1).astype(np.float64)
    union = np.bitwise_count(query).sum() + np.bitwise_count(rows).sum(axis=1) - c
    return np.divide(c, union, out=np.zeros_like(c), where=union > 0)


class Mirror:
    """What an index should hold: label → packed row, with brute-force answers."""

    def __init__(self) -> None:
        self.rows: dict[int, Packed] = {}

    def answer(self, query: Packed, k: int | None, threshold: float = 0.0) -> Any:
        labels = np.array(sorted(self.rows), dtype=np.int64)
        rows = np.array([self.rows[int(label)] for label in labels]).reshape(labels.size, -1)
        scores = _tanimoto(query[: BITS // 8], rows[:, : BITS // 8])
        return _expected(labels, scores, k, threshold)


def _check(index: FingerprintIndex, mirror: Mirror, query: Packed) -> None:
    row = bits_to_words16(query[None])[0]
    assert index.ntotal == len(mirror.rows)
    for k, threshold in ((None, 0.0), (7, 0.0), (None, 0.4)):
        labels, scores = mirror.answer(query, k, threshold)
        got = index.similar(row, k=k, threshold=threshold)
        np.testing.assert_array_equal(got.labels, labels)
        np.testing.assert_allclose(got.scores, scores, rtol=0, atol=1e-12)


def test_removed_labels_never_come_back_and_re_adds_take_the_new_row(library: Library) -> None:
    packed = np.concatenate([library.sim, library.pattern], axis=1)[:600]
    index = FingerprintIndex(DIM, bits=BITS, screen_bits=SCREEN_BITS)
    mirror = Mirror()

    def add(labels: list[int], rows: Packed) -> None:
        index.add(np.array(labels, dtype=np.int64), bits_to_words16(rows))
        mirror.rows.update(zip(labels, rows, strict=True))

    def remove(labels: list[int]) -> None:
        index.remove(np.array(labels, dtype=np.int64))
        for label in labels:
            mirror.rows.pop(label, None)

    query = packed[10]
    add(list(range(400)), packed[:400])
    _check(index, mirror, query)
    remove([10, 11, 12, 399, 5000])  # 5000 was never there
    _check(index, mirror, query)
    add([10], packed[500:501])  # re-added with another molecule's row, after a search
    _check(index, mirror, query)
    remove([10])
    add([10], packed[501:502])  # removed and re-added between two searches
    add([400, 401], packed[400:402])
    remove([401])
    _check(index, mirror, query)
    remove(list(range(0, 300)))  # most rows removed: the index compacts
    _check(index, mirror, query)
    total = index.similar(bits_to_words16(query[None])[0], k=None).total
    assert total == len(mirror.rows) == 100  # 300..398 and 400


def test_many_small_adds_search_like_one_big_add(library: Library) -> None:
    packed = np.concatenate([library.sim, library.pattern], axis=1)[:2000]
    rng = np.random.default_rng(3)
    index = FingerprintIndex(DIM, bits=BITS, screen_bits=SCREEN_BITS)
    mirror = Mirror()
    start = 0
    while start < packed.shape[0]:
        stop = min(packed.shape[0], start + int(rng.choice([1, 2, 5, 40, 300])))
        labels = list(range(start, stop))
        index.add(np.array(labels), bits_to_words16(packed[start:stop]))
        mirror.rows.update(zip(labels, packed[start:stop], strict=True))
        index.similar(bits_to_words16(packed[:1])[0], k=3)  # a search folds the adds in
        start = stop
    for i in (0, 777, 1999):
        _check(index, mirror, packed[i])


def test_save_and_load_keep_every_answer(
    tmp_path: Path, library: Library, queries: dict[str, Query]
) -> None:
    index = FingerprintIndex(DIM, bits=BITS, screen_bits=SCREEN_BITS)
    index.add(library.labels[:3000], library.rows[:3000])
    index.similar(queries["member"].row, k=1)
    index.remove(library.labels[:100])
    index.add(library.labels[3000:3100], library.rows[3000:3100])  # still buffered
    index.save(tmp_path / "fp.index")
    loaded = FingerprintIndex.load(tmp_path / "fp.index")
    assert loaded.ntotal == index.ntotal == 3000
    assert loaded.describe() == index.describe()
    for q in queries.values():
        for k, threshold in ((10, 0.0), (None, 0.25)):
            want, got = (
                i.similar(q.row, k=k, threshold=threshold, measure="dice") for i in (index, loaded)
            )
            np.testing.assert_array_equal(got.labels, want.labels)
            np.testing.assert_array_equal(got.scores, want.scores)
            assert got.total == want.total
        np.testing.assert_array_equal(loaded.screen(q.row), index.screen(q.row))


def test_search_is_tanimoto_top_k_in_the_seam_form(
    library: Library, queries: dict[str, Query], index: FingerprintIndex
) -> None:
    rows = np.stack([queries[name].row for name in ("aspirin", "member", "empty")])
    found = index.search(rows, 12)
    assert found.labels.shape == found.scores.shape == (3, 12)
    assert found.scores.dtype == np.float32
    for i in range(3):
        want = index.similar(rows[i], k=12)
        np.testing.assert_array_equal(found.labels[i], want.labels)
        np.testing.assert_array_equal(found.scores[i], want.scores.astype(np.float32))
    small = FingerprintIndex(DIM, bits=BITS, screen_bits=SCREEN_BITS)
    small.add(library.labels[:3], library.rows[:3])
    few = small.search(rows[:1], 5)
    assert (few.labels[0, 3:] == -1).all() and np.isneginf(few.scores[0, 3:]).all()
    assert sorted(few.labels[0, :3].tolist()) == library.labels[:3].tolist()
    empty = FingerprintIndex(DIM, bits=BITS, screen_bits=SCREEN_BITS).search(rows, 2)
    assert (empty.labels == -1).all()


def test_concurrent_searches_answer_like_sequential_ones(
    library: Library, queries: dict[str, Query]
) -> None:
    index = FingerprintIndex(DIM, bits=BITS, screen_bits=SCREEN_BITS)
    index.add(library.labels[:2500], library.rows[:2500])
    index.similar(queries["member"].row, k=1)
    index.add(library.labels[2500:], library.rows[2500:])  # folded in by the first searcher
    calls: list[Callable[[FingerprintIndex], Any]] = [
        lambda i: i.similar(queries["aspirin"].row, k=20).labels,
        lambda i: i.similar(queries["member"].row, k=None, threshold=0.3).labels,
        lambda i: i.screen(queries["caffeine"].row),
        lambda i: i.search(queries["member"].row[None], 5).labels,
    ]
    results: dict[int, list[Any]] = {}
    barrier = threading.Barrier(8)

    def worker(n: int) -> None:
        barrier.wait()
        results[n] = [call(index) for call in calls for _ in range(3)]

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    want = [call(index) for call in calls for _ in range(3)]
    for got in results.values():
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(g, w)


# -- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"dim": 256, "bits": 2048, "screen_bits": 1024}, "dim must be"),
        ({"dim": 4, "bits": 32}, "bits must be a multiple of 64"),
        ({"dim": 12, "bits": 128, "screen_bits": 64 + 1}, "screen_bits must be"),
        ({"dim": 8, "bits": 128, "metric": "ip"}, "metric must be one of"),
        ({"dim": 0, "bits": 64}, "dim must be a positive"),
        ({"dim": 8, "bits": 128.0}, "bits must be an integer"),
    ],
)
def test_bad_construction_is_refused(kwargs: dict[str, Any], match: str) -> None:
    dim = kwargs.pop("dim")
    with pytest.raises(ValueError, match=match):
        FingerprintIndex(dim, **kwargs)


def test_bad_writes_and_queries_are_refused_naming_the_parameter(
    library: Library, index: FingerprintIndex
) -> None:
    small = FingerprintIndex(8, bits=128)
    ok = np.zeros((1, 8), dtype=np.float32)
    for value in (-1.0, 1.5, 70000.0, np.nan):
        bad = ok.copy()
        bad[0, 3] = value
        with pytest.raises(ValueError, match=r"65535|finite"):
            small.add(np.array([1]), bad)
        with pytest.raises(ValueError, match="query"):
            small.similar(bad, k=1)
    with pytest.raises(ValueError, match="shape"):
        small.add(np.array([1]), np.zeros((1, 9), dtype=np.float32))
    small.add(np.array([1]), ok)
    with pytest.raises(ValueError, match="already in the index"):
        small.add(np.array([1]), ok)
    with pytest.raises(ValueError, match="query must be one row of 8"):
        small.similar(np.zeros((2, 8), dtype=np.float32), k=1)
    q = library.rows[0]
    bad_calls: list[tuple[dict[str, Any], str]] = [
        ({"k": 0}, "k must be"),
        ({"k": True}, "k must be"),
        ({"k": 1, "threshold": 1.5}, "threshold must be in"),
        ({"k": 1, "threshold": -0.1}, "threshold must be in"),
        ({"k": 1, "threshold": float("nan")}, "threshold must be in"),
        ({"k": 1, "measure": "cosine"}, "measure must be one of"),
        ({"k": 1, "measure": "tversky", "alpha": -1.0}, "alpha must be"),
        ({"k": 1, "measure": "tversky", "beta": float("inf")}, "beta must be"),
    ]
    for kwargs, match in bad_calls:
        with pytest.raises(ValueError, match=match):
            index.similar(q, **kwargs)
    with pytest.raises(ValueError, match="k must be"):
        index.search(q[None], 0)
    with pytest.raises(ValueError, match="screen_bits=0"):
        small.screen(ok)
    with pytest.raises(ValueError, match="device must be"):
        index.to("tpu")


def test_measures_are_listed() -> None:
    assert MEASURES == ("tanimoto", "dice", "tversky")


# -- factory, imports, devices -------------------------------------------------------------


def test_the_factory_builds_validates_and_restores_fingerprint_indexes(
    library: Library,
) -> None:
    factory = pytest.importorskip("ipsim.indexers.factory")  # needs FAISS, unlike the index
    index = factory.make_index("fingerprint", 256, "tanimoto", {"bits": 2048, "screen_bits": 2048})
    assert isinstance(index, FingerprintIndex)
    assert index.describe() == {
        "type": "fingerprint",
        "bits": 2048,
        "screen_bits": 2048,
        "device": "cpu",
    }
    assert factory.validate_index_params("fingerprint", {"screen_bits": 1024}, 128) == {
        "bits": 1024,
        "screen_bits": 1024,
    }
    assert "fingerprint" not in factory.INDEX_TYPES
    index.add(library.labels[:50], library.rows[:50])
    restored = factory.restore_index(index.dump())
    assert isinstance(restored, FingerprintIndex) and restored.ntotal == 50
    bad: list[tuple[dict[str, Any], int, str]] = [
        ({"bits": 2000}, 125, "index.bits"),
        ({"bits": 2048, "screen_bits": 100}, 134, "index.screen_bits"),
        ({"bits": 2048}, 256, "index.bits"),
        ({"nlist": 4}, 128, "index.nlist"),
        ({"bits": 0}, 128, "index.bits"),
    ]
    for params, dim, field in bad:
        with pytest.raises(factory.IndexParamError) as caught:
            factory.validate_index_params("fingerprint", params, dim)
        assert caught.value.field == field
    with pytest.raises(factory.IndexParamError) as caught:
        factory.make_index("fingerprint", 128, "ip")
    assert caught.value.field == "index.type"
    with pytest.raises(factory.IndexParamError) as caught:
        factory.make_index("flat", 128, "tanimoto")
    assert caught.value.field == "index.type"
    with pytest.raises(factory.IndexParamError) as caught:
        factory.make_index("fingerprint", 128, "tanimoto", shards=2)
    assert caught.value.field == "shards"


def test_faiss_families_still_refuse_tanimoto() -> None:
    flat = pytest.importorskip("ipsim.indexers.flat")
    with pytest.raises(ValueError, match="metric must be one of"):
        flat.FlatIndex(64, "tanimoto")


def test_the_fingerprint_modules_import_without_faiss() -> None:
    code = (
        "import sys; sys.modules['faiss'] = None\n"  # any `import faiss` now fails
        "import ipsim.bitwords, ipsim.indexers.fingerprint, ipsim.indexers.fingerprint_gpu\n"
        "import ipsim.indexers.popcount\n"
        "print('rdkit' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.skipif(cuda_device_count() > 0, reason="checks the CPU-only fallback")
def test_without_cuda_to_cuda_stays_on_cpu(index: FingerprintIndex) -> None:
    assert index.to("cuda") is index and index.to("cuda:1") is index
    assert index.describe()["device"] == "cpu"
    assert index.to("cpu").device == "cpu"


# -- GPU (synthetic fingerprints: the GPU host has no RDKit) -------------------------------


def _synthetic(n: int, seed: int) -> Packed:
    """Rows with Morgan-like spreads of density (0.2%..6%), duplicates and empty rows."""
    rng = np.random.default_rng(seed)
    density = rng.uniform(0.002, 0.06, size=(n, 1))
    bits = rng.random((n, BITS + SCREEN_BITS)) < density
    twins = np.arange(0, n - 1, 97)
    bits[twins] = bits[twins + 1]
    bits[5] = False
    return _packed(bits)


needs_gpu = pytest.mark.skipif(cuda_device_count() == 0, reason="CuPy sees no CUDA device")


@pytest.mark.gpu
@needs_gpu
def test_gpu_answers_equal_cpu_answers() -> None:
    n = 60_000
    packed = _synthetic(n, seed=11)
    rows, labels = bits_to_words16(packed), 2 * np.arange(n, dtype=np.int64)
    cpu = FingerprintIndex(DIM, bits=BITS, screen_bits=SCREEN_BITS)
    gpu = FingerprintIndex(DIM, bits=BITS, screen_bits=SCREEN_BITS).to("cuda")
    assert gpu.describe()["device"] == "cuda:0"
    for index in (cpu, gpu):
        index.add(labels[:50_000], rows[:50_000])
        index.similar(rows[0], k=1)
        index.remove(labels[:1000:3])
        index.add(labels[50_000:], rows[50_000:])  # a second block
    allowed = Selection.from_labels(labels[::5], int(labels.max()) + 1)
    queries = [rows[i] for i in (0, 5, 777, 12_345, 59_999)]
    for q in queries:
        for measure, alpha, beta in MEASURE_CASES:
            for k, threshold in ((10, 0.0), (None, 0.3), (100, 0.15), (None, 0.0)):
                for sel in (None, allowed):
                    want, got = (
                        i.similar(
                            q,
                            k=k,
                            threshold=threshold,
                            measure=measure,  # type: ignore[arg-type]
                            alpha=alpha,
                            beta=beta,
                            allowed=sel,
                        )
                        for i in (cpu, gpu)
                    )
                    np.testing.assert_array_equal(got.labels, want.labels)
                    np.testing.assert_array_equal(got.scores, want.scores)
                    assert got.total == want.total
        np.testing.assert_array_equal(gpu.screen(q), cpu.screen(q))
        np.testing.assert_array_equal(gpu.screen(q, allowed), cpu.screen(q, allowed))
    found, want_found = gpu.search(np.stack(queries), 25), cpu.search(np.stack(queries), 25)
    np.testing.assert_array_equal(found.labels, want_found.labels)
    np.testing.assert_array_equal(found.scores, want_found.scores)
    assert gpu.to("cpu").device == "cpu"
