"""RESULTS.md generation: CPU and GPU tables merged side by side, and the rendered text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ipsim.benchmarks import results_md
from ipsim.benchmarks.report import Cell, Report, Table


def _table(title: str, columns: list[str], *rows: tuple[Cell, ...]) -> Table:
    table = Table(title, columns)
    for row in rows:
        table.add(*row)
    return table


def test_merge_puts_cpu_and_gpu_values_of_each_column_side_by_side() -> None:
    cpu = _table("Scan", ["path", "M/s", "ms"], ("one", 10.0, 2.0), ("all", 20.0, 1.0))
    gpu = _table("Scan", ["path", "M/s", "ms"], ("all", 900.0, 0.05), ("cuda", 1000.0, 0.04))

    merged = results_md.merge_tables(cpu, gpu)

    assert merged.columns == ["path", "M/s CPU", "M/s GPU", "ms CPU", "ms GPU"]
    assert merged.values == [
        ["one", 10.0, None, 2.0, None],
        ["all", 20.0, 900.0, 1.0, 0.05],
        ["cuda", None, 1000.0, None, 0.04],
    ]


def test_merge_matches_repeated_first_cells_in_order_and_keeps_extra_columns() -> None:
    cpu = _table("T", ["bits", "rate"], (1024, 1.0), (1024, 2.0), (2048, 3.0))
    gpu = _table("T", ["bits", "rate", "speed-up"], (1024, 10.0, 10.0), (1024, 20.0, 10.0))

    merged = results_md.merge_tables(cpu, gpu)

    assert merged.columns == ["bits", "rate CPU", "rate GPU", "speed-up CPU", "speed-up GPU"]
    assert merged.values == [
        [1024, 1.0, 10.0, None, 10.0],
        [1024, 2.0, 20.0, None, 10.0],
        [2048, 3.0, None, None, None],
    ]


def test_tables_of_another_title_or_first_column_are_not_merged() -> None:
    cpu = _table("A", ["path", "x"], ("p", 1.0))
    assert not results_md.mergeable(cpu, _table("B", ["path", "x"], ("p", 1.0)))
    assert not results_md.mergeable(cpu, _table("A", ["device", "x"], ("p", 1.0)))
    with pytest.raises(ValueError):
        results_md.merge_tables(cpu, _table("B", ["path", "x"]))


def _write(folder: Path, device: str, rate: float, extra: Table | None = None) -> None:
    report = Report(
        "bench_demo: a demonstration",
        {"data": "ten rows"},
        machine={"date": "2026-11-26 10:00 UTC", "cpu": "Test CPU (2 cores)", "gpu": device},
        command=f".venv/bin/ipsim bench demo --device {device}",
        device=device,
        results_dir=folder,
    )
    report.tables.append(_table("Rates", ["path", "M/s"], ("scan", rate)))
    if extra is not None:
        report.tables.append(extra)
    report.notes.append(f"{device} note")
    report.write_json(folder)


def test_render_merges_a_cpu_and_a_gpu_run_and_names_both_commands(tmp_path: Path) -> None:
    _write(tmp_path, "cpu", 12.5)
    _write(tmp_path, "cuda:0", 1250.0, extra=_table("Only GPU", ["k", "v"], ("a", 1)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo-cpu.json", "demo-gpu.json"]

    text = results_md.render(results_md.load_results(tmp_path))

    assert text.startswith(results_md.BEGIN) and text.rstrip().endswith(results_md.END)
    assert "### demo: a demonstration" in text
    assert "- CPU run, 2026-11-26 10:00 UTC: `.venv/bin/ipsim bench demo --device cpu`" in text
    assert "`.venv/bin/ipsim bench demo --device cuda:0`" in text
    assert "| path | M/s CPU | M/s GPU |\n|---|---|---|\n| scan | 12.5 | 1,250 |" in text
    assert "**Only GPU (GPU)**" in text
    assert "- CPU: cpu note" in text and "- GPU: cuda:0 note" in text


def test_a_cpu_only_run_renders_its_tables_unchanged(tmp_path: Path) -> None:
    _write(tmp_path, "cpu", 0.5)

    text = results_md.render(results_md.load_results(tmp_path))

    assert "**Rates**\n\n| path | M/s |\n|---|---|\n| scan | 0.500 |" in text
    assert "M/s CPU" not in text and "GPU run" not in text


def test_json_keeps_raw_numbers_nan_as_null(tmp_path: Path) -> None:
    _write(tmp_path, "cpu", float("nan"))
    data = json.loads((tmp_path / "demo-cpu.json").read_text())
    assert data["tables"][0] == {
        "title": "Rates",
        "columns": ["path", "M/s"],
        "rows": [["scan", None]],
    }
    assert data["bench"] == "demo" and data["setup"] == {"data": "ten rows"}


def test_the_generated_part_replaces_only_itself(tmp_path: Path) -> None:
    hand = "# Results\n\nHand-written prose.\n"
    first = results_md.replace_generated(hand, f"{results_md.BEGIN}\none\n{results_md.END}\n")
    assert first.startswith(hand) and first.endswith(f"{results_md.END}\n")

    second = results_md.replace_generated(
        first + "\nafter\n", f"{results_md.BEGIN}\ntwo\n{results_md.END}\n"
    )
    assert second == f"{hand}\n{results_md.BEGIN}\ntwo\n{results_md.END}\n\nafter\n"


def test_main_writes_into_the_markdown_file(tmp_path: Path) -> None:
    _write(tmp_path, "cpu", 3.0)
    out = tmp_path / "RESULTS.md"
    out.write_text("# Results\n\nKept.\n")

    assert results_md.main(["--results", str(tmp_path), "--out", str(out)]) == 0

    text = out.read_text()
    assert text.startswith("# Results\n\nKept.\n\n" + results_md.BEGIN)
    assert "| scan | 3.000 |" in text
