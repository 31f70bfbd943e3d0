"""What every benchmark prints: the machine, its setup, result tables, and the same as Markdown.

A report is printed as plain text and, with ``--markdown FILE``, appended to ``FILE`` as a
Markdown section ready to paste into ``benchmarks/RESULTS.md``. Unless ``--no-results`` is
given it is also written as JSON to ``benchmarks/results/<bench>-<cpu|gpu>.json`` (the latest
run per benchmark and device kind), with the raw numbers of every table, from which
``python -m benchmarks.results_md`` regenerates the tables of ``RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import shlex
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

Cell = str | int | float | None
RESULTS_DIR = Path(__file__).resolve().parent / "results"
"""Where ``Report.publish`` writes its JSON and the benchmarks their plots."""


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return float("nan")


def _gpu() -> str:
    try:
        import torch

        if torch.cuda.is_available():
            return ", ".join(
                torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())
            )
    except Exception:  # any torch trouble just means "no usable GPU" here
        pass
    return "none"


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip()
        return out.stdout.strip() + (" (+ uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _versions() -> str:
    names = ("numpy", "faiss", "torch", "sentence_transformers")
    out = []
    for name in names:
        try:
            module = __import__(name)
            out.append(f"{name} {getattr(module, '__version__', '?')}")
        except ImportError:
            out.append(f"{name} absent")
    return ", ".join(out)


def machine() -> dict[str, str]:
    """The facts that make a number comparable: CPU, cores, memory, GPU, load, versions."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{_cpu_model()} ({os.cpu_count()} cores by nproc)",
        "memory": f"{_memory_gib():.1f} GiB",
        "gpu": _gpu(),
        "load average at start (1, 5, 15 min)": load,
        "python": platform.python_version(),
        "libraries": _versions(),
        "ipsim commit": _git_commit(),
    }


def _raw(cell: Cell) -> Cell:
    """A cell as JSON can hold it: NaN and infinities become None."""
    if isinstance(cell, bool):
        return cell
    if isinstance(cell, int):
        return int(cell)
    if isinstance(cell, float):
        return float(cell) if math.isfinite(cell) else None
    return cell


def _python(cell: Cell) -> Cell:
    """A numpy scalar as its Python value (``np.float32`` is no ``float``); others unchanged."""
    item = getattr(cell, "item", None)
    if callable(item) and not isinstance(cell, str | int | float):
        value: Cell = item()
        return value
    return cell


def _format(cell: Cell) -> str:
    if cell is None:
        return "-"
    if isinstance(cell, float):
        if cell != cell:  # NaN
            return "-"
        magnitude = abs(cell)
        if magnitude >= 100:
            return f"{cell:,.0f}"
        if magnitude >= 10:
            return f"{cell:.1f}"
        return f"{cell:.3f}"
    if isinstance(cell, int):
        return f"{cell:,}"
    return cell


@dataclass
class Table:
    """A titled results table; cells are formatted once, the same for text and Markdown."""

    title: str
    columns: Sequence[str]
    rows: list[list[str]] = field(default_factory=list)
    values: list[list[Cell]] = field(default_factory=list)
    """The same rows unformatted (NaN as None): what the JSON results keep."""
    _left: list[list[bool]] = field(default_factory=list)  # text cells align left

    def add(self, *cells: Cell) -> None:
        """Append a row (as many cells as columns)."""
        if len(cells) != len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns")
        cells = tuple(_python(c) for c in cells)
        self.rows.append([_format(c) for c in cells])
        self.values.append([_raw(c) for c in cells])
        self._left.append([isinstance(c, str) for c in cells])

    def retitled(self, title: str) -> Table:
        """The same rows under another title."""
        return Table(title, self.columns, self.rows, self.values, self._left)

    def to_json(self) -> dict[str, Any]:
        """Title, columns and the raw rows."""
        return {"title": self.title, "columns": list(self.columns), "rows": self.values}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Table:
        """The table a JSON result holds, formatted as when it was printed."""
        table = cls(str(data["title"]), [str(c) for c in data["columns"]])
        for row in data["rows"]:
            table.add(*row)
        return table

    def text(self) -> str:
        """Aligned plain text: labels to the left, numbers to the right."""
        widths = [len(c) for c in self.columns]
        for row in self.rows:
            widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
        lines = [
            self.title,
            "  ".join(c.ljust(w) for c, w in zip(self.columns, widths, strict=True)),
        ]
        lines.append("  ".join("-" * w for w in widths))
        for row, left in zip(self.rows, self._left, strict=True):
            cells = [
                c.ljust(w) if is_left else c.rjust(w)
                for c, w, is_left in zip(row, widths, left, strict=True)
            ]
            lines.append("  ".join(cells).rstrip())
        return "\n".join(lines)

    def markdown(self) -> str:
        """A GitHub Markdown table under a bold title."""
        lines = [f"**{self.title}**", "", "| " + " | ".join(self.columns) + " |"]
        lines.append("|" + "|".join("---" for _ in self.columns) + "|")
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in self.rows]
        return "\n".join(lines)


