"""Princeton Shape Benchmark measures on rankings small enough to score by hand."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from ipsim.models.shape_metrics import (
    RECALL_LEVELS,
    ShapeScores,
    curve_of,
    pooled,
    precision_recall,
    rankings,
    relevance,
    scores_of,
    shape_scores,
)

LABELS = ["a", "a", "a", "b", "b", "c"]


def _same_class(labels: list[str]) -> npt.NDArray[np.float64]:
    codes = np.array(labels)
    return np.asarray(codes[:, None] == codes[None, :], dtype=np.float64)


def test_a_perfect_ranking_scores_one_everywhere() -> None:
    scores = shape_scores(_same_class(LABELS), LABELS)
    assert (scores.nn, scores.first_tier, scores.second_tier) == (1.0, 1.0, 1.0)
    assert scores.dcg == pytest.approx(1.0)
    assert scores.map == pytest.approx(1.0)
    # E over the top 5 (the database minus the query): class a has R=2, P=2/5 → 2·2/(5+2).
    e_a, e_b = 4 / 7, 2 / 6
    assert scores.e_measure == pytest.approx((3 * e_a + 2 * e_b) / 5)
    assert (scores.queries, scores.skipped) == (5, 1)  # "c" has no other member


def test_a_bad_ranking_by_hand() -> None:
    # R = 2 relevant, found at ranks 2 and 4 of 5.
    scores = scores_of([[False, True, False, True, False]])
    assert scores.nn == 0.0
    assert scores.first_tier == 0.5  # one of two in the top 2
    assert scores.second_tier == 1.0  # both in the top 4
    assert scores.e_measure == pytest.approx(2 * 2 / (5 + 2))  # P = 2/5, R = 1
    # PSB discount: rank 1 → 1, rank i ≥ 2 → 1/log2(i); ideal = ranks 1 and 2 = 2.
    assert scores.dcg == pytest.approx((1 / math.log2(2) + 1 / math.log2(4)) / 2)
    assert scores.map == pytest.approx((1 / 2 + 2 / 4) / 2)


def test_first_and_second_tier_count_only_their_depth() -> None:
    # R = 3: hits at ranks 1, 5 and 7 of 8 → FT 1/3 (top 3), ST 2/3 (top 6).
    scores = scores_of([[1, 0, 0, 0, 1, 0, 1, 0]])
    assert scores.first_tier == pytest.approx(1 / 3)
    assert scores.second_tier == pytest.approx(2 / 3)
    assert scores.nn == 1.0


def test_e_measure_looks_at_the_top_32_only() -> None:
    late = np.zeros((1, 40), dtype=bool)
    late[0, 35] = True
    assert scores_of(late).e_measure == 0.0
    early = np.zeros((1, 40), dtype=bool)
    early[0, 0] = True
    # P = 1/32, R = 1/1 → 2 / (32 + 1).
    assert scores_of(early).e_measure == pytest.approx(2 / 33)


def test_measures_are_means_over_queries() -> None:
    scores = scores_of([[True, False], [False, True]])
    assert scores.nn == 0.5
    assert scores.map == pytest.approx((1.0 + 0.5) / 2)
    assert scores.queries == 2


def test_ties_go_to_the_lower_row() -> None:
    labels = ["a", "b", "a"]
    rows, ranked = rankings(np.zeros((3, 3)))
    assert rows.tolist() == [0, 1, 2]
    assert ranked.tolist() == [[1, 2], [0, 2], [0, 1]]
    scores = shape_scores(np.zeros((3, 3)), labels)
    # Query 0 finds the b first (NN 0); query 2 finds row 0 first (NN 1); b is alone.
    assert (scores.nn, scores.queries, scores.skipped) == (0.5, 2, 1)


def test_queries_mask_keeps_the_whole_database() -> None:
    labels = ["a", "a", "b", "b"]
    similarity = np.array(
        [
            [1.0, 0.2, 0.9, 0.1],
            [0.2, 1.0, 0.1, 0.9],
            [0.9, 0.1, 1.0, 0.95],
            [0.1, 0.9, 0.95, 1.0],
        ]
    )
    only_first = shape_scores(similarity, labels, queries=np.array([True, False, False, False]))
    # Row 0 ranks 2 (b), 1 (a), 3 (b): NN 0, relevant at rank 2 of 3.
    assert only_first.queries == 1
    assert only_first.nn == 0.0
    assert only_first.map == pytest.approx(0.5)
    assert only_first.dcg == pytest.approx(1.0 / 1.0)  # rank 2 weighs 1/log2(2) = 1 too
    everyone = shape_scores(similarity, labels)
    assert everyone.queries == 4
    assert everyone.nn == pytest.approx(0.5)  # rows 2 and 3 find each other, 0 and 1 a b


def test_precision_recall_by_hand() -> None:
    # R = 2 at ranks 1 and 4: precision 1 until recall 0.5, then 2/4.
    recall, precision = curve_of([[True, False, False, True, False]])
    assert recall.tolist() == RECALL_LEVELS.tolist()
    assert precision.tolist() == pytest.approx([1.0] * 6 + [0.5] * 5)


def test_precision_recall_of_a_perfect_ranking_is_flat() -> None:
    recall, precision = precision_recall(_same_class(LABELS), LABELS)
    assert len(recall) == len(precision) == 11
    assert precision == pytest.approx(np.ones(11))


def test_a_constant_matrix_is_scored_by_row_order() -> None:
    labels = ["a", "a", "b", "b"]
    lists = rankings(np.ones((4, 4)))[1].tolist()
    assert lists == [[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]]
    # Query 0: a at rank 1 (AP 1); query 1: rank 1 (AP 1); queries 2, 3: the other b at 3.
    ap = [1.0, 1.0, 1 / 3, 1 / 3]
    assert shape_scores(np.ones((4, 4)), labels).map == pytest.approx(np.mean(ap))


@pytest.mark.parametrize(
    ("similarity", "labels", "queries", "message"),
    [
        (np.zeros((2, 3)), ["a", "a"], None, "square"),
        (np.zeros((1, 1)), ["a"], None, "at least two"),
        (np.array([[1.0, np.nan], [0.0, 1.0]]), ["a", "a"], None, "NaN"),
        (np.zeros((3, 3)), ["a", "a"], None, "2 labels for 3 shapes"),
        (np.zeros((2, 2)), ["a", "a"], np.array([1, 0]), "boolean mask"),
        (np.zeros((2, 2)), ["a", "a"], np.array([True]), "boolean mask"),
        (np.zeros((2, 2)), ["a", "b"], None, "no query"),
    ],
)
def test_bad_input_is_refused(
    similarity: np.ndarray, labels: list[str], queries: np.ndarray | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        shape_scores(similarity, labels, queries)


def test_a_ranking_that_is_not_a_permutation_is_refused() -> None:
    with pytest.raises(ValueError, match="every other row once"):
        relevance([[1, 1]], [0], ["a", "a", "b"])
    with pytest.raises(ValueError, match="every other row once"):
        relevance([[0, 1]], [0], ["a", "a", "b"])  # lists the query itself
    with pytest.raises(ValueError, match="shape"):
        relevance([[1]], [0], ["a", "a", "b"])


def test_pooled_weights_each_fold_by_its_queries() -> None:
    first = ShapeScores(1.0, 0.5, 1.0, 0.4, 0.9, 0.8, queries=3, skipped=1)
    second = ShapeScores(0.0, 0.1, 0.2, 0.0, 0.5, 0.4, queries=1)
    both = pooled([first, second])
    assert both.queries == 4 and both.skipped == 1
    assert both.nn == pytest.approx(0.75) and both.first_tier == pytest.approx(0.4)
    assert both.map == pytest.approx((0.8 * 3 + 0.4) / 4)
    with pytest.raises(ValueError):
        pooled([])
