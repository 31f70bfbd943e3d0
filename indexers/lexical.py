"""A durable BM25 index of a text collection's chunks: SQLite FTS5 fed pre-analysed terms.

Analysis (:class:`Analyzer`) is ours, not FTS5's, because patent text mixes scripts:
NFKC, lower case, ``ё`` → ``е``, Unicode word runs (letters and digits; ``_`` splits),
Snowball's stop words of the token's language dropped; then a Cyrillic token becomes its
pymorphy3 lemmas (OpenCorpora dictionary) and a Latin one its Snowball English stem.
Digits and mixed tokens (``pro100``, ``h2o``, ``m8``) are kept whole, unstemmed, plus
their letter and digit runs (so ``QZ4471`` meets ``QZ-4471``): part numbers, formulas.
FTS5 then only splits the space-joined terms (``unicode61``, diacritics kept: ``й``).

Russian: lemmas rather than Snowball stems, measured on 1,940 real headwords' paradigms
(41,645 forms; ``benchmarks/RESULTS.md``, issue 7): two forms of one word get the same
term 97 % of the time with pymorphy3 against 62 % with Snowball (nouns 99 / 88 %,
adjectives 97 / 77 %, verbs with their participles 97 / 58 %), and fewer words
collide. A word form that several dictionary words share gets *all* their lemmas
(``стали`` → ``сталь`` and ``стать``), so a query for steel finds "из стали" without a
disambiguator; a word the dictionary lacks gets the analyser's best guess only. Lemmas
are cached (the vocabulary of a collection is small next to its text).

One FTS5 row per chunk (the collection's stored spans), so a lexical hit names the chunk
that matched, as a dense hit does; a document scores its best chunk. FTS5's ``bm25()``
(k1 = 1.2, b = 0.75, idf = ln((N − n + 0.5) / (n + 0.5)), at least 1e-6) counts chunks as
its documents; scores here are its negation, so higher is better.

Consistency with the store, which is the truth: :meth:`LexicalIndex.sync` brings the
given ids in line with what the store holds *now* (so writes of one id whose hooks run
out of order still end on the store's last word), under one lock. Every document's row
carries a digest of its text and spans. The database records whether it was closed
cleanly: opening marks it dirty (a synchronous commit, so a crash cannot lose the mark),
closing marks it clean. On open, a missing or dirty database, or one whose document
count differs from the store's, is caught up by comparing every stored document's
digest with its own: only what differs is re-analysed. (The store exposes no durable
sequence number, and a single "version reached" would be wrong anyway while concurrent
writes finish their hooks out of order; the clean mark plus digests is exact.)
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import re
import sqlite3
import threading
import unicodedata
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import Stemmer

from ipsim.indexers.store import CollectionStore

FILE_NAME = "lexical.sqlite"
FORMAT = "1"
"""Bump when the schema or the analysis changes: an index of another format is rebuilt."""
MAX_TOKEN_CHARS = 64
"""Longer word runs (base64, sequences, URLs) are noise for BM25 and are dropped."""
MAX_QUERY_TERMS = 512
"""A whole document as the query searches by its first this many distinct terms."""

_WORDS = re.compile(r"[^\W_]+")
_COMBINING = re.compile("[\u0300-\u036f]")
_CYRILLIC = re.compile("[\u0400-\u04ff]+")
_LATIN = re.compile("[a-z\u00df-\u024f]+")
_RUNS = re.compile(r"\d+|[^\W\d_]+")


def _word_list(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Snowball's stop-word lists (snowballstem.org), single words only.
ENGLISH_STOP_WORDS = _word_list(
    """i me my myself we our ours ourselves you your yours yourself yourselves he him his
    himself she her hers herself it its itself they them their theirs themselves what which
    who whom this that these those am is are was were be been being have has had having do
    does did doing would should could ought a an the and but if or because as until while of
    at by for with about against between into through during before after above below to
    from up down in out on off over under again further then once here there when where why
    how all any both each few more most other some such no nor not only own same so than too
    very cannot"""
)
RUSSIAN_STOP_WORDS = _word_list(
    """и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только
    ее мне было вот от меня еще нет о из ему теперь когда даже ну вдруг ли если уже или ни быть
    был него до вас нибудь опять уж вам ведь там потом себя ничего ей может они тут где есть
    надо ней для мы тебя их чем была сам чтоб без будто чего раз тоже себе под будет ж тогда
    кто этот того потому этого какой совсем ним здесь этом один почти мой тем чтобы нее сейчас
    были куда зачем всех никогда можно при наконец два об другой хоть после над больше тот
    через эти нас про всего них какая много разве три эту моя впрочем хорошо свою этой перед
    иногда лучше чуть том нельзя такой им более всегда конечно всю между"""
)


_MORPHOLOGY_LOCK = threading.Lock()


@functools.cache
def _morphology() -> Any:
    import pymorphy3  # about 15 MB of dictionaries, loaded lazily on first use

    return pymorphy3.MorphAnalyzer(lang="ru")


@functools.lru_cache(maxsize=200_000)
def russian_lemmas(word: str) -> tuple[str, ...]:
    """The dictionary lemmas ``word`` can be a form of (all of them: ``стали`` → сталь,
    стать); for a word the dictionary lacks, the best guess alone."""
    with _MORPHOLOGY_LOCK:  # the analyser's thread safety is not documented
        parses = _morphology().parse(word)
    known = [p for p in parses if p.is_known] or parses[:1]
    return tuple(dict.fromkeys(str(p.normal_form).replace("ё", "е") for p in known)) or (word,)


class Analyzer:
    """Text → search terms (see the module docstring). Thread-safe: one English stemmer per
    thread, since a Snowball stemmer object is not safe to share."""

    def __init__(self) -> None:
        self._local = threading.local()

    def _english(self) -> Any:
        stemmer = getattr(self._local, "english", None)
        if stemmer is None:
            stemmer = self._local.english = Stemmer.Stemmer("english")
        return stemmer

    def terms(self, text: str) -> list[str]:
        """The terms of ``text`` in order, stop words left out."""
        english = self._english()
        folded = _COMBINING.sub("", unicodedata.normalize("NFKC", text).lower())
        terms: list[str] = []
        for token in _WORDS.findall(folded.replace("ё", "е")):
            if len(token) > MAX_TOKEN_CHARS:
                continue
            if _CYRILLIC.fullmatch(token):
                if token not in RUSSIAN_STOP_WORDS:
                    terms += russian_lemmas(token)
            elif _LATIN.fullmatch(token):
                if token not in ENGLISH_STOP_WORDS:
                    terms.append(english.stemWord(token))
            else:
                terms.append(token)
                if not (token.isdigit() or token.isalpha()):  # pro100 also matches "PRO-100"
                    terms += _RUNS.findall(token)
        return terms


@dataclass(frozen=True)
class LexicalHit:
    """A document found by its terms: its best chunk's BM25 score, which chunk, its span."""

    id: str
    score: float
    unit: int
    span: tuple[int, int]


