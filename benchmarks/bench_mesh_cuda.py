"""The Siamese mesh network on CUDA against the CPU: throughput, and whether answers agree.

    python -m benchmarks.bench_mesh_cuda [--clouds FILE.npy] [--total N] [--markdown FILE]

Input clouds are the network's own (``SiameseNetwork.cloud`` of every valid shared mesh).
Making them needs the mesh stack (parsers, Open3D); the comparison itself needs only
torch, so a GPU machine without that stack can run it on clouds saved elsewhere:
``--save-clouds FILE.npy`` here, ``--clouds FILE.npy`` there. Without a CUDA device the
table says so. Measured: clouds/s per batch size (median of three passes over ``--total``
clouds, tiled from the real ones), the largest difference between CUDA (bf16 autocast) and
CPU vectors, the smallest cosine, and how many real shapes keep their nearest neighbour.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch

from ipsim.benchmarks.report import Report, Table, add_common_arguments
from ipsim.models.mesh_siamese import DEFAULT_CHECKPOINT, SiameseNetwork

Matrix = npt.NDArray[np.float32]
BATCHES = (64, 512)


def median_ms(work: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``repeat`` runs after one warm-up, in milliseconds."""
    work()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return 1000.0 * statistics.median(times)


def embed_all(network: SiameseNetwork, clouds: Matrix, batch: int) -> Matrix:
    # embed returns host arrays, so a pass is synchronised with the device
    parts = [network.embed(clouds[i : i + batch]) for i in range(0, len(clouds), batch)]
    return np.concatenate(parts)


def cuda_comparison(clouds: Matrix, checkpoint: Path | None, total: int) -> list[Table]:
    """Throughput per device and batch, and CPU/CUDA agreement on the real clouds."""
    speed = Table(
        "Siamese batch embedding: CUDA (bf16 autocast) vs CPU",
        ["device", "batch", "clouds", "clouds/s", "speed-up"],
    )
    agreement = Table(
        f"CUDA vs CPU vectors of the {len(clouds)} real shapes",
        ["max abs(CUDA - CPU)", "min cosine", "same nearest neighbour"],
    )
    if not torch.cuda.is_available():
        speed.add("no CUDA device", None, None, None, None)
        return [speed]
    tiled = np.resize(clouds, (total, *clouds.shape[1:]))
    networks = {d: SiameseNetwork.load(checkpoint, device=d) for d in ("cpu", "cuda")}
    for batch in BATCHES:
        rates = {}
        for device, network in networks.items():
            ms = median_ms(lambda n=network, b=batch: embed_all(n, tiled, b), 3)  # type: ignore[misc]
            rates[device] = total / (ms / 1000.0)
        label = torch.cuda.get_device_name()
        speed.add(f"cpu ({torch.get_num_threads()} threads)", batch, total, rates["cpu"], 1.0)
        speed.add(f"cuda ({label})", batch, total, rates["cuda"], rates["cuda"] / rates["cpu"])
    cpu, cuda = (embed_all(networks[d], clouds, 64) for d in ("cpu", "cuda"))
    cosine = (cpu * cuda).sum(axis=1)
    agreement.add(float(np.abs(cuda - cpu).max()), float(cosine.min()), _same_neighbours(cpu, cuda))
    return [speed, agreement]


def _same_neighbours(first: Matrix, second: Matrix) -> str:
    """How many rows have the same nearest other row under both sets of vectors."""
    nearest = []
    for rows in (first, second):
        similarity = rows @ rows.T
        np.fill_diagonal(similarity, -np.inf)
        nearest.append(similarity.argmax(axis=1))
    return f"{int((nearest[0] == nearest[1]).sum())} of {len(first)}"


def real_clouds(checkpoint: Path | None) -> Matrix:
    """The network's input for every valid shared mesh (needs the mesh stack)."""
    from ipsim.benchmarks.datasets import data_root
    from ipsim.models.mesh_geometry import normalise
    from ipsim.models.mesh_training import discover, load_items

    folder = data_root() / "mesh"
    shapes = [s for s in discover(folder) if s.label != "invalid_input"]
    items, _ = load_items(folder, shapes)
    network = SiameseNetwork.load(checkpoint)
    return np.stack([network.cloud(normalise(item.mesh)) for item in items])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--clouds", type=Path, help="saved clouds (.npy) instead of the meshes")
    parser.add_argument("--save-clouds", type=Path, help="write the clouds (.npy) and stop")
    parser.add_argument("--checkpoint", type=Path, help="Siamese checkpoint (default: shipped)")
    parser.add_argument("--total", type=int, help="clouds per timed pass (default 8192)")
    args = parser.parse_args(argv)
    clouds = np.load(args.clouds) if args.clouds else real_clouds(args.checkpoint)
    if args.save_clouds:
        np.save(args.save_clouds, clouds)
        print(f"{len(clouds)} clouds → {args.save_clouds}")
        return 0
    total = args.total or (1024 if args.quick else 8192)
    report = Report(
        "bench_mesh_cuda: the Siamese mesh network on CUDA vs CPU",
        {
            "clouds": f"{len(clouds)} real shapes, {clouds.shape[1]} points x "
            f"{clouds.shape[2]} channels, tiled to {total} per pass",
            "checkpoint": str(args.checkpoint or DEFAULT_CHECKPOINT),
            "torch": f"{torch.__version__}, CUDA {torch.version.cuda}",
        },
    )
    report.configure(args)
    report.device = "cuda" if report.machine["gpu"] != "none" else "cpu"
    report.print_header()
    report.tables += cuda_comparison(clouds.astype(np.float32), args.checkpoint, total)
    report.publish(args.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
