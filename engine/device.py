"""The one place that decides where models and indexes run: CPU or which CUDA device."""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Device:
    """Where encoders run (``torch``) and how many GPUs the indexes may use."""

    torch: str
    faiss_gpus: int
    cuda_devices: int = 0
    """CUDA devices torch sees: flat indexes search on them through torch when FAISS has
    no GPU (the pip faiss-cpu build, or a faiss-gpu built for another CUDA)."""

    @property
    def is_cuda(self) -> bool:
        return self.torch.startswith("cuda")

    @property
    def index_device(self) -> str:
        """Where vector indexes search: ``cuda`` (sharded collections spread their shards
        over every GPU) when FAISS or torch has a GPU and the encoders run on CUDA or the
        setting was ``auto``; else the CPU."""
        if self.faiss_gpus > 0 or (self.is_cuda and self.cuda_devices > 0):
            return "cuda:0" if max(self.faiss_gpus, self.cuda_devices) == 1 else "cuda"
        return "cpu"


def _cuda_count() -> int:
    try:
        import torch

        return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0
    except Exception:  # a broken CUDA driver must not stop a CPU server
        log.warning("CUDA probe failed; using the CPU", exc_info=True)
        return 0


def _faiss_gpus() -> int:
    import faiss

    get = getattr(faiss, "get_num_gpus", None)
    return int(get()) if get is not None else 0


def resolve_device(setting: str = "auto") -> Device:
    """``auto`` picks CUDA when torch sees a GPU; ``cpu``/``cuda``/``cuda:N`` force it."""
    setting = setting.strip().lower()
    cuda = _cuda_count()
    if setting == "auto":
        torch_device = "cuda:0" if cuda else "cpu"
    elif setting == "cpu":
        torch_device = "cpu"
    elif setting == "cuda" or setting.startswith("cuda:"):
        index = int(setting.partition(":")[2] or 0)
        if index >= cuda:
            raise ValueError(f"device: {setting!r} requested but only {cuda} CUDA device(s) found")
        torch_device = f"cuda:{index}"
    else:
        raise ValueError(f"device: expected auto, cpu, cuda or cuda:N, got {setting!r}")
    gpus = _faiss_gpus() if torch_device != "cpu" or setting == "auto" else 0
    return Device(torch=torch_device, faiss_gpus=gpus, cuda_devices=cuda)
