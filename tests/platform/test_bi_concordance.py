"""The WIPO IPC-technology concordance: real IPC codes to their fields (written out from the
published table), every spelling of a code, the longest-prefix exceptions, fractional
weights, and bad codes answered with None."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.data import shared_data

from ipsim.engine.classification import IPC
from ipsim.platform.bi.concordance import SECTORS, Concordance

IPC_SCHEME = shared_data("ip", "ipc", "wipo_ipc_all.tsv")

# (code, field) from WIPO's table; every code is in the IPC scheme of ../shared/data.
REAL_CODES: list[tuple[str, int]] = [
    ("H01M 10/052", 1), ("H02J 7/00", 1), ("F21S 8/00", 1),
    ("G11B 7/00", 2), ("H04R 1/10", 2), ("H04N 19/00", 2),
    ("H04B 7/00", 3), ("H01Q 1/24", 3), ("H04N 1/00", 3),
    ("H04L 9/32", 4), ("H04W 72/04", 4), ("H04N 21/43", 4),
    ("H03K 17/00", 5), ("H03M 13/00", 5),
    ("G06F 3/01", 6), ("G06N 3/08", 6), ("G16B 40/00", 6),
    ("G06Q 50/00", 7),
    ("H01L 21/02", 8),
    ("G02B 6/00", 9), ("H01S 5/00", 9),
    ("G01N 21/00", 10), ("G01B 11/00", 10), ("G04R 20/00", 10),
    ("G01N 33/53", 11),
    ("G05B 19/00", 12), ("G08G 1/00", 12),
    ("A61B 5/00", 13), ("A61F 2/00", 13), ("G16H 10/00", 13),
    ("A61K 8/97", 14), ("C07D 401/00", 14), ("A61Q 19/00", 14),
    ("C12N 15/00", 15), ("C07K 14/00", 15),
    ("A61K 31/495", 16), ("A61P 35/00", 16), ("A61K 39/00", 16),
    ("C08L 23/00", 17), ("C08G 18/00", 17),
    ("A23L 33/00", 18), ("C13B 10/00", 18),
    ("C09K 11/00", 19), ("C10L 1/00", 19),
    ("C22C 38/00", 20), ("C04B 35/00", 20), ("C01B 32/00", 20),
    ("C23C 14/00", 21), ("B05D 1/00", 21),
    ("B82Y 30/00", 22), ("B81B 7/00", 22),
    ("B01D 1/00", 23), ("B01J 19/00", 23),
    ("B01D 53/86", 24), ("C02F 1/00", 24), ("E01F 8/00", 24),
    ("B65G 47/00", 25), ("B66C 13/00", 25),
    ("B23K 26/00", 26), ("B24B 37/00", 26),
    ("F02D 41/00", 27), ("F03D 80/00", 27),
    ("D21H 27/00", 28),
    ("B33Y 10/00", 29), ("A01B 1/00", 29), ("C13B 5/00", 29),
    ("F24S 20/00", 30), ("F25B 9/00", 30),
    ("F16H 57/00", 31), ("F16L 55/00", 31),
    ("B60L 53/00", 32), ("B64C 27/00", 32),
    ("A63F 13/00", 33), ("A47C 7/00", 33), ("A47L 9/00", 33),
    ("A45D 44/00", 34), ("D06F 58/00", 34),
    ("E04B 1/00", 35), ("E01F 9/00", 35), ("E21B 43/00", 35),
]  # fmt: skip
# Codes of IPC editions newer than the shared scheme, caught by WIPO's 2021-2023 additions.
NEWER_CODES: list[tuple[str, int]] = [
    ("G06V 40/16", 6),
    ("H10K 59/00", 8),
    ("H04N 23/60", 2),
    ("B64U 10/00", 32),
]


@pytest.fixture(scope="module")
def concordance() -> Concordance:
    return Concordance.load()


def test_the_table_has_the_35_fields_in_the_5_wipo_sectors(concordance: Concordance) -> None:
    assert [f.number for f in concordance.fields] == list(range(1, 36))
    per_sector = [sum(f.sector == s for f in concordance.fields) for s in SECTORS]
    assert per_sector == [8, 5, 11, 8, 3]
    assert concordance.field(1).name == "Electrical machinery, apparatus, energy"
    assert concordance.field(35).name == "Civil engineering"
    assert len(concordance.rules) == 771  # every row of WIPO's table
    assert concordance.rules["A61K 40"] == 13  # its newest rule (2024-07-03)
    assert concordance.rules["H10"] == 8  # a class-level rule (2023)


@pytest.mark.parametrize(("code", "field"), REAL_CODES + NEWER_CODES)
def test_a_real_code_maps_to_its_field(concordance: Concordance, code: str, field: int) -> None:
    assert concordance.field_of(code) == field


def test_the_test_table_covers_every_field_with_codes_of_the_real_scheme() -> None:
    assert {field for _, field in REAL_CODES} == set(range(1, 36))
    assert len(REAL_CODES) >= 40
    if not IPC_SCHEME.exists():
        pytest.skip("the shared IPC scheme is absent")
    scheme = _scheme_symbols()
    assert [code for code, _ in REAL_CODES if code not in scheme] == []


def test_every_main_group_of_the_ipc_scheme_has_a_field(concordance: Concordance) -> None:
    if not IPC_SCHEME.exists():
        pytest.skip("the shared IPC scheme is absent")
    main_groups = [code for code in _scheme_symbols() if code.endswith("/00")]
    assert len(main_groups) > 7000
    assert [code for code in main_groups if concordance.field_of(code) is None] == []


@pytest.mark.parametrize(
    "spelling",
    ["A61K 31/495", "A61K31/495", "A61K  31/495", "a61k 31/495", "A61K0031495000",
     " A61K 31/495 (2006.01)", "A61K 31/00", "A61K 31"],
)  # fmt: skip
def test_every_common_spelling_of_a_code_maps_alike(
    concordance: Concordance, spelling: str
) -> None:
    assert concordance.field_of(spelling) == 16


def test_the_longest_prefix_wins_over_the_subclass(concordance: Concordance) -> None:
    # A61K is split by main group: cosmetics (8) to organic fine chemistry, the rest pharma.
    assert concordance.field_of("A61K 8/02") == 14
    assert concordance.field_of("A61K0008020000") == 14
    assert concordance.field_of("A61K 80/00") is None  # not "A61K 8" + "0": no such rule
    # H04N: television (5) audio-visual, 21 digital communication, 1 telecommunications.
    assert [concordance.field_of(c) for c in ("H04N 5/44", "H04N 21/00", "H04N 1/04")] == [2, 4, 3]


@pytest.mark.parametrize(
    "code",
    ["A61K", "H04N", "A61", "A", "", "   ", "Z99Z 1/00", "A61K 1/00", "C13B 1/00", "A61K 0/00",
     "A61K 31/", "A61K31/00/00", "hello", "12345", "A61K 31/00; G06F 3/00"],
)  # fmt: skip
def test_unknown_or_malformed_codes_have_no_field(concordance: Concordance, code: str) -> None:
    assert concordance.field_of(code) is None


def test_non_string_codes_have_no_field(concordance: Concordance) -> None:
    for code in (None, 42, b"A61K 31/00", ["A61K 31/00"]):
        assert concordance.field_of(code) is None  # type: ignore[arg-type]


def test_weights_count_an_application_fractionally_by_its_classified_symbols(
    concordance: Concordance,
) -> None:
    weights = concordance.weights(["H01L 21/00", "H01L 29/00", "G06F 3/00"])
    assert weights == pytest.approx({8: 2 / 3, 6: 1 / 3})
    # The same symbol in two spellings counts once; unmapped codes are left out.
    assert concordance.weights(["H01L 21/00", "H01L0021000000", "A61K", "junk"]) == {8: 1.0}
    four = concordance.weights(["A61K 8/97", "A61K 31/00", "C12N 15/00", "A61P 35/00"])
    assert four == pytest.approx({14: 0.25, 15: 0.25, 16: 0.5})
    assert sum(four.values()) == pytest.approx(1.0)


def test_weights_of_an_application_with_no_mapped_code_are_empty(
    concordance: Concordance,
) -> None:
    assert concordance.weights([]) == {}
    assert concordance.weights(["A61K", "nonsense", "Z99Z 1/00"]) == {}


def test_a_malformed_table_file_is_refused_with_its_fault_named(tmp_path: Path) -> None:
    broken = tmp_path / "table.toml"
    broken.write_text('[[fields]]\nnumber = 1\nname = "X"\nsector = "Electrical engineering"\n'
                      'ipc = ["H01 L"]\n')  # fmt: skip
    with pytest.raises(ValueError, match=r"fields\[0\]\.ipc: 'H01 L' is not an IPC prefix"):
        Concordance.load(broken)
    broken.write_text("not toml [")
    with pytest.raises(ValueError, match="unreadable"):
        Concordance.load(broken)
    with pytest.raises(ValueError, match="unreadable"):
        Concordance.load(tmp_path / "missing.toml")


def _scheme_symbols() -> set[str]:
    symbols: set[str] = set()
    with IPC_SCHEME.open(encoding="utf-8") as file:
        for line in file:
            code = line.split("\t", 1)[0]
            if len(code) == 14:  # groups only, in WIPO's packed form
                symbols.add(IPC.normalise(code) or code)
    return symbols
