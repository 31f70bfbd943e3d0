"""Russian Cyrillic ↔ Latin transliteration, in the schemes trademark owners actually use.

Schemes (Cyrillic → Latin), named by :data:`SCHEMES`:

- ``gost``: GOST 7.79-2000 system B (х→x, ц→c before e/i/y/j else cz, щ→shh, й→j,
  ы→y`, э→e`, ь→`, ъ→``), the reversible one;
- ``practical``: English-style (х→kh, ц→ts, щ→shch, й→y, ю→yu, я→ya, ь and ъ dropped,
  е→ye at the start of a word and after a vowel), what newspapers and most brands use;
- ``icao``: ICAO Doc 9303, as in Russian passports (й→i, ю→iu, я→ia, ъ→ie, ё→e);
- ``informal``: what people type (х→h, щ→sch, ь→', ъ→').

Latin → Cyrillic (:func:`transliterate_to_cyrillic`) inverts GOST exactly, or reads any
scheme's spellings by greedy longest match (``shch`` beats ``sh`` beats ``s``); the other
schemes lose letters (ь, й in ICAO) and share digraphs, so that reading is a best guess.
"""

from __future__ import annotations

import re
from typing import Final

SCHEMES: Final = ("gost", "practical", "icao", "informal")

_COMMON: Final = {
    **dict(zip("абвгдезиклмнопрстуф", "abvgdeziklmnoprstuf", strict=True)),
    **{"ж": "zh", "ч": "ch", "ш": "sh"},
}
"""Russian letters every scheme writes alike."""
_NEIGHBOURS: Final = {"і": "i", "ї": "yi", "є": "ye", "ґ": "g", "ў": "u"}
"""Ukrainian and Belarusian letters, as practical Latin in every scheme."""
_SCHEME_LETTERS: Final[dict[str, dict[str, str]]] = {
    "gost": {"ё": "yo", "й": "j", "х": "x", "ц": "cz", "щ": "shh", "ъ": "``", "ы": "y`"}
    | {"ь": "`", "э": "e`", "ю": "yu", "я": "ya"},
    "practical": {"ё": "yo", "й": "y", "х": "kh", "ц": "ts", "щ": "shch", "ъ": "", "ы": "y"}
    | {"ь": "", "э": "e", "ю": "yu", "я": "ya"},
    "icao": {"ё": "e", "й": "i", "х": "kh", "ц": "ts", "щ": "shch", "ъ": "ie", "ы": "y"}
    | {"ь": "", "э": "e", "ю": "iu", "я": "ia"},
    "informal": {"ё": "yo", "й": "y", "х": "h", "ц": "ts", "щ": "sch", "ъ": "'", "ы": "y"}
    | {"ь": "'", "э": "e", "ю": "yu", "я": "ya"},
}
_GOST_SOFT_C: Final = re.compile(r"[цЦ](?=[еёийыэюяЕЁИЙЫЭЮЯ])")
"""GOST writes ц as c before a letter romanised with i, e, y or j, else as cz."""
_YE: Final = re.compile(r"(?:(?<=[аеёиоуыэюяъьАЕЁИОУЫЭЮЯЪЬ])|(?<![а-яёА-ЯЁ]))([еЕ])")
"""A practical е that starts a word or follows a vowel or sign is written ye."""
_VOWELS: Final = "aeiouy"
_ANY_TO_CYRILLIC: Final = {
    **dict(zip("abvgdezijklmnoprstufhcwqxy", "абвгдезийклмнопрстуфхцвкхы", strict=True)),
    **{"shch": "щ", "shh": "щ", "sch": "щ", "sh": "ш", "ch": "ч", "zh": "ж", "kh": "х"},
    **{"ts": "ц", "tz": "ц", "cz": "ц", "ya": "я", "ia": "я", "yu": "ю", "iu": "ю"},
    **{"yo": "ё", "ye": "е", "ck": "к", "y`": "ы", "y'": "ы", "e`": "э", "e'": "э"},
    **{"``": "ъ", "''": "ъ", "`": "ь", "'": "ь"},
}
_GOST_TO_CYRILLIC: Final = {
    lat: cyr for cyr, lat in (_COMMON | _SCHEME_LETTERS["gost"]).items()
} | {"c": "ц"}
_LATIN_RUN: Final = re.compile(r"[a-z`']+")
_LONGEST: Final = max(len(key) for key in _ANY_TO_CYRILLIC)


def _table(letters: dict[str, str]) -> dict[int, str]:
    pairs = _COMMON | _NEIGHBOURS | letters
    return str.maketrans(pairs | {cyr.upper(): lat.capitalize() for cyr, lat in pairs.items()})


_TABLES: Final = {name: _table(letters) for name, letters in _SCHEME_LETTERS.items()}


def transliterate_to_latin(text: str, scheme: str = "gost") -> str:
    """``text`` with its Russian letters in Latin by ``scheme``; everything else kept."""
    try:
        table = _TABLES[scheme]
    except KeyError:
        raise ValueError(f"scheme must be one of {', '.join(SCHEMES)}, not {scheme!r}") from None
    if scheme == "gost":
        text = _GOST_SOFT_C.sub(lambda m: "c" if m.group().islower() else "C", text)
    elif scheme == "practical":
        text = _YE.sub(lambda m: "ye" if m.group(1).islower() else "Ye", text)
    return text.translate(table)


def transliterate_to_cyrillic(text: str, scheme: str | None = None) -> str:
    """Lower-cased ``text`` with runs of Latin letters read as romanised Russian.

    ``scheme="gost"`` inverts GOST 7.79 B exactly. Without a scheme: greedy longest match
    over every scheme's spellings (``shch``/``sch``, ``kh``/``h``/``x`` → х, ``ts`` → ц,
    ``ya``/``ia`` → я, ``j`` → й, ``y`` → й after a vowel, else ы; ``c`` → ц before e/i/y/j,
    else к), so ``Mariia`` and ``Mariya`` both give ``мария``; where a digraph is also two
    letters the digraph wins (``ts`` in ``otstup``, ``ia`` in ``Diana``).
    """
    if scheme not in (None, "gost"):
        raise ValueError(f"scheme must be 'gost' or None, not {scheme!r}")
    table = _GOST_TO_CYRILLIC if scheme else _ANY_TO_CYRILLIC
    return _LATIN_RUN.sub(lambda m: _word_to_cyrillic(m.group(), table), text.lower())


def _word_to_cyrillic(word: str, table: dict[str, str]) -> str:
    out: list[str] = []
    i = 0
    while i < len(word):
        piece = next(
            (word[i : i + n] for n in range(_LONGEST, 1, -1) if word[i : i + n] in table),
            word[i],
        )
        if table is _ANY_TO_CYRILLIC and piece == "y":
            out.append("й" if i > 0 and word[i - 1] in _VOWELS else "ы")
        elif table is _ANY_TO_CYRILLIC and piece == "c":
            out.append("ц" if word[i + 1 : i + 2] in ("e", "i", "y", "j") else "к")
        else:
            out.append(table.get(piece, piece))
        i += len(piece)
    return "".join(out)
