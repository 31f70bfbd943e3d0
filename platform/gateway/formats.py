"""The converter seam: a format name → a reader (bytes → records) and a writer.

``st96`` (read and write), ``gbd`` (national GBD/ST.66 records: read only), ``jsonl``
(one record per line, ``{"kind": "trademark"|"patent", …the record's fields}``) and ``csv``
(a header of ``kind`` and every field; list fields hold JSON arrays so that a name with a
comma survives). :func:`read_xml` sniffs which XML shape arrived. A new format is one
:class:`Format` entry in :data:`FORMATS`.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ipsim.engine.errors import InvalidInput
from ipsim.platform.gateway import gbd, st96
from ipsim.platform.gateway.records import GoodsServices, PatentRecord, Record, TrademarkRecord
from ipsim.platform.gateway.xml_safety import local_name, parse_untrusted

Reader = Callable[[bytes], list[Record]]
Writer = Callable[[Sequence[Record]], bytes]


@dataclass(frozen=True)
class Format:
    name: str
    media_type: str
    read: Reader | None
    write: Writer | None


def read_xml(data: bytes) -> list[Record]:
    """Records of an ST.96 or GBD national XML document (parsed safely)."""
    root = parse_untrusted(data)
    if gbd.is_gbd(root):
        return gbd.read_gbd(root)
    if st96.is_st96(root):
        return st96.read_st96(root)
    raise InvalidInput(
        f"{local_name(root)} (line {root.sourceline})",
        "not an ST.96 or GBD document (root element and namespace unknown)",
    )


# --- JSON Lines and CSV --------------------------------------------------------------------

_CLASSES: dict[str, type[TrademarkRecord] | type[PatentRecord]] = {
    "trademark": TrademarkRecord,
    "patent": PatentRecord,
}


def record_to_dict(record: Record) -> dict[str, Any]:
    kind = "trademark" if isinstance(record, TrademarkRecord) else "patent"
    return {"kind": kind} | dataclasses.asdict(record)


def record_from_dict(data: Any, where: str) -> Record:
    """A record from :func:`record_to_dict`'s shape; unknown keys are an error."""
    if not isinstance(data, dict):
        raise InvalidInput(where, "must be an object")
    kind = data.get("kind", "")
    cls = _CLASSES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise InvalidInput(f"{where}.kind", "must be 'trademark' or 'patent'")
    names = {f.name for f in dataclasses.fields(cls)}
    values = {k: v for k, v in data.items() if k != "kind"}
    unknown = sorted(set(values) - names)
    if unknown:
        raise InvalidInput(f"{where}.{unknown[0]}", "is not a field of this record kind")
    try:
        for key, value in list(values.items()):
            if isinstance(value, list):
                if key == "goods_services":
                    value = [GoodsServices(**g) if isinstance(g, dict) else g for g in value]
                values[key] = tuple(value)
        record: Record = cls(**values)
    except TypeError as exc:
        raise InvalidInput(where, str(exc)) from None
    _check_types(record, where)
    return record


def _check_types(record: Record, where: str) -> None:
    """JSON and CSV can carry any type: every field must hold what the record declares."""
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        at = f"{where}.{f.name}"
        if f.default == () and not isinstance(value, tuple):
            raise InvalidInput(at, "must be a list")
        if f.name == "goods_services":
            for i, goods in enumerate(value):
                if not isinstance(goods, GoodsServices):
                    raise InvalidInput(f"{at}[{i}]", "must be an object with nice_class")
                number = goods.nice_class
                if isinstance(number, bool) or not isinstance(number, int):
                    raise InvalidInput(f"{at}[{i}].nice_class", "must be an integer")
                if not all(isinstance(t, str | None) for t in (goods.text, goods.language)):
                    raise InvalidInput(f"{at}[{i}]", "text and language must be strings")
        elif f.default == ():
            if not all(isinstance(item, str) for item in value):
                raise InvalidInput(at, "must be a list of strings")
        elif not isinstance(value, str) and not (value is None and "None" in str(f.type)):
            raise InvalidInput(at, "must be a string")


def _utf8(data: bytes) -> str:
    """The body as text; a binary upload (an archive, say) is a 400 saying where it broke."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InvalidInput(f"line {line}", f"not UTF-8 text ({exc.reason})") from None


def read_jsonl(data: bytes) -> list[Record]:
    records = []
    for number, line in enumerate(_utf8(data).splitlines(), 1):
        if line.strip():
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"line {number}", f"not JSON: {exc.msg}") from None
            except RecursionError:
                raise InvalidInput(f"line {number}", "JSON nested too deeply") from None
            records.append(record_from_dict(value, f"line {number}"))
    return records


def write_jsonl(records: Sequence[Record]) -> bytes:
    lines = (json.dumps(record_to_dict(r), ensure_ascii=False) for r in records)
    return "".join(f"{line}\n" for line in lines).encode()


def _columns() -> list[str]:
    names = ["kind"]
    for cls in _CLASSES.values():
        names += [f.name for f in dataclasses.fields(cls) if f.name not in names]
    return names


def write_csv(records: Sequence[Record]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_columns(), lineterminator="\n")
    writer.writeheader()
    for record in records:
        row = record_to_dict(record)
        writer.writerow(
            {
                k: json.dumps(list(v), ensure_ascii=False) if isinstance(v, tuple) else v
                for k, v in row.items()
            }
        )
    return out.getvalue().encode()


def read_csv(data: bytes) -> list[Record]:
    rows = csv.DictReader(io.StringIO(_utf8(data)))
    try:
        return _csv_records(rows)
    except csv.Error as exc:  # a field over csv.field_size_limit(), say
        raise InvalidInput(f"line {rows.line_num}", f"not CSV: {exc}") from None


def _csv_records(rows: csv.DictReader[str]) -> list[Record]:
    records = []
    for number, row in enumerate(rows, 2):
        cls = _CLASSES.get(row.get("kind") or "")
        fields = dataclasses.fields(cls) if cls else ()
        lists = {f.name for f in fields if f.default == ()}
        values: dict[str, Any] = {"kind": row.get("kind")}
        for key, text in row.items():
            if key in {f.name for f in fields} and text not in (None, ""):
                values[key] = _json_list(text, f"line {number}.{key}") if key in lists else text
        records.append(record_from_dict(values, f"line {number}"))
    return records


def _json_list(text: str, where: str) -> list[Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, list):
        raise InvalidInput(where, "must be a JSON array")
    return value


FORMATS: dict[str, Format] = {
    "st96": Format("st96", "application/xml", read_xml, st96.write_st96),
    "gbd": Format("gbd", "application/xml", read_xml, None),
    "jsonl": Format("jsonl", "application/x-ndjson", read_jsonl, write_jsonl),
    "csv": Format("csv", "text/csv", read_csv, write_csv),
}


def get_format(name: str, *, writing: bool = False) -> Format:
    found = FORMATS.get(name)
    if found is None or (found.write if writing else found.read) is None:
        usable = [n for n, f in FORMATS.items() if (f.write if writing else f.read)]
        raise InvalidInput("format", f"must be one of {', '.join(usable)}, got {name!r}")
    return found


__all__ = ["FORMATS", "Format", "get_format", "read_xml", "record_from_dict", "record_to_dict"]
