"""Smith–Waterman local alignment with affine gaps (parasail), scored as BLAST scores it.

The sequence modality confirms the prefilter's candidates (:mod:`ipsim.indexers.kmer`) by
aligning them: an examiner asks "is this sequence, or something close to it, disclosed?",
and the answer is a local alignment with its score, significance, identity and coverage.

* Proteins: BLOSUM62, gap open 11 / extend 1; nucleotides: match +2 / mismatch −3, gap 5 / 2
  (blastn's megablast-free defaults). Gap costs follow NCBI: a gap of length L costs
  ``open + L·extend`` (parasail charges ``open`` for the first gap position, hence the shift).
* Significance is Karlin–Altschul with NCBI's *gapped* λ and K for that exact scheme:
  ``E = K·m·n·exp(−λS)``, ``bits = (λS − ln K) / ln 2``; m is the query length, n the residues
  in the database. For 2/−3 NCBI's table holds for even scores only, so odd ones round down.
* Nucleotides use IUPAC codes: U is T, and an ambiguity code scores the average of the
  bases it stands for (N vs A: ¼·2 + ¾·(−3) → −2), as NCBI's nucleotide matrix does.
  Unknown protein letters (U, O, J, …) score as X.

Traceback uses parasail's striped 16-bit kernel and falls back to 32 bits when the score
saturates. Score-only scans (:func:`scores`) build the query profile once and reuse it for
every subject, which is what makes a full scan tolerable at all.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import parasail

Strand = Literal["+", "-"]


@dataclass(frozen=True)
class Scoring:
    """A substitution matrix, NCBI-style affine gap costs, and its gapped λ and K."""

    matrix_name: str
    gap_open: int
    gap_extend: int
    lam: float
    k: float
    even_scores: bool = False
    """NCBI's λ/K hold for even raw scores only (blastn 2/−3): odd scores round down."""

    @property
    def parasail_open(self) -> int:
        """parasail's open penalty: the cost of a gap's first position."""
        return self.gap_open + self.gap_extend


PROTEIN = Scoring("blosum62", 11, 1, lam=0.267, k=0.041)
"""NCBI's gapped BLOSUM62 11/1 parameters (blastp defaults)."""
DNA = Scoring("iupac+2-3", 5, 2, lam=0.625, k=0.41, even_scores=True)
"""NCBI blastn reward 2 / penalty −3 with gaps 5/2 (``blastn_values_2_3``)."""

_BASES = {
    "A": "A", "C": "C", "G": "G", "T": "T", "R": "AG", "Y": "CT", "S": "CG", "W": "AT",
    "K": "GT", "M": "AC", "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG", "N": "ACGT",
}  # fmt: skip
_COMPLEMENT = str.maketrans("ACGTURYSWKMBDHVNacgturyswkmbdhvn", "TGCAAYRSWMKVHDBNtgcaayrswmkvhdbn")
_PROTEIN_LETTERS = "ARNDCQEGHILKMFPSTWYVBZX*"
_PROTEIN_CLEAN = str.maketrans({c: "X" for c in "UOJ"})


def reverse_complement(dna: str) -> str:
    """The reverse complement, IUPAC-aware (R↔Y, K↔M, B↔V, D↔H; S, W, N stay); U → A, case kept."""
    return dna.translate(_COMPLEMENT)[::-1]


def _dna_score(a: str, b: str, match: int = 2, mismatch: int = -3) -> int:
    """The expected score of two IUPAC codes over the bases they stand for, rounded down."""
    sa, sb = _BASES[a], _BASES[b]
    if len(sa) == len(sb) == 1:
        return match if a == b else mismatch
    p = sum(x == y for x in sa for y in sb) / (len(sa) * len(sb))
    return math.floor(p * match + (1 - p) * mismatch)


@cache
def _matrix(name: str) -> Any:
    """The parasail matrix named by a :class:`Scoring`."""
    if name == "blosum62":
        return parasail.blosum62
    if name == "iupac+2-3":
        letters = "".join(_BASES)
        matrix = parasail.matrix_create(letters, 2, -3)
        for i, a in enumerate(letters):
            for j, b in enumerate(letters):
                matrix[i, j] = _dna_score(a, b)
        return matrix
    raise ValueError(f"unknown matrix {name!r}")


def _clean(sequence: str, scoring: Scoring) -> str:
    """Upper case; U → T for nucleotides, unknown amino-acid letters → X."""
    upper = sequence.upper()
    if scoring.matrix_name == "iupac+2-3":
        return upper.replace("U", "T")
    return upper.translate(_PROTEIN_CLEAN)


def _effective(score: int, scoring: Scoring) -> int:
    return score - (score & 1) if scoring.even_scores else score


def bits(score: int, scoring: Scoring) -> float:
    """The normalised (bit) score: ``(λS − ln K) / ln 2``."""
    return (scoring.lam * _effective(score, scoring) - math.log(scoring.k)) / math.log(2)


def evalue(score: int, query_length: int, database_size: int, scoring: Scoring) -> float:
    """Expected chance alignments scoring at least ``score``: ``K·m·n·exp(−λS)``."""
    s = _effective(score, scoring)
    return scoring.k * query_length * database_size * math.exp(-scoring.lam * s)


