"""The ``chemical`` modality: RDKit molecules as fingerprint bits, with derived fields.

A molecule's vector is one row of packed bits, ``[similarity fingerprint | screen
fingerprint]``, in the words16 encoding of :mod:`ipsim.bitwords` (bit ``i`` is bit ``i % 8``
of byte ``i // 8``). The similarity part is the fingerprint the collection's model names;
the screen part is RDKit's pattern fingerprint, whose bits a substructure query's bits must
be a subset of. The encoder also derives the fields the engine stores and filters on
(canonical SMILES, InChI/InChIKey, Hill formula, element counts) and builds substructure
queries.

RDKit reports parse and sanitisation errors through its log, not as exceptions. This module
routes RDKit's log to Python logging (logger ``rdkit``) and, while it parses, keeps the
calling thread's messages for the error it raises (they never reach the log). Silence
RDKit's other messages through that logger, not ``RDLogger.DisableLog``: disabled messages
cannot be reported, so this module enables errors and warnings again each time it parses.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from rdkit import Chem, rdBase
from rdkit.Chem import rdFingerprintGenerator, rdinchi, rdMolDescriptors

from ipsim.bitwords import bits_to_words16
from ipsim.models.base import InvalidContent, Prepared, Purpose, Span
from ipsim.models.formula import element_field, hill_formula
from ipsim.models.registry import UnknownModel

DEFAULT_CHEMICAL_MODEL = "morgan2-2048"
SCREEN_BITS = 2048
MIN_BITS, MAX_BITS = 64, 16384
MAX_RADIUS = 6
MAX_PATH = 10
MACCS_BITS = 192
"""MACCS has 167 keys (bit 0 unused); padded with zero bits to a multiple of 64."""

MAX_SMILES_CHARS = 20_000
"""SMILES (and SMARTS) longer than this are refused before parsing. RDKit's parser is
superlinear on large inputs (100,000 characters of fused rings: 4 s unsanitised, 90 s
sanitised), while 1,000 heavy atoms, even all in brackets, stay under 20,000."""
MAX_MOLBLOCK_CHARS = 1_000_000
"""A V2000/V3000 molfile of 1,000 heavy atoms with explicit hydrogens is about 300 kB."""
MAX_HEAVY_ATOMS = 1000
MAX_QUERY_ATOMS = 100
MIN_DEPICTION, MAX_DEPICTION = 16, 4096

STRUCTURE_KEYS = ("smiles", "molblock")
QUERY_KEYS = ("smiles", "smarts", "molblock")

_MODEL = re.compile(r"(?P<kind>morgan|featmorgan|rdkit)(?P<param>\d+)-(?P<bits>\d+)")
_GRAMMAR = (
    "morgan{radius}-{bits} (ECFP, e.g. morgan2-2048), featmorgan{radius}-{bits} (FCFP), "
    f"rdkit{{maxpath}}-{{bits}} (RDKit paths) or maccs; radius 0-{MAX_RADIUS}, "
    f"maxpath 1-{MAX_PATH}, bits {MIN_BITS}-{MAX_BITS} in steps of 64"
)
_STAMP = re.compile(r"^\[\d\d:\d\d:\d\d\] ")
_MAX_REASON_LINES = 3
_MAX_REASON_LINE = 200

Bits = npt.NDArray[np.uint8]
"""One fingerprint as a 0/1 byte per bit."""


@dataclass(frozen=True)
class Molecule:
    """One sanitised molecule and the fields the engine stores with its document."""

    mol: Chem.Mol
    fields: dict[str, Any]


@dataclass(frozen=True)
class SubstructureQuery:
    """A substructure query: the pattern, its screen row, and the exact test.

    ``screen`` is a full-width words16 row (``dim`` floats): zero similarity bits, then the
    pattern fingerprint of the query, so a molecule whose screen bits lack any of these
    cannot contain the query.
    """

    mol: Chem.Mol
    screen: npt.NDArray[np.float32]
    chirality: bool = False

    def matches(self, target: Chem.Mol) -> bool:
        """RDKit's ``HasSubstructMatch``, honouring stereochemistry when ``chirality``."""
        return bool(target.HasSubstructMatch(self.mol, useChirality=self.chirality))


