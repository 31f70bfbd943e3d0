"""Sequence listing parsers (ST.26, ST.25, FASTA): real samples, round trips, each bad input."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from support.data import shared_data

from ipsim.models.base import InvalidContent
from ipsim.models.sequence_formats import (
    Listing,
    ListingError,
    ListingLimits,
    SequenceEntry,
    check_residues,
    guess_type,
    parse_fasta,
    parse_listing,
    parse_st25,
    parse_st26,
    sniff_format,
    write_st25,
    write_st26,
)

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "sequences"
PROTEINS_ST26 = SAMPLES / "pfam_proteins.st26.xml"
PROTEINS_ST25 = SAMPLES / "pfam_proteins.st25.txt"
DNA_ST26 = SAMPLES / "made1_dna.st26.xml"
PFAM = shared_data("sequences", "pfam_seed_sequences.fasta")
UNIPROT = shared_data("sequences", "mmseqs2_uniprot_query500.fasta")
needs_pfam = pytest.mark.skipif(not PFAM.is_file(), reason="shared sequences absent")


def pfam_source() -> dict[str, SequenceEntry]:
    return {str(entry.seq_id): entry for entry in parse_fasta(PFAM.read_text()).entries}


def fasta_name(entry: SequenceEntry) -> str:
    """The Pfam seed name the sample generator put in the note: 'Pfam seed NAME family=…'."""
    assert entry.description is not None
    return entry.description.split()[2]


def st26(**replace: str) -> bytes:
    """The protein sample's text with each ``old: new`` pair replaced once."""
    data = PROTEINS_ST26.read_text()
    for old, new in replace.items():
        assert old in data, old
        data = data.replace(old, new, 1)
    return data.encode()


def refusal(data: bytes, parse: Callable[[bytes], object] = parse_st26) -> ListingError:
    with pytest.raises(ListingError) as caught:
        parse(data)
    assert caught.value.field == "listing"
    return caught.value


# --- ST.26 samples ------------------------------------------------------------------


@needs_pfam
def test_st26_protein_sample_matches_its_fasta_source() -> None:
    listing = parse_st26(PROTEINS_ST26.read_bytes())
    source = pfam_source()
    assert listing.format == "st26"
    assert listing.application == "XX SAMPLE-0001"
    assert listing.title == "Protein domains from Pfam seed alignments"
    assert listing.applicant is not None and listing.applicant.startswith("ipsim test samples")
    assert [entry.seq_id for entry in listing.entries] == list(range(1, 21))
    for entry in listing.entries:
        original = source[fasta_name(entry)]
        assert entry.residues == original.residues
        assert entry.length == len(original.residues)
        assert entry.moltype == "AA"
    by_name = {fasta_name(entry): entry for entry in listing.entries}
    assert by_name["HBB_HUMAN"].organism == "Homo sapiens"
    assert by_name["CDC15_YEAST/25-272"].organism == "Saccharomyces cerevisiae"
    assert by_name["BYR2_SCHPO/394-658"].organism == "Schizosaccharomyces pombe"
    assert by_name["Q90262_BRARE/13-147"].organism == "Danio rerio"
    assert by_name["OPSD_SEPOF/441-445"].organism == "unidentified"
    assert by_name["OPSD_SEPOF/441-445"].residues == "GAPPQ"  # 5 aa: above ST.26's 4


@needs_pfam
def test_st26_dna_sample_is_lower_case_in_the_file_and_upper_case_parsed() -> None:
    raw = DNA_ST26.read_bytes()
    listing = parse_st26(raw)
    source = pfam_source()
    first = listing.entries[0]
    assert len(listing.entries) == 20
    assert first.moltype == "DNA" and first.organism == "Homo sapiens"
    assert fasta_name(first) == "H.sapiens_6.1/113836283-113836209"
    assert first.residues == source[fasta_name(first)].residues
    assert f"<INSDSeq_sequence>{first.residues.lower()}</INSDSeq_sequence>".encode() in raw
    assert all(entry.residues.isupper() for entry in listing.entries)


