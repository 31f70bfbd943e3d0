"""The chemical encoder on real molecules (NCI): fields, fingerprints, errors, substructure."""

from __future__ import annotations

import logging
import random
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from rdkit import Chem, DataStructs, RDLogger
from rdkit.Chem import MACCSkeys, rdFingerprintGenerator, rdMolDescriptors
from rdkit.Chem.EnumerateStereoisomers import EnumerateStereoisomers, StereoEnumerationOptions
from support.data import CHEMISTRY

from ipsim.models.base import InvalidContent
from ipsim.models.chemical import ChemicalEncoder, Molecule
from ipsim.models.registry import AVAILABLE_MODALITIES, UnknownModel, load_encoder

DATA = CHEMISTRY
CAFFEINE = "Cn1cnc2c1c(=O)n(C)c(=O)n2C"
DRUGS = [  # the NCI 5K set holds no beta-lactam: add two, and a steroid
    "CC1(C)S[C@@H]2[C@H](NC(=O)Cc3ccccc3)C(=O)N2[C@H]1C(=O)O",  # penicillin G
    "CC1=C(N2[C@@H]([C@@H](C2=O)NC(=O)[C@@H](c2ccccc2)N)SC1)C(=O)O",  # cephalexin
    "C[C@]12CC[C@H]3[C@@H](CCC4=CC(=O)CC[C@@]34C)[C@@H]1CC[C@@H]2O",  # testosterone
]

SCAFFOLDS = {
    "benzene": {"smiles": "c1ccccc1"},
    "pyridine": {"smiles": "c1ccncc1"},
    "steroid core": {"smiles": "C1CCC2C(C1)CCC1C2CCC2CCCC12"},
    "beta-lactam": {"smiles": "O=C1CCN1"},
    "naphthalene": {"smiles": "c1ccc2ccccc2c1"},
    "carboxylic acid": {"smarts": "C(=O)[OH]"},
    "acid or carboxylate": {"smarts": "[$([CX3](=O)[OX2H1]),$([CX3](=O)[OX1-])]"},
    "non-amide N": {"smarts": "[#7;!$(N-C=O)]"},
    "any 5-ring": {"smarts": "*1~*~*~*~*1"},
    "ring fusion atom": {"smarts": "[R2]"},
    "aromatic 6-ring atom next to N": {"smarts": "[a;r6]~[#7]"},
    "sulfonyl": {"smarts": "[#8]~[#16](~[#8])"},
    "sp3 carbon": {"smarts": "[C^3]"},
    "halogen": {"smarts": "[Cl,Br,I]"},
}


def _nci() -> list[str]:
    return [line.split("\t")[0] for line in (DATA / "nci_first_5K.smi").read_text().splitlines()]


