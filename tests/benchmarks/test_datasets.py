"""The benchmark loaders on small hand-written files, and the vector-set procedure."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ipsim.benchmarks import datasets


def _write(root: Path, relative: str, text: str | bytes) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A miniature copy of the shared data layout."""
    titles = [
        {
            "application_number": "1",
            "patent_title": " Display device ",
            "art_unit": "2848",
            "technology_center": "TC2800",
            "status": "x",
        },
        {
            "application_number": "2",
            "patent_title": "Semiconductor package",
            "art_unit": "2811",
            "technology_center": "TC2800",
        },
    ]
    _write(
        tmp_path,
        "text/patents/us_application_titles.jsonl",
        "\n".join(json.dumps(t) for t in titles) + "\n\n",
    )
    # lee.cor in Windows-1252 (as the real one is): "£" is byte 0xa3.
    _write(
        tmp_path,
        "text/lee/lee.cor",
        "first doc costs \xa3 5\nsecond doc\n\nthird doc\n".encode("cp1252"),
    )
    _write(tmp_path, "text/lee/lee_similarities0-1.txt", "1\t0.5\t0.2\n0\t1\t0.7\n0\t0\t1\n")
    _write(
        tmp_path,
        "text/lee/lee_background.cor",
        'The cat sat on the mat. Short one. "Quoted words start here" said she! tiny bit?\n',
    )
    _write(
        tmp_path, "text/pang_lee_polarity.cor", "__label__neg dull , flat film .\n__label__pos \n"
    )
    _write(
        tmp_path,
        "text/reuters_tm/docs.jsonl",
        json.dumps({"title": "OIL PRICES RISE"}) + "\n" + json.dumps({"title": ""}) + "\n",
    )
    _write(tmp_path, "trademarks/words_en_20k.txt", "apple\n\nbanana\n")
    _write(tmp_path, "trademarks/words_ru_20k.txt", "яблоко\n")
    _write(
        tmp_path,
        "ip/ipc/wipo_ipc_all.tsv",
        "A\tHUMAN NECESSITIES\nA01B\tSOIL WORKING (see\n   A01C)\nA01C\tSpades\nA01D\tSpades\n",
    )
    return tmp_path


def test_patent_titles_keep_labels_and_strip_text(root: Path) -> None:
    titles = datasets.load_patent_titles(root)
    assert titles == [
        datasets.PatentTitle("1", "Display device", "2848", "TC2800"),
        datasets.PatentTitle("2", "Semiconductor package", "2811", "TC2800"),
    ]


def test_patent_title_without_a_label_names_the_line(root: Path) -> None:
    _write(
        root,
        "text/patents/us_application_titles.jsonl",
        json.dumps({"application_number": "1", "patent_title": "x"}) + "\n",
    )
    with pytest.raises(ValueError, match=r":1: missing key 'art_unit'"):
        datasets.load_patent_titles(root)


def test_lee_mirrors_the_upper_triangle_and_reads_cp1252(root: Path) -> None:
    lee = datasets.load_lee(root)
    assert lee.documents == ["first doc costs £ 5", "second doc", "third doc"]
    assert lee.ratings.tolist() == [[1, 0.5, 0.2], [0.5, 1, 0.7], [0.2, 0.7, 1]]
    first, second, ratings = lee.pairs()
    assert first.tolist() == [0, 0, 1]
    assert second.tolist() == [1, 2, 2]
    assert ratings.tolist() == [0.5, 0.2, 0.7]


def test_lee_refuses_a_matrix_of_the_wrong_size(root: Path) -> None:
    _write(root, "text/lee/lee_similarities0-1.txt", "1\t0.5\n0\t1\n")
    with pytest.raises(ValueError, match=r"3 documents but a \(2, 2\)"):
        datasets.load_lee(root)


def test_words_skip_blank_lines(root: Path) -> None:
    assert datasets.load_words("en", root) == ["apple", "banana"]
    assert datasets.load_words("ru", root) == ["яблоко"]


def test_ipc_titles_join_continuation_lines_and_are_distinct(root: Path) -> None:
    assert datasets.load_ipc_titles(root) == [
        "HUMAN NECESSITIES",
        "SOIL WORKING (see A01C)",
        "Spades",
    ]


def test_polarity_sentences_lose_their_labels(root: Path) -> None:
    assert datasets.load_polarity_sentences(root) == ["dull , flat film ."]


def test_sentence_split_keeps_long_sentences_only() -> None:
    text = (
        'The cat sat on the mat. Short one. "Quoted words start here" said she! tiny bit? '
        "And a last long sentence."
    )
    # A lower-case start does not begin a sentence; fragments under 20 characters go.
    assert datasets.split_sentences(text) == [
        "The cat sat on the mat.",
        '"Quoted words start here" said she! tiny bit?',
        "And a last long sentence.",
    ]


def test_short_texts_are_distinct_and_in_source_order(root: Path) -> None:
    assert datasets.short_texts(root) == [
        "Display device",
        "Semiconductor package",
        "OIL PRICES RISE",
        "dull , flat film .",
        "The cat sat on the mat.",
        '"Quoted words start here" said she! tiny bit?',
    ]


def test_seed_texts_full_adds_words_and_ipc(root: Path) -> None:
    quick = datasets.seed_texts("quick", root)
    full = datasets.seed_texts("full", root)
    assert quick[-2:] == ["apple", "banana"]
    assert full[len(quick) :] == [
        "яблоко",
        "HUMAN NECESSITIES",
        "SOIL WORKING (see A01C)",
        "Spades",
    ]