class ChemicalEncoder:
    """Fingerprints, derived fields and substructure queries for one fingerprint model.

    Model names: ``morgan{radius}-{bits}``, ``featmorgan{radius}-{bits}``,
    ``rdkit{maxpath}-{bits}``, ``maccs``. Fingerprints are computed on the CPU whatever
    device the engine runs on.
    """

    modality = "chemical"
    metric: Literal["ip", "l2", "tanimoto"] = "tanimoto"
    device = "cpu"
    screen_bits = SCREEN_BITS

    def __init__(
        self,
        name: str = DEFAULT_CHEMICAL_MODEL,
        *,
        max_smiles_chars: int = MAX_SMILES_CHARS,
        max_molblock_chars: int = MAX_MOLBLOCK_CHARS,
        max_heavy_atoms: int = MAX_HEAVY_ATOMS,
        max_query_atoms: int = MAX_QUERY_ATOMS,
    ) -> None:
        self.name = name
        self.bits, self._fingerprint = _similarity_fingerprint(name)
        self.dim = (self.bits + self.screen_bits) // 16
        self._max_chars = {
            "smiles": max_smiles_chars,
            "smarts": max_smiles_chars,
            "molblock": max_molblock_chars,
        }
        self.max_heavy_atoms = max_heavy_atoms
        self.max_query_atoms = max_query_atoms

    def preprocess(self, content: Mapping[str, Any], purpose: Purpose) -> Prepared[Molecule]:
        """Validate ``{"smiles": ...}`` or ``{"molblock": ...}`` into one molecule."""
        key, text = self._structure(content, STRUCTURE_KEYS)
        mol = _parse(key, text, self.max_heavy_atoms)
        return Prepared(units=[Molecule(mol, derived_fields(mol))], spans=[Span(0, len(text))])

    def encode(self, units: Sequence[Molecule]) -> npt.NDArray[np.float32]:
        """``[similarity | screen]`` bits of each molecule as words16 rows."""
        rows = np.zeros((len(units), self.bits + self.screen_bits), dtype=np.uint8)
        for row, molecule in zip(rows, units, strict=True):
            similarity = self._fingerprint(molecule.mol)
            row[: similarity.size] = similarity
            row[self.bits :] = _screen(molecule.mol)
        return _words16(rows)

    def substructure_query(
        self, content: Mapping[str, Any], *, chirality: bool = False
    ) -> SubstructureQuery:
        """A query from one of ``smiles`` (parsed as a molecule), ``smarts``, ``molblock``."""
        key, text = self._structure(content, QUERY_KEYS)
        if key == "smarts":
            mol = _parse_smarts(text, self.max_query_atoms)
        else:
            mol = _parse(key, text, self.max_query_atoms, limit_all_atoms=True)
        row = np.zeros((1, self.bits + self.screen_bits), dtype=np.uint8)
        row[0, self.bits :] = _screen(mol)
        return SubstructureQuery(mol, _words16(row)[0], chirality)

    def target(self, smiles: str) -> Chem.Mol:
        """A stored molecule rebuilt from its canonical SMILES, for substructure matching.

        RDKit wrote that SMILES from a sanitised molecule, so its aromaticity is already
        RDKit's: instead of sanitising again, restore only what matching reads (valences and
        H counts; SSSR rings for R, r, x; conjugation and hybridisation for ^; radicals; E/Z
        from bond directions). 57 µs instead of 100 µs per NCI/WEHI molecule; the tests check
        that every answer equals matching the fully sanitised molecule.
        """
        mol = Chem.MolFromSmiles(smiles, sanitize=False)
        if mol is None:
            raise ValueError(f"not a SMILES written by this encoder: {smiles[:100]!r}")
        mol.UpdatePropertyCache(strict=False)
        Chem.GetSymmSSSR(mol)
        Chem.SetConjugation(mol)
        Chem.SetHybridization(mol)
        Chem.AssignRadicals(mol)
        if "/" in smiles or "\\" in smiles:
            Chem.AssignStereochemistry(mol, cleanIt=True, force=True)
        return mol

    def depict_svg(self, smiles: str, *, width: int = 300, height: int = 200) -> str:
        """A 2D drawing of the molecule as SVG text."""
        from rdkit.Chem.Draw import rdMolDraw2D

        for name, size in (("width", width), ("height", height)):
            if isinstance(size, bool) or not isinstance(size, int):
                raise ValueError(f"{name} must be an integer, not {type(size).__name__}")
            if not MIN_DEPICTION <= size <= MAX_DEPICTION:
                raise ValueError(f"{name} must be from {MIN_DEPICTION} to {MAX_DEPICTION}")
        mol = _parse("smiles", smiles, self.max_heavy_atoms)
        drawer = rdMolDraw2D.MolDraw2DSVG(width, height)
        rdMolDraw2D.PrepareAndDrawMolecule(drawer, mol)
        drawer.FinishDrawing()
        return str(drawer.GetDrawingText())

    def describe(self) -> dict[str, object]:
        """What the engine reports about this encoder."""
        return {"name": self.name, "dim": self.dim, "device": self.device, "bits": self.bits}

    def _structure(self, content: Mapping[str, Any], keys: tuple[str, ...]) -> tuple[str, str]:
        """The one structure key of ``content`` and its text, checked before any parsing."""
        if not isinstance(content, Mapping):
            raise InvalidContent("content", f"must be an object with one of {', '.join(keys)}")
        unknown = sorted(str(key) for key in content if key not in keys)
        if unknown:
            raise InvalidContent(unknown[0], f"unknown key (expected one of {', '.join(keys)})")
        given = [key for key in keys if key in content]
        if len(given) != 1:
            raise InvalidContent(
                given[1] if given else keys[0], f"give exactly one of {', '.join(keys)}"
            )
        key = given[0]
        text = content[key]
        if not isinstance(text, str):
            raise InvalidContent(key, f"must be a string, not {type(text).__name__}")
        if key != "molblock":
            text = text.strip()  # a pasted SMILES often ends in a newline
        if not text.strip():
            raise InvalidContent(key, "must not be empty")
        if len(text) > self._max_chars[key]:
            raise InvalidContent(
                key, f"is longer than {self._max_chars[key]} characters ({len(text)})"
            )
        return key, text


