"""Query/target pairs of word marks written in two scripts, for the phonetic benchmark.

Each pair is a mark as someone else might write it (``query``) and the mark a search must
find (``target``). Pairs are built from real words (the shared ``trademarks/words_*``
lists), the ways people actually write them; every kind is a key of :data:`KINDS`:

- ``ru_gost``, ``ru_practical``, ``ru_icao``, ``ru_informal``: a Russian word in Latin by
  one transliteration scheme (:mod:`ipsim.models.translit`) → the Russian word.
- ``ru_mixed``: a Russian word in Latin with each ambiguous letter written, at random, in
  one of the spellings people use (х kh/h/x, я ya/ia, ю yu/iu, й y/i/j, ь dropped/'/`,
  щ shch/sch, ц ts/c/tz, ы y/i, ё yo/e) → the Russian word.
- ``en_letters``: an English word → Cyrillic letter by letter (romanised-Russian rules:
  :func:`~ipsim.models.translit.transliterate_to_cyrillic`, "computer" → "компутер").
- ``en_spoken``: an English word written in Cyrillic the way Russians write English
  brands, by spoken-English rules (:func:`english_to_cyrillic`: silent final e, magic-e
  vowels, ee/ea/oo/igh/tion, u → а in closed syllables, g/c before e/i, j → дж, …).
- ``num_ru``: a Russian word in practical Latin followed by a number (``pro100``) → the
  Russian word and the number in Russian words (``про сто``).
- ``num_words``: the reverse: ``про сто`` → ``pro100``.
- ``num_en``: a number from 1 to 10 before an English word (``4you``) → both in Cyrillic as
  Russians write them (``фор ю``: the number by :data:`RUSSIAN_ENGLISH_NUMBERS`, the word
  by :func:`english_to_cyrillic`).
- ``brand``: real brands and their real spelling in the other script
  (:data:`KNOWN_BRANDS`, both directions). The only kind not derived from our own rules.

:func:`same_script_variants` adds misspellings in one script (``typo_double``,
``typo_vowel``, ``typo_voicing``).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

from ipsim.models.numbers import russian_words
from ipsim.models.translit import SCHEMES, transliterate_to_cyrillic, transliterate_to_latin

T = TypeVar("T")


@dataclass(frozen=True)
class Pair:
    """A mark as written by someone (``query``) and the mark it must find (``target``)."""

    query: str
    target: str
    kind: str


KINDS: Final = {
    "ru_gost": "Russian word → GOST 7.79 B Latin",
    "ru_practical": "Russian word → practical Latin (ya, yu, kh, y)",
    "ru_icao": "Russian word → ICAO Latin (ia, iu, kh, i)",
    "ru_informal": "Russian word → informal Latin (h, sch, ')",
    "ru_mixed": "Russian word → Latin, each ambiguous letter's spelling at random",
    "en_letters": "English word → Cyrillic letter by letter",
    "en_spoken": "English word → Cyrillic as spoken English",
    "num_ru": "Latin word + digits → Cyrillic word + Russian number words",
    "num_words": "Cyrillic word + Russian number words → Latin word + digits",
    "num_en": "digits + English word → both in Cyrillic as spoken English",
    "brand": "real brand ↔ its real spelling in the other script",
}
VARIANT_KINDS: Final = {
    "typo_double": "one consonant doubled",
    "typo_vowel": "one vowel swapped a↔o, e↔i",
    "typo_voicing": "the final consonant voiced or devoiced",
}

RUSSIAN_ENGLISH_NUMBERS: Final = dict(
    enumerate(("уан", "ту", "фри", "фор", "файв", "сикс", "севен", "эйт", "найн", "тен"), 1)
)
"""English numbers as Russian shop signs write them (``4you`` → "фор ю")."""

KNOWN_BRANDS: Final = (
    ("Coca-Cola", "Кока-Кола"), ("Pepsi", "Пепси"), ("McDonald's", "Макдоналдс"),
    ("Google", "Гугл"), ("Microsoft", "Майкрософт"), ("Apple", "Эппл"), ("Nike", "Найк"),
    ("Adidas", "Адидас"), ("Samsung", "Самсунг"), ("Sony", "Сони"), ("Toyota", "Тойота"),
    ("Nestle", "Нестле"), ("IKEA", "ИКЕА"), ("Starbucks", "Старбакс"),
    ("Facebook", "Фейсбук"), ("YouTube", "Ютуб"), ("Twitter", "Твиттер"),
    ("Amazon", "Амазон"), ("Mercedes", "Мерседес"), ("Lipton", "Липтон"),
    ("Heineken", "Хайнекен"), ("Marlboro", "Мальборо"), ("Colgate", "Колгейт"),
    ("Gillette", "Жиллетт"), ("Schweppes", "Швепс"), ("Snickers", "Сникерс"),
    ("Twix", "Твикс"), ("Bounty", "Баунти"), ("Orbit", "Орбит"), ("Skittles", "Скиттлс"),
    ("Whiskas", "Вискас"), ("Pedigree", "Педигри"), ("Fairy", "Фейри"), ("Ariel", "Ариэль"),
    ("Tide", "Тайд"), ("Persil", "Персил"), ("Nivea", "Нивея"), ("Lego", "Лего"),
    ("Nokia", "Нокиа"), ("Xerox", "Ксерокс"), ("Intel", "Интел"), ("Huawei", "Хуавей"),
    ("Lenovo", "Леново"), ("Philips", "Филипс"), ("Bosch", "Бош"), ("Siemens", "Сименс"),
    ("Visa", "Виза"), ("MasterCard", "Мастеркард"), ("Uber", "Убер"),
    ("Netflix", "Нетфликс"), ("Instagram", "Инстаграм"), ("WhatsApp", "Ватсап"),
    ("Telegram", "Телеграм"), ("Skype", "Скайп"), ("Zara", "Зара"), ("Gucci", "Гуччи"),
    ("Chanel", "Шанель"), ("Prada", "Прада"), ("Reebok", "Рибок"), ("Puma", "Пума"),
    ("Ford", "Форд"), ("Honda", "Хонда"), ("Nissan", "Ниссан"), ("Renault", "Рено"),
    ("Peugeot", "Пежо"), ("Hyundai", "Хендай"), ("Mitsubishi", "Мицубиси"),
    ("Subaru", "Субару"), ("Lexus", "Лексус"), ("Porsche", "Порше"), ("Ferrari", "Феррари"),
    ("Audi", "Ауди"), ("Chevrolet", "Шевроле"), ("Jeep", "Джип"), ("Jaguar", "Ягуар"),
    ("Volvo", "Вольво"), ("Opel", "Опель"), ("Skoda", "Шкода"), ("Fanta", "Фанта"),
    ("Sprite", "Спрайт"), ("Nescafe", "Нескафе"), ("Jacobs", "Якобс"),
    ("Pringles", "Принглс"), ("Heinz", "Хайнц"), ("Danone", "Данон"), ("Milka", "Милка"),
    ("Kinder", "Киндер"), ("Nutella", "Нутелла"), ("Raffaello", "Рафаэлло"),
    ("Yandex", "Яндекс"), ("Sberbank", "Сбербанк"), ("Aeroflot", "Аэрофлот"),
    ("Lukoil", "Лукойл"), ("Gazprom", "Газпром"), ("Rostelecom", "Ростелеком"),
    ("Megafon", "Мегафон"), ("Beeline", "Билайн"), ("Magnit", "Магнит"),
    ("Pyaterochka", "Пятёрочка"), ("Baltika", "Балтика"), ("Kaspersky", "Касперский"),
    ("Avito", "Авито"), ("Ozon", "Озон"), ("Tinkoff", "Тинькофф"), ("Rosneft", "Роснефть"),
    ("Lada", "Лада"), ("Stolichnaya", "Столичная"), ("Alenka", "Алёнка"),
    ("Prostokvashino", "Простоквашино"), ("Teremok", "Теремок"), ("Chaikhona", "Чайхона"),
    ("Shokoladnitsa", "Шоколадница"), ("Severstal", "Северсталь"), ("Rosatom", "Росатом"),
    ("Wildberries", "Вайлдберриз"), ("Svyaznoy", "Связной"), ("Eldorado", "Эльдорадо"),
    ("Perekrestok", "Перекрёсток"), ("Lenta", "Лента"), ("Auchan", "Ашан"),
    ("Decathlon", "Декатлон"), ("Moskvich", "Москвич"), ("Kamaz", "Камаз"),
)  # fmt: skip
"""Real brands and how they are written in the other script (public spellings)."""

_MIXED_SPELLINGS: Final = {
    "х": ("kh", "h", "x"), "я": ("ya", "ia"), "ю": ("yu", "iu"), "й": ("y", "i", "j"),
    "ь": ("", "'", "`"), "ъ": ("", "'"), "щ": ("shch", "sch"), "ц": ("ts", "c", "tz"),
    "ы": ("y", "i"), "ё": ("yo", "e"), "ж": ("zh", "j"), "э": ("e", "ye"), "е": ("e",),
}  # fmt: skip
"""Per Russian letter, the Latin spellings people mix (the other letters: practical)."""
_MARK_NUMBERS: Final = (1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 21, 24, 33, 77, 100, 200, 365, 777, 1000)
_VOWEL_SWAPS: Final = {"a": "o", "o": "a", "e": "i", "i": "e", "а": "о", "о": "а", "е": "и"}
_VOICING: Final = dict(zip("бпдтгкзсвфbpdtgkzsvf", "пбтдкгсзфвpbtdkgszfv", strict=True))

_SPOKEN_RULES: Final = tuple(
    (re.compile(pattern), cyrillic)
    for pattern, cyrillic in (
        ("tion", "шн"), ("sion", "жн"), ("ture", "чер"), ("igh", "ай"),
        ("a(?=[^aeiouy]e$)", "ей"), ("i(?=[^aeiouy]e$)", "ай"), ("o(?=[^aeiouy]e$)", "оу"),
        ("u(?=[^aeiouy]e$)", "ю"), ("(?<=[bcdfgkpt])le$", "л"), ("(?<=[^aeiouy])e$", ""),
        ("ee|ea|ie", "и"), ("oo", "у"), ("ou", "ау"), ("ow$", "оу"), ("ow", "ау"),
        ("ay|ai|ey|ei", "ей"), ("oy|oi", "ой"), ("au|aw", "о"), ("ew", "ью"),
        ("tch", "ч"), ("sh", "ш"), ("ch", "ч"), ("th", "т"), ("ph", "ф"), ("ck", "к"),
        ("qu", "кв"), ("^wh", "у"), ("^kn", "н"), ("^wr", "р"), ("dg", "дж"), ("gh", ""),
        ("g(?=[eiy])", "дж"), ("c(?=[eiy])", "с"), ("x", "кс"), ("j", "дж"),
        ("^w(?=[aeiou])", "у"), ("^you", "ю"), ("^ya", "я"), ("^yu", "ю"), ("^ye", "е"),
        ("^y(?=[aeiou])", "й"), ("y$", "и"), ("(?<=[aeiou])y", "й"),
        ("a(?=([^aeiouy])\\1)", "э"), ("^e", "э"), ("u(?=[^aeiouy]{2}|[^aeiouy]$)", "а"),
        *zip("abcdefghiklmnopqrstuvwyz", "абкдефгхиклмнопкрстуввиз", strict=True),
    )
)  # fmt: skip
"""Spoken-English spellings → Cyrillic, tried in order at each position (first match)."""


def english_to_cyrillic(word: str) -> str:
    """``word`` in Cyrillic as Russians write English brands, by spoken-English rules.

    Rule-based, so it errs like a person who knows the rules but not the word (``get`` →
    "джет"); the silent final ``e`` is dropped only in words of four letters or more.
    """
    word = word.lower()
    out: list[str] = []
    i = 0
    while i < len(word):
        for rule, cyrillic in _SPOKEN_RULES:
            found = rule.match(word, i)
            if found and found.end() > i and not (cyrillic == "" and len(word) < 4):
                out.append(cyrillic)
                i = found.end()
                break
        else:
            out.append(word[i])
            i += 1
    return "".join(out)


def cross_script_pairs(
    ru_words: Sequence[str], en_words: Sequence[str], *, n: int, seed: int
) -> list[Pair]:
    """Up to ``n`` pairs of every kind but ``brand`` and ``n`` brand pairs (fewer when the
    lists are short), from words of three letters or more; the same seed, the same pairs."""
    rng = random.Random(seed)
    russian = _sample(rng, [w for w in ru_words if len(w) >= 3 and w.isalpha()], n)
    english = _sample(rng, [w for w in en_words if len(w) >= 3 and w.isalpha()], n)
    short = _sample(rng, [w for w in ru_words if 3 <= len(w) <= 7 and w.isalpha()], n)
    numbers = [rng.choice(_MARK_NUMBERS) for _ in short]
    small = [rng.randint(1, 10) for _ in english]
    pairs = [
        Pair(transliterate_to_latin(w, scheme), w, f"ru_{scheme}")
        for scheme in SCHEMES
        for w in russian
    ]
    pairs += [Pair(_mixed_latin(w, rng), w, "ru_mixed") for w in russian]
    pairs += [Pair(transliterate_to_cyrillic(w), w, "en_letters") for w in english]
    pairs += [Pair(english_to_cyrillic(w), w, "en_spoken") for w in english]
    for word, number in zip(short, numbers, strict=True):
        latin = f"{transliterate_to_latin(word, 'practical')}{number}"
        spoken = f"{word} {russian_words(str(number))[0]}"
        pairs += [Pair(latin, spoken, "num_ru"), Pair(spoken, latin, "num_words")]
    pairs += [
        Pair(f"{k}{w}", f"{RUSSIAN_ENGLISH_NUMBERS[k]} {english_to_cyrillic(w)}", "num_en")
        for w, k in zip(english, small, strict=True)
    ]
    brands = [Pair(a, b, "brand") for x, y in KNOWN_BRANDS for a, b in ((x, y), (y, x))]
    return pairs + _sample(rng, brands, n)


def same_script_variants(words: Sequence[str], *, n: int, seed: int) -> list[Pair]:
    """Misspellings in one script, up to ``n`` of each of :data:`VARIANT_KINDS` (the word
    misspelled → the word); words that offer no such change are skipped."""
    rng = random.Random(seed)
    pool = _sample(rng, [w for w in words if len(w) >= 4 and w.isalpha()], len(words))
    makers: dict[str, Callable[[str], str | None]] = {
        "typo_double": lambda w: _change_one(w, rng, "[^aeiouyаеёиоуыэюяйьъ]", lambda c: c * 2),
        "typo_vowel": lambda w: _change_one(w, rng, "[aoeiаое]", _VOWEL_SWAPS.__getitem__),
        "typo_voicing": lambda w: w[:-1] + _VOICING[w[-1]] if w[-1] in _VOICING else None,
    }
    pairs: list[Pair] = []
    for kind, make in makers.items():
        made = ((make(w.lower()), w) for w in pool)
        pairs += [Pair(q, w, kind) for q, w in made if q is not None][:n]
    return pairs


def _sample(rng: random.Random, items: Sequence[T], n: int) -> list[T]:
    return rng.sample(list(items), min(n, len(items)))


def _mixed_latin(word: str, rng: random.Random) -> str:
    """``word`` in practical Latin with each ambiguous letter spelled at random."""
    return "".join(
        rng.choice(_MIXED_SPELLINGS[c]) if c in _MIXED_SPELLINGS else _practical(c)
        for c in word.lower()
    )


def _practical(letter: str) -> str:
    return transliterate_to_latin(letter, "practical")


def _change_one(
    word: str, rng: random.Random, where: str, change: Callable[[str], str]
) -> str | None:
    """``word`` with one random letter matching ``where`` changed, None when none does."""
    spots = [m.start() for m in re.finditer(where, word[1:])]
    if not spots:
        return None
    i = rng.choice(spots) + 1
    return word[:i] + change(word[i]) + word[i + 1 :]
