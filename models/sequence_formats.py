"""Sequence listings (WIPO ST.26 XML, ST.25 text, FASTA) from untrusted bytes to checked entries.

Patent offices receive biological sequences as *listings*: since July 2022 in ST.26 XML
(root ``ST26SequenceListing``, one ``SequenceData``/``INSDSeq`` per sequence), before that
in ST.25 text (numeric identifiers ``<110>`` … ``<400>``); search collections and queries
also come as FASTA. Every format ends up as a :class:`Listing` of :class:`SequenceEntry`,
so the sequence modality indexes and searches one shape whatever was filed.

Residues are normalised to upper case without whitespace. ST.26 writes nucleotides in lower
case and amino acids in upper case; both cases are accepted on input. ST.25 amino acids are
three-letter codes (``Met Ala …``) and are turned into one-letter codes. ``t`` and ``u`` are
both accepted in DNA and RNA (ST.26 construes ``t`` as uracil in RNA) and kept as written.

Every refusal is an :class:`~ipsim.models.base.InvalidContent` (a :class:`ListingError`
for whole listings, with the line when one is known) whose message names the sequence and
the element or identifier at fault: ``SEQ ID NO 3 (INSDSeq_length): declares 120 residues
but the sequence has 118``. What is checked, and why:

* the alphabet per molecule type (IUPAC codes, ST.26 Annex I), naming the bad characters
  and their positions, and the ST.26 minimum lengths (10 nucleotides, 4 amino acids), which
  also apply to FASTA and to queries: shorter sequences carry no searchable signal;
* self-contradiction: a declared length (``INSDSeq_length``, ``<211>``) or sequence count
  (``SequenceTotalQuantity``, ``<160>``) that differs from what follows, a ``mol_type``
  qualifier of the other molecule type, a ``<400>`` number that is not its ``<210>``;
* XML safety: the bytes are size-checked before parsing, and parsing goes through
  defusedxml on the standard library's expat, so no DTD, entity or document is ever
  fetched. Entity declarations (billion laughs, external entities) are refused; a
  ``<!DOCTYPE … "ST26SequenceListing_V1_3.dtd">`` without an internal subset is accepted,
  because every listing WIPO Sequence writes carries one.

Intentionally skipped sequences (``000`` as the sequence, allowed by both standards) keep
their number but produce no entry. :func:`write_st26` and :func:`write_st25` export a
listing again, for round trips and demo data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NoReturn, cast
from xml.etree import ElementTree

from defusedxml import DefusedXmlException, EntitiesForbidden
from defusedxml import ElementTree as SafeElementTree

from ipsim.models.base import InvalidContent

MoleculeType = Literal["DNA", "RNA", "AA"]
ListingFormat = Literal["st26", "st25", "fasta"]

MOLECULE_TYPES: tuple[MoleculeType, ...] = ("DNA", "RNA", "AA")
LISTING_FORMATS: tuple[ListingFormat, ...] = ("st26", "st25", "fasta")

#: ST.26 paragraph 7: shorter sequences are not part of a listing.
MIN_LENGTH: dict[MoleculeType, int] = {"DNA": 10, "RNA": 10, "AA": 4}
NUCLEOTIDE_CODES = frozenset("ACGTURYSWKMBDHVN")
AMINO_ACID_CODES = frozenset("ACDEFGHIKLMNPQRSTVWY" + "BZJUOX")
_CODES: dict[MoleculeType, frozenset[str]] = {
    "DNA": NUCLEOTIDE_CODES,
    "RNA": NUCLEOTIDE_CODES,
    "AA": AMINO_ACID_CODES,
}
_KIND: dict[MoleculeType, str] = {"DNA": "nucleotide", "RNA": "nucleotide", "AA": "amino acid"}

#: The residues of an intentionally skipped sequence (ST.26 paragraph 28, ST.25 paragraph 34).
SKIPPED = "000"

#: ST.25 (Appendix 2, Table 3) three-letter amino acid codes.
THREE_TO_ONE = {
    "ALA": "A", "ARG": "R", "ASN": "N", "ASP": "D", "ASX": "B", "CYS": "C", "GLN": "Q",
    "GLU": "E", "GLX": "Z", "GLY": "G", "HIS": "H", "ILE": "I", "LEU": "L", "LYS": "K",
    "MET": "M", "PHE": "F", "PRO": "P", "PYL": "O", "SER": "S", "SEC": "U", "THR": "T",
    "TRP": "W", "TYR": "Y", "VAL": "V", "XLE": "J", "XAA": "X",
}  # fmt: skip
ONE_TO_THREE = {one: three.capitalize() for three, one in THREE_TO_ONE.items()}

_ST25_TYPES: dict[str, MoleculeType] = {"PRT": "AA", "DNA": "DNA", "RNA": "RNA"}
_ST25_TAG = re.compile(r"<(\d{3})>(.*)")
_UNIPROT_ORGANISM = re.compile(r"\bOS=(.+?)(?=\s+[A-Z]{2}=|$)")
_MAX_REPORTED = 5  # bad characters named in one message


@dataclass(frozen=True)
class ListingLimits:
    """What one listing may hold; checked before the work each limit guards."""

    max_bytes: int = 32 * 1024 * 1024
    max_sequences: int = 100_000
    max_length: int = 1_000_000


@dataclass(frozen=True)
class SequenceEntry:
    """One sequence of a listing.

    ``seq_id`` is the SEQ ID NO for ST.26/ST.25 and the record name for FASTA;
    ``description`` is the FASTA header after the name, or the features' ``note``
    qualifiers joined by ``"; "``; ``line`` is where the entry starts in its file (0 when
    unknown) and does not take part in comparisons.
    """

    seq_id: int | str
    moltype: MoleculeType
    residues: str
    organism: str | None
    description: str | None
    length: int
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Listing:
    """A parsed listing: header data (``None`` when absent) and its sequences in file order."""

    application: str | None
    applicant: str | None
    title: str | None
    entries: list[SequenceEntry]
    format: str


class ListingError(InvalidContent):
    """A listing that cannot be read; ``line`` is where, when known (1-based)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__("listing", message)
        self.line = line