def test_entries_know_their_line() -> None:
    raw = PROTEINS_ST26.read_bytes()
    lines = raw.decode().splitlines()
    listing = parse_st26(raw)
    for entry in listing.entries:
        assert lines[entry.line - 1].strip() == f'<SequenceData sequenceIDNumber="{entry.seq_id}">'


def test_samples_are_small() -> None:
    for path in (PROTEINS_ST26, PROTEINS_ST25, DNA_ST26):
        assert path.stat().st_size < 50_000


# --- round trips --------------------------------------------------------------------


def test_st26_round_trip() -> None:
    for path in (PROTEINS_ST26, DNA_ST26):
        listing = parse_st26(path.read_bytes())
        assert parse_st26(write_st26(listing)) == listing


def test_st25_sample_holds_the_same_listing_as_st26() -> None:
    st26 = parse_st26(PROTEINS_ST26.read_bytes())
    st25 = parse_st25(PROTEINS_ST25.read_text())
    assert st25.format == "st25"
    assert st25.entries == st26.entries
    assert (st25.application, st25.applicant, st25.title) == (
        st26.application,
        st26.applicant,
        st26.title,
    )
    assert st25.entries[0].line == 14  # the "<210>  1" line


def test_st25_round_trip_of_nucleotides() -> None:
    listing = parse_st26(DNA_ST26.read_bytes())
    text = write_st25(listing)
    assert "<212>  DNA" in text
    assert parse_st25(text).entries == listing.entries


def test_fasta_to_st26_numbers_the_entries_and_keeps_the_names() -> None:
    fasta = parse_fasta(">seqA first one\nMKTAYIAKQR\n>seqB\nacgtacgtacgtn\n")
    back = parse_st26(write_st26(fasta))
    assert [entry.seq_id for entry in back.entries] == [1, 2]
    assert [entry.description for entry in back.entries] == ["seqA first one", "seqB"]
    assert [entry.moltype for entry in back.entries] == ["AA", "DNA"]
    assert back.entries[1].residues == "ACGTACGTACGTN"
    assert back.entries[0].organism == "unidentified"  # ST.26 needs an organism


# --- ST.26: lenient where the standard allows ---------------------------------------


def test_st26_accepts_upper_case_nucleotides_and_lower_case_amino_acids() -> None:
    seq = parse_st26(PROTEINS_ST26.read_bytes()).entries[0].residues
    listing = parse_st26(st26(**{seq: seq.lower()}))
    assert listing.entries[0].residues == seq
    dna = parse_st26(DNA_ST26.read_bytes()).entries[0].residues
    upper = DNA_ST26.read_text().replace(dna.lower(), dna, 1).encode()
    assert parse_st26(upper).entries[0].residues == dna


def test_st26_skipped_sequence_keeps_its_number_and_gives_no_entry() -> None:
    listing = parse_st26(
        st26(
            **{
                "<INSDSeq_length>146</INSDSeq_length>": "<INSDSeq_length>0</INSDSeq_length>",
                "<INSDSeq_sequence>VHLTPEEK": "<INSDSeq_sequence>000</INSDSeq_sequence><x>",
                "KYH</INSDSeq_sequence>": "</x>",
            }
        )
    )
    assert [entry.seq_id for entry in listing.entries] == list(range(2, 21))


def test_st26_without_doctype_or_header_is_read() -> None:
    data = st26(
        **{
            '<!DOCTYPE ST26SequenceListing PUBLIC "-//WIPO//DTD Sequence Listing 1.3//EN" '
            '"ST26SequenceListing_V1_3.dtd">': "",
            "<ApplicationIdentification>": "<!--",
            "</InventionTitle>": "-->",
        }
    )
    listing = parse_st26(data)
    assert (listing.application, listing.applicant, listing.title) == (None, None, None)
    assert len(listing.entries) == 20


