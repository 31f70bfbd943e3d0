"""English words respelled as they sound, so they meet their Russian spellings.

Russians write English brands by ear: ``Nike`` → "Найк", ``Colgate`` → "Колгейт",
``Apple`` → "Эппл", ``Starbucks`` → "Старбакс". The letters of the English word do not
show those sounds; :func:`spoken_english` applies the regular English spelling rules
(magic e, silent e and gh, soft g, ``igh``, ``tion``, ``ay``, ``a`` before a double
consonant, ``u`` in a closed syllable) to write the word, in plain Latin letters, closer
to how it is said. It is a second reading beside the word itself, never a replacement:
the rules have exceptions (``put``, ``give``) that the literal reading still covers.
"""

from __future__ import annotations

import re
from typing import Final

_CONSONANT: Final = "[bcdfghjklmnpqrstvwxz]"
_RULES: Final = tuple(
    (re.compile(pattern), spoken)
    for pattern, spoken in (
        (r"tion\b", "shn"),
        (r"sion\b", "zhn"),
        (r"ture\b", "cher"),
        (r"eigh", "ei"),
        (r"ay|ai", "ey"),
        (r"ea|ee", "i"),
        (r"igh", "ai"),
        (r"dg|g(?=[eiy])", "dzh"),
        (rf"a({_CONSONANT})e\b", r"ei\1"),
        (rf"[iy]({_CONSONANT})e\b", r"ai\1"),
        (rf"o({_CONSONANT})e\b", r"ou\1"),
        (rf"u({_CONSONANT})e\b", r"yu\1"),
        (rf"(?<=\w\w)({_CONSONANT})e\b", r"\1"),
        (r"(?<=\w)gh", ""),
        (r"ow\b", "ou"),
        (r"au|aw", "o"),
        (r"a(?=([bcdfgklmnprstvz])\1)", "e"),
        (rf"(?<=\w)u(?={_CONSONANT}{{2}}|{_CONSONANT}\b)", "a"),
    )
)


def spoken_english(word: str) -> str:
    """``word`` (folded Latin letters) respelled by the English spelling rules."""
    for rule, spoken in _RULES:
        word = rule.sub(spoken, word)
    return word