# --- residues -----------------------------------------------------------------------


def check_residues(
    residues: str, moltype: MoleculeType, where: str, *, field: str = "sequence"
) -> str:
    """Validate ``residues`` as a ``moltype`` sequence; return them normalised.

    Whitespace is removed and letters are upper-cased. Raise ``InvalidContent(field, …)``
    naming ``where`` (``"SEQ ID NO 3 (INSDSeq_sequence)"``) for characters that are not
    IUPAC codes for ``moltype`` (with their 1-based positions) or fewer residues than ST.26
    allows (10 nucleotides, 4 amino acids); an unknown molecule type is reported against
    ``type`` when ``field`` is the default ``sequence`` (a query's content keys).
    """
    if moltype not in _CODES:
        raise InvalidContent(
            "type" if field == "sequence" else field,
            f"{where}: unknown molecule type {moltype!r}; expected DNA, RNA or AA",
        )
    normalised = "".join(residues.split()).upper()
    codes = _CODES[moltype]
    bad = [(position, char) for position, char in enumerate(normalised, 1) if char not in codes]
    if bad:
        named = ", ".join(f"{char!r} at {position}" for position, char in bad[:_MAX_REPORTED])
        more = f" and {len(bad) - _MAX_REPORTED} more" if len(bad) > _MAX_REPORTED else ""
        raise InvalidContent(field, f"{where}: not IUPAC {_KIND[moltype]} codes: {named}{more}")
    minimum = MIN_LENGTH[moltype]
    if len(normalised) < minimum:
        raise InvalidContent(
            field,
            f"{where}: {len(normalised)} residues; ST.26 requires at least {minimum} "
            f"{_KIND[moltype]}s",
        )
    return normalised


def guess_type(residues: str) -> MoleculeType:
    """The molecule type of untyped residues (FASTA, queries).

    Nucleotide when every character is a nucleotide IUPAC code and A, C, G, T, U and N make
    up at least 90 % of them (a protein made of only those letters is implausible); RNA
    when it has U and no T. Otherwise AA.
    """
    letters = "".join(residues.split()).upper()
    if not letters or not set(letters) <= NUCLEOTIDE_CODES:
        return "AA"
    plain = sum(letters.count(code) for code in "ACGTUN")
    if plain < 0.9 * len(letters):
        return "AA"
    return "RNA" if "U" in letters and "T" not in letters else "DNA"


