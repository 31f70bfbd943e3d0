"""The n-gram index against a brute-force Dice over every document, on real word lists."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Sequence

import pytest
from support.data import shared_data

from ipsim.indexers import ngram
from ipsim.indexers.ngram import NgramIndex

WORDS = shared_data("trademarks")
needs_words = pytest.mark.skipif(
    not (WORDS / "words_en_20k.txt").exists(), reason="shared trademark word lists absent"
)

Docs = dict[str, list[str]]


def _grams(text: str, n: int) -> Counter[str]:
    """The padded gram multiset, spelled out independently of the index's kernels."""
    if not text:
        return Counter()
    padded = "\x02" * (n - 1) + text + "\x03" * (n - 1)
    return Counter(padded[i : i + n] for i in range(len(padded) - n + 1))


def _dice(a: Counter[str], b: Counter[str]) -> float:
    shared = sum(min(count, b[gram]) for gram, count in a.items() if gram in b)
    return 2 * shared / (a.total() + b.total()) if shared else 0.0


def _brute(
    docs: Docs,
    queries: Sequence[str],
    limit: int,
    n: int = 3,
    allowed: Callable[[str], bool] | None = None,
) -> list[tuple[str, float]]:
    """Every document scored in Python: best Dice over (query, string) pairs, ranked."""
    wanted = [_grams(q, n) for q in queries]
    scored = []
    for doc_id, texts in docs.items():
        best = max((_dice(q, _grams(t, n)) for q in wanted for t in texts), default=0.0)
        if best > 0 and (allowed is None or allowed(doc_id)):
            scored.append((doc_id, best))
    scored.sort(key=lambda hit: (-hit[1], hit[0]))
    return scored[:limit]


def _index(docs: Docs, n: int = 3) -> NgramIndex:
    index = NgramIndex(n)
    for doc_id, texts in docs.items():
        index.add(doc_id, texts)
    return index


def _words(name: str) -> list[str]:
    return (WORDS / name).read_text(encoding="utf-8").split()


def _misspelt(word: str, rng: random.Random) -> str:
    """One random edit: drop, double, swap or replace a letter."""
    i = rng.randrange(len(word))
    edit = rng.choice(("drop", "double", "swap", "replace"))
    if edit == "drop" and len(word) > 1:
        return word[:i] + word[i + 1 :]
    if edit == "swap" and i + 1 < len(word):
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if edit == "replace":
        return word[:i] + rng.choice("aeiouyаеиоуя") + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


@pytest.fixture(scope="module")
def corpus() -> tuple[Docs, list[str]]:
    """Documents of one to three real words (English and Russian), and words left out."""
    rng = random.Random(7)
    words = _words("words_en_20k.txt")[::4] + _words("words_ru_20k.txt")[::4]
    rng.shuffle(words)
    held, outside = words[:6000], words[6000:6100]
    docs: Docs = {}
    while held:
        take = rng.choice((1, 1, 2, 3))
        docs[f"tm{len(docs):05d}"] = held[:take]
        held = held[take:]
    return docs, outside


@needs_words
def test_ranking_is_brute_force_dice_on_real_words(corpus: tuple[Docs, list[str]]) -> None:
    docs, outside = corpus
    index = _index(docs)
    rng = random.Random(11)
    indexed = [text for texts in docs.values() for text in texts]
    queries: list[list[str]] = [[w] for w in rng.sample(indexed, 12)]
    queries += [[_misspelt(w, rng)] for w in rng.sample(indexed, 12)]
    queries += [[w] for w in outside[:6]]
    queries += [["a"], ["Ab"], ["я"], ["ок"], ["x"]]  # one and two characters
    queries += [[_misspelt(w, rng), w.lower(), w.upper()] for w in rng.sample(indexed, 4)]
    for query in queries:
        assert index.candidates(query, 25) == _brute(docs, query, 25), query
    everything = len(docs)
    for query in queries[::7]:  # the whole candidate list, not only its head
        assert index.candidates(query, everything) == _brute(docs, query, everything)


@needs_words
def test_other_gram_sizes(corpus: tuple[Docs, list[str]]) -> None:
    docs = dict(list(corpus[0].items())[:800])
    for n in (1, 2):
        index = _index(docs, n)
        for query in (["mark"], ["ток"], ["q"], ["Bananas", "ananas"]):
            assert index.candidates(query, 30) == _brute(docs, query, 30, n)


def test_repeated_grams_count_as_multisets() -> None:
    index = _index({"a": ["aa"], "b": ["banana"], "c": ["ana"]})
    # "aaaa" has ##a #aa aaa aaa aa$ a$$ and "aa" has ##a #aa aa$ a$$: 4 shared of 6 + 4.
    assert index.candidates(["aaaa"], 1) == [("a", 0.8)]
    docs = {"b": ["banana"], "c": ["ana"], "d": ["ananas"], "e": ["nanana"]}
    index = _index(docs)
    for query in ("anana", "banana", "na"):
        assert index.candidates([query], 9) == _brute(docs, [query], 9)


