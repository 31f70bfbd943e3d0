"""Trademark search modes and query options, validated at the engine's edge.

A query is ``{"word"?, "image_b64"?, "strategy"?}``. Word modes: ``spelling``,
``phonetic``, ``semantic``, or ``all`` (the default: the three fused, plus the image when
the query has one). ``image`` searches figurative marks with ``strategy`` ``composite``
(the neural default), ``shape`` (colour ignored), ``colour`` or ``texture``; it is the
default for a query with only an image.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ipsim.engine.errors import InvalidInput

WORD_MODES = ("spelling", "phonetic", "semantic")
MODES = (*WORD_MODES, "image", "all")
STRATEGIES = ("composite", "shape", "colour", "texture")
QUERY_KEYS = ("word", "image_b64", "strategy")


@dataclass(frozen=True)
class TrademarkQuery:
    content: dict[str, Any]
    """The mark itself (``word`` and/or ``image_b64``), as the encoder takes it."""
    mode: str
    strategy: str = "composite"

    @property
    def modes(self) -> tuple[str, ...]:
        """The single modes this query runs (several for ``all``)."""
        if self.mode != "all":
            return (self.mode,)
        word = WORD_MODES if "word" in self.content else ()
        image = ("image",) if "image_b64" in self.content else ()
        return (*word, *image)


def parse_trademark_query(mode: str | None, query: Mapping[str, Any]) -> TrademarkQuery:
    """The typed query; InvalidInput naming ``mode`` or ``query.<key>``."""
    for key in query:
        if key not in QUERY_KEYS:
            raise InvalidInput(f"query.{key}", f"unknown key (allowed: {', '.join(QUERY_KEYS)})")
    content = {key: query[key] for key in ("word", "image_b64") if key in query}
    if not content:
        raise InvalidInput("query", "needs a word, an image_b64, or both")
    if mode is None:
        mode = "all" if "word" in content else "image"
    if mode not in MODES:
        raise InvalidInput("mode", f"must be one of {', '.join(MODES)} for trademark collections")
    if mode in WORD_MODES and "word" not in content:
        raise InvalidInput("query.word", f"mode {mode} searches words: give a word")
    if mode == "image" and "image_b64" not in content:
        raise InvalidInput("query.image_b64", "mode image searches figurative marks: give one")
    strategy = query.get("strategy", "composite")
    if strategy not in STRATEGIES:
        raise InvalidInput("query.strategy", f"must be one of {', '.join(STRATEGIES)}")
    if "strategy" in query and "image_b64" not in content:
        raise InvalidInput("query.strategy", "is an option of image searches")
    return TrademarkQuery(content, mode, strategy)
