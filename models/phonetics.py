"""Spelling and cross-script phonetics of word marks: ``PRO100`` finds ``про сто``.

Three layers, each a pure function of the mark:

- **spelling** (:func:`spelling_key`, :func:`spelling_similarity`): the folded text
  (case, accents, ё, punctuation), letters split from digits, so ``PRO-100``, ``pro 100``
  and ``Pro100`` are one key; a word mixing Latin and Cyrillic look-alikes (``PRО`` with a
  Cyrillic О) is spelled in its majority script.
- **readings** (:func:`readings`): how the mark is said, as Latin text: Cyrillic
  transliterated, numbers spoken in Russian and English (``PRO100`` → ``pro sto``,
  ``pro one hundred``…), a Latin word also as English says it (``Nike`` → ``naik``,
  :mod:`ipsim.models.english`) and with ``x`` as GOST's х.
- **phonetic keys** (:func:`phonetic_keys`): one code per reading in which sound-alike
  spellings coincide, so English and Russian readings meet: voiced and voiceless pairs
  (b/p d/t g/k v/f z/s zh/sh), ``o``→``a`` (akanye), ``e``/``i``/``y``/``j``/й as one
  vowel, ``ou``/``oo``→``u``, digraphs (sh ch zh kh ts shch ph th ck) as one sound,
  ``c``→k or s, ц≈s, ``q``→k, ``x``→ks, ``w``→v, ``h``≈kh, ``dzh``≈English ``j``; repeated
  sounds collapse. Keys are compared by normalised Levenshtein similarity.
"""

from __future__ import annotations

import heapq
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Indel, Levenshtein

from ipsim.models.english import spoken_english
from ipsim.models.numbers import english_words, russian_words
from ipsim.models.translit import transliterate_to_cyrillic, transliterate_to_latin

__all__ = [
    "MAX_MARK_CHARS",
    "PhoneticMatch",
    "fold",
    "phonetic_keys",
    "phonetic_scores",
    "phonetic_similarity",
    "readings",
    "spelling_key",
    "spelling_similarity",
    "split_letters_digits",
    "transliterate_to_cyrillic",
    "transliterate_to_latin",
]

MAX_MARK_CHARS: Final = 200
DEFAULT_LIMIT: Final = 16

_NEEDS_DECOMPOSING: Final = re.compile(r"[^\x00-\x7f\u0400-\u04ff]")
"""Characters that may carry accents or compatibility forms (not ASCII, not Cyrillic)."""
_NOT_ALNUM: Final = re.compile(r"[\W_]+")
_LETTER_DIGIT: Final = re.compile(r"(?<=\d)(?=[^\W\d])|(?<=[^\W\d])(?=\d)")
_CYRILLIC: Final = re.compile(r"[а-яёіїєґў]")
_LATIN: Final = re.compile(r"[a-z]")
_LOOKALIKES: Final = ("авекмнорстух", "abekmhopctyx")
"""Folded Cyrillic letters and the Latin ones they look like (в, м, н, т by their capitals)."""
_TO_LATIN_LOOK: Final = str.maketrans(*_LOOKALIKES)
_TO_CYRILLIC_LOOK: Final = str.maketrans(_LOOKALIKES[1], _LOOKALIKES[0])

_VOWEL_SOUNDS: Final = dict(zip("aoeiyu", "AAIIIU", strict=True))
_SOUNDS: Final[dict[str, str]] = {
    **_VOWEL_SOUNDS,
    **dict(zip("bpdtgkqfvwszhjlmnr", "PPTTKKKFFFSSHILMNR", strict=True)),
    **{"c": "K", "x": "KS", "ou": "U", "oo": "U", "ck": "K", "gh": "K", "qu": "KF"},
    **{"ph": "F", "wh": "F", "th": "T", "kh": "H", "ch": "Q", "tch": "Q"},
    **{"sh": "X", "zh": "X", "sch": "X", "shh": "X", "shch": "X"},
    **{"ts": "S", "tz": "S", "cz": "S", "dzh": "J", "dj": "J"},
    **{f"c{v}": f"S{_VOWEL_SOUNDS[v]}" for v in "eiy"},
    **{f"j{v}": f"J{sound}" for v, sound in _VOWEL_SOUNDS.items()},
}
"""Latin spellings → sound classes. ``c`` before e/i/y is s, and so is ц (``ts``): loanwords
write a soft c as ц (центр, civilisation: цивилизация) and GOST writes ц as c. ``j`` before
a vowel is English ``j`` (дж), elsewhere й (GOST ``krasnyj``)."""
_SOUND_RE: Final = re.compile("|".join(sorted(_SOUNDS, key=len, reverse=True)))
_REPEATS: Final = re.compile(r"(.)\1+")


