"""The benchmark measures on inputs small enough to check by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ipsim.benchmarks.metrics import (
    Latency,
    ndcg_at_k,
    pearson,
    precision_at_k,
    recall_at_k,
    spearman,
)


def test_precision_counts_relevant_in_the_first_k() -> None:
    assert precision_at_k(["a", "b", "c", "d"], {"a", "c", "z"}, 2) == 0.5
    assert precision_at_k(["a", "b", "c", "d"], {"a", "c", "z"}, 4) == 0.5
    assert precision_at_k(["x", "y"], {"a"}, 2) == 0.0


def test_precision_counts_a_short_list_as_misses() -> None:
    assert precision_at_k(["a"], {"a", "b"}, 4) == 0.25


def test_ndcg_is_one_for_an_ideal_ranking() -> None:
    assert ndcg_at_k(["a", "b", "x"], {"a", "b"}, 3) == pytest.approx(1.0)


def test_ndcg_by_hand() -> None:
    # Relevant at ranks 2 and 3 of 3; two relevant exist.
    dcg = 1 / math.log2(3) + 1 / math.log2(4)
    ideal = 1 / math.log2(2) + 1 / math.log2(3)
    assert ndcg_at_k(["x", "a", "b"], {"a", "b"}, 3) == pytest.approx(dcg / ideal)


def test_ndcg_ideal_is_capped_at_k() -> None:
    # Five relevant exist but only k=2 fit: a perfect top-2 scores 1.
    assert ndcg_at_k(["a", "b"], {"a", "b", "c", "d", "e"}, 2) == pytest.approx(1.0)
    assert ndcg_at_k(["x", "a"], {"a", "b", "c"}, 2) == pytest.approx(
        (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    )


def test_ndcg_refuses_a_query_with_nothing_relevant() -> None:
    with pytest.raises(ValueError, match="undefined"):
        ndcg_at_k(["a"], set(), 1)


@pytest.mark.parametrize("k", [0, -1, 1.5, True])
def test_bad_k_is_refused(k: object) -> None:
    with pytest.raises(ValueError, match="k must be"):
        precision_at_k(["a"], {"a"}, k)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="k must be"):
        ndcg_at_k(["a"], {"a"}, k)  # type: ignore[arg-type]


def test_recall_is_the_share_of_the_true_top_k_found() -> None:
    truth = np.array([[1, 2, 3], [4, 5, 6]])
    found = np.array([[3, 9, 1], [6, 5, 4]])
    assert recall_at_k(found, truth, 3) == pytest.approx((2 + 3) / 6)
    assert recall_at_k(found, truth, 1) == pytest.approx(0.0 + 0.0)
    assert recall_at_k(truth, truth, 2) == 1.0


def test_recall_ignores_missing_results() -> None:
    truth = np.array([[1, 2]])
    assert recall_at_k(np.array([[1, -1]]), truth, 2) == 0.5


def test_recall_only_looks_at_the_first_k_columns() -> None:
    truth = np.array([[1, 2, 7]])
    found = np.array([[1, 7, 2]])
    assert recall_at_k(found, truth, 2) == 0.5


def test_recall_refuses_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="queries"):
        recall_at_k(np.zeros((2, 3)), np.zeros((3, 3)), 3)
    with pytest.raises(ValueError, match="columns"):
        recall_at_k(np.zeros((2, 2)), np.zeros((2, 3)), 3)
    with pytest.raises(ValueError, match="no queries"):
        recall_at_k(np.zeros((0, 3)), np.zeros((0, 3)), 3)


def test_spearman_uses_ranks_only() -> None:
    x = [1.0, 2.0, 3.0, 4.0]
    assert spearman(x, [10.0, 20.0, 30.0, 1000.0]) == pytest.approx(1.0)
    assert spearman(x, [4.0, 3.0, 2.0, 1.0]) == pytest.approx(-1.0)
    # One swap among four: rho = 1 - 6 * 2 / (4 * 15) = 0.8
    assert spearman(x, [1.0, 3.0, 2.0, 4.0]) == pytest.approx(0.8)


def test_spearman_averages_tied_ranks() -> None:
    # Ranks of y: 1.5, 1.5, 3 → Pearson of (1, 2, 3) with (1.5, 1.5, 3) = sqrt(3)/2.
    assert spearman([1.0, 2.0, 3.0], [5.0, 5.0, 9.0]) == pytest.approx(math.sqrt(3) / 2)


def test_pearson_is_linear_correlation() -> None:
    assert pearson([1.0, 2.0, 3.0], [2.0, 4.0, 6.0]) == pytest.approx(1.0)
    assert pearson([1.0, 2.0, 3.0], [1.0, 2.0, 4.0]) == pytest.approx(0.9819805060619657)


def test_correlations_refuse_bad_input() -> None:
    with pytest.raises(ValueError, match="equal length"):
        spearman([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="equal length"):
        pearson([1.0], [1.0])


def test_latency_percentiles_in_milliseconds() -> None:
    summary = Latency.of([0.001 * i for i in range(1, 101)])  # 1 … 100 ms
    assert summary.count == 100
    assert summary.mean_ms == pytest.approx(50.5)
    assert summary.p50_ms == pytest.approx(50.5)
    assert summary.p95_ms == pytest.approx(95.05)
    assert summary.p99_ms == pytest.approx(99.01)


def test_latency_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="no latencies"):
        Latency.of([])