def test_data_root_honours_the_environment(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPSIM_BENCH_DATA", str(root))
    assert datasets.data_root() == root


def test_cache_dir_honours_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPSIM_BENCH_CACHE", str(tmp_path / "c"))
    assert datasets.cache_dir() == tmp_path / "c"
    assert (tmp_path / "c").is_dir()


@pytest.mark.parametrize("cosine", [0.5, 0.85, 0.95])
def test_noise_sigma_gives_the_asked_cosine(cosine: float) -> None:
    dim = 384
    sigma = datasets.noise_sigma(cosine, dim)
    assert 1 / np.sqrt(1 + dim * sigma**2) == pytest.approx(cosine)


@pytest.mark.parametrize(("cosine", "dim"), [(0.0, 8), (1.0, 8), (1.5, 8), (0.5, 0)])
def test_noise_sigma_refuses_bad_input(cosine: float, dim: int) -> None:
    with pytest.raises(ValueError):
        datasets.noise_sigma(cosine, dim)


def test_seed_rows_cycle_through_the_seeds() -> None:
    rows = np.arange(8, dtype=np.int64)
    assert datasets.seed_rows(rows, 3).tolist() == [0, 1, 2, 0, 1, 2, 0, 1]


def _unit(rows: int, dim: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((rows, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_perturbed_vectors_start_with_the_seeds_and_stay_near_them() -> None:
    seeds = _unit(50, 384)
    out = datasets.perturbed_vectors(seeds, 500, cosine=0.85, rng_seed=3, chunk=64)
    assert out.shape == (500, 384) and out.dtype == np.float32
    np.testing.assert_array_equal(out[:50], seeds)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    owner = datasets.seed_rows(np.arange(50, 500, dtype=np.int64), 50)
    cosines = np.einsum("ij,ij->i", out[50:], seeds[owner])
    assert cosines.mean() == pytest.approx(0.85, abs=0.01)
    assert cosines.min() > 0.75


def test_perturbed_vectors_are_deterministic() -> None:
    seeds = _unit(10, 16)
    a = datasets.perturbed_vectors(seeds, 100, cosine=0.9, rng_seed=1)
    b = datasets.perturbed_vectors(seeds, 100, cosine=0.9, rng_seed=1)
    c = datasets.perturbed_vectors(seeds, 100, cosine=0.9, rng_seed=2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[10:], c[10:])


def test_perturbed_vectors_fewer_than_the_seeds_is_a_prefix() -> None:
    seeds = _unit(10, 16)
    np.testing.assert_array_equal(datasets.perturbed_vectors(seeds, 4, cosine=0.9), seeds[:4])


def test_perturbed_vectors_refuse_bad_input() -> None:
    with pytest.raises(ValueError, match="seeds"):
        datasets.perturbed_vectors(np.zeros((0, 4), np.float32), 10, cosine=0.9)
    with pytest.raises(ValueError, match="n must"):
        datasets.perturbed_vectors(_unit(2, 4), 0, cosine=0.9)


def test_vector_set_holds_out_queries_and_caches_ground_truth(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IPSIM_BENCH_DATA", str(root))
    monkeypatch.setenv("IPSIM_BENCH_CACHE", str(tmp_path / "cache"))
    texts = datasets.seed_texts("quick", root)
    fake = _unit(len(texts), 8, seed=5)
    calls: list[list[str]] = []

    def embed(texts: list[str], model: str, tag: str, log: object = None) -> np.ndarray:
        calls.append(texts)
        return fake

    monkeypatch.setattr(datasets, "embed_cached", embed)
    vs = datasets.vector_set(30, 2, scale="quick", log=lambda _: None)
    assert calls == [texts]
    assert vs.base.shape == (30, 8) and vs.queries.shape == (2, 8)
    assert len(vs.seed_texts) == len(texts) - 2
    assert sorted(vs.seed_texts + vs.query_texts) == sorted(texts)
    # The base starts with the kept seeds; no query vector is among them.
    kept = [texts.index(t) for t in vs.seed_texts]
    np.testing.assert_array_equal(vs.base[: len(kept)], fake[kept])
    for query in vs.queries:
        assert not np.any(np.all(np.isclose(vs.base, query), axis=1))
    assert vs.text_of(len(kept)) == vs.seed_texts[0]

    truth = datasets.ground_truth(vs, 3)
    scores = vs.queries @ vs.base.T
    np.testing.assert_array_equal(truth, np.argsort(-scores, axis=1)[:, :3])
    assert list((tmp_path / "cache").glob("gt-3-*.npy"))
    np.testing.assert_array_equal(datasets.ground_truth(vs, 3), truth)


def test_vector_set_refuses_too_many_queries(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPSIM_BENCH_DATA", str(root))
    with pytest.raises(ValueError, match="n_queries"):
        datasets.vector_set(10, 100, scale="quick")


def test_the_real_data_has_the_documented_shape() -> None:
    try:
        real = datasets.data_root()
    except FileNotFoundError:
        pytest.skip("the shared real data folder is not here")
    titles = datasets.load_patent_titles(real)
    assert len(titles) == 316
    assert len({t.technology_center for t in titles}) == 11
    lee = datasets.load_lee(real)
    assert len(lee.documents) == 50
    np.testing.assert_array_equal(lee.ratings, lee.ratings.T)
    np.testing.assert_array_equal(np.diag(lee.ratings), 1.0)
    assert len(lee.pairs()[2]) == 1225
