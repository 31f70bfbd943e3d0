"""The BM25 index beside a real store: analysis, scores against the formula, staying in step."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from ipsim.indexers.lexical import FILE_NAME, Analyzer, LexicalIndex
from ipsim.indexers.store import CollectionStore, Record


class CountingAnalyzer(Analyzer):
    """The real analyzer, counting the texts it analyses (to see what is re-indexed)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def terms(self, text: str) -> list[str]:
        self.calls += 1
        return super().terms(text)


def record(doc_id: str, text: str, spans: Sequence[tuple[int, int]] | None = None) -> Record:
    spans = list(spans or [(0, len(text))])
    vectors = np.full((len(spans), 4), 0.5, dtype=np.float32)
    return Record(id=doc_id, vectors=vectors, spans=spans, fields={}, payload={"text": text})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CollectionStore]:
    opened = CollectionStore.create(
        tmp_path / "c",
        dim=4,
        metric="ip",
        index_type="flat",
        index_params={},
        shards=1,
        meta={"modality": "text", "model": "none"},
    )
    yield opened
    opened.close()


def write(store: CollectionStore, index: LexicalIndex, *records: Record) -> None:
    """What the collection does: the store first, then the index in step with it."""
    store.upsert(list(records))
    index.sync([r.id for r in records])


def ids(index: LexicalIndex, text: str, k: int = 10) -> list[str]:
    return [h.id for h in index.search(text, k).hits]


def test_inflected_russian_and_english_words_share_a_term() -> None:
    terms = Analyzer().terms
    assert terms("патенты") == terms("патентов") == terms("Патентом") == ["патент"]
    assert terms("изобретения") == terms("изобретению") == ["изобретение"]
    assert terms("охлаждающий") == terms("охлаждает") == ["охлаждать"]  # participle → verb
    # A form of two dictionary words gets both lemmas: "из стали" is found by "сталь".
    assert terms("из стали") == ["стать", "сталь"]
    assert terms("patents") == terms("Patent") == ["patent"]
    assert terms("devices") == terms("device")
    assert terms("ёлка") == terms("елка")  # ё folds to е before stemming


def test_analysis_drops_stop_words_keeps_digits_and_splits_codes() -> None:
    terms = Analyzer().terms
    assert terms("the pump and the valve") == ["pump", "valv"]
    assert terms("насос и клапан") == ["насос", "клапан"]
    # Codes stay whole (and their letter and digit runs, so "QZ-4471" meets "QZ4471").
    assert terms("gasket QZ4471, 2019") == ["gasket", "qz4471", "qz", "4471", "2019"]
    assert set(terms("QZ-4471")) <= set(terms("QZ4471"))
    # The script picks the analysis: Snowball English for Latin, pymorphy3 for Cyrillic.
    assert terms("running бегущие") == ["run", "бежать"]
    assert terms("snake_case") == ["snake", "case"]


def test_bm25_scores_follow_the_formula(store: CollectionStore) -> None:
    """FTS5's BM25 (k1 = 1.2, b = 0.75) recomputed by hand on a five-document corpus."""
    texts = {
        "a": "rotor blade rotor",
        "b": "rotor housing seal",
        "c": "turbine blade",
        "d": "pump seal gasket ring",
        "e": "valve spring",
    }
    index = LexicalIndex(store)
    write(store, index, *(record(k, v) for k, v in texts.items()))
    analysed = {k: Analyzer().terms(v) for k, v in texts.items()}
    n = len(texts)
    mean_length = sum(len(t) for t in analysed.values()) / n
    query = ["rotor", "blade"]

    def expected(terms: list[str]) -> float:
        score = 0.0
        for term in query:
            having = sum(term in t for t in analysed.values())
            idf = max(math.log((n - having + 0.5) / (having + 0.5)), 1e-6)
            f = terms.count(term)
            score += idf * f * 2.2 / (f + 1.2 * (1 - 0.75 + 0.75 * len(terms) / mean_length))
        return score

    answer = index.search("rotor blades", 10)
    assert [h.id for h in answer.hits] == ["a", "c", "b"]  # d and e hold neither term
    assert answer.total == 3
    for hit in answer.hits:
        assert hit.score == pytest.approx(expected(analysed[hit.id]), rel=1e-9)
    assert index.search("rotor", 1).hits[0].id == "a"
    assert index.search("rotor", 1).total == 2
    index.close()


