"""The ``trademark`` modality: word marks and figurative marks in one vector space.

A mark is ``{"word"?: str, "image_b64"?: str}`` (at least one). Its vector is the
concatenation ``[meaning | composite | shape | colour | texture]``: the text encoder's
embedding of the word and its readings (zeros without a word), then the figurative
encoder's parts (zeros without an image), each part unit length. A query that keeps one
part and zeroes the rest scores, by inner product, that part's cosine alone, so one index
answers the semantic search and every image strategy.

Spelling and phonetics are not vectors: the encoder derives them as fields (the folded
spelling, the cross-script phonetic keys, the readings), which the collection indexes by
character n-grams.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ipsim.models.base import InvalidContent, Prepared, Purpose, Span
from ipsim.models.image import FIGURE_PARTS, FigurativeEncoder, Figure
from ipsim.models.image_decode import decode_image
from ipsim.models.phonetics import phonetic_keys, readings, spelling_key
from ipsim.models.text import TextEncoder

MAX_WORD_CHARS = 200
MEANING = "meaning"
STRATEGIES: tuple[str, ...] = tuple(FIGURE_PARTS)
"""Figurative search strategies, as WIPO's Global Brand Database names them."""
CONTENT_KEYS = ("word", "image_b64")
_MEANING_READINGS = 2
"""Readings averaged with the word for its meaning (PRO100 → "pro sto", "pro hundred")."""


@dataclass(frozen=True)
class Mark:
    """One mark, ready to encode: its word (and readings) and its prepared image."""

    word: str | None
    readings: tuple[str, ...]
    figure: Figure | None
    fields: dict[str, Any]


class TrademarkEncoder:
    """Meaning (text model) + figurative (EfficientNet-Lite0 parts) vectors of marks."""

    modality = "trademark"
    metric: Literal["ip", "l2", "tanimoto"] = "ip"

    def __init__(self, text: TextEncoder, figures: FigurativeEncoder) -> None:
        self.text = text
        self.figures = figures
        self.name = f"{text.name}+{figures.name}"
        self.device = text.device
        self.parts: dict[str, slice] = {}
        start = 0
        for name, size in ((MEANING, text.dim), *FIGURE_PARTS.items()):
            self.parts[name] = slice(start, start + size)
            start += size
        self.dim = start

    def preprocess(self, content: Mapping[str, Any], purpose: Purpose) -> Prepared[Mark]:
        """Validate ``{"word"?, "image_b64"?}`` (at least one) into one mark."""
        unknown = sorted(str(key) for key in content if key not in CONTENT_KEYS)
        if unknown:
            raise InvalidContent(unknown[0], "unknown key (a mark has word and/or image_b64)")
        if not any(key in content for key in CONTENT_KEYS):
            raise InvalidContent("word", "a mark needs a word, an image_b64, or both")
        word = self._word(content["word"]) if "word" in content else None
        figure = None
        fields: dict[str, Any] = {"has_word": word is not None, "has_image": False}
        if word is not None:
            keys = phonetic_keys(word)
            fields |= {
                "word": word,
                "word_spelling": spelling_key(word),
                "word_phonetic": keys,
                "word_readings": readings(word),
            }
        if "image_b64" in content:
            image = decode_image(content["image_b64"], field="image_b64")
            figure = self.figures.prepare(image)
            fields |= {"has_image": True, "image_phash": self.figures.phash(image)}
        mark = Mark(word, tuple(fields.get("word_readings", ())), figure, fields)
        return Prepared(units=[mark], spans=[Span(0, 0)])

    def encode(self, units: Sequence[Mark]) -> npt.NDArray[np.float32]:
        """One row per mark: every part it has, zeros for the parts it lacks."""
        rows = np.zeros((len(units), self.dim), dtype=np.float32)
        worded = [i for i, mark in enumerate(units) if mark.word is not None]
        if worded:
            rows[worded, self.parts[MEANING]] = self._meaning([units[i] for i in worded])
        pictured = [i for i, mark in enumerate(units) if mark.figure is not None]
        if pictured:
            figures = [units[i].figure for i in pictured]
            rows[pictured, self.parts[STRATEGIES[0]].start :] = self.figures.encode(
                [f for f in figures if f is not None]
            )
        return rows

    def query_part(self, row: npt.NDArray[np.float32], part: str) -> npt.NDArray[np.float32]:
        """``row`` with every part but ``part`` zeroed: its inner products are that part's."""
        only = np.zeros_like(row)
        only[self.parts[part]] = row[self.parts[part]]
        return only

    def _meaning(self, marks: Sequence[Mark]) -> npt.NDArray[np.float32]:
        """The normalised mean embedding of each word and its first readings."""
        texts: list[str] = []
        owners: list[int] = []
        for i, mark in enumerate(marks):
            assert mark.word is not None
            variants = dict.fromkeys([mark.word, *mark.readings[:_MEANING_READINGS]])
            texts += list(variants)
            owners += [i] * len(variants)
        units = [u for text in texts for u in self.text.preprocess({"text": text}, "query").units]
        vectors = self.text.encode(units)
        sums = np.zeros((len(marks), vectors.shape[1]), dtype=np.float64)
        np.add.at(sums, owners, vectors)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return (sums / np.where(norms == 0, 1.0, norms)).astype(np.float32)

    @staticmethod
    def _word(value: Any) -> str:
        if not isinstance(value, str):
            raise InvalidContent("word", f"must be a string, not {type(value).__name__}")
        word = " ".join(value.split())
        if not word:
            raise InvalidContent("word", "must not be empty")
        if len(word) > MAX_WORD_CHARS:
            raise InvalidContent("word", f"is longer than {MAX_WORD_CHARS} characters")
        try:
            phonetic_keys(word)
        except ValueError as exc:
            raise InvalidContent("word", str(exc)) from exc
        return word
