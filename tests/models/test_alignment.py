"""Smith–Waterman alignment: scores against parasail and a plain affine-gap DP, statistics,
identity/coverage, reverse complement and both strands."""

from __future__ import annotations

import math
import random

import numpy as np
import parasail
import pytest
from support.sequences import PFAM, pfam_proteins

from ipsim.models.alignment import (
    DNA,
    PROTEIN,
    align,
    best_strand,
    bits,
    evalue,
    reverse_complement,
    scores,
)

AMINO = "ACDEFGHIKLMNPQRSTVWY"


@pytest.fixture(scope="module")
def proteins() -> list[str]:
    if not PFAM.exists():
        pytest.skip("shared sequence data absent")
    return pfam_proteins()


def _blosum62(a: str, b: str) -> int:
    m = parasail.blosum62
    letters = "ARNDCQEGHILKMFPSTWYVBZX*"
    return int(m.matrix[letters.index(a), letters.index(b)])


def _plain_sw(q: str, s: str, sub: object, gap_open: int, gap_extend: int) -> int:
    """Gotoh's affine-gap Smith–Waterman; a gap of length L costs open + L·extend."""
    neg = -(10**9)
    n = len(s)
    h_prev = [0] * (n + 1)
    e_prev = [neg] * (n + 1)  # gap in the query (vertical)
    best = 0
    for i in range(1, len(q) + 1):
        h = [0] * (n + 1)
        e = [neg] * (n + 1)
        f = neg
        for j in range(1, n + 1):
            e[j] = max(e_prev[j] - gap_extend, h_prev[j] - gap_open - gap_extend)
            f = max(f - gap_extend, h[j - 1] - gap_open - gap_extend)
            h[j] = max(0, h_prev[j - 1] + sub(q[i - 1], s[j - 1]), e[j], f)  # type: ignore[operator]
            best = max(best, h[j])
        h_prev, e_prev = h, e
    return best


def test_textbook_example_heagawghee() -> None:
    # Durbin et al.'s pair: under BLOSUM62 11/1 no gapped alignment beats HEA/HEA (8+5+4).
    a = align("HEAGAWGHEE", "PAWHEAE", PROTEIN, database_size=1000)
    assert a.score == _blosum62("H", "H") + _blosum62("E", "E") + _blosum62("A", "A") == 17
    assert (a.query_start, a.query_end, a.subject_start, a.subject_end) == (0, 3, 3, 6)
    assert (a.query_aligned, a.midline, a.subject_aligned) == ("HEA", "|||", "HEA")
    assert a.identity == 1.0 and a.strand == "+"
    assert a.query_coverage == pytest.approx(0.3)
    assert a.subject_coverage == pytest.approx(3 / 7)


def test_scores_equal_parasail_called_directly(proteins: list[str]) -> None:
    query, subjects = proteins[0], proteins[1:60]
    got = scores(query, subjects, PROTEIN)
    want = [parasail.sw_scan_32(query, s, 12, 1, parasail.blosum62).score for s in subjects]
    assert got.dtype == np.int32 and got.tolist() == want
    for s, w in zip(subjects[:10], want[:10], strict=True):
        assert align(query, s, PROTEIN, database_size=1).score == w
        assert align(query, s, PROTEIN, database_size=1, with_trace=False).score == w


def test_scores_equal_plain_affine_dp_on_random_sequences() -> None:
    rng = random.Random(7)
    for _ in range(40):
        q = "".join(rng.choice(AMINO) for _ in range(rng.randint(1, 25)))
        s = "".join(rng.choice(AMINO) for _ in range(rng.randint(1, 25)))
        assert align(q, s, PROTEIN, database_size=1).score == _plain_sw(q, s, _blosum62, 11, 1)
    dna_sub = lambda a, b: 2 if a == b else -3  # noqa: E731
    for _ in range(40):
        q = "".join(rng.choice("ACGT") for _ in range(rng.randint(1, 30)))
        s = "".join(rng.choice("ACGT") for _ in range(rng.randint(1, 30)))
        assert align(q, s, DNA, database_size=1).score == _plain_sw(q, s, dna_sub, 5, 2)


def test_gap_costs_follow_ncbi_convention() -> None:
    # 8 A's + 8 C's = 16 matches (32) with a 2-long gap in the query: 32 - (5 + 2·2) = 23.
    a = align("AAAAAAAACCCCCCCC", "AAAAAAAAGGCCCCCCCC", DNA, database_size=1)
    assert a.score == 23
    assert a.query_aligned == "AAAAAAAA--CCCCCCCC" and a.identity == pytest.approx(16 / 18)


def test_long_alignment_past_16_bits_matches_32_bit_parasail(proteins: list[str]) -> None:
    long = "".join(proteins[:40]) * 4  # self-score far beyond 32767
    want = parasail.sw_striped_32(long, long, 12, 1, parasail.blosum62).score
    assert want > 2**15
    assert align(long, long, PROTEIN, database_size=1, with_trace=False).score == want
    assert scores(long, [long], PROTEIN).tolist() == [want]