def _bits(rows: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    """words16 rows back to one 0/1 byte per bit (the inverse of the encoder's packing)."""
    packed = np.ascontiguousarray(rows.astype("<u2")).view(np.uint8)
    return np.unpackbits(packed, axis=1, bitorder="little")


def _on(bits: npt.NDArray[np.uint8]) -> list[int]:
    return [int(i) for i in np.flatnonzero(bits)]


@pytest.fixture(scope="module")
def encoder() -> ChemicalEncoder:
    return ChemicalEncoder()


@pytest.fixture(scope="module")
def nci(encoder: ChemicalEncoder) -> list[Molecule]:
    """The NCI 5K set (and DRUGS) as documents; the few RDKit refuses have their own test."""
    molecules = []
    for smiles in _nci() + DRUGS:
        try:
            molecules.extend(encoder.preprocess({"smiles": smiles}, "document").units)
        except InvalidContent:
            continue
    return molecules


@pytest.fixture(scope="module")
def nci_bits(encoder: ChemicalEncoder, nci: list[Molecule]) -> npt.NDArray[np.uint8]:
    return _bits(encoder.encode(nci))


# -- derived fields ---------------------------------------------------------------------


def test_caffeine_fields(encoder: ChemicalEncoder) -> None:
    prepared = encoder.preprocess({"smiles": CAFFEINE}, "document")
    (molecule,) = prepared.units
    fields = molecule.fields
    assert fields["inchikey"] == "RYYVLZVUVIJVGH-UHFFFAOYSA-N"
    assert fields["inchikey_connectivity"] == "RYYVLZVUVIJVGH"
    assert fields["inchi"].startswith("InChI=1S/C8H10N4O2/")
    assert fields["formula"] == "C8H10N4O2" and fields["formal_charge"] == 0
    element_fields = {k: v for k, v in fields.items() if k.startswith("element_")}
    assert element_fields == {"element_C": 8, "element_H": 10, "element_N": 4, "element_O": 2}
    assert fields["heavy_atoms"] == 14
    assert fields["mol_weight"] == pytest.approx(194.19, abs=0.01)
    assert fields["smiles"] == Chem.MolToSmiles(Chem.MolFromSmiles(CAFFEINE))
    assert [(s.start, s.end) for s in prepared.spans] == [(0, len(CAFFEINE))]


def test_canonical_smiles_and_inchikey_survive_atom_reordering(
    encoder: ChemicalEncoder, nci: list[Molecule]
) -> None:
    shuffle = random.Random(7)
    for molecule in nci[:300]:
        order = list(range(molecule.mol.GetNumAtoms()))
        shuffle.shuffle(order)
        scrambled = Chem.MolToSmiles(Chem.RenumberAtoms(molecule.mol, order), canonical=False)
        (again,) = encoder.preprocess({"smiles": scrambled}, "document").units
        assert again.fields["smiles"] == molecule.fields["smiles"], scrambled
        assert again.fields.get("inchikey") == molecule.fields.get("inchikey")


def test_formula_and_element_counts_agree_with_rdkit_on_nci(nci: list[Molecule]) -> None:
    for molecule in nci:
        fields = molecule.fields
        rdkit_formula = re.sub(r"[+-]\d*$", "", rdMolDescriptors.CalcMolFormula(molecule.mol))
        if "element_C" in fields:  # without carbon RDKit still puts H first; Hill does not
            assert fields["formula"] == rdkit_formula
        with_hs = Chem.AddHs(molecule.mol)
        symbols = [a.GetSymbol() for a in with_hs.GetAtoms() if a.GetAtomicNum() > 0]
        expected = {f"element_{s}": symbols.count(s) for s in set(symbols)}
        assert {k: v for k, v in fields.items() if k.startswith("element_")} == expected
        assert fields["heavy_atoms"] == sum(n for s, n in expected.items() if s != "element_H")
        assert fields["formal_charge"] == Chem.GetFormalCharge(molecule.mol)


@pytest.mark.parametrize(
    ("smiles", "formula"),
    [("Cl", "ClH"), ("OP(=O)(O)F", "FH2O3P"), ("B", "BH3"), ("O", "H2O"), ("F[Xe]F", "F2Xe")],
)
def test_formulas_without_carbon_are_alphabetical_as_hill_says(
    encoder: ChemicalEncoder, smiles: str, formula: str
) -> None:
    assert encoder.preprocess({"smiles": smiles}, "document").units[0].fields["formula"] == formula


def test_charges_stay_out_of_the_formula_and_in_formal_charge(encoder: ChemicalEncoder) -> None:
    def fields(smiles: str) -> dict[str, Any]:
        return encoder.preprocess({"smiles": smiles}, "document").units[0].fields

    cation = fields("C[N+](C)(C)C")
    assert (cation["formula"], cation["formal_charge"]) == ("C4H12N", 1)
    salt = fields("CC(=O)[O-].[Na+]")
    assert (salt["formula"], salt["formal_charge"], salt["element_Na"]) == ("C2H3NaO2", 0, 1)
    acetate = fields("CC(=O)[O-]")
    assert (acetate["formula"], acetate["formal_charge"]) == ("C2H3O2", -1)


def test_a_molecule_inchi_refuses_keeps_its_other_fields(encoder: ChemicalEncoder) -> None:
    fields = encoder.preprocess({"smiles": "c1ccccc1*"}, "document").units[0].fields
    assert not {"inchi", "inchikey", "inchikey_connectivity"} & set(fields)
    assert fields["formula"] == "C6H5" and fields["smiles"] == "*c1ccccc1"


def test_molblocks_of_the_nci_sdf_parse_like_rdkit_reads_them(encoder: ChemicalEncoder) -> None:
    text = (DATA / "nci_first_200.props.sdf").read_text()
    records = [r for r in text.split("$$$$\n") if r.strip()]
    assert len(records) == 200
    for record in records:
        fields = encoder.preprocess({"molblock": record}, "document").units[0].fields
        assert fields["smiles"] == Chem.MolToSmiles(Chem.MolFromMolBlock(record))
        listed = record.split(">  <SMILES>")[1].split("\n")[1]  # the record's own SMILES field
        flat = Chem.MolToSmiles(Chem.MolFromSmiles(fields["smiles"]), isomericSmiles=False)
        assert flat == Chem.MolToSmiles(Chem.MolFromSmiles(listed), isomericSmiles=False)


def test_a_v3000_molblock_gives_the_same_molecule(encoder: ChemicalEncoder) -> None:
    v3000 = Chem.MolToV3KMolBlock(Chem.MolFromSmiles(CAFFEINE))
    assert "V3000" in v3000
    fields = encoder.preprocess({"molblock": v3000}, "document").units[0].fields
    assert fields["inchikey"] == "RYYVLZVUVIJVGH-UHFFFAOYSA-N"


# -- fingerprints -----------------------------------------------------------------------


def _rdkit_bits(name: str, mol: Chem.Mol) -> list[int]:
    """The on-bits RDKit itself gives for a model name (written out independently)."""
    kind, _, size = name.partition("-")
    if name == "maccs":
        return list(MACCSkeys.GenMACCSKeys(mol).GetOnBits())
    if kind.startswith("rdkit"):
        gen = rdFingerprintGenerator.GetRDKitFPGenerator(maxPath=int(kind[5:]), fpSize=int(size))
    elif kind.startswith("featmorgan"):
        gen = rdFingerprintGenerator.GetMorganGenerator(
            radius=int(kind[10:]),
            fpSize=int(size),
            atomInvariantsGenerator=rdFingerprintGenerator.GetMorganFeatureAtomInvGen(),
        )
    else:
        gen = rdFingerprintGenerator.GetMorganGenerator(radius=int(kind[6:]), fpSize=int(size))
    return list(gen.GetFingerprint(mol).GetOnBits())


@pytest.mark.parametrize(
    ("name", "bits"),
    [
        ("morgan2-2048", 2048),
        ("morgan1-64", 64),
        ("featmorgan3-1024", 1024),
        ("rdkit5-512", 512),
        ("maccs", 192),
    ],
)
def test_rows_hold_rdkit_fingerprint_then_pattern_bits(
    name: str, bits: int, nci: list[Molecule]
) -> None:
    encoder = ChemicalEncoder(name)
    assert (encoder.bits, encoder.screen_bits, encoder.dim) == (bits, 2048, (bits + 2048) // 16)
    sample = nci[:150]
    rows = encoder.encode(sample)
    assert rows.dtype == np.float32 and rows.shape == (len(sample), encoder.dim)
    decoded = _bits(rows)
    for molecule, row in zip(sample, decoded, strict=True):
        assert _on(row[:bits]) == _rdkit_bits(name, molecule.mol)
        pattern = Chem.PatternFingerprint(molecule.mol, fpSize=2048)
        assert _on(row[bits:]) == list(pattern.GetOnBits())
    # Tanimoto on the decoded bits is RDKit's Tanimoto on its own fingerprints.
    first, second = sample[0].mol, sample[1].mol
    a, b = decoded[0, :bits].astype(bool), decoded[1, :bits].astype(bool)
    ours = (a & b).sum() / (a | b).sum()
    if name == "maccs":
        fps = [MACCSkeys.GenMACCSKeys(m) for m in (first, second)]
    else:
        fps = [_bitvect(_rdkit_bits(name, m), bits) for m in (first, second)]
    assert ours == pytest.approx(DataStructs.TanimotoSimilarity(*fps))


def _bitvect(on: list[int], size: int) -> Any:
    vect = DataStructs.ExplicitBitVect(size)
    vect.SetBitsFromList(on)
    return vect


def test_encoding_an_empty_batch_gives_no_rows(encoder: ChemicalEncoder) -> None:
    assert encoder.encode([]).shape == (0, encoder.dim)


@pytest.mark.parametrize(
    "name",
    [
        "morgan2",
        "morgan2-100",
        "morgan2-32",
        "morgan2-32768",
        "morgan7-2048",
        "morgan02-2048",
        "rdkit0-2048",
        "rdkit11-2048",
        "ecfp4",
        "MACCS",
        "",
    ],
)
def test_unknown_model_names_say_the_grammar(name: str) -> None:
    with pytest.raises(UnknownModel) as caught:
        ChemicalEncoder(name)
    assert "morgan{radius}-{bits}" in str(caught.value) and "maccs" in str(caught.value)


def test_registry_builds_chemical_encoders() -> None:
    assert "chemical" in AVAILABLE_MODALITIES and "text" in AVAILABLE_MODALITIES
    default = load_encoder("chemical", None, device="cuda", chunk_tokens=256, chunk_overlap=32)
    assert isinstance(default, ChemicalEncoder)
    assert (default.name, default.metric, default.device) == ("morgan2-2048", "tanimoto", "cpu")
    maccs = load_encoder("chemical", "maccs", device="cpu", chunk_tokens=256, chunk_overlap=32)
    assert maccs.dim == 140
    with pytest.raises(UnknownModel):
        load_encoder("chemical", "morgan2-1000", device="cpu", chunk_tokens=256, chunk_overlap=32)


# -- bad input --------------------------------------------------------------------------

EMPTY_MOLBLOCK = "\n     RDKit          2D\n\n  0  0  0  0  0  0  0  0  0  0999 V2000\nM  END\n"
BAD_ELEMENT_MOLBLOCK = (
    "\n     RDKit          2D\n\n  1  0  0  0  0  0  0  0  0  0999 V2000\n"
    "    0.0000    0.0000    0.0000 Xz  0  0  0  0  0  0  0  0  0  0  0  0\nM  END\n"
)


@pytest.mark.parametrize(
    ("content", "field", "needle"),
    [
        ({"smiles": "C1CC"}, "smiles", "SMILES Parse Error: unclosed ring"),
        ({"smiles": "C(C"}, "smiles", "SMILES Parse Error: extra open parentheses"),
        (
            {"smiles": "C[N](C)(C)(C)C"},
            "smiles",
            "Explicit valence for atom # 1 N, 5, is greater than permitted",
        ),
        ({"smiles": "c1cccc1"}, "smiles", "Can't kekulize mol"),
        ({"molblock": "this is not a molfile"}, "molblock", "could not read this molfile"),
        ({"molblock": BAD_ELEMENT_MOLBLOCK}, "molblock", "Element 'Xz' not found"),
        ({"molblock": EMPTY_MOLBLOCK}, "molblock", "has no atoms"),
        ({"smiles": ""}, "smiles", "must not be empty"),
        ({"smiles": "  \n"}, "smiles", "must not be empty"),
        ({"smiles": "C" * 10_000_000}, "smiles", "longer than 20000 characters"),
        ({"molblock": "x" * 1_000_001}, "molblock", "longer than 1000000 characters"),
        ({"smiles": "C" * 1001}, "smiles", "has 1001 heavy atoms; the limit is 1000"),
        ({"smiles": 42}, "smiles", "must be a string, not int"),
        ({"smiles": None}, "smiles", "must be a string, not NoneType"),
        ({"smiles": "CCO", "colour": "red"}, "colour", "unknown key"),
        ({"smiles": "CCO", "molblock": EMPTY_MOLBLOCK}, "molblock", "exactly one of"),
        ({}, "smiles", "exactly one of smiles, molblock"),
        ({"smarts": "CCO"}, "smarts", "unknown key"),
    ],
)
@pytest.mark.parametrize("purpose", ["document", "query"])
def test_bad_content_names_the_field_and_rdkit_reason(
    encoder: ChemicalEncoder, content: dict[str, Any], field: str, needle: str, purpose: Any
) -> None:
    with pytest.raises(InvalidContent) as caught:
        encoder.preprocess(content, purpose)
    assert caught.value.field == field
    assert needle in caught.value.message
    assert len(caught.value.message) < 1000  # never the whole 10 MB input echoed back


def test_a_content_that_is_not_an_object_is_refused(encoder: ChemicalEncoder) -> None:
    with pytest.raises(InvalidContent) as caught:
        encoder.preprocess("CCO", "document")  # type: ignore[arg-type]
    assert caught.value.field == "content"


def test_limits_are_constructor_options() -> None:
    small = ChemicalEncoder(max_heavy_atoms=5, max_smiles_chars=10)
    small.preprocess({"smiles": "CCCCC"}, "document")
    with pytest.raises(InvalidContent, match="has 6 heavy atoms; the limit is 5"):
        small.preprocess({"smiles": "CCCCCC"}, "document")
    with pytest.raises(InvalidContent, match="longer than 10 characters"):
        small.preprocess({"smiles": "C-C-C-C-C-C"}, "document")


def test_every_nci_record_rdkit_refuses_is_invalid_content_with_a_reason(
    encoder: ChemicalEncoder,
) -> None:
    refused = []
    for smiles in _nci():
        if Chem.MolFromSmiles(smiles) is None:
            with pytest.raises(InvalidContent) as caught:
                encoder.preprocess({"smiles": smiles}, "document")
            refused.append(caught.value.message)
    assert refused and all(m and "could not" not in m for m in refused)


def test_error_reasons_are_per_thread_and_stay_out_of_the_log(
    encoder: ChemicalEncoder, caplog: pytest.LogCaptureFixture
) -> None:
    broken = [f"C1{'C' * n}" for n in range(1, 40)]  # unclosed rings, each echoed by RDKit

    def reason(smiles: str) -> str:
        with pytest.raises(InvalidContent) as caught:
            encoder.preprocess({"smiles": smiles}, "document")
        return caught.value.message

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # let threads interleave inside each other's parses
    try:
        with caplog.at_level(logging.DEBUG), ThreadPoolExecutor(8) as pool:
            reasons = list(pool.map(reason, broken * 40))
    finally:
        sys.setswitchinterval(switch)
    for smiles, message in zip(broken * 40, reasons, strict=True):
        assert message == f"SMILES Parse Error: unclosed ring for input: '{smiles}'"
    assert not [r for r in caplog.records if r.name == "rdkit"]


def test_reasons_survive_rdkit_logs_being_disabled(encoder: ChemicalEncoder) -> None:
    RDLogger.DisableLog("rdApp.*")
    with pytest.raises(InvalidContent, match="unclosed ring"):
        encoder.preprocess({"smiles": "C1CC"}, "document")


# -- substructure -----------------------------------------------------------------------


@pytest.mark.parametrize("chirality", [False, True])
def test_screen_never_drops_a_match_and_matches_equal_rdkit_on_nci(
    encoder: ChemicalEncoder,
    nci: list[Molecule],
    nci_bits: npt.NDArray[np.uint8],
    chirality: bool,
) -> None:
    targets = [encoder.target(m.fields["smiles"]) for m in nci]
    screens = nci_bits[:, encoder.bits :].astype(bool)
    for name, content in SCAFFOLDS.items():
        query = encoder.substructure_query(content, chirality=chirality)
        query_bits = _bits(query.screen[np.newaxis])[0]
        assert not query_bits[: encoder.bits].any()  # the similarity part is blank
        passes = ~(query_bits[encoder.bits :].astype(bool) & ~screens).any(axis=1)
        truth = np.array([m.mol.HasSubstructMatch(query.mol, useChirality=chirality) for m in nci])
        ours = np.array([query.matches(t) for t in targets])
        assert truth.any(), name  # every scaffold occurs in the set
        assert (ours == truth).all(), name
        assert not (truth & ~passes).any(), f"the screen drops true matches of {name}"
        if "smiles" in content:
            assert passes.sum() <= 3 * truth.sum(), f"the screen hardly screens {name}"


def _stereo_molecules() -> list[str]:
    """NCI molecules as stereoisomers (the NCI SMILES have none), plus radicals and E/Z."""
    options = StereoEnumerationOptions(maxIsomers=4, unique=True)
    smiles = []
    for raw in _nci()[:600]:
        mol = Chem.MolFromSmiles(raw)
        if mol is not None:
            smiles += [Chem.MolToSmiles(m) for m in EnumerateStereoisomers(mol, options=options)]
    return [*smiles, "CCCCOc1ccc(NC[S](=O)=O)cn1", "c1ccc2c(c1)[I]c1ccccc1-2", "[CH2]CC"]


STEREO_QUERIES = {
    "smiles": [
        "C[C@H](N)C(=O)O",
        "C[C@@H](N)C(=O)O",
        "C/C=C/C",
        "C/C=C\\C",
        "c1ccccc1/C=C/C",
        "O[C@@H](C)C",
        "N[C@H](C)C=O",
        "C[S](=O)=O",
        "[CH2]C",
    ],
    "smarts": [
        "[C@H](O)C",
        "[C;@@]",
        "[#6]/[#6]=[#6]\\[#6]",
        "*/*=*/*",
        "[R2]",
        "[r5]",
        "[x3]",
        "[C^3]",
        "[N^2]",
        "[#6;R]@[#7]",
        "*@;-*",
    ],
}


def test_target_matches_like_the_fully_sanitised_molecule(encoder: ChemicalEncoder) -> None:
    smiles = _stereo_molecules()
    assert sum("@" in s for s in smiles) > 300 and sum("/" in s for s in smiles) > 100
    full = [Chem.MolFromSmiles(s) for s in smiles]
    fast = [encoder.target(s) for s in smiles]
    for key, texts in STEREO_QUERIES.items():
        for text in texts:
            for chirality in (False, True):
                query = encoder.substructure_query({key: text}, chirality=chirality)
                expected = [query.matches(m) for m in full]
                assert [query.matches(m) for m in fast] == expected, (text, chirality)


def test_chirality_option_tells_enantiomers_apart(encoder: ChemicalEncoder) -> None:
    r_alanine = encoder.target("C[C@@H](N)C(=O)O")
    s_alanine = encoder.target("C[C@H](N)C(=O)O")
    plain = encoder.substructure_query({"smiles": "C[C@@H](N)C(=O)O"})
    chiral = encoder.substructure_query({"smiles": "C[C@@H](N)C(=O)O"}, chirality=True)
    assert plain.matches(r_alanine) and plain.matches(s_alanine)
    assert chiral.matches(r_alanine) and not chiral.matches(s_alanine)


def test_a_molblock_query_is_a_molecule_query(encoder: ChemicalEncoder) -> None:
    pyridine = Chem.MolToMolBlock(Chem.MolFromSmiles("c1ccncc1"))
    query = encoder.substructure_query({"molblock": pyridine})
    assert query.matches(encoder.target("Cc1ccncc1"))
    assert not query.matches(encoder.target("Cc1ccccc1"))


@pytest.mark.parametrize(
    ("content", "field", "needle"),
    [
        ({"smarts": "[i]"}, "smarts", "SMARTS Parse Error: syntax error"),
        ({"smarts": "C(C"}, "smarts", "SMARTS Parse Error"),
        ({"smarts": "*" * 101}, "smarts", "has 101 atoms; the limit is 100"),
        ({"smiles": "C" * 101}, "smiles", "has 101 atoms; the limit is 100"),
        ({"smiles": "C[N](C)(C)(C)C"}, "smiles", "Explicit valence"),
        ({"smarts": ""}, "smarts", "must not be empty"),
        ({"smiles": "CC", "smarts": "CC"}, "smarts", "exactly one of smiles, smarts, molblock"),
        ({"formula": "C6H6"}, "formula", "unknown key"),
        ({"smarts": ["C"]}, "smarts", "must be a string"),
    ],
)
def test_bad_substructure_queries_name_the_field(
    encoder: ChemicalEncoder, content: dict[str, Any], field: str, needle: str
) -> None:
    with pytest.raises(InvalidContent) as caught:
        encoder.substructure_query(content)
    assert caught.value.field == field and needle in caught.value.message


def test_target_refuses_what_is_not_smiles(encoder: ChemicalEncoder) -> None:
    with pytest.raises(ValueError, match="not a SMILES"):
        encoder.target("C1CC(")


# -- depiction --------------------------------------------------------------------------


def test_depiction_is_an_svg_of_the_asked_size(encoder: ChemicalEncoder) -> None:
    svg = encoder.depict_svg(CAFFEINE, width=320, height=240)
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "width='320px'" in svg and "height='240px'" in svg
    assert svg.count("<path") > 10  # bonds were drawn
    with pytest.raises(ValueError, match="width"):
        encoder.depict_svg(CAFFEINE, width=0)
    with pytest.raises(InvalidContent):
        encoder.depict_svg("C1CC")
