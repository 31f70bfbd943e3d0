"""How a run of digits in a mark is said aloud, in English and in Russian.

``PRO100`` is read "pro sto" by a Russian speaker and "pro one hundred" by an English one,
and ``4you`` is "for you": each function lists a number's spoken forms, the usual one
first, then the variants people write instead (``hundred`` for ``one hundred``, the
sound-alikes ``for``/``to``, the respellings ``faiv``/``nain`` that match how Russian
writes English numbers). Up to :data:`MAX_NUMBER_DIGITS` digits are read as one number;
longer runs, and runs with a leading zero (``007``), are read digit by digit.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from num2words import num2words

MAX_NUMBER_DIGITS: Final = 6

_ENGLISH_SOUNDS: Final[dict[int, tuple[str, ...]]] = {
    1: ("uan",),
    2: ("to", "tu"),
    3: ("tri", "fri"),
    4: ("for",),
    5: ("faiv",),
    8: ("eit", "ate"),
    9: ("nain",),
}
"""Sound-alike spellings of small numbers, in English words and Russian-style respellings."""
_RUSSIAN_VARIANTS: Final[dict[int, tuple[str, ...]]] = {1: ("одна", "раз"), 2: ("две",)}
_DROPPED_ONE: Final = {"en": ("one ",), "ru": ("один ", "одна ")}
"""A leading "one" people leave out: "hundred", "тысяча"."""


def english_words(digits: str) -> list[str]:
    """The English readings of ``digits`` (ASCII digits only), the usual one first."""
    return list(_readings(digits, "en"))


def russian_words(digits: str) -> list[str]:
    """The Russian readings of ``digits`` (ASCII digits only), in Cyrillic, the usual first."""
    return list(_readings(digits, "ru"))


@lru_cache(maxsize=4096)
def _readings(digits: str, lang: str) -> tuple[str, ...]:
    if not digits.isascii() or not digits.isdigit():
        raise ValueError(f"expected ASCII digits, got {digits!r}")
    if len(digits) > MAX_NUMBER_DIGITS or (len(digits) > 1 and digits[0] == "0"):
        return (" ".join(_spoken(int(digit), lang)[0] for digit in digits),)
    return _spoken(int(digits), lang)


@lru_cache(maxsize=4096)
def _spoken(number: int, lang: str) -> tuple[str, ...]:
    usual = str(num2words(number, lang=lang)).replace("-", " ").replace(",", "")
    forms = [usual, usual.replace(" and ", " ")]
    forms += [usual.removeprefix(one) for one in _DROPPED_ONE[lang] if usual.startswith(one)]
    forms += (_ENGLISH_SOUNDS if lang == "en" else _RUSSIAN_VARIANTS).get(number, ())
    return tuple(dict.fromkeys(forms))