def test_a_hit_names_its_best_chunk_and_the_filter_is_applied(store: CollectionStore) -> None:
    text = "a pump housing of cast iron. the impeller is ceramic"
    cut = text.index("the impeller")
    index = LexicalIndex(store)
    write(
        store,
        index,
        record("long", text, [(0, cut), (cut, len(text))]),
        record("other", "impeller of stainless steel"),
        record("third", "valve seat"),
    )
    (first, *_) = index.search("ceramic impeller", 5).hits
    assert (first.id, first.unit, first.span) == ("long", 1, (cut, len(text)))
    assert index.search("impeller", 5, allowed={"other", "third"}).total == 1
    # Scored by its chunk (2 terms), "long" beats a 3-term document; whole, it has 6.
    assert ids(index, "impeller", 5) == ["long", "other"]
    index.close()


def test_replace_and_delete_follow_the_store(store: CollectionStore) -> None:
    index = LexicalIndex(store)
    write(store, index, record("x", "rotor blade"), record("y", "valve"), record("z", "lens"))
    write(store, index, record("x", "optical prism"))
    assert ids(index, "rotor") == []
    assert ids(index, "prism") == ["x"]
    store.delete(["y"])
    index.sync(["y"])
    assert ids(index, "valve") == []
    assert len(index) == 2
    index.sync(["never-stored"])  # an id the store never had is a no-op
    assert len(index) == 2
    index.close()


def test_reopen_after_a_crash_catches_up_with_the_store(tmp_path: Path) -> None:
    path = tmp_path / "c"
    store = CollectionStore.create(
        path,
        dim=4,
        metric="ip",
        index_type="flat",
        index_params={},
        shards=1,
        meta={"modality": "text", "model": "none"},
    )
    index = LexicalIndex(store)
    write(store, index, record("a", "rotor blade"), record("b", "valve"), record("c", "lens"))
    # The store logs these writes; the process dies before the lexical index hears of them.
    store.upsert([record("a", "ceramic impeller"), record("d", "gasket ring")])
    store.delete(["b"])
    index.close(clean=False)
    store.close()

    store = CollectionStore.open(path)
    counting = CountingAnalyzer()
    index = LexicalIndex(store, counting)
    assert counting.calls == 2  # "a" and "d" re-analysed; "c" unchanged, "b" only removed
    assert ids(index, "impeller") == ["a"]
    assert ids(index, "rotor") == []
    assert ids(index, "valve") == []
    assert ids(index, "gasket") == ["d"]
    assert ids(index, "lens") == ["c"]
    index.close()

    # A clean close and reopen re-analyses nothing.
    counting = CountingAnalyzer()
    index = LexicalIndex(store, counting)
    assert counting.calls == 0 and len(index) == 3
    index.close()

    # A lost index file is rebuilt from the store.
    (path / FILE_NAME).unlink()
    index = LexicalIndex(store)
    assert ids(index, "gasket") == ["d"] and len(index) == 3
    index.close()
    store.close()


def test_a_clean_index_that_lost_documents_is_caught_up(store: CollectionStore) -> None:
    index = LexicalIndex(store)
    write(store, index, record("a", "rotor"), record("b", "valve"))
    index.close()
    with sqlite3.connect(store.path / FILE_NAME) as db:  # e.g. restored from an older backup
        db.execute("DELETE FROM docs WHERE id = 'b'")
    index = LexicalIndex(store)
    assert ids(index, "valve") == ["b"]
    index.close()


def test_queries_without_terms_and_bad_k(store: CollectionStore) -> None:
    index = LexicalIndex(store)
    write(store, index, record("a", "rotor"))
    assert index.search("the and of", 5).total == 0  # stop words only
    assert index.search('"rotor" OR NEAR(', 5).hits[0].id == "a"  # FTS5 syntax is inert
    with pytest.raises(ValueError, match="k must be"):
        index.search("rotor", 0)
    index.close()