@dataclass(frozen=True)
class LexicalAnswer:
    """The best hits, best first (score descending, then id), and how many documents match."""

    hits: list[LexicalHit]
    total: int


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (id TEXT PRIMARY KEY, digest TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS units (
    rowid INTEGER PRIMARY KEY, doc TEXT NOT NULL, unit INTEGER NOT NULL,
    start INTEGER NOT NULL, end INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS units_doc ON units (doc);
CREATE VIRTUAL TABLE IF NOT EXISTS terms USING fts5(
    body, tokenize = 'unicode61 remove_diacritics 0'
);
"""


class LexicalIndex:
    """BM25 over one collection's chunks, kept in ``lexical.sqlite`` beside the store.

    Thread-safe: one connection, one lock; searches and writes take turns.
    """

    def __init__(self, store: CollectionStore, analyzer: Analyzer | None = None) -> None:
        """Open (or create) the index beside ``store`` and catch it up with the store."""
        self.store = store
        self.analyzer = analyzer or Analyzer()
        self.path = Path(store.path) / FILE_NAME
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._closed = False
        try:
            self._open()
        except BaseException:
            self._db.close()
            raise

    def _open(self) -> None:
        db = self._db
        db.execute("PRAGMA journal_mode = WAL")
        db.executescript(_SCHEMA)
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("format") not in (None, FORMAT):
            self._drop_everything()
            meta = {}
        stale = meta.get("clean") != "1" or self._count() != len(self.store)
        # The dirty mark must reach the disk before any later commit: FULL for this one.
        db.execute("PRAGMA synchronous = FULL")
        with self._transaction():
            self._set_meta(format=FORMAT, clean="0")
        db.execute("PRAGMA synchronous = NORMAL")
        if stale:
            self.catch_up()

    def _drop_everything(self) -> None:
        with self._transaction():
            for table in ("meta", "docs", "units", "terms"):
                self._db.execute(f"DELETE FROM {table}")

    def close(self, *, clean: bool = True) -> None:
        """Mark the index as matching the store (unless ``clean`` is False) and close it.

        Closing twice is harmless (a replaced version can be closed by its drain timer and
        by the engine's shutdown at once)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                if clean:
                    with self._transaction():
                        self._set_meta(clean="1")
            finally:
                self._db.close()

    def __len__(self) -> int:
        """Documents indexed."""
        with self._lock:
            return self._count()

    # -- keeping up with the store -------------------------------------------------------

    def sync(self, ids: Iterable[str]) -> None:
        """Make these documents' rows what the store holds for them now (or remove them)."""
        with self._lock, self._transaction():
            for doc_id in dict.fromkeys(ids):
                row = self._db.execute("SELECT digest FROM docs WHERE id = ?", (doc_id,))
                indexed = row.fetchone()
                self._sync_one(doc_id, indexed[0] if indexed else None)

    def catch_up(self) -> int:
        """Compare every stored document with the index and fix what differs; return how many
        documents were re-indexed or removed."""
        with self._lock, self._transaction():
            known = dict(self._db.execute("SELECT id, digest FROM docs").fetchall())
            changed = 0
            for doc_id in self.store.ids():
                changed += self._sync_one(doc_id, known.pop(doc_id, None))
            for doc_id in known:  # indexed, no longer stored
                changed += self._sync_one(doc_id, known[doc_id])
            return changed

    def _sync_one(self, doc_id: str, indexed: str | None) -> int:
        """Re-index one document if its digest changed (caller holds lock and transaction)."""
        source = self._source(doc_id)
        digest = _digest(*source) if source is not None else None
        if digest == indexed:
            return 0
        db = self._db
        if indexed is not None:
            db.execute(
                "DELETE FROM terms WHERE rowid IN (SELECT rowid FROM units WHERE doc = ?)",
                (doc_id,),
            )
            db.execute("DELETE FROM units WHERE doc = ?", (doc_id,))
            db.execute("DELETE FROM docs WHERE id = ?", (doc_id,))
        if source is None or digest is None:
            return 1
        text, spans = source
        db.execute("INSERT INTO docs (id, digest) VALUES (?, ?)", (doc_id, digest))
        for unit, (start, end) in enumerate(spans):
            cursor = db.execute(
                "INSERT INTO units (doc, unit, start, end) VALUES (?, ?, ?, ?)",
                (doc_id, unit, start, end),
            )
            body = " ".join(self.analyzer.terms(text[start:end]))
            db.execute("INSERT INTO terms (rowid, body) VALUES (?, ?)", (cursor.lastrowid, body))
        return 1

    def _source(self, doc_id: str) -> tuple[str, list[tuple[int, int]]] | None:
        """A stored document's text and the chunks to index (None: nothing to index)."""
        record = self.store.get(doc_id)
        text = _text_of(record.payload) if record is not None else None
        if record is None or text is None:
            return None
        return text, [(int(s), int(e)) for s, e in record.spans] or [(0, len(text))]

    # -- search --------------------------------------------------------------------------

    def search(self, text: str, k: int, allowed: Container[str] | None = None) -> LexicalAnswer:
        """The ``k`` documents (among ``allowed`` ones) whose best chunk scores highest."""
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        terms = list(dict.fromkeys(self.analyzer.terms(text)))[:MAX_QUERY_TERMS]
        if not terms:
            return LexicalAnswer([], 0)
        match = " OR ".join(f'"{term}"' for term in terms)
        with self._lock:
            rows = self._db.execute(
                "SELECT u.doc, u.unit, u.start, u.end, -bm25(terms) FROM terms "
                "JOIN units u ON u.rowid = terms.rowid WHERE terms MATCH ?",
                (match,),
            ).fetchall()
        # Plain tuples until the cut: a common term matches most chunks.
        best: dict[str, tuple[str, int, int, int, float]] = {}
        for row in rows:
            if allowed is not None and row[0] not in allowed:
                continue
            seen = best.get(row[0])
            if seen is None or row[4] > seen[4]:  # rows come in rowid order: lower unit wins
                best[row[0]] = row
        top = heapq.nsmallest(k, best.values(), key=lambda r: (-r[4], r[0]))
        hits = [
            LexicalHit(d, float(score), unit, (start, end)) for d, unit, start, end, score in top
        ]
        return LexicalAnswer(hits, len(best))

    # -- plumbing ------------------------------------------------------------------------

    def _count(self) -> int:
        (count,) = self._db.execute("SELECT count(*) FROM docs").fetchone()
        return int(count)

    def _set_meta(self, **values: str) -> None:
        self._db.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            list(values.items()),
        )

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """BEGIN … COMMIT, or ROLLBACK when the block raises (the connection is in autocommit)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        self._db.execute("COMMIT" if kind is None else "ROLLBACK")


def _text_of(payload: Mapping[str, Any] | None) -> str | None:
    """A text document's ``content.text`` (anything else has nothing to index)."""
    text = payload.get("text") if isinstance(payload, Mapping) else None
    return text if isinstance(text, str) else None


def _digest(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """What a document's rows were made from, so an unchanged document is left alone."""
    hasher = hashlib.blake2b(digest_size=16)
    hasher.update(repr(spans).encode())
    hasher.update(text.encode("utf-8", "surrogatepass"))
    return hasher.hexdigest()


__all__ = ["Analyzer", "LexicalAnswer", "LexicalHit", "LexicalIndex"]