@dataclass(frozen=True)
class Alignment:
    """One local alignment; coordinates 0-based, ends exclusive, in the original query.

    On the ``-`` strand the reverse complement of the query aligned: ``query_aligned`` is
    that reverse complement's letters, while ``query_start``/``query_end`` still count on
    the query as given. Without traceback, identity is NaN and the aligned strings empty.
    """

    score: int
    bits: float
    evalue: float
    identity: float
    query_coverage: float
    subject_coverage: float
    query_start: int
    query_end: int
    subject_start: int
    subject_end: int
    query_aligned: str
    midline: str
    subject_aligned: str
    strand: Strand


def _sw(query: str, subject: str, scoring: Scoring, trace: bool) -> Any:
    """parasail's striped SW, in 16 bits unless the score saturates."""
    matrix = _matrix(scoring.matrix_name)
    args = (query, subject, scoring.parasail_open, scoring.gap_extend, matrix)
    if trace:
        result = parasail.sw_trace_striped_16(*args)
        return parasail.sw_trace_striped_32(*args) if result.saturated else result
    result = parasail.sw_striped_16(*args)
    return parasail.sw_striped_32(*args) if result.saturated else result


def _starts(query: str, subject: str, q_end: int, s_end: int, scoring: Scoring) -> tuple[int, int]:
    """Where a score-only alignment ending at (q_end, s_end) (inclusive) begins.

    The best alignment of the reversed prefixes ends where the forward one begins.
    """
    rq, rs = query[q_end::-1], subject[s_end::-1]
    result = _sw(rq, rs, scoring, trace=False)
    return q_end - int(result.end_query), s_end - int(result.end_ref)


def align(
    query: str, subject: str, scoring: Scoring, *, database_size: int, with_trace: bool = True
) -> Alignment:
    """The best local alignment of ``query`` with ``subject`` (``+`` strand).

    ``database_size`` is the residues searched (the E-value's n). Raises ValueError for an
    empty query or subject.
    """
    if not query or not subject:
        raise ValueError("query and subject must be non-empty")
    q, s = _clean(query, scoring), _clean(subject, scoring)
    result = _sw(q, s, scoring, with_trace)
    score = int(result.score)
    m, n = len(q), len(s)
    if score <= 0:
        return Alignment(
            0, bits(0, scoring), evalue(0, m, database_size, scoring), 0.0, 0.0, 0.0,
            0, 0, 0, 0, "", "", "", "+",
        )  # fmt: skip
    q_end, s_end = int(result.end_query), int(result.end_ref)
    if with_trace:
        trace = result.get_traceback()
        q_aln, mid, s_aln = str(trace.query), str(trace.comp), str(trace.ref)
        # The starts from the aligned letters: parasail's CIGAR start is off at times.
        q_start = q_end + 1 - (len(q_aln) - q_aln.count("-"))
        s_start = s_end + 1 - (len(s_aln) - s_aln.count("-"))
        identity = mid.count("|") / len(mid)
    else:
        q_start, s_start = _starts(q, s, q_end, s_end, scoring)
        q_aln = mid = s_aln = ""
        identity = math.nan
    return Alignment(
        score=score,
        bits=bits(score, scoring),
        evalue=evalue(score, m, database_size, scoring),
        identity=identity,
        query_coverage=(q_end + 1 - q_start) / m,
        subject_coverage=(s_end + 1 - s_start) / n,
        query_start=q_start,
        query_end=q_end + 1,
        subject_start=s_start,
        subject_end=s_end + 1,
        query_aligned=q_aln,
        midline=mid,
        subject_aligned=s_aln,
        strand="+",
    )


def best_strand(
    query: str, subject: str, *, database_size: int, with_trace: bool = True
) -> Alignment:
    """The better of the nucleotide query's and its reverse complement's alignments (ties: +)."""
    plus = align(query, subject, DNA, database_size=database_size, with_trace=with_trace)
    rc = align(
        reverse_complement(query), subject, DNA, database_size=database_size, with_trace=with_trace
    )
    if rc.score <= plus.score:
        return plus
    m = len(query)
    return replace(rc, query_start=m - rc.query_end, query_end=m - rc.query_start, strand="-")


def scores(query: str, subjects: Sequence[str], scoring: Scoring) -> npt.NDArray[np.int32]:
    """Best local scores of ``query`` against each subject (score only, one cached profile).

    The 16-bit striped profile serves every subject; a subject whose score saturates it is
    scored again with a 32-bit profile, built only if needed. Empty subjects score 0.
    """
    if not query:
        raise ValueError("query must be non-empty")
    q = _clean(query, scoring)
    matrix = _matrix(scoring.matrix_name)
    gap_open, gap_extend = scoring.parasail_open, scoring.gap_extend
    profile16 = parasail.profile_create_16(q, matrix)
    profile32: Any = None
    out = np.zeros(len(subjects), np.int32)
    for i, subject in enumerate(subjects):
        if not subject:
            continue
        s = _clean(subject, scoring)
        result = parasail.sw_striped_profile_16(profile16, s, gap_open, gap_extend)
        if result.saturated:
            if profile32 is None:
                profile32 = parasail.profile_create_32(q, matrix)
            result = parasail.sw_striped_profile_32(profile32, s, gap_open, gap_extend)
        out[i] = result.score
    return out
