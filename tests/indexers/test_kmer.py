"""The k-mer prefilter: scores equal a brute-force count on real Pfam proteins, before and
after adds, removes, replacements and compaction; DNA k-mers; bad arguments."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
from support.sequences import PFAM, pfam_proteins

import ipsim.indexers.kmer as kmer_module
from ipsim.indexers.kmer import MURPHY10, KmerIndex
from ipsim.models.alignment import reverse_complement


@pytest.fixture(scope="module")
def proteins() -> list[str]:
    if not PFAM.exists():
        pytest.skip("shared sequence data absent")
    return pfam_proteins()


def _kmers(seq: str, k: int, groups: list[str]) -> list[tuple[int, str]]:
    """(position, k-mer in group letters) of every k-mer whose letters are all known."""
    group_of = {c: str(g) for g, letters in enumerate(groups) for c in letters}
    out = []
    for i in range(len(seq) - k + 1):
        word = seq[i : i + k].upper()
        if all(c in group_of for c in word):
            out.append((i, ",".join(group_of[c] for c in word)))
    return out


def _brute(
    query: str, db: dict[int, str], k: int, groups: list[str], band: int | None
) -> dict[int, int]:
    """Each subject's most hits within ``band`` adjacent diagonals (None: all hits)."""
    words = defaultdict(list)
    for i, w in _kmers(query, k, groups):
        words[w].append(i)
    out = {}
    for doc_id, seq in db.items():
        diags = sorted(j - i for j, w in _kmers(seq, k, groups) for i in words.get(w, []))
        if not diags:
            continue
        if band is None:
            out[doc_id] = len(diags)
        else:
            out[doc_id] = max(sum(d0 <= d < d0 + band for d in diags) for d0 in diags)
    return out


def _check(index: KmerIndex, query: str, db: dict[int, str], groups: list[str]) -> None:
    want = _brute(query, db, index.k, groups, index.band)
    ids, counts = index.candidates(query, 10**6)
    assert dict(zip(ids.tolist(), counts.tolist(), strict=True)) == want
    ranked = sorted(want.items(), key=lambda kv: (-kv[1], kv[0]))[:7]
    ids, counts = index.candidates(query, 7)
    assert list(zip(ids.tolist(), counts.tolist(), strict=True)) == ranked
    assert ids.dtype == np.int64 and counts.dtype == np.int32


@pytest.mark.parametrize("band", [16, None, 1])
def test_scores_equal_brute_force_on_pfam(proteins: list[str], band: int | None) -> None:
    db = {1000 + i: s for i, s in enumerate(proteins[:60])}
    index = KmerIndex.protein(3, band=band)
    index.add(list(db), list(db.values()))
    assert len(index) == 60
    groups = list("ACDEFGHIKLMNPQRSTVWY")
    for query in (proteins[0], proteins[25][10:90], proteins[70]):
        _check(index, query, db, groups)


def test_reduced_alphabet_equals_brute_force(proteins: list[str]) -> None:
    db = dict(enumerate(proteins[:40]))
    index = KmerIndex.protein(4, reduced=True)
    index.add(list(db), list(db.values()))
    _check(index, proteins[5], db, MURPHY10)