def derived_fields(mol: Chem.Mol) -> dict[str, Any]:
    """The fields stored (and filterable) with a sanitised molecule's document.

    ``smiles`` canonical isomeric SMILES; ``formula`` the charge-free Hill formula (see
    :mod:`ipsim.models.formula`) and ``formal_charge`` the net charge; ``element_X`` atoms of
    each element present, hydrogens included; ``heavy_atoms``; ``mol_weight`` the average
    molecular weight. ``inchi``, ``inchikey`` and ``inchikey_connectivity`` (the first block:
    the skeleton without stereo, isotopes or protonation) are left out when the InChI library
    refuses the molecule (dummy atoms, or more than its 1,024 atoms, for example).
    """
    counts = element_counts(mol)
    fields: dict[str, Any] = {
        "smiles": Chem.MolToSmiles(mol),
        "formula": hill_formula(counts),
        "formal_charge": Chem.GetFormalCharge(mol),
        "heavy_atoms": mol.GetNumHeavyAtoms(),
        # Descriptors.MolWt is this function, behind an import of every descriptor.
        "mol_weight": round(rdMolDescriptors._CalcMolWt(mol), 4),
    }
    inchi = rdinchi.MolToInchi(mol, "/AuxNone")[0]  # (inchi, code, message, log, aux)
    key = rdinchi.InchiToInchiKey(inchi) if inchi else None
    if key:
        fields |= {"inchi": inchi, "inchikey": key, "inchikey_connectivity": key[:14]}
    fields |= {element_field(symbol): n for symbol, n in counts.items()}
    return fields


def element_counts(mol: Chem.Mol) -> dict[str, int]:
    """Atoms per element, hydrogens included (implicit ones too); dummy atoms are no element."""
    counts: Counter[str] = Counter()
    for atom in mol.GetAtoms():
        if atom.GetAtomicNum() == 0:
            continue
        counts[atom.GetSymbol()] += 1
        counts["H"] += atom.GetTotalNumHs()
    return {symbol: n for symbol, n in counts.items() if n}


def _similarity_fingerprint(name: str) -> tuple[int, Callable[[Chem.Mol], Bits]]:
    """``(padded bits, fingerprint function)`` for a model name, or :class:`UnknownModel`."""
    if name == "maccs":
        return MACCS_BITS, lambda mol: _bitvect(rdMolDescriptors.GetMACCSKeysFingerprint(mol))
    match = _MODEL.fullmatch(name)
    if match is None:
        raise UnknownModel(f"unknown chemical model {name!r}: use {_GRAMMAR}")
    kind, param, bits = match["kind"], int(match["param"]), int(match["bits"])
    low, high = (1, MAX_PATH) if kind == "rdkit" else (0, MAX_RADIUS)
    valid = (
        name == f"{kind}{param}-{bits}"  # no leading zeros: one name per fingerprint
        and low <= param <= high
        and MIN_BITS <= bits <= MAX_BITS
        and bits % 64 == 0
    )
    if not valid:
        raise UnknownModel(f"unknown chemical model {name!r}: use {_GRAMMAR}")
    if kind == "rdkit":
        generator = rdFingerprintGenerator.GetRDKitFPGenerator(maxPath=param, fpSize=bits)
    else:
        invariants = (
            rdFingerprintGenerator.GetMorganFeatureAtomInvGen() if kind == "featmorgan" else None
        )
        generator = rdFingerprintGenerator.GetMorganGenerator(
            radius=param, fpSize=bits, atomInvariantsGenerator=invariants
        )
    return bits, generator.GetFingerprintAsNumPy