def test_one_and_two_character_strings_have_grams() -> None:
    index = _index({"x": ["x"], "xy": ["xy"], "y": ["y"]})
    assert index.candidates(["x"], 5) == _brute({"x": ["x"], "xy": ["xy"]}, ["x"], 5)
    assert index.candidates(["x"], 5)[0] == ("x", 1.0)
    assert [doc for doc, _ in index.candidates(["xy"], 5)] == ["xy", "x", "y"]


def test_add_replaces_and_remove_forgets() -> None:
    index = _index({"a": ["banana"], "b": ["bandana"]})
    index.add("a", ["kiwi", "kiwis"])
    assert len(index) == 2
    assert [doc for doc, _ in index.candidates(["banana"], 5)] == ["b"]
    assert index.candidates(["kiwi"], 5) == [("a", 1.0)]
    index.remove("a")
    index.remove("never-added")
    assert len(index) == 1
    assert index.candidates(["kiwi"], 5) == []
    index.add("a", ["banana"])
    assert [doc for doc, _ in index.candidates(["banana"], 5)] == ["a", "b"]


def test_churn_with_tombstones_compaction_and_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Random adds, replacements and removals against a model, with tiny batch and
    compaction sizes, so queued, posted, dead and rebuilt strings all meet."""
    monkeypatch.setattr(ngram, "FLUSH_AT", 5)
    monkeypatch.setattr(ngram, "COMPACT_AT", 8)
    rng = random.Random(3)
    alphabet = "abcdeфыв"
    index, model = NgramIndex(), {}
    for step in range(600):
        doc_id = f"d{rng.randrange(40)}"
        if rng.random() < 0.3:
            index.remove(doc_id)
            model.pop(doc_id, None)
        else:
            texts = [
                "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 7)))
                for _ in range(rng.randrange(0, 4))
            ]
            index.add(doc_id, texts)
            model[doc_id] = texts
        if step % 7 == 0:
            query = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 6)))]
            assert index.candidates(query, 10) == _brute(model, query, 10)
        assert len(index) == len(model)


def test_allowed_filters_before_the_cut() -> None:
    docs = {f"d{i:03d}": [f"mark{i}"] for i in range(300)}
    index = _index(docs)
    rare = {"d007", "d123", "d250", "d299"}  # far fewer than the first round looks at
    asked: list[str] = []

    def allowed(doc_id: str) -> bool:
        asked.append(doc_id)
        return doc_id in rare

    found = index.candidates(["mark12"], 3, allowed)
    assert found == _brute(docs, ["mark12"], 3, allowed=rare.__contains__)
    assert len(found) == 3
    assert len(asked) == len(set(asked))  # each doc id asked once
    assert index.candidates(["mark12"], 10, rare.__contains__) == _brute(
        docs, ["mark12"], 10, allowed=rare.__contains__
    )


def test_limit_and_ties_by_doc_id() -> None:
    index = _index({"c": ["same"], "a": ["same"], "b": ["same"], "d": ["sam"]})
    assert index.candidates(["same"], 2) == [("a", 1.0), ("b", 1.0)]
    assert [doc for doc, _ in index.candidates(["same"], 10)] == ["a", "b", "c", "d"]
    for bad in (0, -1, True, 2.5, "3"):
        with pytest.raises(ValueError, match="limit"):
            index.candidates(["same"], bad)  # type: ignore[arg-type]


def test_unicode_beyond_the_basic_plane() -> None:
    docs = {"emoji": ["café😀"], "cafe": ["cafe"], "combining": ["cafe\u0301"], "lone": ["\ud800x"]}
    index = _index(docs)
    for query in (["café😀"], ["😀"], ["cafe\u0301"], ["\ud800"], ["Кафе", "cafe"]):
        assert index.candidates(query, 10) == _brute(docs, query, 10)


def test_empty_queries_and_empty_strings() -> None:
    index = _index({"a": ["abc"], "empty": [""], "none": []})
    assert len(index) == 3  # held, though nothing can find them
    assert index.candidates([], 5) == []
    assert index.candidates([""], 5) == []
    assert index.candidates(["", "abc"], 5) == [("a", 1.0)]
    assert NgramIndex().candidates(["abc"], 5) == []


def test_bad_arguments_name_what_is_wrong() -> None:
    index = NgramIndex()
    with pytest.raises(ValueError, match="texts must be a sequence"):
        index.add("a", "abc")
    with pytest.raises(ValueError, match=r"texts\[1\] must be a string"):
        index.add("a", ["abc", 3])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="doc_id"):
        index.add("", ["abc"])
    with pytest.raises(ValueError, match="queries must be a sequence"):
        index.candidates("abc", 5)
    for n in (0, 4, True):
        with pytest.raises(ValueError, match="n must be"):
            NgramIndex(n)


def test_readers_run_while_a_writer_adds() -> None:
    base = {f"b{i}": [f"brand{i}"] for i in range(200)}
    index = _index(base)
    expected = _brute(base, ["brand7"], 5)
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                found = index.candidates(["brand7"], 5)
                assert found == expected, found
        except BaseException as exc:  # surfaced by the main thread
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for reader in readers:
        reader.start()
    for i in range(3000):  # strings far from "brand7": the answer must not change
        index.add(f"w{i}", [f"zq{i}x"])
        if i % 3 == 0:
            index.remove(f"w{i}")
    stop.set()
    for reader in readers:
        reader.join()
    assert not errors
    assert len(index) == 200 + 2000
