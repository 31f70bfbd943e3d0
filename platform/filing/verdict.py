"""Verdict bands of the preliminary novelty assessment, and where their thresholds come from.

A report's verdict is one of three bands, decided by the best score any prior-art document
reached against any element of the application (a claim, the abstract, a mesh, the word or
image of a mark), with the thresholds of that element's modality:

- ``likely_anticipated``: score >= ``upper`` (an examiner should look at the top hit first);
- ``likely_novel``: every element's best score < ``lower`` (nothing close was found);
- ``needs_review``: anything between, or nothing could be searched.

The worst element decides (one anticipated claim is enough).

**Text thresholds: calibrated on labelled real data.** No public set of "this document
anticipates that application" pairs was available, so *same USPTO art unit* stands in for
"anticipating": the 316 real US application titles of
``shared/data/text/patents/us_application_titles.jsonl`` (221 art units), each as a query
against the other 315, scored by all-MiniLM-L6-v2 cosine (what a text collection's dense
search returns); 99,540 ordered pairs, 268 of them same-art-unit (0.27 %). Targets:

- ``upper``: the smallest threshold (0.01 grid) above which the precision of "same art
  unit" is at least :data:`PRECISION_TARGET` at that threshold *and at every higher one*;
- ``lower``: the largest threshold below which at most :data:`MISS_TARGET` of the
  same-art-unit pairs fall (the false-"novel" rate: an anticipating pair called novel).

Produced by ``.venv/bin/python -m benchmarks.calibrate_assessment`` (query-clustered
bootstrap, 2000 resamples, seed 0)::

    upper 0.79: precision 0.250 (95 % CI 0.109-0.500), recall 0.030 (0.011-0.051)
    lower 0.04: false-"novel" rate 0.090 (0.053-0.129)

Read it plainly: art units are a weak stand-in (near-identical titles such as "DISPLAY
DEVICE" sit in different art units, and one art unit spans unrelated titles), so even the
top of the scale is only 25 % same-art-unit, and 9 % of same-art-unit pairs score below
0.04. On titles alone the model cannot separate anticipation from its absence well:
``likely_novel`` is said only when nothing in the collection is even loosely related, and
most applications land in ``needs_review``. Applied per query as the service applies it (the
best score over the other 315 titles): 0 likely novel, 301 needs review, 15 likely
anticipated, of which 12 have a same-art-unit title in the collection and 8 have it as the top
hit (against 3 % of the needs-review queries' top hits).

**Mesh, trademark and image thresholds: NOT calibrated on labelled data.** They sit on the
engine's own score scales; treat them as defaults to tune:

- trademark words (mode ``all``: the best of spelling, phonetic and semantic similarity, each
  in [0, 1]): ``upper`` 0.85, ``lower`` 0.50. Seen in ``tests/e2e/test_assessment.py``:
  "Reverberation" against the demo mark "reverberations" 0.96; the next marks 0.67, 0.57, then
  below 0.3.
- trademark images and design image views (the composite figurative cosine): ``upper`` 0.90,
  ``lower`` 0.75. Seen there: the same icon 1.00; ten other icons 0.62-0.72 (unrelated
  pictures score high on this scale, hence the high ``lower``).
- meshes (the shape descriptor's cosine): ``upper`` 0.90, ``lower`` 0.60: placeholders, not
  measured. The labelled mesh families in ``shared/data/mesh`` could calibrate them the way
  the text thresholds are (not done yet).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    """The three bands, from the least to the most alarming."""

    LIKELY_NOVEL = "likely_novel"
    NEEDS_REVIEW = "needs_review"
    LIKELY_ANTICIPATED = "likely_anticipated"

    @property
    def label(self) -> str:
        """How a person reads it: ``likely novel``."""
        return self.value.replace("_", " ")


SEVERITY = (Verdict.LIKELY_NOVEL, Verdict.NEEDS_REVIEW, Verdict.LIKELY_ANTICIPATED)
PRECISION_TARGET = 0.25
"""Share of same-art-unit pairs required at and above the text ``upper`` threshold."""
MISS_TARGET = 0.10
"""Largest share of same-art-unit pairs allowed below the text ``lower`` threshold."""


@dataclass(frozen=True)
class Thresholds:
    """A modality's two cut points on its engine score scale."""

    lower: float
    upper: float
    calibrated: bool
    """True when derived from labelled data (see the module docstring)."""

    def band(self, score: float | None) -> Verdict:
        """The verdict for a best score (None: nothing found, which is not evidence of
        novelty when nothing was searched, so the caller decides)."""
        if score is None or score < self.lower:
            return Verdict.LIKELY_NOVEL
        if score >= self.upper:
            return Verdict.LIKELY_ANTICIPATED
        return Verdict.NEEDS_REVIEW


TEXT = Thresholds(lower=0.04, upper=0.79, calibrated=True)
MESH = Thresholds(lower=0.60, upper=0.90, calibrated=False)
TRADEMARK = Thresholds(lower=0.50, upper=0.85, calibrated=False)
FIGURATIVE = Thresholds(lower=0.75, upper=0.90, calibrated=False)
THRESHOLDS: dict[str, Thresholds] = {
    "text": TEXT,
    "mesh": MESH,
    "trademark_word": TRADEMARK,
    "trademark_image": FIGURATIVE,
    "image": FIGURATIVE,
}
"""Per score scale: the modality searched, and for marks the mode (word or image)."""


def worst(verdicts: list[Verdict]) -> Verdict:
    """The most alarming of ``verdicts`` (``needs_review`` for none: nothing was decided)."""
    if not verdicts:
        return Verdict.NEEDS_REVIEW
    return max(verdicts, key=SEVERITY.index)


__all__ = [
    "FIGURATIVE",
    "MESH",
    "MISS_TARGET",
    "PRECISION_TARGET",
    "SEVERITY",
    "TEXT",
    "THRESHOLDS",
    "TRADEMARK",
    "Thresholds",
    "Verdict",
    "worst",
]
