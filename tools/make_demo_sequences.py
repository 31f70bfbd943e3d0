"""Write the ``sequences`` demo: one WIPO ST.26 listing per Pfam family in ``demo/sequences/``.

Usage: ``python -m ipsim.tools.make_demo_sequences [--source FASTA] [--out DIR]``

Every sequence of the shared ``pfam_seed_sequences.fasta`` (Pfam seed alignments via
Debian hmmer-examples; Pfam data CC0) goes into the listing of its family, numbered
1, 2, …; the listing headers (application number, applicant, title) are made up for the
demo and say so. `make serve` loads the folder; `ipsim ingest NAME demo/sequences` does too.
"""

from __future__ import annotations

from pathlib import Path

from ipsim.models.sequence_formats import Listing, SequenceEntry, parse_fasta, write_st26
from ipsim.tools.make_st26_samples import family_of, numbered, write_from_pfam

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "demo" / "sequences"


def build(source: Path) -> dict[str, bytes]:
    """File name → ST.26 bytes, one listing per family (in first-seen order)."""
    seed = parse_fasta(source.read_text(encoding="utf-8")).entries
    families: dict[str, list[SequenceEntry]] = {}
    for entry in seed:
        families.setdefault(family_of(entry), []).append(entry)
    files = {}
    for number, (family, entries) in enumerate(families.items(), 1):
        listing = Listing(
            application=f"XX DEMO-{number:04d}",
            applicant="ipsim demo (made-up header around Pfam seed sequences, CC0)",
            title=f"Pfam {family} seed sequences",
            entries=numbered(entries),
            format="st26",
        )
        name = f"{family}.st26.xml"
        files[name] = write_st26(listing, file_name=name)
    return files


def main(argv: list[str] | None = None) -> None:
    write_from_pfam(build, DEFAULT_OUT, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    main()