def test_identity_and_coverage_on_a_constructed_case(proteins: list[str]) -> None:
    core = proteins[3][:60]
    mutated = core[:20] + ("W" if core[20] != "W" else "Y") + core[21:]  # one substitution
    query = mutated
    subject = "PPPPPPPPPP" + core + "PPPPPPPPPPPPPPPPPPPP"
    a = align(query, subject, PROTEIN, database_size=len(subject))
    assert a.query_aligned.replace("-", "") == query[a.query_start : a.query_end]
    assert a.subject_aligned.replace("-", "") == subject[a.subject_start : a.subject_end]
    assert a.subject_start == 10 and a.subject_end == 70
    assert a.query_coverage == 1.0
    assert a.subject_coverage == pytest.approx(60 / 90)
    assert a.identity == pytest.approx(59 / 60)


def test_lower_case_and_rna_are_normalised() -> None:
    dna = "acgtacgttgcatgcaaggct"
    assert align(dna, dna.upper(), DNA, database_size=1).score == 2 * len(dna)
    assert align(dna.replace("t", "u"), dna, DNA, database_size=1).score == 2 * len(dna)


def test_ambiguity_codes_score_their_average() -> None:
    # N vs any base: ¼·2 + ¾·(−3) = −1.75 → −2; R (A/G) vs A: ½·2 + ½·(−3) → −1.
    assert align("AAAAANAAAAA", "AAAAAAAAAAA", DNA, database_size=1).score == 20 - 2
    assert align("AAAAARAAAAA", "AAAAAAAAAAA", DNA, database_size=1).score == 20 - 1


def test_reverse_complement_is_iupac_aware() -> None:
    assert reverse_complement("ACGT") == "ACGT"
    assert reverse_complement("AACCGGTTU") == "AAACCGGTT"
    assert reverse_complement("RYKMBVDHNSW") == "WSNDHBVKMRY"
    assert reverse_complement("acgtn") == "nacgt"
    seq = "ATGCRYSWKMBDHVN"
    assert reverse_complement(reverse_complement(seq)) == seq


def test_both_strands_finds_the_reverse_complement() -> None:
    query = "ATGGTGCATCTGACTCCTGAGGAGAAGTCTGCCGTTACTGCCCTG"  # HBB 5' coding
    subject = "TTTTTTTTTT" + reverse_complement(query) + "GGGGGGGGGG"
    a = best_strand(query, subject, database_size=len(subject))
    assert a.strand == "-" and a.score == 2 * len(query)
    assert (a.subject_start, a.subject_end) == (10, 10 + len(query))
    assert (a.query_start, a.query_end) == (0, len(query))
    assert a.query_aligned == reverse_complement(query)
    plus = best_strand(query, "CC" + query, database_size=10)
    assert plus.strand == "+" and plus.score == 2 * len(query)


def test_minus_strand_query_coordinates_count_on_the_given_query() -> None:
    query = "CCCCCCCCCC" + "ATGGTGCATCTGACTCCTGAGG"  # only the last 22 letters match
    subject = reverse_complement(query[10:])
    a = best_strand(query, subject, database_size=100)
    assert a.strand == "-" and (a.query_start, a.query_end) == (10, 32)


def test_evalue_falls_with_score_and_grows_with_database() -> None:
    e = [evalue(s, 300, 10**6, PROTEIN) for s in (40, 60, 80)]
    assert e[0] > e[1] > e[2]
    assert evalue(60, 300, 2 * 10**6, PROTEIN) == pytest.approx(2 * e[1])
    assert e[1] == pytest.approx(0.041 * 300 * 10**6 * math.exp(-0.267 * 60))
    assert bits(60, PROTEIN) == pytest.approx((0.267 * 60 - math.log(0.041)) / math.log(2))
    # blastn 2/−3: odd scores round down to even.
    assert evalue(41, 30, 1000, DNA) == evalue(40, 30, 1000, DNA)
    small = align("HEAGAWGHEE", "PAWHEAE", PROTEIN, database_size=100)
    big = align("HEAGAWGHEE", "PAWHEAE", PROTEIN, database_size=10**6)
    assert big.evalue == pytest.approx(small.evalue * 10**4)


def test_unrelated_sequences_score_zero_and_empty_inputs_fail() -> None:
    a = align("AAAA", "CCCC", DNA, database_size=10)
    assert a.score == 0 and a.query_aligned == "" and a.query_coverage == 0.0
    with pytest.raises(ValueError):
        align("", "ACGT", DNA, database_size=1)
    with pytest.raises(ValueError):
        scores("", ["ACGT"], DNA)
    assert scores("ACGTACGT", ["", "ACGTACGT"], DNA).tolist() == [0, 16]


def test_unknown_protein_letters_score_as_x() -> None:
    x = align("MKTAYIAKQR", "MKTAXIAKQR", PROTEIN, database_size=1).score
    assert align("MKTAUIAKQR", "MKTAXIAKQR", PROTEIN, database_size=1).score == x
