"""Regenerate the tables of ``benchmarks/RESULTS.md`` from ``benchmarks/results/*.json``.

Every benchmark run writes its latest results per device kind (``<bench>-cpu.json``,
``<bench>-gpu.json``; see ``report.py``). This command renders them all, one section per
benchmark with its command and machine, into the part of ``RESULTS.md`` between
:data:`BEGIN` and :data:`END` (added at the end the first time); the hand-written
sections above stay as they are. Where a CPU and a GPU run of a benchmark hold a table of
the same title and first column, the two become one table with the CPU and GPU values of
each column side by side; rows are matched by their first cell (in order, when it repeats).

    python -m benchmarks.results_md [--results DIR] [--out FILE]     (or: ipsim bench results)
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ipsim.benchmarks.report import RESULTS_DIR, Cell, Table

BEGIN = "<!-- generated:begin (python -m benchmarks.results_md; edits here are overwritten) -->"
END = "<!-- generated:end -->"
RESULTS_MD = RESULTS_DIR.parent / "RESULTS.md"
KINDS = ("cpu", "gpu")
MACHINE_KEYS = ("cpu", "gpu", "memory", "load average at start (1, 5, 15 min)", "libraries")


@dataclass
class Result:
    """One JSON result: a benchmark's latest run on one device kind."""

    bench: str
    kind: str
    name: str
    command: str
    date: str
    machine: dict[str, str]
    setup: dict[str, str]
    tables: list[Table]
    notes: list[str] = field(default_factory=list)
    plots: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Result:
        """A result as ``Report.to_json`` wrote it."""
        device = str(data.get("device", "cpu"))
        return cls(
            bench=str(data["bench"]),
            kind="cpu" if device == "cpu" else "gpu",
            name=str(data["name"]),
            command=str(data["command"]),
            date=str(data.get("date", "")),
            machine={str(k): str(v) for k, v in data.get("machine", {}).items()},
            setup={str(k): str(v) for k, v in data.get("setup", {}).items()},
            tables=[Table.from_json(t) for t in data.get("tables", [])],
            notes=[str(n) for n in data.get("notes", [])],
            plots=[str(p) for p in data.get("plots", [])],
        )


def load_results(folder: Path) -> dict[str, dict[str, Result]]:
    """Every ``*.json`` under ``folder``, by benchmark then device kind (sorted by name)."""
    out: dict[str, dict[str, Result]] = {}
    for path in sorted(folder.glob("*.json")):
        result = Result.from_json(json.loads(path.read_text(encoding="utf-8")))
        out.setdefault(result.bench, {})[result.kind] = result
    return out


def _keys(table: Table) -> list[tuple[Cell, int]]:
    """Each row's first cell with its occurrence number: repeated labels match in order."""
    seen: dict[Cell, int] = {}
    keys = []
    for row in table.values:
        seen[row[0]] = seen.get(row[0], -1) + 1
        keys.append((row[0], seen[row[0]]))
    return keys


def mergeable(cpu: Table, gpu: Table) -> bool:
    """Same title and same first column: one table with CPU and GPU side by side."""
    return cpu.title == gpu.title and cpu.columns[:1] == gpu.columns[:1] and bool(cpu.columns)


def merge_tables(cpu: Table, gpu: Table) -> Table:
    """One table: the first column, then each other column as ``NAME CPU`` and ``NAME GPU``.

    Columns are those of the CPU table, then any only the GPU one has; rows those of the CPU
    table, then any only the GPU one has; a cell a side lacks is empty.
    """
    if not mergeable(cpu, gpu):
        raise ValueError(f"cannot merge {cpu.title!r} and {gpu.title!r}")
    names = list(cpu.columns[1:]) + [c for c in gpu.columns[1:] if c not in cpu.columns[1:]]
    merged = Table(cpu.title, [cpu.columns[0], *(f"{n} {k.upper()}" for n in names for k in KINDS)])
    sides = []
    for table in (cpu, gpu):
        position = {c: i for i, c in enumerate(table.columns)}
        rows = dict(zip(_keys(table), table.values, strict=True))
        sides.append((position, rows))
    order = list(dict.fromkeys([*_keys(cpu), *_keys(gpu)]))
    for key in order:
        cells: list[Cell] = [key[0]]
        for name in names:
            for position, rows in sides:
                row = rows.get(key)
                cells.append(row[position[name]] if row is not None and name in position else None)
        merged.add(*cells)
    return merged


