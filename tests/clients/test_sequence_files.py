"""Sequence listing readers: one document per sequence, formats by extension, resume, refusals."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import httpx
import pytest
from support.data import shared_data
from support.upsert_server import UpsertServer

from ipsim.clients import Client, TransportError
from ipsim.clients.ingest import (
    CheckpointStore,
    IngestJob,
    InvalidRecord,
    Position,
    Record,
    reader_for,
    source_files,
)
from ipsim.clients.sequence_files import (
    LIMITS,
    listing_format,
    listing_name,
    read_listing,
)

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "sequences"
PFAM = shared_data("sequences", "pfam_seed_sequences.fasta")
URL = "http://ipsim.test:8080"


def read(path: Path, start: Position | None = None) -> list[Record]:
    return list(reader_for(path)(path, start or Position()))


@pytest.mark.parametrize(
    ("name", "fmt", "listing"),
    [
        ("EP123.st26.xml", "st26", "EP123"),
        ("EP123.XML", "st26", "EP123"),
        ("old.st25", "st25", "old"),
        ("old.ST25.txt", "st25", "old"),
        ("db.fasta", "fasta", "db"),
        ("db.fa", "fasta", "db"),
        ("db.faa", "fasta", "db"),
        ("db.fna", "fasta", "db"),
        ("db.fas", "fasta", "db"),
    ],
)
def test_extensions_choose_the_format(name: str, fmt: str, listing: str) -> None:
    assert reader_for(Path(name)) is read_listing
    assert listing_format(Path(name)) == fmt
    assert listing_name(Path(name)) == listing


def test_st26_listing_gives_one_document_per_sequence() -> None:
    path = SAMPLES / "pfam_proteins.st26.xml"
    records = read(path)
    assert len(records) == 20
    first = records[0].document
    assert first["id"] == "pfam_proteins:1"
    assert first["content"]["type"] == "protein"
    assert first["content"]["sequence"].startswith("VHLTPEEKSAVTALWGKV")
    assert first["fields"] == {
        "listing": "pfam_proteins",
        "application": "XX SAMPLE-0001",
        "seq_id": 1,
        "moltype": "AA",
        "organism": "Homo sapiens",
        "length": 146,
        "format": "st26",
    }
    assert [record.document["id"] for record in records][-1] == "pfam_proteins:20"


def test_dna_listing_documents_are_typed_dna() -> None:
    records = read(SAMPLES / "made1_dna.st26.xml")
    assert {record.document["content"]["type"] for record in records} == {"dna"}
    assert records[0].document["fields"]["length"] == 75


def test_st25_and_st26_give_the_same_sequences(tmp_path: Path) -> None:
    st25 = tmp_path / "pfam_proteins.st25"
    shutil.copy(SAMPLES / "pfam_proteins.st25.txt", st25)
    from_st25 = [record.document for record in read(st25)]
    from_st26 = [record.document for record in read(SAMPLES / "pfam_proteins.st26.xml")]
    assert [doc["content"] for doc in from_st25] == [doc["content"] for doc in from_st26]
    assert [doc["id"] for doc in from_st25] == [doc["id"] for doc in from_st26]
    assert from_st25[0]["fields"]["format"] == "st25"


def test_fasta_documents_leave_unknown_fields_out(tmp_path: Path) -> None:
    path = tmp_path / "mini.fa"
    path.write_text(">p1 a protein\nMKTAYIAKQR\n>d1\nacgtacgtacgt\n", encoding="utf-8")
    documents = [record.document for record in read(path)]
    assert documents == [
        {
            "id": "mini:p1",
            "content": {"sequence": "MKTAYIAKQR", "type": "protein"},
            "fields": {
                "listing": "mini",
                "seq_id": "p1",
                "moltype": "AA",
                "length": 10,
                "format": "fasta",
            },
        },
        {
            "id": "mini:d1",
            "content": {"sequence": "ACGTACGTACGT", "type": "dna"},
            "fields": {
                "listing": "mini",
                "seq_id": "d1",
                "moltype": "DNA",
                "length": 12,
                "format": "fasta",
            },
        },
    ]


def test_positions_advance_through_the_file_and_resume() -> None:
    path = SAMPLES / "pfam_proteins.st26.xml"
    raw = path.read_bytes()
    records = read(path)
    offsets = [record.end.offset for record in records]
    assert offsets == sorted(offsets) and offsets[-1] == len(raw)
    assert [record.end.record for record in records] == list(range(1, 21))
    # Each record ends where the next sequence starts.
    for record, following in itertools.pairwise(records):
        assert raw[record.end.offset :].lstrip().startswith(b'<SequenceData sequenceIDNumber="')
        assert record.end.line == following.line - 1
    resumed = read(path, records[14].end)
    assert [record.document["id"] for record in resumed] == [
        f"pfam_proteins:{number}" for number in range(16, 21)
    ]
    assert read(path, records[-1].end) == []


def test_an_invalid_listing_is_refused_whole_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.st26.xml"
    text = (SAMPLES / "pfam_proteins.st26.xml").read_text()
    path.write_text(text.replace("<INSDSeq_length>5<", "<INSDSeq_length>6<", 1))
    with pytest.raises(InvalidRecord) as caught:
        read(path)
    assert caught.value.reason == (
        "SEQ ID NO 11 (INSDSeq_length): declares 6 residues but the sequence has 5"
    )
    line = text.splitlines().index('  <SequenceData sequenceIDNumber="11">') + 1
    assert caught.value.line == line


def test_malformed_and_hostile_xml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.xml"
    path.write_bytes(
        b'<?xml version="1.0"?>\n<!DOCTYPE ST26SequenceListing '
        b'[<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<ST26SequenceListing>&xxe;'
        b"</ST26SequenceListing>"
    )
    with pytest.raises(InvalidRecord, match="entity declarations are not allowed"):
        read(path)
    path.write_bytes(b"<ST26SequenceListing>\n<SequenceData>\n</ST26SequenceListing>")
    with pytest.raises(InvalidRecord) as caught:
        read(path)
    assert caught.value.line == 3
    assert caught.value.reason.startswith("malformed XML at line 3")


def test_a_file_of_the_wrong_format_for_its_extension(tmp_path: Path) -> None:
    path = tmp_path / "proteins.fasta"
    shutil.copy(SAMPLES / "pfam_proteins.st26.xml", path)
    with pytest.raises(InvalidRecord, match="line 1: expected a '>' header before residues"):
        read(path)


def test_files_above_the_limit_are_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.fasta"
    with path.open("wb") as stream:  # sparse: nothing is written or read
        stream.truncate(LIMITS.max_bytes + 1)
    with pytest.raises(InvalidRecord) as caught:
        read(path)
    assert caught.value.line == 1
    assert caught.value.reason == "the listing is 33,554,433 bytes; the limit is 33,554,432 bytes"


def test_a_folder_gives_its_listing_files(tmp_path: Path) -> None:
    for name in ("a.st26.xml", "b.fasta", "c.st25", "d.txt", "readme.md"):
        (tmp_path / name).write_text("", encoding="utf-8")
    listed = [path.name for path in source_files(tmp_path)]
    assert listed == ["a.st26.xml", "b.fasta", "c.st25", "d.txt"]  # .txt is ST.25


@pytest.mark.skipif(not PFAM.is_file(), reason="shared sequences absent")
def test_ingest_sends_each_sequence_once_and_resumes(tmp_path: Path) -> None:
    folder = tmp_path / "listings"
    folder.mkdir()
    shutil.copy(PFAM, folder / "pfam_seed.fasta")
    shutil.copy(SAMPLES / "made1_dna.st26.xml", folder / "made1_dna.st26.xml")
    dna = folder / "made1_dna.st26.xml"
    server = UpsertServer("sequences")
    store = CheckpointStore(tmp_path / "state")
    server.cut_after = 2  # the connection drops after two batches of 8
    with (
        Client(URL, transport=httpx.MockTransport(server)) as client,
        pytest.raises(TransportError),
    ):
        IngestJob(client, URL, "sequences", store, batch_size=8).ingest_file(dna)
    assert server.ids == [f"made1_dna:{number}" for number in range(1, 17)]

    server.cut_after = None
    progress: list[int] = []
    with Client(URL, transport=httpx.MockTransport(server)) as client:
        job = IngestJob(client, URL, "sequences", store, batch_size=8, on_progress=progress.append)
        resumed = job.ingest_file(dna)
        assert sum(progress) == dna.stat().st_size
        sent = [job.ingest_file(path).upserted for path in source_files(folder)]
    assert resumed.upserted == 4
    assert sent == [0, 324]  # the DNA listing is complete now; the FASTA file is new
    assert server.ids[:20] == [f"made1_dna:{number}" for number in range(1, 21)]
    assert len(server.ids) == len(set(server.ids)) == 20 + 324
    assert "pfam_seed:CDC15_YEAST/25-272" in server.ids
