"""Sequence listings for ``ipsim ingest``: ST.26 XML, ST.25 text and FASTA files, one
document per sequence.

The listing is parsed here, with :mod:`ipsim.models.sequence_formats` (defusedxml on the
standard library's expat; no lxml), so that a listing that contradicts itself or breaks
an XML rule is refused as a whole, named by file and line, before any of its sequences is
sent: a listing is one filing, and half of it in a collection would look complete.

Each sequence becomes ``{"id": "<listing>:<SEQ ID NO or FASTA name>", "content":
{"sequence": residues, "type": "dna" | "rna" | "protein"}, "fields": {"listing",
"application", "seq_id", "moltype", "organism", "length", "format"}}``, fields that are
unknown left out. ``<listing>`` is the file name without its listing suffixes
(``EP123.st26.xml`` → ``EP123``).

Extensions: ``.xml`` is ST.26, ``.st25`` and ``.st25.txt`` are ST.25, ``.fasta``, ``.fa``,
``.faa``, ``.fna`` and ``.fas`` are FASTA. A bare ``.txt`` is not claimed, since folders
of other files keep their notes in ``.txt`` files.

Resuming: the file is parsed again and the records before ``start.record`` are skipped;
each record's end position is where the next sequence starts (the file's end for the
last), so progress advances through the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ipsim.clients.ingest import (
    InvalidRecord,
    Position,
    Record,
    check_document,
    register_reader,
)
from ipsim.models.sequence_formats import (
    ListingError,
    ListingFormat,
    ListingLimits,
    parse_listing,
    sequence_document,
)

ST26_SUFFIXES = (".xml",)
ST25_SUFFIXES = (".txt", ".st25", ".st25.txt")
FASTA_SUFFIXES = (".fasta", ".fa", ".faa", ".fna", ".fas")
SUFFIX_FORMATS: dict[str, ListingFormat] = {
    **dict.fromkeys(ST26_SUFFIXES, "st26"),
    **dict.fromkeys(ST25_SUFFIXES, "st25"),
    **dict.fromkeys(FASTA_SUFFIXES, "fasta"),
}
_EXTRA_SUFFIXES = (".st26", ".st25")
LIMITS = ListingLimits()


def read_listing(path: Path, start: Position) -> Iterator[Record]:
    """One document per sequence of the listing at ``path``, from record ``start.record``."""
    raw = _read(path)
    try:
        listing = parse_listing(raw, listing_format(path), LIMITS)
    except ListingError as exc:
        raise InvalidRecord(path, exc.line or 1, exc.message) from exc
    name = listing_name(path)
    starts = _line_offsets(raw)
    entries = listing.entries
    for index in range(start.record, len(entries)):
        entry = entries[index]
        following = entries[index + 1].line if index + 1 < len(entries) else 0
        end_line = following - 1 if following else len(starts) - 1
        end_offset = starts[following - 1] if following else len(raw)
        document = check_document(sequence_document(name, listing, entry), path, entry.line)
        yield Record(document, entry.line or 1, Position(end_offset, end_line, index + 1))


def listing_format(path: Path) -> ListingFormat:
    """The format ``path``'s extension says (the longest registered suffix wins)."""
    return SUFFIX_FORMATS[_suffix(path)]


def listing_name(path: Path) -> str:
    """The file name without its listing suffixes: ``EP123.st26.xml`` → ``EP123``."""
    name = path.name[: -len(_suffix(path))]
    for extra in _EXTRA_SUFFIXES:
        if name.lower().endswith(extra):
            name = name[: -len(extra)]
    return name or path.name


def _suffix(path: Path) -> str:
    lowered = path.name.lower()
    return max((suffix for suffix in SUFFIX_FORMATS if lowered.endswith(suffix)), key=len)


def _read(path: Path) -> bytes:
    size = path.stat().st_size
    if size > LIMITS.max_bytes:
        raise InvalidRecord(
            path, 1, f"the listing is {size:,} bytes; the limit is {LIMITS.max_bytes:,} bytes"
        )
    return path.read_bytes()


def _line_offsets(raw: bytes) -> list[int]:
    """The byte offset where each line starts (index 0 is line 1), then the file size."""
    offsets = [0]
    at = raw.find(b"\n")
    while at != -1:
        offsets.append(at + 1)
        at = raw.find(b"\n", at + 1)
    if offsets[-1] != len(raw):
        offsets.append(len(raw))
    return offsets


for _suffix_name in SUFFIX_FORMATS:
    register_reader(_suffix_name, read_listing)


__all__ = [
    "FASTA_SUFFIXES",
    "ST25_SUFFIXES",
    "ST26_SUFFIXES",
    "SUFFIX_FORMATS",
    "listing_format",
    "listing_name",
    "read_listing",
]
