"""The plots of the benchmark results, one function per kind, drawn with matplotlib (Agg).

Each takes the raw series a benchmark measured and a path (``Report.plot_path``; None
draws nothing), so every benchmark's figure looks the same and none carries plotting code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Series = Sequence[float] | npt.NDArray[np.floating[Any]]


def _figure(title: str) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=110)
    axes.set_title(title, fontsize=10)
    axes.grid(True, which="both", alpha=0.3)
    return figure, axes


def _save(figure: Any, axes: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)


def recall_qps(
    path: Path | None,
    curves: Mapping[str, tuple[Series, Series]],
    title: str,
    *,
    recall_label: str = "recall@10",
    qps_label: str = "queries per second (log)",
) -> None:
    """Recall (x) against QPS (y, log scale), one line per curve: the ann-benchmarks plot."""
    if path is None:
        return
    figure, axes = _figure(title)
    for label, (recall, qps) in curves.items():
        pairs = sorted(zip(recall, qps, strict=True))
        axes.plot([r for r, _ in pairs], [q for _, q in pairs], marker="o", label=label)
    axes.set_xlabel(recall_label)
    axes.set_ylabel(qps_label)
    axes.set_yscale("log")
    _save(figure, axes, path)


def latency_histogram(
    path: Path | None, series: Mapping[str, Series], title: str, *, bins: int = 50
) -> None:
    """Histograms of latencies in milliseconds (log-spaced bins), one per series, overlaid."""
    if path is None:
        return
    figure, axes = _figure(title)
    values = [np.asarray(v, dtype=np.float64) for v in series.values() if len(v)]
    if values:
        everything = np.concatenate(values)
        low = max(float(everything.min()), 1e-3)
        high = max(float(everything.max()), low * 1.01)
        edges = np.geomspace(low, high, bins + 1)
        for label, latencies in series.items():
            if len(latencies):
                axes.hist(latencies, bins=edges, alpha=0.5, label=f"{label} (n={len(latencies)})")
        axes.set_xscale("log")
    axes.set_xlabel("latency, ms (log)")
    axes.set_ylabel("requests")
    _save(figure, axes, path)


def throughput_by_batch(
    path: Path | None,
    series: Mapping[str, tuple[Sequence[int], Series]],
    title: str,
    *,
    unit: str = "items/s",
) -> None:
    """Throughput (y) against batch size (x, log2 scale), one line per path."""
    if path is None:
        return
    figure, axes = _figure(title)
    for label, (batches, rates) in series.items():
        axes.plot(list(batches), list(rates), marker="o", label=label)
    axes.set_xscale("log", base=2)
    axes.set_xlabel("batch size")
    axes.set_ylabel(unit)
    _save(figure, axes, path)


def bars(path: Path | None, values: Mapping[str, float], title: str, *, unit: str) -> None:
    """One horizontal bar per labelled value (log scale): rates of unlike paths side by side."""
    if path is None:
        return
    figure, axes = _figure(title)
    labels = list(values)
    axes.barh(labels, [values[label] for label in labels])
    axes.invert_yaxis()
    axes.set_xscale("log")
    axes.set_xlabel(unit)
    axes.tick_params(axis="y", labelsize=8)
    _save(figure, axes, path)


def precision_recall(
    path: Path | None,
    curves: Mapping[str, tuple[Series, Series]],
    title: str,
    *,
    recall_ticks: Series | None = None,
) -> None:
    """Interpolated precision (y) against recall (x), both in [0, 1], one line per method."""
    if path is None:
        return
    figure, axes = _figure(title)
    for label, (recall, precision) in curves.items():
        axes.plot(list(recall), list(precision), marker="o", markersize=3, label=label)
    axes.set(xlabel="recall", ylabel="interpolated precision", xlim=(0, 1), ylim=(0, 1.02))
    if recall_ticks is not None:
        axes.set_xticks(list(recall_ticks))
    _save(figure, axes, path)