@dataclass(frozen=True)
class PhoneticMatch:
    """How alike two marks sound: the best score and the pair of keys that gave it."""

    score: float
    query_key: str
    mark_key: str


def fold(text: str) -> str:
    """Case-folded ``text``: accents off Latin letters (é→e), ё→е, ASCII digits, every run of
    punctuation, symbols and spaces one space. Cyrillic й keeps its breve."""
    return _fold_keeping_yo(text).replace("ё", "е")


def split_letters_digits(text: str) -> str:
    """:func:`fold` with a space where letters meet digits: ``PRO100`` → ``pro 100``."""
    return _LETTER_DIGIT.sub(" ", fold(text))


def spelling_key(mark: str) -> str:
    """What spelling compares: the mark folded and split into letter and digit words, one
    space between words (``PRO-100``, ``pro 100``, ``Pro100`` → ``pro 100``); a word mixing
    Latin and Cyrillic look-alikes is written in its majority script."""
    return " ".join(_one_script(word) for word in _words(mark))


def spelling_similarity(a: str, b: str) -> float:
    """0..1 between two :func:`spelling_key` results: the better of the character ratio
    with the spaces ignored (``coca cola`` = ``cocacola``) and the word-order-free ratio."""
    if a == b:
        return 1.0
    compact = Indel.normalized_similarity(a.replace(" ", ""), b.replace(" ", ""))
    return max(compact, fuzz.token_sort_ratio(a, b) / 100.0)


def readings(mark: str, limit: int = DEFAULT_LIMIT) -> list[str]:
    """How ``mark`` can be read aloud, as Latin text, the most likely first, at most
    ``limit``: Cyrillic transliterated (ё as yo, then as е), Latin as written then as
    English says it, numbers spoken in Russian and English (Russian first when the mark
    has Cyrillic letters)."""
    return list(_readings(mark, limit))


def phonetic_keys(mark: str, limit: int = DEFAULT_LIMIT) -> list[str]:
    """One sound code per reading of ``mark`` (duplicates merged), the most likely first."""
    return list(dict.fromkeys(_sound_code(reading) for reading in _readings(mark, limit)))


def phonetic_similarity(a_keys: Sequence[str], b_keys: Sequence[str]) -> PhoneticMatch:
    """The best normalised Levenshtein similarity over all pairs of keys (1.0: a shared key)."""
    _require_keys(a_keys, "a_keys")
    _require_keys(b_keys, "b_keys")
    theirs = set(b_keys)
    shared = next((key for key in a_keys if key in theirs), None)
    if shared is not None:
        return PhoneticMatch(1.0, shared, shared)
    best = PhoneticMatch(-1.0, "", "")
    for key in a_keys:
        found = process.extractOne(key, b_keys, scorer=Levenshtein.normalized_similarity)
        if found is not None and found[1] > best.score:
            best = PhoneticMatch(float(found[1]), key, found[0])
    return best


def phonetic_scores(
    query_keys: Sequence[str], marks_keys: Sequence[Sequence[str]]
) -> npt.NDArray[np.float64]:
    """:func:`phonetic_similarity` scores of the query against many marks at once (one
    rapidfuzz matrix over every key), for brute-force ranking."""
    _require_keys(query_keys, "query_keys")
    sizes = np.fromiter((len(keys) for keys in marks_keys), dtype=np.int64, count=len(marks_keys))
    if not sizes.size:
        return np.zeros(0)
    if not sizes.all():
        raise ValueError(f"marks_keys[{int(np.argmin(sizes))}] must hold at least one key")
    flat = [key for keys in marks_keys for key in keys]
    matrix = process.cdist(
        list(query_keys),
        flat,
        scorer=Levenshtein.normalized_similarity,
        dtype=np.float64,
        workers=-1,
    )
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    return np.asarray(np.maximum.reduceat(matrix.max(axis=0), starts), dtype=np.float64)


# -- internals ---------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _plain(char: str) -> str:
    """One character without accents or compatibility forms; a decimal digit in ASCII."""
    if unicodedata.decimal(char, None) is not None:
        return str(unicodedata.decimal(char))
    parts = unicodedata.normalize("NFKD", char)
    return "".join(c for c in parts if not unicodedata.combining(c)).casefold()