def _entry(
    seq_id: int | str,
    moltype: MoleculeType,
    residues: str,
    where: str,
    limits: ListingLimits,
    *,
    organism: str | None = None,
    description: str | None = None,
    declared: int | None = None,
    declared_where: str = "",
    line: int = 0,
) -> SequenceEntry:
    """A checked entry; ``declared`` is the length the listing states, if any."""
    if len(residues) > limits.max_length * 2:  # room for whitespace; exact check below
        _too_long(where, len(residues), limits, line)
    try:
        checked = check_residues(residues, moltype, where, field="listing")
    except InvalidContent as exc:
        raise ListingError(exc.message, line or None) from exc
    if len(checked) > limits.max_length:
        _too_long(where, len(checked), limits, line)
    if declared is not None and declared != len(checked):
        raise ListingError(
            f"{declared_where}: declares {declared} residues but the sequence has {len(checked)}",
            line or None,
        )
    return SequenceEntry(seq_id, moltype, checked, organism, description, len(checked), line)


def _too_long(where: str, length: int, limits: ListingLimits, line: int) -> NoReturn:
    raise ListingError(
        f"{where}: {length:,} residues; the limit is {limits.max_length:,}", line or None
    )


def _check_count(count: int, limits: ListingLimits) -> None:
    if count == 0:
        raise ListingError("the listing has no sequences")
    if count > limits.max_sequences:
        raise ListingError(
            f"the listing has more than {limits.max_sequences:,} sequences (the limit)"
        )


def _check_size(size: int, limits: ListingLimits) -> None:
    if size > limits.max_bytes:
        raise ListingError(
            f"the listing is {size:,} bytes; the limit is {limits.max_bytes:,} bytes"
        )


# --- ST.26 --------------------------------------------------------------------------


def parse_st26(data: bytes, limits: ListingLimits = ListingLimits()) -> Listing:
    """An ST.26 XML listing (root ``ST26SequenceListing``).

    Header: ``application`` is ``"<IPOfficeCode> <ApplicationNumberText>"`` from
    ``ApplicationIdentification``, else the ``ApplicantFileReference``; ``applicant`` the
    first ``ApplicantName``; ``title`` the English ``InventionTitle`` (else the first).
    Per ``SequenceData``: the ``sequenceIDNumber`` attribute, ``INSDSeq_length``,
    ``INSDSeq_moltype``, ``INSDSeq_sequence`` and, from the feature table, the ``organism``
    and ``mol_type`` qualifiers (of the ``source`` feature first) and every ``note``.
    """
    _check_size(len(data), limits)
    root = _parse_xml(data)
    if root.tag != "ST26SequenceListing":
        raise ListingError(f"the root element is <{root.tag}>, expected <ST26SequenceListing>")
    blocks = root.findall("SequenceData")
    _check_count(len(blocks), limits)
    lines = _element_lines(data, len(blocks))
    entries: list[SequenceEntry] = []
    seen: set[int] = set()
    for index, block in enumerate(blocks):
        entry = _st26_entry(block, index, seen, limits, lines[index])
        if entry is not None:
            entries.append(entry)
    _check_total(_text(root, "SequenceTotalQuantity"), len(blocks), "SequenceTotalQuantity")
    return Listing(
        application=_st26_application(root),
        applicant=_text(root, "ApplicantName"),
        title=_st26_title(root),
        entries=entries,
        format="st26",
    )


