"""The one place that decides where models and indexes run: CPU or which CUDA device."""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Device:
    """Where encoders run (``torch``) and how many GPUs FAISS may use."""

    torch: str
    faiss_gpus: int

    @property
    def is_cuda(self) -> bool:
        return self.torch.startswith("cuda")

    @property
    def index_device(self) -> str:
        """Where vector indexes live: the first GPU when FAISS has one, else the CPU."""
        return "cuda:0" if self.faiss_gpus > 0 else "cpu"


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
    return Device(torch=torch_device, faiss_gpus=gpus)