def _machine(result: Result) -> str:
    return "; ".join(f"{k} {result.machine[k]}" for k in MACHINE_KEYS if k in result.machine)


def render_bench(runs: dict[str, Result], results_link: str = "results") -> str:
    """The Markdown section of one benchmark: its runs' commands and machines, then tables."""
    first = next(runs[k] for k in KINDS if k in runs)
    lines = [f"### {first.bench}: {first.name.partition(': ')[2] or first.name}", ""]
    for kind in KINDS:
        if kind in runs:
            run = runs[kind]
            lines.append(f"- {kind.upper()} run, {run.date}: `{run.command}`")
            lines.append(f"  - machine: {_machine(run)}")
    cpu, gpu = runs.get("cpu"), runs.get("gpu")
    tables: list[Table] = []
    if cpu is not None and gpu is not None:
        gpu_tables = list(gpu.tables)
        for table in cpu.tables:
            match = next((t for t in gpu_tables if mergeable(table, t)), None)
            if match is None:
                tables.append(table.retitled(f"{table.title} (CPU)"))
            else:
                gpu_tables.remove(match)
                tables.append(merge_tables(table, match))
        tables += [t.retitled(f"{t.title} (GPU)") for t in gpu_tables]
    else:
        tables = list(first.tables)
    for table in tables:
        lines += ["", table.markdown()]
    for kind in KINDS:
        if kind in runs:
            for plot in runs[kind].plots:
                lines += ["", f"![{plot}]({results_link}/{plot})"]
    notes = [(k, n) for k in KINDS if k in runs for n in runs[k].notes]
    if notes:
        lines.append("")
        lines += [f"- {k.upper()}: {n}" if len(runs) > 1 else f"- {n}" for k, n in notes]
    return "\n".join(lines) + "\n"


def render(results: dict[str, dict[str, Result]], results_link: str = "results") -> str:
    """The whole generated part, markers included."""
    parts = [
        BEGIN,
        "",
        "## Latest results (generated)",
        "",
        "Generated by `python -m benchmarks.results_md` from `benchmarks/results/*.json`, the "
        "latest run of each benchmark per device kind; CPU and GPU columns side by side where "
        "both were measured. A `--quick` run is a smoke test on small data, and the load average "
        "says how busy the machine was: the figures the issues were judged on are the recorded "
        "full runs in the sections above.",
    ]
    for bench in sorted(results):
        parts += ["", render_bench(results[bench], results_link).rstrip("\n")]
    parts += ["", END]
    return "\n".join(parts) + "\n"


def replace_generated(document: str, generated: str) -> str:
    """``document`` with its generated part replaced, or ``generated`` appended at the end."""
    start, stop = document.find(BEGIN), document.find(END)
    if start >= 0 and stop > start:
        return document[:start] + generated.rstrip("\n") + document[stop + len(END) :]
    return document.rstrip("\n") + "\n\n" + generated


def _link(results: Path, out: Path) -> str:
    """The results folder as the Markdown file links it: relative when it lies below it."""
    try:
        return results.resolve().relative_to(out.resolve().parent).as_posix()
    except ValueError:
        return results.resolve().as_posix()


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite the generated part of RESULTS.md; print what it holds."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help="folder of JSON results")
    parser.add_argument("--out", type=Path, default=RESULTS_MD, help="the Markdown file to update")
    args = parser.parse_args(argv)
    results = load_results(args.results)
    link = _link(args.results, args.out)
    text = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
    args.out.write_text(replace_generated(text, render(results, link)), encoding="utf-8")
    for bench, runs in sorted(results.items()):
        print(f"{bench}: {', '.join(sorted(runs))}")
    print(f"wrote {len(results)} benchmarks into {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
