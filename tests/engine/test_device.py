"""The one Device decision: where encoders run and where indexes search."""

from __future__ import annotations

import pytest

from ipsim.engine.device import Device, resolve_device


@pytest.mark.parametrize(
    ("device", "expected"),
    [
        (Device("cpu", faiss_gpus=0, cuda_devices=0), "cpu"),
        (Device("cpu", faiss_gpus=0, cuda_devices=2), "cpu"),  # `cpu` asked for: stays
        (Device("cuda:0", faiss_gpus=0, cuda_devices=1), "cuda:0"),  # torch's flat search
        (Device("cuda:0", faiss_gpus=1, cuda_devices=1), "cuda:0"),
        (Device("cuda:0", faiss_gpus=4, cuda_devices=4), "cuda"),  # shards spread over GPUs
        (Device("cuda:1", faiss_gpus=0, cuda_devices=2), "cuda"),
    ],
)
def test_index_device(device: Device, expected: str) -> None:
    assert device.index_device == expected


def test_resolve_device_here() -> None:
    chosen = resolve_device("cpu")
    assert chosen.torch == "cpu" and chosen.index_device == "cpu"
    auto = resolve_device("auto")
    assert auto.is_cuda == (auto.cuda_devices > 0)
    with pytest.raises(ValueError, match="expected auto, cpu, cuda or cuda:N"):
        resolve_device("tpu")
    with pytest.raises(ValueError, match="requested but only"):
        resolve_device(f"cuda:{auto.cuda_devices}")
