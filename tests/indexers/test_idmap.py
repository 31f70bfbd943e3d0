"""Ids ↔ rows ↔ labels, and the per-document vector arena."""

from __future__ import annotations

import numpy as np
import pytest

from ipsim.indexers.idmap import IdMap, VectorArena, concat_ranges


def test_concat_ranges_matches_the_loop() -> None:
    starts = np.array([5, 0, 100, 7], dtype=np.int64)
    counts = np.array([3, 0, 1, 2], dtype=np.int64)
    want = np.concatenate([np.arange(s, s + c) for s, c in zip(starts, counts, strict=True)])
    assert concat_ranges(starts, counts).tolist() == want.tolist()
    assert concat_ranges(np.zeros(0, np.int64), np.zeros(0, np.int64)).size == 0


def test_labels_are_consecutive_per_document_and_never_reused() -> None:
    ids = IdMap()
    row_a, labels_a = ids.put("a", 3)
    row_b, labels_b = ids.put("b", 1)
    assert labels_a.tolist() == [0, 1, 2] and labels_b.tolist() == [3]
    assert (row_a, row_b) == (0, 1)
    popped = ids.pop("a")
    assert popped is not None and popped[0] == 0 and popped[1].tolist() == [0, 1, 2]
    row_a2, labels_a2 = ids.put("a", 2)
    assert row_a2 == 0  # the freed row is reused …
    assert labels_a2.tolist() == [4, 5]  # … but labels are fresh
    assert ids.next_label == 6
    assert len(ids) == 2 and "a" in ids and "zz" not in ids
    assert ids.live_labels == 3
    assert sorted(ids.ids()) == ["a", "b"]
    assert ids.live_rows().tolist() == [0, 1]


def test_rows_of_labels_marks_dead_and_unknown_labels() -> None:
    ids = IdMap()
    ids.put("a", 2)
    ids.put("b", 2)
    ids.pop("a")
    ids.put("c", 1)
    got = ids.rows_of(np.array([0, 1, 2, 3, 4, 5, -1, 99], dtype=np.int64))
    assert got.tolist() == [-1, -1, 1, 1, 0, -1, -1, -1]
    assert ids.doc_id(0) == "c" and ids.doc_id(1) == "b"
    assert ids.labels_of_rows(np.array([1, 0], dtype=np.int64)).tolist() == [2, 3, 4]
    assert ids.units_of_rows(np.array([0, 1], dtype=np.int64)).tolist() == [1, 2]
    assert ids.pop("a") is None
    assert ids.row("zz") is None


def test_bad_puts_are_refused() -> None:
    ids = IdMap(next_label=10)
    ids.put("a", 1)
    with pytest.raises(KeyError):
        ids.put("a", 1)
    with pytest.raises(ValueError):
        ids.put("b", 0)
    with pytest.raises(ValueError, match="past next_label"):
        ids.put("b", 3, first_label=9)
    row, labels = ids.put("b", 2, first_label=3)  # restoring a snapshot
    assert labels.tolist() == [3, 4] and ids.next_label == 11
    assert ids.rows_of(np.array([3, 4, 10], dtype=np.int64)).tolist() == [row, row, 0]


def test_a_freed_row_is_a_key_error() -> None:
    ids = IdMap()
    ids.put("a", 1)
    ids.put("b", 1)
    ids.pop("a")
    with pytest.raises(KeyError, match="free"):
        ids.doc_id(0)


def test_arena_round_trips_and_compacts_instead_of_growing() -> None:
    rng = np.random.default_rng(0)
    arena = VectorArena(4)
    stored: dict[int, np.ndarray] = {}
    for step in range(2000):
        row = int(rng.integers(0, 20))
        if rng.random() < 0.2:
            arena.drop(row)
            stored.pop(row, None)
        else:
            vectors = rng.standard_normal((int(rng.integers(1, 5)), 4)).astype(np.float32)
            arena.put(row, vectors)
            stored[row] = vectors
        if step % 97 == 0:
            for r, v in stored.items():
                np.testing.assert_array_equal(arena.get(r), v)
    assert arena.live == sum(v.shape[0] for v in stored.values())
    # Rewrites would have needed ~5000 slots; compaction keeps it near the live count.
    assert arena._data.shape[0] <= 4 * max(arena.live, 16)
    rows = np.array(sorted(stored), dtype=np.int64)
    np.testing.assert_array_equal(
        arena.gather(rows), np.concatenate([stored[int(r)] for r in rows])
    )
