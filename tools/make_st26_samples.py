"""Write the sequence listing samples in ``tests/data/sequences/`` from real sequences.

No ST.25 or ST.26 listing could be found in any package (``../shared/data/README.md``), so
the tests' listings are built here around real sequences from
``pfam_seed_sequences.fasta``: the header (application, applicant, title) is made up and
says so; the residues, names and families are the Pfam seed's. Each entry's ``note``
keeps its FASTA name and family, so the tests can compare the parsed listing with the
FASTA source.

- ``pfam_proteins.st26.xml``: globins4, Caudal_act, XYPPX and the first Pkinase domains;
  the organism comes from the UniProt mnemonic's species suffix (``_YEAST``) for a few
  well-known species, else ``unidentified`` (ST.26's word for an unknown organism);
- ``pfam_proteins.st25.txt``: the same proteins as ST.25 (three-letter codes);
- ``made1_dna.st26.xml``: the first MADE1 transposon copies (human genomic DNA).

Run: ``.venv/bin/python -m ipsim.tools.make_st26_samples [--source FASTA] [--out DIR]``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from ipsim.benchmarks.datasets import data_root
from ipsim.models.sequence_formats import (
    Listing,
    SequenceEntry,
    parse_fasta,
    write_st25,
    write_st26,
)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "tests" / "data" / "sequences"

#: How many sequences of each family the protein listing takes, in file order.
PROTEIN_FAMILIES = {"globins4": 3, "Caudal_act": 7, "XYPPX": 6, "Pkinase": 4}
DNA_FAMILY, DNA_COUNT = "MADE1", 20

#: UniProt species mnemonics → organism names (the ones the samples meet, and a few more).
SPECIES = {
    "HUMAN": "Homo sapiens",
    "MOUSE": "Mus musculus",
    "RAT": "Rattus norvegicus",
    "CHICK": "Gallus gallus",
    "BOVIN": "Bos taurus",
    "XENLA": "Xenopus laevis",
    "BRARE": "Danio rerio",
    "DROME": "Drosophila melanogaster",
    "CAEEL": "Caenorhabditis elegans",
    "YEAST": "Saccharomyces cerevisiae",
    "SCHPO": "Schizosaccharomyces pombe",
    "ARATH": "Arabidopsis thaliana",
    "ECOLI": "Escherichia coli",
    "PHYCA": "Physeter catodon",
}


def organism_of(name: str) -> str:
    """The organism of a Pfam seed name: ``CDC15_YEAST/25-272`` → Saccharomyces cerevisiae;
    ``H.sapiens_6.1/…`` (the MADE1 copies) → Homo sapiens; else ``unidentified``."""
    if name.startswith("H.sapiens_"):
        return "Homo sapiens"
    species = name.split("/", 1)[0].rpartition("_")[2]
    return SPECIES.get(species, "unidentified")


def family_of(entry: SequenceEntry) -> str:
    """The ``family=`` value of a Pfam seed header."""
    fields = dict(part.split("=", 1) for part in (entry.description or "").split() if "=" in part)
    return fields["family"]


def numbered(entries: list[SequenceEntry]) -> list[SequenceEntry]:
    """SEQ ID NOs 1, 2, … with the organism filled in and the FASTA name kept in the note."""
    return [
        SequenceEntry(
            seq_id=number,
            moltype=entry.moltype,
            residues=entry.residues,
            organism=organism_of(str(entry.seq_id)),
            description=f"Pfam seed {entry.seq_id} {entry.description}",
            length=entry.length,
        )
        for number, entry in enumerate(entries, 1)
    ]


def pick(source: list[SequenceEntry], family: str, count: int) -> list[SequenceEntry]:
    return [entry for entry in source if family_of(entry) == family][:count]


def build(source: Path) -> dict[str, bytes]:
    """The sample files' names and bytes."""
    seed = parse_fasta(source.read_text(encoding="utf-8")).entries
    proteins = numbered(
        [entry for family, n in PROTEIN_FAMILIES.items() for entry in pick(seed, family, n)]
    )
    protein_listing = Listing(
        application="XX SAMPLE-0001",
        applicant="ipsim test samples (made-up header around Pfam seed sequences)",
        title="Protein domains from Pfam seed alignments",
        entries=proteins,
        format="st26",
    )
    dna_listing = Listing(
        application="XX SAMPLE-0002",
        applicant="ipsim test samples (made-up header around Pfam seed sequences)",
        title="MADE1 transposon copies from the human genome",
        entries=numbered(pick(seed, DNA_FAMILY, DNA_COUNT)),
        format="st26",
    )
    return {
        "pfam_proteins.st26.xml": write_st26(protein_listing, file_name="pfam_proteins.st26.xml"),
        "pfam_proteins.st25.txt": write_st25(protein_listing).encode("utf-8"),
        "made1_dna.st26.xml": write_st26(dna_listing, file_name="made1_dna.st26.xml"),
    }


def write_from_pfam(
    build: Callable[[Path], dict[str, bytes]],
    default_out: Path,
    description: str,
    argv: list[str] | None = None,
) -> None:
    """The command line of the listing writers: ``--source FASTA``, ``--out DIR``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--source", type=Path, help="default: the shared pfam_seed_sequences.fasta")
    parser.add_argument("--out", type=Path, default=default_out)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    source = args.source or data_root() / "sequences" / "pfam_seed_sequences.fasta"
    for name, data in build(source).items():
        (args.out / name).write_bytes(data)
        print(f"{args.out / name}: {len(data):,} bytes")


def main(argv: list[str] | None = None) -> None:
    write_from_pfam(build, DEFAULT_OUT, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    main()
