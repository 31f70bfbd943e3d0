"""Chemistry search speed in one run: Tanimoto scans (``bench_tanimoto``) and substructure
search (``bench_substructure``), each beside its RDKit baseline, as one report.

The two benchmarks run one after the other with the options below; their tables keep their
titles, prefixed ``Tanimoto:`` / ``Substructure:``. Results: ``benchmarks/results/chem-cpu.json``
(``chem-gpu.json`` with ``--device cuda``) and a bar chart of the full-scan rates
(``chem-cpu.png``).

    ipsim bench chem [--quick] [--rows N] [--bits 1024,2048] [--copies N] [--device cuda]
        [--markdown FILE]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ipsim.benchmarks import bench_substructure, bench_tanimoto, plots
from ipsim.benchmarks.report import Cell, Report, add_common_arguments


def _options(args: argparse.Namespace, names: Sequence[str]) -> list[str]:
    """The given options among ``names`` as command-line words, plus ``--quick``."""
    words = ["--quick"] if args.quick else []
    for name in names:
        value = getattr(args, name)
        if value is not None:
            words += [f"--{name}", str(value)]
    return [*words, "--no-results"]


def _number(cell: Cell) -> float:
    return float(cell) if isinstance(cell, int | float) else 0.0


def joined(tanimoto: Report, substructure: Report, device: str) -> Report:
    """One report holding both: setups and tables prefixed by the benchmark they come from."""
    report = Report(
        "bench_chem: Tanimoto scans and substructure search beside RDKit",
        {
            **{f"tanimoto {k}": v for k, v in tanimoto.setup.items()},
            **{f"substructure {k}": v for k, v in substructure.setup.items()},
        },
        bench="chem",
        device=device,
        machine=tanimoto.machine,
    )
    for prefix, part in (("Tanimoto", tanimoto), ("Substructure", substructure)):
        for table in part.tables:
            report.tables.append(table.retitled(f"{prefix}: {table.title}"))
        report.notes += [f"{prefix}: {note}" for note in part.notes]
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Run both chemistry benchmarks; print one report, write its JSON and plot."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--rows", type=int, help="Tanimoto rows scanned (quick 100,000)")
    parser.add_argument("--bits", help="Tanimoto fingerprint sizes (default 1024,2048)")
    parser.add_argument("--device", choices=("cpu", "cuda"), help="also time the CUDA scan")
    parser.add_argument("--copies", type=int, help="substructure database copies (default 1)")
    args = parser.parse_args(argv)
    tanimoto, _ = bench_tanimoto.run(_options(args, ("rows", "bits", "device")))
    substructure, _ = bench_substructure.run(_options(args, ("copies",)))
    report = joined(tanimoto, substructure, args.device or "cpu")
    report.configure(args)
    scans = tanimoto.tables[0]  # bits, path, device, threads, M fps/s, …
    plots.bars(
        report.plot_path(),
        {
            f"{row[0]} bits {row[1]} ({row[2]}, {row[3]} thr)": _number(row[4])
            for row in scans.values
        },
        "Tanimoto full scans (every row)",
        unit="million fingerprints per second (log)",
    )
    report.publish(args.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
