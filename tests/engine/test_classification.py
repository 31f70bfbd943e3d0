"""Classification codes: every real IPC code in every spelling, Vienna and Locarno, bad codes."""

from __future__ import annotations

import pytest
from support.data import shared_data

from ipsim.engine.classification import (
    CPC,
    IPC,
    LOCARNO,
    VIENNA,
    CodeSystem,
    system_for_field,
)

IPC_FILE = shared_data("ip", "ipc", "wipo_ipc_all.tsv")


def _real_ipc_codes() -> list[str]:
    if not IPC_FILE.is_file():
        pytest.skip(f"the shared data ({IPC_FILE}) is absent")
    lines = IPC_FILE.read_text(encoding="utf-8").splitlines()
    return sorted({line.partition("\t")[0] for line in lines if "\t" in line})


def _printed(packed: str) -> tuple[str, str]:
    """WIPO's 14-character code as printed (``A61K 31/495``), and its level."""
    subclass, main, group = packed[:4], int(packed[4:8]), packed[8:].rstrip("0").ljust(2, "0")
    level = "main_group" if group == "00" else "subgroup"
    return f"{subclass} {main}/{group}", level


def test_every_code_of_the_real_ipc_parses_at_its_level_in_every_spelling() -> None:
    codes = _real_ipc_codes()
    assert len(codes) > 70_000
    levels = {1: "section", 3: "class", 4: "subclass"}
    for code in codes:
        path = IPC.parse(code)
        assert path is not None, code
        if len(code) == 14:
            printed, level = _printed(code)
            assert path[-1] == printed, code
            for spelling in (printed, printed.replace(" ", ""), printed.lower()):
                assert IPC.parse(spelling) == path, spelling
        else:
            level = levels[len(code)]
            assert path[-1] == code
        assert IPC.level(path) == level, code
        # Each level's code begins with its parent's, and the path passes through it.
        for depth in range(1, len(path)):
            assert path[depth].startswith(path[depth - 1].partition("/")[0])
            assert IPC.child(path, path[:depth]) == path[depth]
        assert CPC.parse(code) == path


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("A61K 31/495 (2006.01)", "A61K 31/495"),
        ("a61k31/495", "A61K 31/495"),
        ("A61K  31 / 495", "A61K 31/495"),
        ("A61K 31/4950", "A61K 31/495"),  # subgroup digits are decimals
        ("A61K 31", "A61K 31/00"),
        ("A61K0031000000", "A61K 31/00"),
        ("A01B0001020000", "A01B 1/02"),
        ("G06F0009445100", "G06F 9/4451"),
        ("H01L 21/00", "H01L 21/00"),
        ("c07", "C07"),
    ],
)
def test_ipc_spellings_normalise_to_the_printed_form(spelling: str, canonical: str) -> None:
    assert IPC.normalise(spelling) == canonical


def test_an_ipc_path_names_every_ancestor() -> None:
    path = IPC.parse("A61K0031495000")
    assert path == ("A", "A61", "A61K", "A61K 31/00", "A61K 31/495")
    assert [IPC.level(path[: i + 1]) for i in range(len(path))] == list(IPC.levels)
    assert IPC.child(path, ()) == "A"
    assert IPC.child(path, ("A", "A61", "A61K")) == "A61K 31/00"
    assert IPC.child(path, ("A", "A61", "A61K", "A61K 31/00")) == "A61K 31/495"
    assert IPC.child(path, ("A", "A61", "A61P")) is None  # not under it
    assert IPC.child(path, path) is None  # nothing below a subgroup


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "I",  # no section I
        "A6",
        "A61KK",
        "AA61K",
        "A61K 31/4",  # a subgroup has at least two digits
        "A61K 0/00",  # main groups start at 1
        "A61K0000000000",
        "A61K 31/00/1",
        "A61K 12345/00",
        "A61K 31/1234567",
        "A61K003100000",  # 13 characters
        "Y02E 10/50",  # CPC only
        "31/00",
    ],
)
def test_what_is_not_an_ipc_code_is_refused(bad: str) -> None:
    assert IPC.parse(bad) is None


def test_cpc_adds_section_y() -> None:
    assert CPC.normalise("Y02E0010500000") == "Y02E 10/50"
    assert CPC.parse("Y02E 10/50") == ("Y", "Y02", "Y02E", "Y02E 10/00", "Y02E 10/50")


@pytest.mark.parametrize(
    ("spelling", "path"),
    [
        ("01", ("01",)),
        ("1.1", ("01", "01.01")),
        ("1.1.1", ("01", "01.01", "01.01.01")),
        ("01.01.01", ("01", "01.01", "01.01.01")),
        ("A 01.01.01", ("01", "01.01", "01.01.01")),  # auxiliary section marker
        ("A01.01.25", ("01", "01.01", "01.01.25")),
        ("a 24.15.17", ("24", "24.15", "24.15.17")),
        ("5.3", ("05", "05.03")),  # as Israel's feed writes it
        ("18.01.00", ("18", "18.01")),  # section 00: the division itself
        ("18.00", ("18",)),
        ("29.01.15", ("29", "29.01", "29.01.15")),
    ],
)
def test_vienna_codes(spelling: str, path: tuple[str, ...]) -> None:
    assert VIENNA.parse(spelling) == path
    assert VIENNA.level(path) == VIENNA.levels[len(path) - 1]


@pytest.mark.parametrize(
    "bad", ["", "A", "00", "30.01", "0.1.1", "01.00.05", "01.01.01.01", "1..1", "01-01", "123"]
)
def test_what_is_not_a_vienna_code_is_refused(bad: str) -> None:
    assert VIENNA.parse(bad) is None


@pytest.mark.parametrize(
    ("spelling", "path"),
    [
        ("1", ("01",)),
        ("01-01", ("01", "01-01")),
        ("1-1", ("01", "01-01")),
        ("01.01", ("01", "01-01")),
        ("32-02", ("32", "32-02")),
        ("99-00", ("99", "99-00")),
    ],
)
def test_locarno_codes(spelling: str, path: tuple[str, ...]) -> None:
    assert LOCARNO.parse(spelling) == path
    assert LOCARNO.level(path) == ("class", "subclass")[len(path) - 1]


@pytest.mark.parametrize("bad", ["", "0", "00-01", "33", "33-01", "01-01-01", "01-100", "A01"])
def test_what_is_not_a_locarno_code_is_refused(bad: str) -> None:
    assert LOCARNO.parse(bad) is None


@pytest.mark.parametrize(
    ("field", "system"),
    [("ipc", IPC), ("IPC", IPC), ("cpc", CPC), ("vienna", VIENNA), ("Locarno", LOCARNO)],
)
def test_the_field_name_picks_the_scheme(field: str, system: CodeSystem) -> None:
    assert system_for_field(field) is system


def test_other_fields_are_flat() -> None:
    assert system_for_field("country") is None
    assert system_for_field("ipc_main") is None
