"""Fusion of ranked lists on constructed cases, checked against the formulas by hand."""

from __future__ import annotations

import pytest

from ipsim.engine.fusion import RRF_K, fuse


def test_rrf_sums_reciprocal_ranks_over_the_lists_an_item_is_in() -> None:
    first = [("a", 0.9), ("b", 0.8), ("c", 0.1)]
    second = [("c", 50.0), ("d", 40.0)]
    fused = dict(fuse([first, second], method="rrf"))
    assert fused["a"] == pytest.approx(1 / (RRF_K + 1))
    assert fused["b"] == pytest.approx(1 / (RRF_K + 2))
    assert fused["c"] == pytest.approx(1 / (RRF_K + 3) + 1 / (RRF_K + 1))
    assert fused["d"] == pytest.approx(1 / (RRF_K + 2))
    assert [key for key, _ in fuse([first, second])] == ["c", "a", "b", "d"]


def test_rrf_ignores_scales_and_interleaves_disjoint_lists_by_rank() -> None:
    tiny = [("t1", 0.002), ("t2", 0.001)]
    huge = [("h1", 900.0), ("h2", 800.0)]
    # Equal ranks tie; ties keep list order, so the lists interleave.
    assert [key for key, _ in fuse([tiny, huge])] == ["t1", "h1", "t2", "h2"]


def test_rrf_weights_and_k() -> None:
    first, second = [("a", 1.0)], [("b", 1.0)]
    fused = dict(fuse([first, second], weights=[1.0, 3.0], rrf_k=10))
    assert fused == {"a": pytest.approx(1 / 11), "b": pytest.approx(3 / 11)}


def test_score_fusion_min_max_normalises_each_list() -> None:
    first = [("a", 0.9), ("b", 0.7), ("c", 0.5)]
    second = [("x", 30.0), ("y", 10.0)]
    fused = dict(fuse([first, second], method="score"))
    assert fused == {
        "a": pytest.approx(1.0),
        "b": pytest.approx(0.5),
        "c": pytest.approx(0.0),
        "x": pytest.approx(1.0),
        "y": pytest.approx(0.0),
    }


def test_score_fusion_of_a_single_hit_or_equal_scores_counts_fully() -> None:
    assert fuse([[("a", 0.3)]], method="score") == [("a", 1.0)]
    assert dict(fuse([[("a", 0.3), ("b", 0.3)]], method="score")) == {"a": 1.0, "b": 1.0}


def test_score_fusion_keeps_the_gaps_rrf_throws_away() -> None:
    # "b" is nearly as good as "a" in its list; "y" is far behind "x".
    first = [("a", 0.90), ("b", 0.89), ("c", 0.10)]
    second = [("x", 0.95), ("y", 0.20), ("z", 0.10)]
    by_score = [key for key, _ in fuse([first, second], method="score")]
    assert by_score.index("b") < by_score.index("y")


def test_raw_fusion_uses_the_sources_own_scores() -> None:
    first = [("a", 0.9), ("b", 0.4)]
    second = [("x", 0.6)]
    assert fuse([first, second], method="raw") == [("a", 0.9), ("x", 0.6), ("b", 0.4)]
    weighted = fuse([first, second], method="raw", weights=[0.5, 1.0])
    assert weighted == [("x", 0.6), ("a", 0.45), ("b", 0.2)]


def test_fusion_of_nothing_and_bad_weights() -> None:
    assert fuse([], method="rrf") == []
    assert fuse([[], []], method="score") == []
    with pytest.raises(ValueError, match="one weight per ranking"):
        fuse([[("a", 1.0)]], weights=[1.0, 2.0])