def _fold_keeping_yo(text: str) -> str:
    """:func:`fold` but for ё, which spelling ignores and readings need (ёлка: yolka)."""
    text = unicodedata.normalize("NFC", text).casefold()
    text = _NEEDS_DECOMPOSING.sub(lambda m: _plain(m.group()), text)
    return " ".join(_NOT_ALNUM.sub(" ", text).split())


def _words(mark: str, *, keep_yo: bool = False) -> list[str]:
    """The folded letter and digit words of a validated mark."""
    if not mark.strip():
        raise ValueError("must not be empty")
    if len(mark) > MAX_MARK_CHARS:
        raise ValueError(f"is longer than {MAX_MARK_CHARS} characters")
    folded = _fold_keeping_yo(mark) if keep_yo else fold(mark)
    words = _LETTER_DIGIT.sub(" ", folded).split()
    if not words:
        raise ValueError("has no letters or digits")
    return words


def _one_script(word: str) -> str:
    """A word mixing Latin and Cyrillic letters written in one script by its look-alikes:
    the majority script when that covers every letter, else the other one, else as is."""
    latin, cyrillic = len(_LATIN.findall(word)), len(_CYRILLIC.findall(word))
    if not (latin and cyrillic):
        return word
    to_latin = (word.translate(_TO_LATIN_LOOK), _CYRILLIC)
    to_cyrillic = (word.translate(_TO_CYRILLIC_LOOK), _LATIN)
    tries = (to_latin, to_cyrillic) if latin >= cyrillic else (to_cyrillic, to_latin)
    return next((spelled for spelled, other in tries if not other.search(spelled)), word)


@lru_cache(maxsize=8192)
def _readings(mark: str, limit: int) -> tuple[str, ...]:
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    words = _words(mark, keep_yo=True)
    russian_first = any(_CYRILLIC.search(word) for word in words)
    options = [said for word in words if (said := _word_readings(word, russian_first))]
    if not options:
        raise ValueError("has nothing to read aloud")
    return _best_combinations(options, limit)


@lru_cache(maxsize=16384)
def _word_readings(word: str, russian_first: bool) -> tuple[str, ...]:
    """The ways one folded word is said, as Latin text, the most likely first."""
    if word.isascii() and word.isdigit():
        english = english_words(word)
        russian = [transliterate_to_latin(w, "practical") for w in russian_words(word)]
        first, second = (russian, english) if russian_first else (english, russian)
        return tuple(dict.fromkeys([first[0], second[0], *first[1:], *second[1:]]))
    if _CYRILLIC.search(word):  # ё is often written е: both readings
        spelled = (transliterate_to_latin(w, "practical") for w in (word, word.replace("ё", "е")))
        return tuple(dict.fromkeys(latin for latin in spelled if latin))
    gost_x = word.replace("x", "kh")  # GOST writes х as x
    return tuple(dict.fromkeys((word, spoken_english(word), gost_x)))


def _best_combinations(options: Sequence[Sequence[str]], limit: int) -> tuple[str, ...]:
    """Up to ``limit`` distinct phrases taking one reading per word, by the summed ranks of
    their readings, ties varying the earliest word first: every word's first reading, then
    the first word's second reading, …"""
    start = (0,) * len(options)
    heap = [(0, start)]  # (summed rank, negated ranks): heapq pops the earliest variation
    seen = {start}
    phrases: dict[str, None] = {}
    while heap and len(phrases) < limit:
        total, negated = heapq.heappop(heap)
        ranks = [-r for r in negated]
        phrases[" ".join(said[r] for said, r in zip(options, ranks, strict=True))] = None
        for i, said in enumerate(options):
            if ranks[i] + 1 < len(said):
                step = (*negated[:i], negated[i] - 1, *negated[i + 1 :])
                if step not in seen:
                    seen.add(step)
                    heapq.heappush(heap, (total + 1, step))
    return tuple(phrases)


def _sound_code(reading: str) -> str:
    """The sound classes of a Latin reading, spaces dropped and repeats collapsed."""
    spelled = reading.replace(" ", "")
    coded = _SOUND_RE.sub(lambda m: _SOUNDS[m.group()], spelled)
    return _REPEATS.sub(r"\1", coded)


def _require_keys(keys: Sequence[str], name: str) -> None:
    if not keys:
        raise ValueError(f"{name} must hold at least one key")