@dataclass
class Report:
    """One benchmark run: what ran, on what, with what, and what came out."""

    name: str
    setup: dict[str, str]
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    command: str = field(default_factory=lambda: _command_line())
    machine: dict[str, str] = field(default_factory=machine)
    bench: str = ""
    """The results name (``ann``, ``chem``, ``e2e``…); by default ``bench_X`` of the title."""
    device: str = "cpu"
    """What the measured paths ran on: ``cpu``, or a CUDA device (``gpu`` results)."""
    results_dir: Path | None = RESULTS_DIR
    """Where ``publish`` writes the JSON (None: nowhere); set from ``--results``."""
    plots: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.bench:
            head = self.name.split(":", 1)[0].strip()
            self.bench = head.removeprefix("bench_").replace(" ", "_") or "bench"

    @property
    def kind(self) -> str:
        """``cpu`` or ``gpu``: which results file this run replaces."""
        return "cpu" if self.device == "cpu" else "gpu"

    def configure(self, args: argparse.Namespace) -> None:
        """Take ``--results`` / ``--no-results`` and a benchmark's ``--device`` from ``args``."""
        results = getattr(args, "results", RESULTS_DIR)
        self.results_dir = None if getattr(args, "no_results", False) else results
        device = getattr(args, "device", None)
        if isinstance(device, str) and device:
            self.device = device

    def plot_path(self, suffix: str = "") -> Path | None:
        """Where a plot of this run goes (``<bench>[-suffix]-<kind>.png``), None: no plots.

        The path is recorded in the JSON results; the caller draws it (``plots.py``).
        """
        if self.results_dir is None:
            return None
        name = "-".join(filter(None, [self.bench, suffix, self.kind])) + ".png"
        path = self.results_dir / name
        self.plots.append(name)
        return path

    def to_json(self) -> dict[str, Any]:
        """Everything the report says, with the tables' raw numbers."""
        return {
            "name": self.name,
            "bench": self.bench,
            "device": self.device,
            "command": self.command,
            "date": self.machine.get("date", ""),
            "machine": self.machine,
            "setup": self.setup,
            "tables": [t.to_json() for t in self.tables],
            "notes": self.notes,
            "plots": self.plots,
        }

    def write_json(self, folder: Path) -> Path:
        """Write ``<folder>/<bench>-<kind>.json`` (replacing the last run of that kind)."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.bench}-{self.kind}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=1, ensure_ascii=False) + "\n")
        tmp.replace(path)
        return path

    def print_header(self, out: TextIO = sys.stdout) -> None:
        """The setup, printed before the measurements start."""
        print(f"== {self.name}", file=out)
        print(f"command: {self.command}", file=out)
        for key, value in {**self.machine, **self.setup}.items():
            print(f"{key}: {value}", file=out)
        out.flush()

    def print_results(self, out: TextIO = sys.stdout) -> None:
        """Every table, then the notes (goals met or not, and why)."""
        for table in self.tables:
            print(f"\n{table.text()}", file=out)
        if self.notes:
            print("", file=out)
            for note in self.notes:
                print(f"* {note}", file=out)
        out.flush()

    def markdown(self) -> str:
        """The whole report as one Markdown section."""
        lines = [f"## {self.name}", "", f"Command: `{self.command}`", ""]
        lines += [f"- {key}: {value}" for key, value in {**self.machine, **self.setup}.items()]
        for table in self.tables:
            lines += ["", table.markdown()]
        if self.notes:
            lines.append("")
            lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"

    def write_markdown(self, path: Path) -> None:
        """Append the Markdown section to ``path``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as out:
            out.write(self.markdown() + "\n")

    def publish(self, markdown: Path | None) -> None:
        """Print the results, write the JSON results, append Markdown when a file is given."""
        self.print_results()
        if markdown is not None:
            self.write_markdown(markdown)
        if self.results_dir is not None:
            path = self.write_json(self.results_dir)
            print(f"\nresults: {_shown(path)}", *map(_shown, self._plot_files()), sep="\n  ")

    def _plot_files(self) -> list[Path]:
        folder = self.results_dir or RESULTS_DIR
        return [folder / name for name in self.plots if (folder / name).exists()]


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _command_line() -> str:
    module = sys.modules["__main__"].__spec__
    program = f"python -m {module.name}" if module is not None else Path(sys.argv[0]).name
    return " ".join([".venv/bin/" + program, *map(shlex.quote, sys.argv[1:])])


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """``--quick``, ``--markdown FILE``, ``--results DIR`` / ``--no-results`` (JSON, plots)."""
    parser.add_argument(
        "--quick", action="store_true", help="small sizes: a smoke test in well under a minute"
    )
    parser.add_argument(
        "--markdown", type=Path, metavar="FILE", help="append the report to FILE as Markdown"
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=RESULTS_DIR,
        metavar="DIR",
        help="write <bench>-<cpu|gpu>.json and the plots here (default benchmarks/results)",
    )
    parser.add_argument(
        "--no-results", action="store_true", help="write no JSON results and no plots"
    )
