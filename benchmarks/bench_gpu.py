"""CPU vs CUDA: exact (flat) search at 1M × 384 and the text encoder, in one run.

Flat search: FAISS ``IndexFlatIP`` on every CPU core (the CPU path) against the flat
family's CUDA path, :class:`~ipsim.indexers.torch_search.TorchFlatSearch` in float32 and
float16, at batch 1, 16 and 256 (k = 10), on embedding-like unit vectors. The CUDA answers
are checked against the CPU's (same top-10 labels for float32; recall@10 for float16), and
the time of a batch is set against the memory-bandwidth floor: one pass over the vectors
at the card's device-to-device copy speed, measured in the same run.

Then the FlatIndex itself moved to CUDA (``to("cuda")``: the torch mirror when FAISS has
no GPU) must give the CPU's answers, and the text encoder (the MiniLM-L6 architecture;
random weights unless ``--model DIR``, since throughput does not depend on them) is timed
on the CPU, on CUDA in float32 and in float16 (what the engine runs on CUDA), with the
vectors of the CUDA runs compared with the CPU's.

    .venv/bin/python -m benchmarks.bench_gpu [--quick] [--n N] [--model DIR] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt
import torch

from ipsim.benchmarks.report import Report, Table, add_common_arguments
from ipsim.indexers.flat import FlatIndex
from ipsim.indexers.torch_search import TorchFlatSearch, cuda_device_count

K = 10
BATCHES = (1, 16, 256)
DIM = 384
DEMO = Path(__file__).resolve().parents[1] / "demo" / "patents.jsonl"
Floats = npt.NDArray[np.float32]


def embeddings(n: int, dim: int, seed: int) -> Floats:
    """Unit vectors with sentence-embedding-like structure (a 16-dim latent + noise)."""
    basis = np.random.default_rng(0).standard_normal((16, dim)).astype(np.float32)
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        rows = min(n, start + 100_000) - start
        block = rng.standard_normal((rows, 16)).astype(np.float32) @ basis
        block += 0.4 * rng.standard_normal((rows, dim)).astype(np.float32)
        out[start : start + rows] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def median_seconds(run: Callable[[], Any], repeats: int) -> float:
    run()  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def copy_bandwidth(device: str) -> float:
    """Bytes per second of a device-to-device copy, counting bytes read and written."""
    data = torch.empty(1 << 30, dtype=torch.uint8, device=device)  # 1 GiB
    target = torch.empty_like(data)
    torch.cuda.synchronize()

    def copy() -> None:
        target.copy_(data)
        torch.cuda.synchronize()

    return 2 * data.numel() / median_seconds(copy, 10)


def flat_search(report: Report, n: int, cuda: bool) -> None:
    base, queries = embeddings(n, DIM, 1), embeddings(max(BATCHES), DIM, 2)
    labels = np.arange(n, dtype=np.int64)
    cpu = faiss.IndexFlatIP(DIM)
    cpu.add(base)
    paths: dict[str, Callable[[Floats], tuple[Any, Any]]] = {
        f"CPU FAISS flat ({faiss.omp_get_max_threads()} threads)": lambda q: cpu.search(q, K)
    }
    if cuda:
        full = TorchFlatSearch("cuda", "ip", labels, base)
        half = TorchFlatSearch("cuda", "ip", labels, base, half=True)
        paths["CUDA torch flat, float32"] = lambda q: full.search(q, K)
        paths["CUDA torch flat, float16"] = lambda q: half.search(q, K)
    truth = cpu.search(queries, K)[1]
    table = Table(
        f"Flat search, {n:,} x {DIM}, k={K}: milliseconds per batch",
        ["path", *(f"batch {b}" for b in BATCHES), "queries/s at 256", "top-10 = CPU's"],
    )
    times: dict[str, list[float]] = {}
    for name, search in paths.items():
        row = [
            median_seconds(functools.partial(search, queries[:batch]), 20 if batch < 256 else 5)
            for batch in BATCHES
        ]
        times[name] = row
        found = search(queries)[1]
        same = np.mean([set(a) == set(b) for a, b in zip(found, truth, strict=True)])
        recall = np.mean([len(set(a) & set(b)) / K for a, b in zip(found, truth, strict=True)])
        agreement = f"{same:.3f} (recall@10 {recall:.3f})"
        table.add(name, *(t * 1000 for t in row), BATCHES[-1] / row[-1], agreement)
    report.tables.append(table)
    if not cuda:
        report.notes.append("No CUDA device: the CUDA rows were not measured.")
        return
    cpu_times = next(iter(times.values()))
    ratios = Table("CUDA speed-up over the CPU (same batch)", ["path", *map(str, BATCHES)])
    for name, row in list(times.items())[1:]:
        ratios.add(name, *(c / g for c, g in zip(cpu_times, row, strict=True)))
    report.tables.append(ratios)
    bandwidth = copy_bandwidth("cuda")
    floor = n * DIM * 4 / (bandwidth / 2)  # one read of the float32 vectors at copy speed
    floor_half = floor / 2
    gpu32, gpu16 = times["CUDA torch flat, float32"], times["CUDA torch flat, float16"]
    report.notes.append(
        f"Memory-bandwidth floor (one read of the vectors at the measured copy speed, "
        f"{bandwidth / 1e12:.2f} TB/s read+write): float32 {floor * 1000:.3f} ms, float16 "
        f"{floor_half * 1000:.3f} ms per batch; measured at batch 1: float32 "
        f"{gpu32[0] / floor:.2f}x the floor, float16 {gpu16[0] / floor_half:.2f}x."
    )
    best = max(c / g for c, g in zip(cpu_times, gpu32, strict=True))
    report.notes.append(
        f"Goal (CUDA flat >= 50x CPU flat): {'MET' if best >= 50 else 'NOT MET'} — best "
        f"float32 ratio {best:.1f}x (the CPU here is the GPU machine's own, all its cores)."
    )


def flat_index_on_cuda(report: Report, cuda: bool) -> None:
    """The FlatIndex family moved to CUDA answers as on the CPU."""
    n = 100_000
    base, queries = embeddings(n, DIM, 3), embeddings(64, DIM, 4)
    index = FlatIndex.of(DIM, "ip", np.arange(n, dtype=np.int64) * 3, base)
    on_cpu = index.search(queries, K)
    index.to("cuda" if cuda else "cpu")
    on_device = index.search(queries, K)
    same = bool((on_cpu.labels == on_device.labels).all())
    gap = float(np.abs(on_cpu.scores - on_device.scores).max())
    report.notes.append(
        f"FlatIndex.to('cuda') searches on {index.device}: labels equal to the CPU's: "
        f"{same}; largest score difference {gap:.2e} ({n:,} vectors, 64 queries)."
    )


def encoder(
    report: Report, model: Path | None, architecture: Path | None, texts: Sequence[str], cuda: bool
) -> None:
    from sentence_transformers import SentenceTransformer

    from ipsim.models.text import TextEncoder

    if model is None and architecture is None:
        from ipsim.models.registry import bundled_text_model_dir

        architecture = bundled_text_model_dir()
    folder = model or random_minilm(architecture or Path())
    batch = 256
    rows = {"CPU (ipsim TextEncoder)": TextEncoder("bench", folder, device="cpu")}
    if cuda:
        rows["CUDA float16 (ipsim TextEncoder)"] = TextEncoder("bench", folder, device="cuda")
    table = Table(
        f"Text encoder ({'given weights' if model else 'MiniLM-L6 architecture, random weights'})"
        f", {len(texts)} real titles, batch {batch}",
        ["path", "texts/s", "min cosine to CPU"],
    )
    reference = rows["CPU (ipsim TextEncoder)"].encode(texts[:batch])

    def timed(encode: Callable[[Sequence[str]], Floats]) -> tuple[float, Floats]:
        encode(texts[:batch])
        started = time.perf_counter()
        for start in range(0, len(texts), batch):
            encode(texts[start : start + batch])
        return len(texts) / (time.perf_counter() - started), encode(texts[:batch])

    for name, model_encoder in rows.items():
        speed, vectors = timed(model_encoder.encode)
        table.add(name, speed, float(np.min(np.sum(vectors * reference, axis=1))))
    if cuda:
        full = SentenceTransformer(str(folder), device="cuda", local_files_only=True)

        def encode32(units: Sequence[str]) -> Floats:
            out: Floats = full.encode(
                list(units), batch_size=batch, convert_to_numpy=True, normalize_embeddings=True
            )
            return out

        speed, vectors = timed(encode32)
        table.add(
            "CUDA float32 (sentence-transformers)",
            speed,
            float(np.min(np.sum(vectors * reference, axis=1))),
        )
    report.tables.append(table)


def random_minilm(source: Path) -> Path:
    """The MiniLM-L6 folder with seeded random weights (when the real ones do not travel)."""
    from transformers import AutoConfig, AutoModel

    folder = Path(tempfile.mkdtemp(prefix="minilm-random-"))
    for item in source.iterdir():
        if item.name != "model.safetensors":
            (shutil.copytree if item.is_dir() else shutil.copy)(item, folder / item.name)
    torch.manual_seed(0)
    network = AutoModel.from_config(AutoConfig.from_pretrained(source))  # type: ignore[no-untyped-call]
    network.save_pretrained(folder)
    return folder


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--n", type=int, help="vectors (default 1,000,000; --quick 100,000)")
    parser.add_argument("--model", type=Path, help="a sentence-transformers model folder")
    parser.add_argument(
        "--architecture",
        type=Path,
        help="time this model folder's architecture with random weights (default: the"
        " installed all-MiniLM-L6-v2's; its weights need not be there)",
    )
    args = parser.parse_args(argv)
    n = args.n or (100_000 if args.quick else 1_000_000)
    cuda = cuda_device_count() > 0
    titles = [json.loads(line)["content"]["text"] for line in DEMO.read_text().splitlines()]
    texts = (titles * (4096 // len(titles) + 1))[: 512 if args.quick else 4096]
    report = Report(
        "bench_gpu: flat search and the text encoder, CPU vs CUDA",
        {
            "cuda": torch.cuda.get_device_name(0) if cuda else "none",
            "torch": torch.__version__,
            "faiss": f"{faiss.__version__} ({faiss.get_num_gpus()} FAISS GPUs)",
            "vectors": f"{n:,} x {DIM} embedding-like unit vectors, {len(BATCHES)} batch sizes",
        },
    )
    report.configure(args)
    report.device = "cuda" if report.machine["gpu"] != "none" else "cpu"
    report.print_header()
    flat_search(report, n, cuda)
    flat_index_on_cuda(report, cuda)
    encoder(report, args.model, args.architecture, texts, cuda)
    report.publish(args.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