def test_st26_external_dtd_is_never_fetched() -> None:
    # A DOCTYPE naming an unreachable DTD parses: nothing is fetched.
    data = st26(**{'"ST26SequenceListing_V1_3.dtd"': '"http://127.0.0.1:9/never.dtd"'})
    assert len(parse_st26(data).entries) == 20


def test_st26_application_falls_back_to_the_file_reference() -> None:
    data = st26(
        **{
            "<ApplicationIdentification>": (
                "<ApplicantFileReference>REF-7</ApplicantFileReference><!--"
            ),
            "</ApplicationIdentification>": "-->",
        }
    )
    assert parse_st26(data).application == "REF-7"


# --- ST.26: refusals ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("replace", "message"),
    [
        (
            {"<INSDSeq_length>146<": "<INSDSeq_length>150<"},
            "SEQ ID NO 1 (INSDSeq_length): declares 150 residues but the sequence has 146",
        ),
        (
            {"<INSDSeq_moltype>AA<": "<INSDSeq_moltype>PRT<"},
            "SEQ ID NO 1 (INSDSeq_moltype): unknown molecule type 'PRT'; expected DNA, RNA or AA",
        ),
        (
            {"<INSDSeq_sequence>VHLTPE": "<INSDSeq_sequence>VHL*1E"},
            "SEQ ID NO 1 (INSDSeq_sequence): not IUPAC amino acid codes: '*' at 4, '1' at 5",
        ),
        (
            {
                "<INSDSeq_moltype>AA<": "<INSDSeq_moltype>DNA<",
                "<INSDQualifier_value>protein<": "<INSDQualifier_value>genomic DNA<",
            },
            "SEQ ID NO 1 (INSDSeq_sequence): not IUPAC nucleotide codes: 'L' at 3, 'P' at 5, "
            "'E' at 6, 'E' at 7, 'L' at 14 and 39 more",
        ),
        (
            {"<INSDSeq_moltype>AA</INSDSeq_moltype>": ""},
            "SEQ ID NO 1: missing <INSDSeq_moltype>",
        ),
        (
            {"<INSDSeq>": "<INSDSeqX>", "</INSDSeq>": "</INSDSeqX>"},
            "SEQ ID NO 1: missing <INSDSeq>",
        ),
        (
            {"<INSDSeq_length>146<": "<INSDSeq_length>lots<"},
            "SEQ ID NO 1 (INSDSeq_length): 'lots' is not a whole number",
        ),
        (
            {'sequenceIDNumber="2"': 'sequenceIDNumber="1"'},
            "SequenceData #2 (sequenceIDNumber): SEQ ID NO 1 appears twice",
        ),
        (
            {'sequenceIDNumber="1"': 'sequenceIDNumber="one"'},
            "SequenceData #1 (sequenceIDNumber): 'one' is not a whole number",
        ),
        (
            {'sequenceIDNumber="1"': ""},
            "SequenceData #1 (sequenceIDNumber): missing",
        ),
        (
            {"<SequenceTotalQuantity>20<": "<SequenceTotalQuantity>21<"},
            "SequenceTotalQuantity: declares 21 sequences but the listing has 20",
        ),
        (
            {"<INSDQualifier_value>protein<": "<INSDQualifier_value>genomic DNA<"},
            "SEQ ID NO 1 (mol_type): the qualifier says 'genomic DNA' but INSDSeq_moltype is AA",
        ),
        (
            {
                "<ST26SequenceListing ": "<SequenceListing ",
                "</ST26SequenceListing>": "</SequenceListing>",
            },
            "the root element is <SequenceListing>, expected <ST26SequenceListing>",
        ),
    ],
)
def test_st26_contradictions_and_gaps_name_the_sequence_and_element(
    replace: dict[str, str], message: str
) -> None:
    data = PROTEINS_ST26.read_text()
    for old, new in replace.items():
        assert old in data, old
        data = data.replace(old, new, 1)
    assert refusal(data.encode()).message == message


