"""Formula queries and Hill formulas: syntax, ranges, matching, errors with positions."""

from __future__ import annotations

import re

import pytest
from rdkit import Chem, rdBase
from rdkit.Chem import rdMolDescriptors
from support.data import CHEMISTRY

from ipsim.models.base import InvalidContent
from ipsim.models.formula import element_field, hill_formula, parse_formula_query

NCI = CHEMISTRY / "nci_first_5K.smi"


def _nci_molecules() -> list[Chem.Mol]:
    with rdBase.BlockLogs():  # the few records RDKit refuses are skipped
        parsed = [Chem.MolFromSmiles(line.split("\t")[0]) for line in NCI.read_text().splitlines()]
    return [mol for mol in parsed if mol is not None]


def _counts(mol: Chem.Mol) -> dict[str, int]:
    """Element counts the long way: make every hydrogen an atom, then count symbols."""
    symbols = [atom.GetSymbol() for atom in Chem.AddHs(mol).GetAtoms()]
    return {symbol: symbols.count(symbol) for symbol in set(symbols)}


@pytest.mark.parametrize(
    ("counts", "formula"),
    [
        ({"N": 4, "O": 2, "H": 10, "C": 8}, "C8H10N4O2"),
        ({"Br": 1, "H": 3, "C": 1}, "CH3Br"),
        ({"O": 2, "C": 1}, "CO2"),
        ({"S": 1, "O": 4, "H": 2}, "H2O4S"),  # no carbon: H takes its alphabetical place
        ({"H": 1, "Cl": 1}, "ClH"),
        ({"H": 3, "B": 1}, "BH3"),
        ({"C": 2, "H": 6, "O": 1, "Na": 0}, "C2H6O"),
        ({}, ""),
    ],
)
def test_hill_formula(counts: dict[str, int], formula: str) -> None:
    assert hill_formula(counts) == formula


def test_hill_formula_refuses_negative_counts() -> None:
    with pytest.raises(ValueError, match="negative"):
        hill_formula({"C": -1})


def test_hill_formula_is_rdkit_formula_for_carbon_compounds_of_nci() -> None:
    checked = 0
    for mol in _nci_molecules()[:2000]:
        if not any(a.GetSymbol() == "C" for a in mol.GetAtoms()):
            continue
        rdkit_formula = re.sub(r"[+-]\d*$", "", rdMolDescriptors.CalcMolFormula(mol))
        assert hill_formula(_counts(mol)) == rdkit_formula
        checked += 1
    assert checked > 1900


@pytest.mark.parametrize("text", ["C8H10N4O2", "H10C8O2N4", "O2N4H10C8", " C8 H10\tN4 O2 "])
def test_element_order_and_whitespace_do_not_matter(text: str) -> None:
    query = parse_formula_query(text)
    assert query.exact == "C8H10N4O2"
    assert query.counts == {"C": (8, 8), "H": (10, 10), "N": (4, 4), "O": (2, 2)}


def test_counts_ranges_open_ranges_any_and_implicit_one() -> None:
    query = parse_formula_query("C6-8H*O2NCl1-")
    assert query.counts == {"C": (6, 8), "H": (0, None), "O": (2, 2), "N": (1, 1), "Cl": (1, None)}
    assert query.exact is None
    assert parse_formula_query("Co2").counts == {"Co": (2, 2)}  # cobalt
    assert parse_formula_query("CO2").counts == {"C": (1, 1), "O": (2, 2)}  # carbon dioxide
    assert parse_formula_query("C6-6").exact == "C6"  # a range of one count is exact


def test_matches_bounds_absent_elements_and_other_elements() -> None:
    query = parse_formula_query("C6-8H*O2")
    assert query.matches({"C": 6, "H": 6, "O": 2})
    assert query.matches({"C": 8, "O": 2})  # H* allows none
    assert not query.matches({"C": 5, "H": 6, "O": 2})
    assert not query.matches({"C": 9, "H": 6, "O": 2})
    assert not query.matches({"C": 7, "H": 6, "O": 3})
    assert not query.matches({"C": 7, "H": 6})  # O absent counts as 0
    assert not query.matches({"C": 7, "H": 6, "O": 2, "N": 1})
    assert query.matches({"C": 7, "H": 6, "O": 2, "N": 1}, allow_other_elements=True)
    assert query.matches({"C": 7, "H": 6, "O": 2, "N": 0})  # a zero count is absence
    open_ended = parse_formula_query("C10-N1-")
    assert open_ended.matches({"C": 40, "N": 9}) and not open_ended.matches({"C": 40})


def test_exact_is_equality_of_hill_formulas_on_nci() -> None:
    """With other elements refused, an exact query matches exactly the equal formulas."""
    counts = [_counts(m) for m in _nci_molecules()[:1500]]
    for wanted in {hill_formula(c) for c in counts[:40]}:
        query = parse_formula_query(wanted)
        assert query.exact == wanted
        by_match = [i for i, c in enumerate(counts) if query.matches(c)]
        by_formula = [i for i, c in enumerate(counts) if hill_formula(c) == wanted]
        assert by_match == by_formula and by_match


def test_range_filter_narrows_on_elements_that_must_be_present() -> None:
    query = parse_formula_query("C6-8H*O2N0-3S1-")
    assert query.range_filter() == {
        element_field("C"): {"gte": 6, "lte": 8},
        element_field("O"): {"gte": 2, "lte": 2},
        element_field("S"): {"gte": 1},
    }
    assert element_field("Cl") == "element_Cl"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("C8Xx2", "unknown element 'Xx' at position 3"),
        ("C8Q2", "unknown element 'Q' at position 3"),
        ("C8-2", "range 8-2 of C at position 1 has min > max"),
        ("CHC", "element C is repeated at position 3"),
        ("C6 H6 C", "element C is repeated at position 7"),
        ("c8", "expected an element symbol at position 1, got 'c'"),
        ("C-5", "expected an element symbol at position 2, got '-'"),
        ("C8H10!", "expected an element symbol at position 6, got '!'"),
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("C" * 257, "longer than 256 characters"),
        ("C1000000", "count 1000000 of C at position 1 is above 999999"),
        ("C1-1000000", "count 1000000 of C at position 1 is above 999999"),
        (7, "must be a string, not int"),
    ],
)
def test_bad_formulas_name_the_problem_and_position(text: object, needle: str) -> None:
    with pytest.raises(InvalidContent) as caught:
        parse_formula_query(text)  # type: ignore[arg-type]
    assert caught.value.field == "formula"
    assert needle in caught.value.message