def _words16(rows: Bits) -> npt.NDArray[np.float32]:
    """``(n, bits)`` 0/1 rows packed (bit i: byte i // 8, bit i % 8) as words16 floats."""
    return bits_to_words16(np.packbits(rows, axis=1, bitorder="little"))


def _screen(mol: Chem.Mol) -> Bits:
    return _bitvect(Chem.PatternFingerprint(mol, fpSize=SCREEN_BITS))


def _bitvect(fp: Any) -> Bits:
    """An RDKit ExplicitBitVect as 0/1 bytes (via its bit string: 3x ConvertToNumpyArray)."""
    return np.frombuffer(fp.ToBitString().encode("ascii"), dtype=np.uint8) - ord("0")


def _parse(key: str, text: str, max_atoms: int, *, limit_all_atoms: bool = False) -> Chem.Mol:
    """A sanitised molecule from SMILES or a molfile, or InvalidContent with RDKit's reason.

    A cheap unsanitised parse comes first, to check the size before sanitising (which is
    superlinear in the atoms); the molecule kept is RDKit's standard parse (sanitised,
    hydrogens removed, stereo from the molfile's wedges and coordinates).
    """
    read = Chem.MolFromSmiles if key == "smiles" else Chem.MolFromMolBlock
    what = "SMILES" if key == "smiles" else "molfile"
    with _rdkit_messages() as messages:
        raw = read(text, sanitize=False)
    if raw is None:
        raise InvalidContent(key, _reason(messages, text, f"RDKit could not read this {what}"))
    if raw.GetNumAtoms() == 0:
        raise InvalidContent(key, "has no atoms")
    size = raw.GetNumAtoms() if limit_all_atoms else raw.GetNumHeavyAtoms()
    if size > max_atoms:
        noun = "atoms" if limit_all_atoms else "heavy atoms"
        raise InvalidContent(key, f"has {size} {noun}; the limit is {max_atoms}")
    with _rdkit_messages() as messages:
        mol = read(text)
    if mol is None:
        raise InvalidContent(key, _reason(messages, text, "RDKit could not sanitise it"))
    return mol


def _parse_smarts(text: str, max_atoms: int) -> Chem.Mol:
    with _rdkit_messages() as messages:
        mol = Chem.MolFromSmarts(text)
    if mol is None:
        raise InvalidContent("smarts", _reason(messages, text, "RDKit could not read this SMARTS"))
    if mol.GetNumAtoms() == 0:
        raise InvalidContent("smarts", "has no atoms")
    if mol.GetNumAtoms() > max_atoms:
        raise InvalidContent("smarts", f"has {mol.GetNumAtoms()} atoms; the limit is {max_atoms}")
    return mol


# -- RDKit's log, captured per thread -----------------------------------------------------

_capture = threading.local()


class _CaptureFilter(logging.Filter):
    """Diverts RDKit's messages into the current thread's capture, when it has one."""

    def filter(self, record: logging.LogRecord) -> bool:
        lines: list[str] | None = getattr(_capture, "lines", None)
        if lines is None:
            return True
        lines.append(record.getMessage())
        return False


rdBase.LogToPythonLogger()
logging.getLogger("rdkit").addFilter(_CaptureFilter())


@contextmanager
def _rdkit_messages() -> Iterator[list[str]]:
    """RDKit's messages logged by this thread inside the block (RDKit logs on the caller's
    thread, so concurrent parses never see each other's messages)."""
    rdBase.EnableLog("rdApp.error")
    rdBase.EnableLog("rdApp.warning")
    outer = getattr(_capture, "lines", None)
    lines: list[str] = []
    _capture.lines = lines
    try:
        yield lines
    finally:
        _capture.lines = outer


def _reason(messages: Sequence[str], text: str, fallback: str) -> str:
    """RDKit's own explanation, without timestamps, echoes of the input or stack traces."""
    stamped = [_STAMP.sub("", line) for line in messages if _STAMP.match(line)]
    reasons: list[str] = []
    for line in (line.strip() for line in stamped):
        if not line or line in text or set(line) <= {"~", "^", " "} or line in reasons:
            continue
        reasons.append(line if len(line) <= _MAX_REASON_LINE else line[:_MAX_REASON_LINE] + "…")
    return "; ".join(reasons[:_MAX_REASON_LINES]) or fallback


__all__ = [
    "DEFAULT_CHEMICAL_MODEL",
    "QUERY_KEYS",
    "SCREEN_BITS",
    "STRUCTURE_KEYS",
    "ChemicalEncoder",
    "Molecule",
    "SubstructureQuery",
    "derived_fields",
    "element_counts",
    "element_field",
    "hill_formula",
]