def test_st26_too_short_sequence() -> None:
    xyppx = parse_st26(PROTEINS_ST26.read_bytes()).entries[10]
    assert xyppx.residues == "GAPPQ"
    data = st26(
        **{
            "<INSDSeq_length>5<": "<INSDSeq_length>3<",
            "<INSDSeq_sequence>GAPPQ<": "<INSDSeq_sequence>GAP<",
        }
    )
    error = refusal(data)
    assert error.message == (
        "SEQ ID NO 11 (INSDSeq_sequence): 3 residues; ST.26 requires at least 4 amino acids"
    )
    assert error.line == parse_st26(PROTEINS_ST26.read_bytes()).entries[10].line


def test_malformed_xml_names_the_line() -> None:
    data = st26(**{"</INSDSeq_moltype>": "</INSDSeq_mol>"})
    error = refusal(data)
    assert error.line == 14
    assert error.message == "malformed XML at line 14, column 28: mismatched tag"
    assert refusal(b"").message.startswith("malformed XML at line 1")
    assert refusal(PROTEINS_ST26.read_bytes()[:5000]).message.startswith("malformed XML")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE ST26SequenceListing [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<ST26SequenceListing><InventionTitle>&lol3;</InventionTitle></ST26SequenceListing>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE ST26SequenceListing [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ST26SequenceListing><InventionTitle>&xxe;</InventionTitle></ST26SequenceListing>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE ST26SequenceListing [<!ENTITY % dtd SYSTEM "http://127.0.0.1:9/evil.dtd"> %dtd;]>
<ST26SequenceListing/>"""


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (BILLION_LAUGHS, "entity declarations are not allowed (entity 'lol')"),
        (
            EXTERNAL_ENTITY,
            "entity declarations are not allowed (entity 'xxe', external 'file:///etc/passwd')",
        ),
        (
            PARAMETER_ENTITY,
            "entity declarations are not allowed (entity 'dtd', external "
            "'http://127.0.0.1:9/evil.dtd')",
        ),
        (b"<ST26SequenceListing>&undefined;</ST26SequenceListing>", "malformed XML at line 1"),
    ],
)
def test_entities_are_refused(data: bytes, message: str) -> None:
    assert refusal(data).message.startswith(message)


def test_st26_limits_are_checked() -> None:
    data = PROTEINS_ST26.read_bytes()
    assert refusal(data, lambda d: parse_st26(d, ListingLimits(max_bytes=1000))).message == (
        f"the listing is {len(data):,} bytes; the limit is 1,000 bytes"
    )
    assert refusal(data, lambda d: parse_st26(d, ListingLimits(max_sequences=19))).message == (
        "the listing has more than 19 sequences (the limit)"
    )
    error = refusal(data, lambda d: parse_st26(d, ListingLimits(max_length=200)))
    assert error.message == "SEQ ID NO 17 (INSDSeq_sequence): 248 residues; the limit is 200"
    assert refusal(b"<ST26SequenceListing/>").message == "the listing has no sequences"


# --- ST.25 --------------------------------------------------------------------------


def st25(**replace: str) -> str:
    text = PROTEINS_ST25.read_text()
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


@pytest.mark.parametrize(
    ("replace", "message"),
    [
        (
            {"<211>  146": "<211>  140"},
            "SEQ ID NO 1 (<211>): declares 140 residues but the sequence has 146",
        ),
        ({"<400>  1\n": "<400>  2\n"}, "SEQ ID NO 1 (<400>): <400> names SEQ ID NO '2'"),
        (
            {"Val His Leu": "Val Hsi Leu"},
            "SEQ ID NO 1 (<400>): 'Hsi' at residue 2 is not a three-letter amino acid code",
        ),
        (
            {"<212>  PRT": "<212>  AA"},
            "SEQ ID NO 1 (<212>): unknown molecule type 'AA'; expected PRT, DNA or RNA",
        ),
        ({"<160>  20": "<160>  2"}, "<160>: declares 2 sequences but the listing has 20"),
        ({"<400>  1\n": "<401>  1\n"}, "SEQ ID NO 1: missing <400>"),
        ({"<210>  1\n": "<210>  first\n"}, "<210> at line 14: 'first' is not a whole number"),
    ],
)
def test_st25_refusals_name_the_sequence_and_identifier(
    replace: dict[str, str], message: str
) -> None:
    assert refusal(st25(**replace).encode(), lambda d: parse_st25(d.decode())).message == message


def test_st25_nucleotide_alphabet_and_skipped_sequences() -> None:
    dna = write_st25(parse_st26(DNA_ST26.read_bytes()))
    first = parse_st26(DNA_ST26.read_bytes()).entries[0].residues.lower()[:10]
    bad = dna.replace(first, first[:3] + "x" + first[4:], 1)
    assert refusal(bad.encode(), lambda d: parse_st25(d.decode())).message == (
        "SEQ ID NO 1 (<400>): not IUPAC nucleotide codes: 'X' at 4"
    )
    skipped = re.sub(r"(<400>  2\n\n).*?(?=<210>)", r"\g<1>000\n\n", dna, count=1, flags=re.S)
    listing = parse_st25(skipped)
    assert [entry.seq_id for entry in listing.entries][:2] == [1, 3]


# --- FASTA --------------------------------------------------------------------------


@needs_pfam
def test_fasta_pfam_seed_types_are_guessed() -> None:
    listing = parse_fasta(PFAM.read_text())
    assert listing.format == "fasta" and len(listing.entries) == 324
    by_family: dict[str, set[str]] = {}
    for entry in listing.entries:
        family = (entry.description or "").split()[0]
        by_family.setdefault(family, set()).add(entry.moltype)
    assert by_family["family=MADE1"] == {"DNA"}
    # PSE entries are 17-nt promoter elements, DNA although the header says mol=protein.
    assert by_family["family=PSE"] == {"DNA"}
    assert by_family["family=Pkinase"] == {"AA"}
    assert listing.entries[0].seq_id == "CDC15_YEAST/25-272"
    assert listing.entries[0].line == 1


@pytest.mark.skipif(not UNIPROT.is_file(), reason="shared sequences absent")
def test_fasta_uniprot_organisms() -> None:
    listing = parse_fasta(UNIPROT.read_text())
    first = listing.entries[0]
    assert first.seq_id == "tr|A7TBS3|A7TBS3_NEMVE"
    assert first.organism == "Nematostella vectensis"
    assert first.residues.startswith("VCIHTENQNQ") and first.length == 57
    assert sum(entry.organism == "Homo sapiens" for entry in listing.entries) == 8
    assert {entry.moltype for entry in listing.entries} == {"AA"}


def test_fasta_details() -> None:
    text = "; comment\n\n>p1 protein one\nmkta yiak\nQR*\n>r1\nACGUACGUACGU\n"
    listing = parse_fasta(text)
    assert [(e.seq_id, e.moltype, e.residues, e.line) for e in listing.entries] == [
        ("p1", "AA", "MKTAYIAKQR", 3),
        ("r1", "RNA", "ACGUACGUACGU", 6),
    ]
    assert listing.entries[0].description == "protein one"
    typed = parse_fasta(">n\nACGTACGTAC\n", default_type="AA")
    assert typed.entries[0].moltype == "AA"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("MKTAYIAKQR\n", "line 1: expected a '>' header before residues"),
        (">\nMKTAYIAKQR\n", "line 1: a FASTA header without a name"),
        (
            ">a\nMKTAYIAKQR\n>a\nMKTAYIAKQR\n",
            "sequence 'a' (line 3): the name is used before, at line 1",
        ),
        (">a\nMKT-AYIAKQR\n", "sequence 'a' (line 1): not IUPAC amino acid codes: '-' at 4"),
        (">a\nMKT\n", "sequence 'a' (line 1): 3 residues; ST.26 requires at least 4 amino acids"),
        ("", "the listing has no sequences"),
    ],
)
def test_fasta_refusals(text: str, message: str) -> None:
    assert refusal(text.encode(), lambda d: parse_fasta(d.decode())).message == message


# --- residues and types -------------------------------------------------------------


def test_check_residues_normalises_and_refuses() -> None:
    assert check_residues(" acgt\nacgtNN ", "DNA", "query") == "ACGTACGTNN"
    assert check_residues("ryswkmbdhvn", "RNA", "query") == "RYSWKMBDHVN"
    assert check_residues("mktBZJUOX", "AA", "query") == "MKTBZJUOX"
    with pytest.raises(InvalidContent) as caught:
        check_residues("ACGTACGTEF", "DNA", "query")
    assert (caught.value.field, caught.value.message) == (
        "sequence",
        "query: not IUPAC nucleotide codes: 'E' at 9, 'F' at 10",
    )
    with pytest.raises(InvalidContent) as caught:
        check_residues("ACGTACGTA", "DNA", "query")
    assert caught.value.message == "query: 9 residues; ST.26 requires at least 10 nucleotides"
    with pytest.raises(InvalidContent) as caught:
        check_residues("ACGTACGTAC", "PRT", "query")  # type: ignore[arg-type]
    assert (caught.value.field, caught.value.message) == (
        "type",
        "query: unknown molecule type 'PRT'; expected DNA, RNA or AA",
    )


@pytest.mark.parametrize(
    ("residues", "expected"),
    [
        ("ACGTACGTNNACGT", "DNA"),
        ("acgu acgu acgu", "RNA"),
        ("ACGTRYACGTACGTACGTAC", "DNA"),  # 2 ambiguity codes in 20: still DNA
        ("ACGTRYKMSWACGT", "AA"),  # mostly ambiguity codes: not plausible DNA
        ("MKTAYIAKQR", "AA"),
        ("", "AA"),
    ],
)
def test_guess_type(residues: str, expected: str) -> None:
    assert guess_type(residues) == expected


# --- any format ---------------------------------------------------------------------


def test_parse_listing_sniffs_the_format() -> None:
    assert parse_listing(PROTEINS_ST26.read_bytes()).format == "st26"
    assert parse_listing(PROTEINS_ST25.read_bytes()).format == "st25"
    assert parse_listing(b"\xef\xbb\xbf>a\nMKTAYIAKQR\n").format == "fasta"
    assert sniff_format(b"  <ST26SequenceListing/>") == "st26"
    with pytest.raises(ListingError, match=r"unknown listing format: expected ST\.26"):
        parse_listing(b"LOCUS       AB000263\n")


def test_parse_listing_refusals() -> None:
    assert refusal(b">a\nMKT\xffAYIAKQR\n", parse_listing).message == (
        "line 2: not UTF-8 text (invalid start byte)"
    )
    with pytest.raises(ListingError, match="unknown listing format 'genbank'"):
        parse_listing(b">a\nMKTAYIAKQR\n", "genbank")
    error = refusal(b">a\nMKTAYIAKQR\n", lambda d: parse_listing(d, limits=ListingLimits(10)))
    assert error.message == "the listing is 14 bytes; the limit is 10 bytes"


def test_listing_equality_ignores_lines() -> None:
    one = SequenceEntry(1, "AA", "MKTA", None, None, 4, line=3)
    assert one == SequenceEntry(1, "AA", "MKTA", None, None, 4, line=9)
    assert Listing(None, None, None, [one], "st26") == Listing(None, None, None, [one], "st26")
