"""What every benchmark prints: the machine, its setup, result tables, and the same as Markdown.

A report is printed as plain text and, with ``--markdown FILE``, appended to ``FILE`` as a
Markdown section ready to paste into ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shlex
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

Cell = str | int | float | None


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
    _left: list[list[bool]] = field(default_factory=list)  # text cells align left

    def add(self, *cells: Cell) -> None:
        """Append a row (as many cells as columns)."""
        if len(cells) != len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns")
        self.rows.append([_format(c) for c in cells])
        self._left.append([isinstance(c, str) for c in cells])

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
        """Print the results, and append them to ``markdown`` when a file is given."""
        self.print_results()
        if markdown is not None:
            self.write_markdown(markdown)


def _command_line() -> str:
    module = sys.modules["__main__"].__spec__
    program = f"python -m {module.name}" if module is not None else Path(sys.argv[0]).name
    return " ".join([".venv/bin/" + program, *map(shlex.quote, sys.argv[1:])])


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """``--quick`` (smoke-test size) and ``--markdown FILE`` (append the report there)."""
    parser.add_argument(
        "--quick", action="store_true", help="small sizes: a smoke test in well under a minute"
    )
    parser.add_argument(
        "--markdown", type=Path, metavar="FILE", help="append the report to FILE as Markdown"
    )
