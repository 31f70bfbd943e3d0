"""Where the shared real data sets are (``$IPSIM_BENCH_DATA``, ``../shared/data``, …)."""

from __future__ import annotations

from pathlib import Path

from ipsim.benchmarks.datasets import data_root


def shared_data(*parts: str) -> Path:
    """A path inside the shared data folder (one that does not exist when it is absent)."""
    try:
        root = data_root()
    except FileNotFoundError:
        root = Path("/nonexistent/shared/data")
    return root.joinpath(*parts)


CHEMISTRY = shared_data("chemistry")