def test_the_source_of_a_mutated_query_ranks_first(proteins: list[str]) -> None:
    rng = np.random.default_rng(1)
    db = dict(enumerate(proteins))
    index = KmerIndex.protein()
    index.add(list(db), list(db.values()))
    for i in (3, 50, 120):
        seq = list(proteins[i])
        for p in rng.choice(len(seq), len(seq) // 5, replace=False):
            seq[p] = "W"
        ids, _ = index.candidates("".join(seq), 5)
        assert ids[0] == i


def test_stays_correct_after_adds_removes_and_replacements(proteins: list[str]) -> None:
    index = KmerIndex.protein()
    db: dict[int, str] = {}
    groups = list("ACDEFGHIKLMNPQRSTVWY")
    for start in range(0, 80, 10):  # many small adds, queried between them: several runs
        batch = {i: proteins[i] for i in range(start, start + 10)}
        index.add(list(batch), list(batch.values()))
        db.update(batch)
        _check(index, proteins[start + 3], db, groups)
    gone = list(range(0, 80, 3))
    index.remove([*gone, 999_999])
    for i in gone:
        del db[i]
    index.add([1, 2], [proteins[100], proteins[101]])  # replace two ids
    db[1], db[2] = proteins[100], proteins[101]
    assert len(index) == len(db)
    for query in (proteins[0], proteins[100], proteins[40]):
        _check(index, query, db, groups)


def test_compaction_keeps_results(proteins: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kmer_module, "COMPACT_AT", 4)
    index = KmerIndex.protein()
    db = {i: proteins[i] for i in range(30)}
    index.add(list(db), list(db.values()))
    index.candidates(proteins[0], 1)
    index.add([100, 101], [proteins[40], proteins[41]])  # queued while compaction happens
    db.update({100: proteins[40], 101: proteins[41]})
    dropped = list(range(0, 30, 2)) + list(range(1, 20, 2))
    index.remove(dropped)
    for i in dropped:
        del db[i]
    assert index._live.size == len(db)  # compacted: no tombstones left
    for query in (proteins[21], proteins[40], proteins[5]):
        _check(index, query, db, list("ACDEFGHIKLMNPQRSTVWY"))


def test_dna_kmers_skip_ambiguity_codes_and_treat_u_as_t() -> None:
    index = KmerIndex.dna(k=5)
    target = "ACGTTGCATGCAAGGCTTAGCCATGANNNNNACGGT"
    index.add([7, 8], [target, "gggggggggggggggggggg"])
    assert index.codes("ACGTNACGTA").tolist() == [-1] * 5 + index.codes("ACGTA").tolist()
    rna = target[:26].replace("T", "U").lower()
    ids, counts = index.candidates(rna, 5)
    assert ids.tolist() == [7] and counts[0] == 26 - 5 + 1
    # One strand only: the reverse complement is the caller's second query.
    assert index.candidates(reverse_complement("AAGGCTTAGCCATGA"), 5)[0].size == 0


def test_a_low_complexity_query_reads_a_bounded_number_of_postings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index = KmerIndex.protein(band=None)
    index.add([1, 2], ["A" * 50, "MKTAYIAKQR"])
    monkeypatch.setattr(kmer_module, "MAX_HITS", 20)
    ids, counts = index.candidates("AAAA" + "MKTAYIAKQR", 5)  # AAA: 2 × 48 postings, dropped
    assert ids.tolist() == [2] and counts.tolist() == [8]


def test_queries_without_shared_kmers_and_empty_index() -> None:
    index = KmerIndex.protein()
    ids, counts = index.candidates("MKTAYIAKQR", 5)
    assert ids.size == 0 and counts.size == 0
    index.add([1], ["MKTAYIAKQRQISFVKSHFSRQ"])
    assert index.candidates("WWWWWWW", 5)[0].size == 0
    assert index.candidates("", 5)[0].size == 0
    assert index.candidates("XX", 5)[0].size == 0


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        KmerIndex(0, "ACGT")
    with pytest.raises(ValueError):
        KmerIndex(3, "AACGT")  # a letter twice
    with pytest.raises(ValueError):
        KmerIndex(40, "ACDEFGHIKLMNPQRSTVWY")  # codes past 62 bits
    with pytest.raises(ValueError):
        KmerIndex(3, "ACGT", band=0)
    index = KmerIndex.protein()
    with pytest.raises(ValueError):
        index.add([1, 2], ["MKT"])
    with pytest.raises(ValueError):
        index.add([1, 1], ["MKT", "MKT"])
    with pytest.raises(ValueError):
        index.candidates("MKT", 0)
