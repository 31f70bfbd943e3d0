"""Chemical structure files for ``ipsim ingest``: SD files and SMILES files, read as text.

The client does not depend on RDKit: each structure goes to the server as written
(``{"molblock": ...}`` or ``{"smiles": ...}``) and the server parses and checks it. Here
only the framing is read (record boundaries, ids, SD data items), so that a truncated or
misaligned file stops at the record that is wrong, named by file and line.

Both readers resume from a :class:`~ipsim.clients.ingest.Position` like JSON Lines do, and
keep numbering records from it, so an id made up from a record number is the same in
every run.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from ipsim.clients.ingest import (
    InvalidRecord,
    JSONObject,
    Line,
    Position,
    Record,
    read_lines,
    register_reader,
)

SD_SUFFIXES = (".sdf", ".sd")
SMILES_SUFFIXES = (".smi", ".smiles")

#: Data items that name a record whose title line is empty, in order of preference.
ID_ITEMS = ("id", "name")

_MOL_END = "M  END"
_RECORD_END = "$$$$"
_ITEM_NAME = re.compile(r">[^<]*<([^>]*)>")
_INT = re.compile(r"[+-]?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+(?=[eE]))(?:[eE][+-]?[0-9]+)?")
_INT64 = range(-(2**63), 2**63)


# --- SMILES files -------------------------------------------------------------------


def read_smiles(path: Path, start: Position) -> Iterator[Record]:
    """SMILES files: one ``SMILES [id [anything else]]`` per line, tab or space separated.

    Blank lines and ``#`` comments are skipped, and so is a first line whose first column
    is ``smiles`` (any case: a header). A line without an id is named
    ``<file stem>:<line number>``; what follows the id is not read.
    """
    record = start.record
    header_possible = start.record == 0
    for line in read_lines(path, start):
        text = line.text
        if not text.strip() or text.lstrip().startswith("#"):  # no SMILES starts with "#"
            continue
        if text[0].isspace():
            raise InvalidRecord(
                path, line.number, "the SMILES column is empty (the line starts with whitespace)"
            )
        smiles, *rest = text.split(None, 2)
        if header_possible:
            header_possible = False
            if smiles.lower() == "smiles":
                continue
        record += 1
        doc_id = rest[0] if rest else f"{path.stem}:{line.number}"
        document: JSONObject = {"id": doc_id, "content": {"smiles": smiles}, "fields": {}}
        yield Record(document, line.number, Position(line.end, line.number, record))


# --- SD files -----------------------------------------------------------------------


def read_sdf(path: Path, start: Position) -> Iterator[Record]:
    """SD files: records ending in ``$$$$``, each a molblock then ``> <NAME>`` data items.

    The content is the molblock up to and including ``M  END``. The id is the title line
    when it is not blank, else an ``id`` or ``name`` data item (any case), else
    ``<file stem>:<record number>``. Data items become ``fields`` (see :func:`field_value`);
    when a name repeats, the last value counts. The last record may omit ``$$$$``.
    """
    record = start.record
    lines: list[Line] = []
    for line in read_lines(path, start):
        if line.text.rstrip() != _RECORD_END:
            lines.append(line)
            continue
        record += 1
        yield _sd_record(path, record, lines, Position(line.end, line.number, record), line)
        lines = []
    if any(line.text.strip() for line in lines):
        last = lines[-1]
        record += 1
        yield _sd_record(path, record, lines, Position(last.end, last.number, record), None)


def first_molblock(text: str) -> str | None:
    """The molblock at the start of a molfile or SD file's text, or ``None`` without one."""
    lines = text.splitlines()
    end = _mol_end_index(lines)
    return None if end is None else "\n".join(lines[: end + 1]) + "\n"


def field_value(text: str) -> str | int | float:
    """An SD data item's value: a number when it is written as one, else the text.

    Integers beyond 64 bits, numbers that overflow a float and numbers written with
    leading zeros (often codes, such as ``0042``) stay text.
    """
    stripped = text.strip()
    if _INT.fullmatch(stripped):
        number = int(stripped)
        return number if number in _INT64 else text
    if _FLOAT.fullmatch(stripped):
        real = float(stripped)
        return real if math.isfinite(real) else text
    return text


def _sd_record(
    path: Path, number: int, lines: Sequence[Line], end: Position, terminator: Line | None
) -> Record:
    first_line = lines[0].number if lines else end.line
    mol_end = _mol_end_index([line.text for line in lines])
    if mol_end is None:
        where = f'"$$$$" at line {terminator.number}' if terminator else "the end of the file"
        reason = f'record {number} has no "M  END" line before {where}'
        raise InvalidRecord(path, first_line, reason)
    molblock = "\n".join(line.text for line in lines[: mol_end + 1]) + "\n"
    items = _data_items(path, number, lines[mol_end + 1 :])
    document: JSONObject = {
        "id": _record_id(lines[0].text, items) or f"{path.stem}:{number}",
        "content": {"molblock": molblock},
        "fields": {name: field_value(value) for name, value in items.items()},
    }
    return Record(document, first_line, end)


def _mol_end_index(lines: Sequence[str]) -> int | None:
    return next((i for i, text in enumerate(lines) if text.rstrip() == _MOL_END), None)


def _data_items(path: Path, record: int, lines: Sequence[Line]) -> dict[str, str]:
    """The ``> <NAME>`` items after ``M  END``: each value runs to the next blank line."""
    items: dict[str, str] = {}
    name: str | None = None  # the item whose value lines are being read
    values: list[str] = []
    for line in lines:
        blank = not line.text.strip()
        if name is not None:
            if blank:
                items[name], name, values = "\n".join(values), None, []
            else:
                values.append(line.text)
        elif not blank:
            name = _item_name(path, record, line)
    if name is not None:
        items[name] = "\n".join(values)
    return items


def _item_name(path: Path, record: int, line: Line) -> str:
    found = _ITEM_NAME.match(line.text)
    if found is None or not found[1].strip():
        raise InvalidRecord(
            path,
            line.number,
            f'record {record}: expected a data item header "> <NAME>", got {line.text[:60]!r}',
        )
    return found[1].strip()


def _record_id(title: str, items: dict[str, str]) -> str | None:
    if title.strip():
        return title.strip()
    by_name = {name.lower(): value.strip() for name, value in items.items()}
    for name in ID_ITEMS:
        value = by_name.get(name, "")
        if value and "\n" not in value:
            return value
    return None


for _suffix in SD_SUFFIXES:
    register_reader(_suffix, read_sdf)
for _suffix in SMILES_SUFFIXES:
    register_reader(_suffix, read_smiles)


__all__ = [
    "ID_ITEMS",
    "SD_SUFFIXES",
    "SMILES_SUFFIXES",
    "field_value",
    "first_molblock",
    "read_sdf",
    "read_smiles",
]