def _parse_xml(data: bytes) -> ElementTree.Element:
    try:
        root = SafeElementTree.fromstring(
            data, forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
    except EntitiesForbidden as exc:
        raise ListingError(
            f"entity declarations are not allowed (entity {exc.name!r}"
            + (f", external {exc.sysid!r})" if exc.sysid else ")")
            + "; an ST.26 listing needs none"
        ) from exc
    except DefusedXmlException as exc:
        raise ListingError(f"refused XML construct: {exc}") from exc
    except ElementTree.ParseError as exc:
        line, column = exc.position
        reason = str(exc).split(":", 1)[0]
        raise ListingError(
            f"malformed XML at line {line}, column {column + 1}: {reason}", line
        ) from exc
    return cast(ElementTree.Element, root)


def _element_lines(data: bytes, count: int) -> list[int]:
    """The line of each ``<SequenceData`` start tag (0s when the count does not match)."""
    starts = [match.start() for match in re.finditer(rb"<SequenceData\b", data)]
    if len(starts) != count:
        return [0] * count
    lines, line, previous = [], 1, 0
    for start in starts:  # counted piecewise: one pass over the data
        line += data.count(b"\n", previous, start)
        lines.append(line)
        previous = start
    return lines


def _st26_entry(
    block: ElementTree.Element,
    index: int,
    seen: set[int],
    limits: ListingLimits,
    line: int,
) -> SequenceEntry | None:
    number = _sequence_number(block.get("sequenceIDNumber"), index, seen, line)
    where = f"SEQ ID NO {number}"
    seq = block.find("INSDSeq")
    if seq is None:
        raise ListingError(f"{where}: missing <INSDSeq>", line or None)
    length_text = _required(seq, "INSDSeq_length", where, line)
    moltype = _required(seq, "INSDSeq_moltype", where, line)
    residues = _required(seq, "INSDSeq_sequence", where, line, allow_empty=True)
    if residues.strip() == SKIPPED:
        return None
    declared = _integer(length_text, f"{where} (INSDSeq_length)", line)
    if moltype not in MOLECULE_TYPES:
        raise ListingError(
            f"{where} (INSDSeq_moltype): unknown molecule type {moltype!r}; "
            "expected DNA, RNA or AA",
            line or None,
        )
    qualifiers = _qualifiers(seq)
    _check_mol_type(qualifiers.get("mol_type"), moltype, where, line)
    return _entry(
        number,
        moltype,
        residues,
        f"{where} (INSDSeq_sequence)",
        limits,
        organism=qualifiers.get("organism"),
        description=qualifiers.get("note"),
        declared=declared,
        declared_where=f"{where} (INSDSeq_length)",
        line=line,
    )


def _sequence_number(value: str | None, index: int, seen: set[int], line: int) -> int:
    where = f"SequenceData #{index + 1} (sequenceIDNumber)"
    if value is None:
        raise ListingError(f"{where}: missing", line or None)
    number = _integer(value, where, line)
    if number < 1:
        raise ListingError(f"{where}: {number} is not a SEQ ID NO (they start at 1)", line or None)
    if number in seen:
        raise ListingError(f"{where}: SEQ ID NO {number} appears twice", line or None)
    seen.add(number)
    return number


def _qualifiers(seq: ElementTree.Element) -> dict[str, str]:
    """``organism`` and ``mol_type`` (the source feature's first), and all notes joined."""
    features = seq.findall("INSDSeq_feature-table/INSDFeature")
    features.sort(key=lambda feature: _text(feature, "INSDFeature_key") != "source")
    found: dict[str, str] = {}
    notes: list[str] = []
    for feature in features:
        for qualifier in feature.findall("INSDFeature_quals/INSDQualifier"):
            name = _text(qualifier, "INSDQualifier_name")
            value = _text(qualifier, "INSDQualifier_value")
            if name is None or value is None:
                continue
            if name == "note":
                notes.append(value)
            elif name in ("organism", "mol_type"):
                found.setdefault(name, value)
    if notes:
        found["note"] = "; ".join(notes)
    return found


def _check_mol_type(mol_type: str | None, moltype: MoleculeType, where: str, line: int) -> None:
    """A ``mol_type`` qualifier must name the same kind of molecule as ``INSDSeq_moltype``."""
    if mol_type is None:
        return
    implied = "AA" if mol_type == "protein" else mol_type.rsplit(None, 1)[-1][-3:].upper()
    if implied != moltype:
        raise ListingError(
            f"{where} (mol_type): the qualifier says {mol_type!r} but INSDSeq_moltype is {moltype}",
            line or None,
        )


def _st26_application(root: ElementTree.Element) -> str | None:
    office = _text(root, "ApplicationIdentification/IPOfficeCode")
    number = _text(root, "ApplicationIdentification/ApplicationNumberText")
    if number is not None:
        return f"{office} {number}" if office else number
    return _text(root, "ApplicantFileReference")


def _st26_title(root: ElementTree.Element) -> str | None:
    titles = root.findall("InventionTitle")
    english = [title for title in titles if title.get("languageCode") == "en"]
    chosen = english or titles
    return _clean(chosen[0].text) if chosen else None


def _required(
    element: ElementTree.Element, tag: str, where: str, line: int, *, allow_empty: bool = False
) -> str:
    child = element.find(tag)
    if child is None:
        raise ListingError(f"{where}: missing <{tag}>", line or None)
    text = (child.text or "").strip()
    if not text and not allow_empty:
        raise ListingError(f"{where} ({tag}): empty", line or None)
    return text


def _text(element: ElementTree.Element, path: str) -> str | None:
    child = element.find(path)
    return _clean(child.text) if child is not None else None


def _clean(text: str | None) -> str | None:
    cleaned = " ".join((text or "").split())
    return cleaned or None


def _integer(text: str, where: str, line: int) -> int:
    if not text.strip().isdigit():
        raise ListingError(f"{where}: {text.strip()!r} is not a whole number", line or None)
    return int(text)


def _check_total(declared: str | None, count: int, where: str) -> None:
    if declared is None:
        return
    total = _integer(declared, where, 0)
    if total != count:
        raise ListingError(f"{where}: declares {total} sequences but the listing has {count}")


# --- ST.25 --------------------------------------------------------------------------


@dataclass
class _Field:
    """One ST.25 numeric identifier with its value lines (the first one after the tag)."""

    tag: str
    lines: list[str]
    line: int


def parse_st25(text: str, limits: ListingLimits = ListingLimits()) -> Listing:
    """An ST.25 text listing.

    Header: ``<110>`` applicant(s), ``<120>`` title, ``<140>`` application (else the
    ``<130>`` file reference), ``<160>`` the number of sequences. Per sequence: ``<210>``
    SEQ ID NO, ``<211>`` length, ``<212>`` type (PRT, DNA, RNA), ``<213>`` organism,
    ``<223>`` notes (the description), ``<400>`` the residues, amino acids in three-letter
    codes; the position numbers between residue lines are skipped.
    """
    _check_size(len(text.encode("utf-8")), limits)
    fields = list(_st25_fields(text))
    header = list(_before(fields, "210"))
    blocks = _st25_blocks(fields[len(header) :])
    _check_count(len(blocks), limits)
    entries = [entry for block in blocks if (entry := _st25_entry(block, limits)) is not None]
    _check_total(_first(header, "160"), len(blocks), "<160>")
    return Listing(
        application=_first(header, "140") or _first(header, "130"),
        applicant="; ".join(_all(header, "110")) or None,
        title=_first(header, "120"),
        entries=entries,
        format="st25",
    )


def _st25_fields(text: str) -> Iterator[_Field]:
    current: _Field | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        match = _ST25_TAG.match(raw.strip())
        if match:
            if current is not None:
                yield current
            current = _Field(match[1], [match[2].strip()], number)
        elif current is not None:
            current.lines.append(raw.strip())
    if current is not None:
        yield current


def _before(fields: Iterable[_Field], tag: str) -> Iterator[_Field]:
    for item in fields:
        if item.tag == tag:
            return
        yield item


def _st25_blocks(fields: Sequence[_Field]) -> list[list[_Field]]:
    blocks: list[list[_Field]] = []
    for item in fields:
        if item.tag == "210":
            blocks.append([])
        blocks[-1].append(item)
    return blocks


def _st25_entry(block: Sequence[_Field], limits: ListingLimits) -> SequenceEntry | None:
    head = block[0]
    number = _integer(head.lines[0], f"<210> at line {head.line}", head.line)
    where = f"SEQ ID NO {number}"
    residues_field = next((item for item in block if item.tag == "400"), None)
    if residues_field is None:
        raise ListingError(f"{where}: missing <400>", head.line)
    said = residues_field.lines[0]
    if said != str(number):
        raise ListingError(f"{where} (<400>): <400> names SEQ ID NO {said!r}", residues_field.line)
    body = [line for line in residues_field.lines[1:] if line]
    if "".join(body) == SKIPPED:
        return None
    type_text = _first(block, "212")
    if type_text not in _ST25_TYPES:
        raise ListingError(
            f"{where} (<212>): unknown molecule type {type_text!r}; expected PRT, DNA or RNA",
            head.line,
        )
    moltype = _ST25_TYPES[type_text]
    length = _first(block, "211")
    return _entry(
        number,
        moltype,
        _st25_residues(body, moltype, where, residues_field.line),
        f"{where} (<400>)",
        limits,
        organism=_first(block, "213"),
        description="; ".join(_all(block, "223")) or None,
        declared=None if length is None else _integer(length, f"{where} (<211>)", head.line),
        declared_where=f"{where} (<211>)",
        line=head.line,
    )


def _st25_residues(body: Sequence[str], moltype: MoleculeType, where: str, line: int) -> str:
    """The residue letters of a ``<400>`` block: numbers dropped, three-letter codes mapped."""
    tokens = [token for text in body for token in text.split() if not token.isdigit()]
    if moltype != "AA":
        return "".join(tokens)
    letters: list[str] = []
    for position, token in enumerate(tokens, 1):
        letter = THREE_TO_ONE.get(token.upper())
        if letter is None:
            raise ListingError(
                f"{where} (<400>): {token!r} at residue {position} is not a three-letter "
                "amino acid code",
                line,
            )
        letters.append(letter)
    return "".join(letters)


def _all(fields: Iterable[_Field], tag: str) -> list[str]:
    values = (" ".join(part for part in item.lines if part) for item in fields if item.tag == tag)
    return [value for value in values if value]


def _first(fields: Iterable[_Field], tag: str) -> str | None:
    values = _all(fields, tag)
    return values[0] if values else None


# --- FASTA --------------------------------------------------------------------------


def parse_fasta(
    text: str, default_type: MoleculeType | None = None, limits: ListingLimits = ListingLimits()
) -> Listing:
    """A FASTA file: ``>name description`` headers, residue lines after each.

    ``seq_id`` is the name; the type is ``default_type`` or :func:`guess_type`'s; a
    UniProt ``OS=`` field in the description is the organism. A final ``*`` (a stop codon)
    is dropped; ``;`` comment lines and blank lines are skipped. Names must be unique,
    since they become document ids.
    """
    _check_size(len(text.encode("utf-8")), limits)
    records = _fasta_records(text, limits)
    first_line: dict[str, int] = {}
    entries: list[SequenceEntry] = []
    for name, description, lines, line in records:
        where = f"sequence {name!r} (line {line})"
        if name in first_line:
            raise ListingError(
                f"{where}: the name is used before, at line {first_line[name]}", line
            )
        first_line[name] = line
        residues = "".join(lines).removesuffix("*")
        organism = _UNIPROT_ORGANISM.search(description or "")
        entries.append(
            _entry(
                name,
                default_type or guess_type(residues),
                residues,
                where,
                limits,
                organism=organism[1] if organism else None,
                description=description,
                line=line,
            )
        )
    return Listing(None, None, None, entries, "fasta")


def _fasta_records(
    text: str, limits: ListingLimits
) -> list[tuple[str, str | None, list[str], int]]:
    records: list[tuple[str, str | None, list[str], int]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped or stripped.startswith(";"):
            continue
        if stripped.startswith(">"):
            name, _, description = stripped[1:].strip().partition(" ")
            if not name:
                raise ListingError(f"line {number}: a FASTA header without a name", number)
            records.append((name, _clean(description), [], number))
            _check_count(len(records), limits)
        elif not records:
            raise ListingError(f"line {number}: expected a '>' header before residues", number)
        else:
            records[-1][2].append(stripped)
    if not records:
        raise ListingError("the listing has no sequences")
    return records


# --- any format ---------------------------------------------------------------------


def sniff_format(data: bytes) -> ListingFormat:
    """The format of a listing's bytes: XML → st26, ``<110>``/``<210>`` → st25, ``>`` → fasta."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"<?xml", b"<ST26", b"<!DOCTYPE", b"<!--")):
        return "st26"
    if re.search(rb"^\s*<(110|210)>", head, re.MULTILINE):
        return "st25"
    if head.startswith((b">", b";")):
        return "fasta"
    raise ListingError(
        "unknown listing format: expected ST.26 XML, ST.25 text (<110> …) or FASTA ('>')"
    )


def parse_listing(
    data: bytes, fmt: str | None = None, limits: ListingLimits = ListingLimits()
) -> Listing:
    """Parse ``data`` as ``fmt`` (``st26``, ``st25``, ``fasta``), sniffed when ``None``."""
    _check_size(len(data), limits)
    chosen = fmt or sniff_format(data)
    if chosen == "st26":
        return parse_st26(data, limits)
    if chosen not in LISTING_FORMATS:
        raise ListingError(f"unknown listing format {fmt!r}; expected st26, st25 or fasta")
    text = _decode(data)
    return parse_st25(text, limits) if chosen == "st25" else parse_fasta(text, limits=limits)


def _decode(data: bytes) -> str:
    try:
        return data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ListingError(f"line {line}: not UTF-8 text ({exc.reason})", line) from exc


# --- export -------------------------------------------------------------------------

_ST26_DOCTYPE = (
    '<!DOCTYPE ST26SequenceListing PUBLIC "-//WIPO//DTD Sequence Listing 1.3//EN" '
    '"ST26SequenceListing_V1_3.dtd">'
)
_MOL_TYPE_QUALIFIER: dict[MoleculeType, str] = {
    "DNA": "unassigned DNA",
    "RNA": "unassigned RNA",
    "AA": "protein",
}
_OFFICE_NUMBER = re.compile(r"([A-Z]{2}) (\S.*)")


def write_st26(listing: Listing, *, file_name: str = "listing.xml") -> bytes:
    """``listing`` as ST.26 XML (DTD V1_3 element order), UTF-8.

    Nucleotides are written in lower case. An ``application`` of the form ``"CC number"``
    becomes ``ApplicationIdentification``, anything else ``ApplicantFileReference``. Entries
    whose ``seq_id`` is not a number (FASTA) are numbered by position, their name put
    first in the ``note``. A missing organism is written as ``unidentified`` (ST.26 needs
    one), and ``mol_type`` as ``protein`` or ``unassigned DNA``/``RNA``.
    """
    root = ElementTree.Element(
        "ST26SequenceListing",
        dtdVersion="V1_3",
        fileName=file_name,
        softwareName="ipsim",
        softwareVersion="1",
    )
    _st26_header(root, listing)
    ElementTree.SubElement(root, "SequenceTotalQuantity").text = str(len(listing.entries))
    for position, entry in enumerate(listing.entries, 1):
        _st26_sequence(root, entry, position)
    ElementTree.indent(root)
    body = ElementTree.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{_ST26_DOCTYPE}\n{body}\n'.encode()


def _st26_header(root: ElementTree.Element, listing: Listing) -> None:
    match = _OFFICE_NUMBER.fullmatch(listing.application or "")
    if match:
        ident = ElementTree.SubElement(root, "ApplicationIdentification")
        ElementTree.SubElement(ident, "IPOfficeCode").text = match[1]
        ElementTree.SubElement(ident, "ApplicationNumberText").text = match[2]
    elif listing.application:
        ElementTree.SubElement(root, "ApplicantFileReference").text = listing.application
    if listing.applicant:
        name = ElementTree.SubElement(root, "ApplicantName", languageCode="en")
        name.text = listing.applicant
    if listing.title:
        title = ElementTree.SubElement(root, "InventionTitle", languageCode="en")
        title.text = listing.title


def _st26_sequence(root: ElementTree.Element, entry: SequenceEntry, position: int) -> None:
    numbered = isinstance(entry.seq_id, int)
    block = ElementTree.SubElement(
        root, "SequenceData", sequenceIDNumber=str(entry.seq_id if numbered else position)
    )
    seq = ElementTree.SubElement(block, "INSDSeq")
    ElementTree.SubElement(seq, "INSDSeq_length").text = str(entry.length)
    ElementTree.SubElement(seq, "INSDSeq_moltype").text = entry.moltype
    ElementTree.SubElement(seq, "INSDSeq_division").text = "PAT"
    table = ElementTree.SubElement(seq, "INSDSeq_feature-table")
    feature = ElementTree.SubElement(table, "INSDFeature")
    ElementTree.SubElement(feature, "INSDFeature_key").text = "source"
    ElementTree.SubElement(feature, "INSDFeature_location").text = f"1..{entry.length}"
    quals = ElementTree.SubElement(feature, "INSDFeature_quals")
    note = (
        entry.description
        if numbered
        else " ".join(filter(None, [str(entry.seq_id), entry.description]))
    )
    for name, value in (
        ("mol_type", _MOL_TYPE_QUALIFIER[entry.moltype]),
        ("organism", entry.organism or "unidentified"),
        ("note", note),
    ):
        if value:
            qualifier = ElementTree.SubElement(quals, "INSDQualifier")
            ElementTree.SubElement(qualifier, "INSDQualifier_name").text = name
            ElementTree.SubElement(qualifier, "INSDQualifier_value").text = value
    residues = entry.residues if entry.moltype == "AA" else entry.residues.lower()
    ElementTree.SubElement(seq, "INSDSeq_sequence").text = residues


def write_st25(listing: Listing) -> str:
    """``listing`` as ST.25 text: amino acids in three-letter codes, 16 a line with position
    numbers under them; nucleotides in lower case, 60 a line in groups of 10."""
    lines = ["", "SEQUENCE LISTING", ""]
    for tag, value in (
        ("110", listing.applicant),
        ("120", listing.title),
        ("140", listing.application),
    ):
        if value:
            lines += [f"<{tag}>  {value}", ""]
    lines += [f"<160>  {len(listing.entries)}", "", "<170>  ipsim", ""]
    for position, entry in enumerate(listing.entries, 1):
        number = entry.seq_id if isinstance(entry.seq_id, int) else position
        lines += [
            f"<210>  {number}",
            f"<211>  {entry.length}",
            f"<212>  {'PRT' if entry.moltype == 'AA' else entry.moltype}",
            f"<213>  {entry.organism or 'Unknown'}",
            "",
        ]
        if entry.description:
            lines += ["<220>", f"<223>  {entry.description}", ""]
        lines += [f"<400>  {number}", "", *_st25_body(entry), ""]
    return "\n".join(lines) + "\n"


def _st25_body(entry: SequenceEntry) -> list[str]:
    if entry.moltype != "AA":
        chunks = [entry.residues[i : i + 60].lower() for i in range(0, entry.length, 60)]
        return [
            " ".join(chunk[j : j + 10] for j in range(0, len(chunk), 10))
            + f"{min(start + 60, entry.length):>8}"
            for start, chunk in zip(range(0, entry.length, 60), chunks, strict=True)
        ] + [""]
    body: list[str] = []
    for start in range(0, entry.length, 16):
        codes = [ONE_TO_THREE[letter] for letter in entry.residues[start : start + 16]]
        body += [" ".join(codes), _st25_numbers(start, len(codes)), ""]
    return body


def _st25_numbers(start: int, count: int) -> str:
    """Positions 1, 5, 10, 15, … under their residues (each residue takes 4 columns)."""
    text = ""
    for offset in range(count):
        position = start + offset + 1
        if position == 1 or position % 5 == 0:
            text = text.ljust(4 * offset) + str(position)
    return text


__all__ = [
    "AMINO_ACID_CODES",
    "LISTING_FORMATS",
    "MIN_LENGTH",
    "MOLECULE_TYPES",
    "NUCLEOTIDE_CODES",
    "Listing",
    "ListingError",
    "ListingFormat",
    "ListingLimits",
    "MoleculeType",
    "SequenceEntry",
    "check_residues",
    "guess_type",
    "parse_fasta",
    "parse_listing",
    "parse_st25",
    "parse_st26",
    "sniff_format",
    "write_st25",
    "write_st26",
]


CONTENT_TYPES: dict[str, str] = {"DNA": "dna", "RNA": "rna", "AA": "protein"}
"""Molecule type → the ``type`` of a sequence document's content."""


def sequence_document(name: str, listing: Listing, entry: SequenceEntry) -> dict[str, Any]:
    """One sequence of ``listing`` (file ``name``) as a document: id ``name:seq_id``."""
    fields = {
        "listing": name,
        "application": listing.application,
        "seq_id": entry.seq_id,
        "moltype": entry.moltype,
        "organism": entry.organism,
        "length": entry.length,
        "format": listing.format,
    }
    return {
        "id": f"{name}:{entry.seq_id}",
        "content": {"sequence": entry.residues, "type": CONTENT_TYPES[entry.moltype]},
        "fields": {key: value for key, value in fields.items() if value is not None},
    }
