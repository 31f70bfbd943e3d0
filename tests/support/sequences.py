"""The shared Pfam seed sequences for tests: ``(name, family, residues)`` per FASTA record."""

from __future__ import annotations

from support.data import shared_data

PFAM = shared_data("sequences", "pfam_seed_sequences.fasta")


def pfam_records() -> list[tuple[str, str, str]]:
    """Every record of the Pfam seed FASTA (empty when the shared data is absent).

    The header is ``>name family=F pfam=ACC mol=protein|dna``; the ``mol`` tag is not
    trusted (the PSE family is DNA labelled protein): callers tell kinds by the residues.
    """
    if not PFAM.is_file():
        return []
    records: list[tuple[str, str, str]] = []
    for block in PFAM.read_text(encoding="utf-8").split(">")[1:]:
        header, *lines = block.splitlines()
        name, *tags = header.split()
        family = dict(tag.split("=", 1) for tag in tags)["family"]
        records.append((name, family, "".join(line.strip() for line in lines)))
    return records


def pfam_proteins() -> list[str]:
    """The residues of the protein records (not only nucleotide letters)."""
    return [residues for _, _, residues in pfam_records() if not set(residues) <= set("ACGTN")]
