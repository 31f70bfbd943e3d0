"""Text encoder throughput on the CPU: torch fp32 vs ONNX Runtime fp32 vs ONNX Runtime int8.

The in-process encoder (:class:`~ipsim.models.text.TextEncoder`, sentence-transformers on
torch) against the graph ``ipsim export triton`` writes, run by ONNX Runtime as it is and
after dynamic int8 quantisation (``onnxruntime.quantization.quantize_dynamic``: int8
weights with per-channel scales, activations quantised per batch at run time; the usual
CPU recipe for BERT-style models). Every path includes its tokenisation, so a row is what
an encoder costs per text.
Batches of 1, 16 and 64 real short texts (titles, headlines, sentences); the paths take
turns on the same blocks of texts, so background load hits them alike. All paths use the
same number of threads (torch's default: one per core).

Speed alone would flatter int8, so its vectors are compared with torch's: cosine per text
and how many of each text's 10 nearest neighbours (among all the texts) stay the same.

Results: ``benchmarks/results/encode-cpu.json`` and throughput against batch size
(``encode-cpu.png``); ``--model DIR`` takes any local sentence-transformers model folder.

    ipsim bench encode [--quick] [--model DIR] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from ipsim.benchmarks import datasets, plots
from ipsim.benchmarks.metrics import Latency
from ipsim.benchmarks.report import Report, Table, add_common_arguments
from ipsim.models.registry import resolve_text_model
from ipsim.models.text import TextEncoder
from ipsim.models.triton_backend import max_seq_length, tokenize
from ipsim.models.triton_export import export_triton

BATCH_SIZES = (1, 16, 64)
NEIGHBOURS = 10
Encode = Callable[[Sequence[str]], npt.NDArray[np.float32]]


def onnx_encoder(path: Path, model_dir: Path, threads: int) -> Encode:
    """Tokenise as the remote backend does, run the ONNX graph; unit rows out."""
    import onnxruntime as ort
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    window = max_seq_length(model_dir, tokenizer)

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def encode(texts: Sequence[str]) -> npt.NDArray[np.float32]:
        tokens = tokenize(tokenizer, texts, window)
        feed = {"input_ids": tokens["input_ids"], "attention_mask": tokens["attention_mask"]}
        (rows,) = session.run(None, feed)
        return np.asarray(rows, dtype=np.float32)

    return encode


def quantized(source: Path) -> Path:
    """The graph with int8 weights (dynamic quantisation), beside the fp32 one."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = source.with_name("model.int8.onnx")
    logging.getLogger().setLevel(logging.ERROR)  # its advice to pre-process: not needed here
    # Per-channel scales: per-tensor QInt8 measured mean cosine 0.962 to torch on short
    # texts (min 0.91), per-channel 0.993 (min 0.988).
    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True)
    return target


def time_paths(
    paths: dict[str, Encode], texts: Sequence[str], batch: int, warmup: int = 2
) -> dict[str, Latency]:
    """Seconds per batch on each path; the paths take turns on each block of batches."""
    batches = [texts[i : i + batch] for i in range(0, len(texts) - batch + 1, batch)]
    for encode in paths.values():
        for chunk in batches[:warmup]:
            encode(chunk)
    seconds: dict[str, list[float]] = {name: [] for name in paths}
    block = max(1, 64 // batch)
    for start in range(0, len(batches), block):
        for name, encode in paths.items():
            for chunk in batches[start : start + block]:
                began = time.perf_counter()
                encode(chunk)
                seconds[name].append(time.perf_counter() - began)
    return {name: Latency.of(values) for name, values in seconds.items()}


def neighbour_overlap(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32], k: int) -> float:
    """Mean share of each row's k nearest rows (by inner product) that ``a`` and ``b`` agree on."""

    def nearest(rows: npt.NDArray[np.float32]) -> npt.NDArray[np.int64]:
        scores = rows @ rows.T
        np.fill_diagonal(scores, -np.inf)
        return np.argsort(-scores, axis=1)[:, :k]

    ours, theirs = nearest(a), nearest(b)
    shared = [len(set(x) & set(y)) for x, y in zip(ours.tolist(), theirs.tolist(), strict=True)]
    return float(np.mean(shared)) / k


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the report (and append it as Markdown when asked)."""
    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--texts", type=int, help="texts per batch size (default 1,024)")
    parser.add_argument("--model", default="all-MiniLM-L6-v2", help="text model (name or folder)")
    args = parser.parse_args(argv)
    n = args.texts or (128 if args.quick else 1024)
    texts = datasets.short_texts()[:n]
    threads = torch.get_num_threads()
    name, path = resolve_text_model(args.model)
    encoder = TextEncoder(name, path)
    mean_chars = float(np.mean([len(t) for t in texts]))

    report = Report(
        "bench_encode: text encoder on the CPU, torch fp32 vs ONNX Runtime fp32 / int8",
        {
            "model": name,
            "texts": f"{len(texts)} distinct real short texts (mean {mean_chars:.0f} characters),"
            " in batches of " + ", ".join(map(str, BATCH_SIZES)),
            "threads": f"{threads} for every path (torch intra-op; ONNX Runtime intra-op)",
            "torch": "TextEncoder.encode (sentence-transformers, fp32, tokenisation included)",
            "onnx": "the `ipsim export triton` graph on onnxruntime's CPU provider, "
            "tokenised with the model's tokenizer; int8 = quantize_dynamic (QInt8 weights, "
            "per-channel scales)",
        },
    )
    report.configure(args)
    report.print_header()
    with tempfile.TemporaryDirectory() as tmp:
        exported = export_triton(args.model, Path(tmp))
        paths: dict[str, Encode] = {
            "torch fp32": encoder.encode,
            "onnxruntime fp32": onnx_encoder(exported.onnx, path, threads),
            "onnxruntime int8": onnx_encoder(quantized(exported.onnx), path, threads),
        }
        table = Table(
            "Throughput",
            ["path", "batch", "texts/s", "p50 ms / batch", "p95 ms / batch", "× torch"],
        )
        series: dict[str, tuple[list[int], list[float]]] = {p: ([], []) for p in paths}
        for batch in tqdm(BATCH_SIZES, desc="batch sizes", leave=False):
            timings = time_paths(paths, texts, batch)
            base = timings["torch fp32"].mean_ms
            for label, latency in timings.items():
                rate = batch / (latency.mean_ms / 1e3)
                series[label][0].append(batch)
                series[label][1].append(rate)
                table.add(
                    label, batch, rate, latency.p50_ms, latency.p95_ms, base / latency.mean_ms
                )
        report.tables.append(table)
        plots.throughput_by_batch(
            report.plot_path(),
            series,
            f"Text encoder throughput against batch size ({name}, {threads} threads)",
            unit="texts per second",
        )

        reference = encoder.encode(texts)
        quality = Table(
            "Vectors against torch fp32",
            ["path", "min cosine", "mean cosine", f"top-{NEIGHBOURS} neighbours kept"],
        )
        for label in ("onnxruntime fp32", "onnxruntime int8"):
            rows = np.concatenate(
                [paths[label](texts[i : i + 64]) for i in range(0, len(texts), 64)]
            )
            cosines = np.sum(rows * reference, axis=1)
            overlap = neighbour_overlap(rows, reference, NEIGHBOURS)
            quality.add(label, float(cosines.min()), float(cosines.mean()), overlap)
        report.tables.append(quality)
    report.notes.append(
        "texts/s = batch size / mean seconds per batch; × torch = torch's mean seconds per "
        "batch / this path's, at the same batch size"
    )
    report.publish(args.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
