"""The dynamic batcher: cut policy on a fake clock, batching, back-pressure, failure isolation."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import numpy as np
import pytest

from ipsim.engine.batcher import BatchPolicy, DynamicBatcher
from ipsim.engine.errors import Overloaded


class FakeEncoder:
    """Encodes an int n as the row [n, n]; refuses negative numbers; records batch sizes."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.batches: list[list[int]] = []
        self.gate = gate

    def __call__(self, units: Sequence[int]) -> np.ndarray:
        if self.gate is not None:
            self.gate.wait(5)
        self.batches.append(list(units))
        if any(u < 0 for u in units):
            raise ValueError("negative unit")
        return np.array([[u, u] for u in units], dtype=np.float32)


def test_policy_is_due_when_full_or_when_oldest_waited_long_enough() -> None:
    policy = BatchPolicy(max_batch_size=4, max_delay_s=0.010)
    assert not policy.due(0, None, now=100.0)
    assert not policy.due(3, oldest_at=100.0, now=100.005)
    assert policy.due(4, oldest_at=100.0, now=100.0)
    assert policy.due(1, oldest_at=100.0, now=100.010)
    assert policy.wait(oldest_at=100.0, now=100.004) == pytest.approx(0.006)
    assert policy.wait(oldest_at=100.0, now=100.5) == 0.0


async def test_rows_come_back_in_order_for_each_request() -> None:
    encoder = FakeEncoder()
    batcher: DynamicBatcher[int, np.ndarray] = DynamicBatcher(
        "fake", encoder, max_batch_size=8, max_delay_ms=1
    )
    results = await asyncio.gather(*(batcher.submit([i, i + 100, i + 200]) for i in range(10)))
    for i, rows in enumerate(results):
        assert [row[0] for row in rows] == [i, i + 100, i + 200]
    assert max(len(b) for b in encoder.batches) <= 8
    await batcher.stop()


async def test_concurrent_requests_share_batches() -> None:
    gate = threading.Event()
    encoder = FakeEncoder(gate)
    batcher: DynamicBatcher[int, np.ndarray] = DynamicBatcher(
        "fake", encoder, max_batch_size=16, max_delay_ms=1
    )
    first = asyncio.ensure_future(batcher.submit([0]))  # occupies the device while others queue
    await asyncio.sleep(0.05)
    rest = [asyncio.ensure_future(batcher.submit([i])) for i in range(1, 33)]
    await asyncio.sleep(0.05)
    gate.set()
    await asyncio.gather(first, *rest)
    assert encoder.batches[0] == [0]
    assert [len(b) for b in encoder.batches[1:]] == [16, 16]
    await batcher.stop()


async def test_a_lone_request_waits_at_most_the_delay_on_a_fake_clock() -> None:
    now = [0.0]
    encoder = FakeEncoder()
    batcher: DynamicBatcher[int, np.ndarray] = DynamicBatcher(
        "fake", encoder, max_batch_size=64, max_delay_ms=50, clock=lambda: now[0]
    )
    task = asyncio.ensure_future(batcher.submit([7]))
    await asyncio.sleep(0.02)
    assert not task.done()  # fake time has not moved: the batch is not due
    now[0] = 0.051
    batcher._wakeup.set()  # a real clock would have woken the worker by its timeout
    rows = await asyncio.wait_for(task, 1)
    assert np.stack(rows).tolist() == [[7.0, 7.0]]
    await batcher.stop()


async def test_full_queue_is_refused_with_retry_after() -> None:
    gate = threading.Event()
    batcher: DynamicBatcher[int, np.ndarray] = DynamicBatcher(
        "fake", FakeEncoder(gate), max_batch_size=2, max_delay_ms=0, max_queue=4
    )
    running = asyncio.ensure_future(batcher.submit([1, 2]))
    await asyncio.sleep(0.05)  # the worker holds [1, 2]
    queued = asyncio.ensure_future(batcher.submit([3, 4, 5, 6]))
    await asyncio.sleep(0.01)
    with pytest.raises(Overloaded) as caught:
        await batcher.submit([7])
    assert caught.value.retry_after >= 1
    gate.set()
    assert [row[0] for row in await queued] == [3, 4, 5, 6]
    await running
    await batcher.stop()


async def test_one_bad_input_fails_only_its_own_request() -> None:
    gate = threading.Event()
    encoder = FakeEncoder(gate)
    batcher: DynamicBatcher[int, np.ndarray] = DynamicBatcher(
        "fake", encoder, max_batch_size=8, max_delay_ms=1
    )
    blocker = asyncio.ensure_future(batcher.submit([0]))
    await asyncio.sleep(0.05)
    good = [asyncio.ensure_future(batcher.submit([i])) for i in (1, 2, 3)]
    bad = asyncio.ensure_future(batcher.submit([-1]))
    gate.set()
    await blocker
    assert [(await g)[0][0] for g in good] == [1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match="negative"):
        await bad
    await batcher.stop()
