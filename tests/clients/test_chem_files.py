"""SD and SMILES file readers: framing, ids, data items, bad records, resume; on real files too."""

from __future__ import annotations

import csv
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.data import CHEMISTRY
from support.upsert_server import UpsertServer

from ipsim.clients import Client, TransportError
from ipsim.clients.chem_files import field_value, first_molblock, read_sdf, read_smiles
from ipsim.clients.ingest import (
    CheckpointStore,
    IngestJob,
    InvalidRecord,
    Position,
    Record,
    SourceKey,
    reader_for,
)

DATA = CHEMISTRY
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"no shared data at {DATA}")
URL = "http://ipsim.test:8080"

METHANE = "methane\n  sketch\n\n  1  0  0  0  0  0  0  0  0  0999 V2000\n" + (
    "    0.0000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0\nM  END\n"
)


def molblock(title: str) -> str:
    """A one-atom molblock with ``title`` on its first line."""
    return title + METHANE[len("methane") :]


def sd_record(title: str, *items: tuple[str, str]) -> str:
    data = "".join(f"{header}\n{value}\n\n" for header, value in items)
    return molblock(title) + data + "$$$$\n"


def read(path: Path, start: Position | None = None) -> list[Record]:
    return list(reader_for(path)(path, start or Position()))


def ids(records: list[Record]) -> list[str]:
    return [record.document["id"] for record in records]


# --- SMILES files -------------------------------------------------------------------


def test_smiles_lines_with_header_comments_and_missing_ids(tmp_path: Path) -> None:
    path = tmp_path / "set.smi"
    path.write_text(
        "SMILES\tName\n# a comment\n\n  # indented\nCCO\tethanol\tfrom a catalogue\n"
        "c1ccccc1 benzene\nC=O\n",
        encoding="utf-8",
    )
    records = read(path)
    assert [r.document for r in records] == [
        {"id": "ethanol", "content": {"smiles": "CCO"}, "fields": {}},
        {"id": "benzene", "content": {"smiles": "c1ccccc1"}, "fields": {}},
        {"id": "set:7", "content": {"smiles": "C=O"}, "fields": {}},
    ]
    assert [r.line for r in records] == [5, 6, 7]
    assert [r.end.record for r in records] == [1, 2, 3]
    assert records[-1].end == Position(path.stat().st_size, 7, 3)


def test_smiles_without_header_crlf_and_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "b.smiles"
    path.write_bytes(b"\xef\xbb\xbfCCN  amine\r\nCCCl\r\n")
    assert [(r.document["id"], r.document["content"]["smiles"]) for r in read(path)] == [
        ("amine", "CCN"),
        ("b:2", "CCCl"),
    ]


def test_only_the_first_line_can_be_a_header(tmp_path: Path) -> None:
    path = tmp_path / "a.smi"
    path.write_text("CC one\nsmiles two\n", encoding="utf-8")
    assert [r.document["content"]["smiles"] for r in read(path)] == ["CC", "smiles"]


@pytest.mark.parametrize("line", ["\tmissing-smiles", "  CCO spaced"])
def test_an_empty_smiles_column_names_the_file_and_line(tmp_path: Path, line: str) -> None:
    path = tmp_path / "bad.smi"
    path.write_text(f"CCO ok\n{line}\n", encoding="utf-8")
    with pytest.raises(InvalidRecord) as caught:
        read(path)
    assert (caught.value.path, caught.value.line) == (path, 2)
    assert (
        caught.value.message
        == f"{path}:2: the SMILES column is empty (the line starts with whitespace)"
    )


def test_smiles_that_are_not_utf8_are_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.smi"
    path.write_bytes("CCO ok\nCC é\n".encode("latin-1"))
    with pytest.raises(InvalidRecord, match=r"latin1.smi:2: not UTF-8 text"):
        read(path)


# --- SD files -----------------------------------------------------------------------


def test_sd_records_give_molblock_id_and_typed_fields(tmp_path: Path) -> None:
    path = tmp_path / "lib.sdf"
    path.write_text(
        sd_record(
            "aspirin",
            (">  <MW>  (1) ", "180.16"),
            ("> 25 <count>", "7"),
            ("> <code>", "0042"),
            ("> <note>", "first line\nsecond line"),
            ("> <empty>", ""),
        )
        + sd_record("  ", ("> <ID>", "  CHEM-2 "), ("> <name>", "ignored"))
        + sd_record("", ("> <Name>", "by name"))
        + sd_record("", ("> <id>", "two\nlines")),
        encoding="utf-8",
    )
    records = read(path)
    assert ids(records) == ["aspirin", "CHEM-2", "by name", "lib:4"]
    first = records[0].document
    assert first["content"] == {"molblock": molblock("aspirin")}
    assert first["fields"] == {
        "MW": 180.16,
        "count": 7,
        "code": "0042",
        "note": "first line\nsecond line",
        "empty": "",
    }
    assert records[1].document["fields"] == {"ID": "  CHEM-2 ", "name": "ignored"}
    assert [r.line for r in records] == [1, 24, 37, 47]
    assert [r.end.record for r in records] == [1, 2, 3, 4]
    assert records[-1].end == Position(path.stat().st_size, 57, 4)


def test_the_last_record_may_omit_the_terminator_and_blank_lines_end_nothing(
    tmp_path: Path,
) -> None:
    unterminated = tmp_path / "one.mol.sdf"
    unterminated.write_text(molblock("solo") + "> <x>\n1\n", encoding="utf-8")
    [record] = read(unterminated)
    assert record.document["fields"] == {"x": 1}
    assert record.end == Position(unterminated.stat().st_size, 8, 1)

    trailing = tmp_path / "trailing.sd"
    trailing.write_text(sd_record("a") + "\n  \n", encoding="utf-8")
    assert ids(read(trailing)) == ["a"]


def test_sd_with_crlf_keeps_the_molblock_text(tmp_path: Path) -> None:
    path = tmp_path / "dos.sdf"
    path.write_bytes(sd_record("dos", ("> <n>", "3")).replace("\n", "\r\n").encode())
    [record] = read(path)
    assert record.document["content"]["molblock"] == molblock("dos")
    assert record.document["fields"] == {"n": 3}


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        (
            sd_record("ok") + "broken\n  no counts\n\n> <x>\n1\n\n$$$$\n",
            8,
            'record 2 has no "M  END" line before "$$$$" at line 14',
        ),
        (sd_record("ok") + "truncated\n  RDKit\n\n  1  0", 8, 'record 2 has no "M  END" line '
         "before the end of the file"),
        (sd_record("ok") + "$$$$\n", 8, 'record 2 has no "M  END" line before "$$$$" at line 8'),
        (
            sd_record("ok") + molblock("b") + "stray text\n$$$$\n",
            14,
            "record 2: expected a data item header \"> <NAME>\", got 'stray text'",
        ),
        (
            sd_record("ok") + molblock("b") + "> <  >\nvalue\n\n$$$$\n",
            14,
            "record 2: expected a data item header \"> <NAME>\", got '> <  >'",
        ),
    ],
)  # fmt: skip
def test_a_malformed_sd_record_names_the_file_line_and_record(
    tmp_path: Path, text: str, line: int, reason: str
) -> None:
    path = tmp_path / "bad.sdf"
    path.write_text(text, encoding="utf-8")
    reader = read_sdf(path, Position())
    assert next(reader).document["id"] == "ok"  # what precedes the bad record is read
    with pytest.raises(InvalidRecord) as caught:
        next(reader)
    assert (caught.value.path, caught.value.line) == (path, line)
    assert caught.value.message == f"{path}:{line}: {reason}"
    assert caught.value.code == "invalid_argument"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("42", 42),
        ("-7", -7),
        (" 3 ", 3),
        ("0.73", 0.73),
        ("-1.5e-3", -0.0015),
        (".5", 0.5),
        ("2E3", 2000.0),
        ("0042", "0042"),
        ("1_000", "1_000"),
        ("9223372036854775807", 9223372036854775807),
        ("9223372036854775808", "9223372036854775808"),
        ("1e999", "1e999"),
        ("nan", "nan"),
        ("inf", "inf"),
        ("0;0000", "0;0000"),
        ("١٢", "١٢"),  # non-ASCII digits are text
        ("", ""),
    ],
)
def test_field_values_become_numbers_only_when_written_as_numbers(
    text: str, value: str | int | float
) -> None:
    parsed = field_value(text)
    assert parsed == value
    assert type(parsed) is type(value)


def test_first_molblock_cuts_after_m_end() -> None:
    assert first_molblock(sd_record("x", ("> <a>", "1")) + sd_record("y")) == molblock("x")
    assert first_molblock(molblock("x").replace("\n", "\r\n")) == molblock("x")
    assert first_molblock("CCO\n") is None


def test_readers_are_registered_by_extension() -> None:
    for name in ("a.sdf", "b.SD", "c.Sdf"):
        assert reader_for(Path(name)) is read_sdf
    for name in ("a.smi", "b.SMILES"):
        assert reader_for(Path(name)) is read_smiles


@pytest.mark.parametrize("first", ["ipsim.clients.ingest", "ipsim.clients.chem_files"])
def test_either_module_can_be_imported_first(first: str) -> None:
    code = (
        f"import {first}\n"
        "from ipsim.clients.ingest import known_suffixes\n"
        "print(' '.join(known_suffixes()))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert {".sdf", ".sd", ".smi", ".smiles", ".jsonl"} <= set(done.stdout.split())


# --- resume -------------------------------------------------------------------------


@pytest.fixture
def mixed_sdf(tmp_path: Path) -> Path:
    path = tmp_path / "mixed.sdf"
    records = [sd_record(f"m{i}" if i % 3 else "", ("> <i>", str(i))) for i in range(8)]
    path.write_text("".join(records), encoding="utf-8")
    return path


@pytest.fixture
def mixed_smi(tmp_path: Path) -> Path:
    path = tmp_path / "mixed.smi"
    lines = ["smiles\tid", *(f"{'C' * (i + 1)}" + (f"\ts{i}" if i % 3 else "") for i in range(8))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["mixed_sdf", "mixed_smi"])
def test_reading_from_any_record_end_gives_the_rest_unchanged(
    name: str, request: pytest.FixtureRequest
) -> None:
    path: Path = request.getfixturevalue(name)
    records = read(path)
    assert len(records) == 8
    assert len(set(ids(records))) == 8
    for i, record in enumerate(records):
        assert read(path, record.end) == records[i + 1 :]


@pytest.fixture
def server() -> UpsertServer:
    return UpsertServer(None)


@pytest.fixture
def client(server: UpsertServer) -> Iterator[Client]:
    with Client(URL, transport=httpx.MockTransport(server)) as client:
        yield client


@pytest.mark.parametrize("name", ["mixed_sdf", "mixed_smi"])
def test_an_interrupted_ingest_resumes_after_the_last_acknowledged_record(
    name: str, request: pytest.FixtureRequest, tmp_path: Path, server: UpsertServer, client: Client
) -> None:
    path: Path = request.getfixturevalue(name)
    expected = ids(read(path))
    store = CheckpointStore(tmp_path / "state")
    job = IngestJob(client, URL, "chem", store, batch_size=3)
    server.cut_after = 2
    with pytest.raises(TransportError):
        job.ingest_file(path)
    assert server.ids == expected[:6]
    saved = store.load(SourceKey.of(URL, "chem", path))
    assert saved is not None and saved.record == 6

    server.cut_after = None
    progress: list[int] = []
    report = IngestJob(
        client, URL, "chem", store, batch_size=3, on_progress=progress.append
    ).ingest_file(path)
    assert server.ids == expected  # each once, in order, with the same made-up ids
    assert report.upserted == 2
    assert sum(progress) == path.stat().st_size


def test_a_bad_sd_record_sends_the_records_before_it(
    tmp_path: Path, server: UpsertServer, client: Client
) -> None:
    path = tmp_path / "half.sdf"
    path.write_text(sd_record("a") + sd_record("b") + "broken\n$$$$\n" + sd_record("d"), "utf-8")
    store = CheckpointStore(tmp_path / "state")
    with pytest.raises(InvalidRecord) as caught:
        IngestJob(client, URL, "chem", store).ingest_file(path)
    assert caught.value.line == 15
    assert server.ids == ["a", "b"]
    saved = store.load(SourceKey.of(URL, "chem", path))
    assert saved is not None and (saved.line, saved.record) == (14, 2)


# --- the shared data files ------------------------------------------------------------


def data_lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@needs_data
def test_the_nci_smiles_file_reads_every_line() -> None:
    path = DATA / "nci_first_5K.smi"
    records = read(path)
    columns = [line.split("\t") for line in data_lines(path)]
    assert len(records) == len(columns) == 4999
    assert [(r.document["content"]["smiles"], r.document["id"]) for r in records] == [
        (smiles, doc_id) for smiles, doc_id in columns
    ]
    assert records[-1].end.offset == path.stat().st_size


@needs_data
@pytest.mark.parametrize("name", ["nci_first_200.props.sdf", "nci_first_5K.smi"])
def test_a_real_file_ingest_cut_in_the_middle_resumes(
    name: str, tmp_path: Path, server: UpsertServer, client: Client
) -> None:
    path = DATA / name
    expected = ids(read(path))
    store = CheckpointStore(tmp_path / "state")
    server.cut_after = 2
    with pytest.raises(TransportError):
        IngestJob(client, URL, "chem", store, batch_size=64).ingest_file(path)
    server.cut_after = None
    report = IngestJob(client, URL, "chem", store, batch_size=64).ingest_file(path)
    assert server.ids == expected
    assert report.upserted == len(expected) - 128


@needs_data
@pytest.mark.parametrize("name", ["chembl_11265_actives.smi", "chembl2321810_series.smi"])
def test_the_active_smiles_files_hold_their_labelled_names(name: str) -> None:
    path = DATA / "actives" / name
    records = read(path)
    assert ids(records) == [line.split()[1] for line in data_lines(path)]
    with (DATA / "actives" / "labels.csv").open(encoding="utf-8", newline="") as stream:
        labelled = {row["name"] for row in csv.DictReader(stream) if row["file"] == name}
    assert labelled and labelled <= set(ids(records))


@needs_data
def test_the_nci_sd_file_gives_200_records_with_their_fields() -> None:
    path = DATA / "nci_first_200.props.sdf"
    records = read(path)
    text = path.read_text(encoding="utf-8")
    assert len(records) == text.count("\n$$$$\n") == 200
    assert ids(records) == [f"nci_first_200.props:{i}" for i in range(1, 201)]  # no titles
    headers = [line for line in text.splitlines() if line.startswith(">")]
    assert sum(len(r.document["fields"]) for r in records) == len(headers)
    for record in records:
        fields = record.document["fields"]
        assert isinstance(fields["AMW"], float)
        assert isinstance(fields["NUM_RINGS"], int)
        assert isinstance(fields["SMILES"], str)
        assert record.document["content"]["molblock"].endswith("\nM  END\n")


@needs_data
@pytest.mark.parametrize(
    "name", ["dud_egfr_actives.sdf", "dud_cdk2_actives.sdf", "chembl_cmet_ligands.sdf"]
)
def test_the_active_sd_files_carry_their_labels(name: str) -> None:
    records = read(DATA / "actives" / name)
    by_id = {r.document["id"]: r.document["fields"] for r in records}
    assert len(by_id) == len(records)
    with (DATA / "actives" / "labels.csv").open(encoding="utf-8", newline="") as stream:
        labels = [row for row in csv.DictReader(stream) if row["file"] == name]
    assert labels
    for row in labels:
        fields = by_id[row["name"]]
        if "Cluster" in fields:  # the DUD sets: the id item and the chemotype cluster
            assert fields["id"] == row["name"]
            assert str(fields["Cluster"]) == row["cluster"]


def rdkit_molecules(path: Path) -> list[Any]:
    chem = pytest.importorskip("rdkit.Chem")
    supplier = chem.SDMolSupplier(str(path), sanitize=False, removeHs=False)
    return [supplier[i] for i in range(len(supplier))]  # its iterator stops early on some


@needs_data
@pytest.mark.parametrize(
    "name",
    [
        "nci_first_200.props.sdf",
        "actives/dud_cdk2_actives.sdf",
        "actives/dud_egfr_actives.sdf",
        "actives/chembl_cmet_ligands.sdf",
    ],
)
def test_rdkit_reads_the_same_molecules(name: str) -> None:
    """The server parses each molblock with RDKit: it must be the molecule of its record."""
    chem = pytest.importorskip("rdkit.Chem")
    records = read(DATA / name)
    expected = rdkit_molecules(DATA / name)
    assert len(records) == len(expected)
    for record, mol in zip(records, expected, strict=True):
        ours = chem.MolFromMolBlock(
            record.document["content"]["molblock"], sanitize=False, removeHs=False
        )
        assert chem.MolToSmiles(ours) == chem.MolToSmiles(mol)
        assert record.document["id"] == (mol.GetProp("_Name") or record.document["id"])


@needs_data
def test_rdkit_reads_the_same_data_items() -> None:
    """Only on the NCI file: the others end their last item without the blank line the
    format asks for, and RDKit then reads on into the next record."""
    records = read(DATA / "nci_first_200.props.sdf")
    for record, mol in zip(records, rdkit_molecules(DATA / "nci_first_200.props.sdf"), strict=True):
        raw = {key: mol.GetProp(key) for key in mol.GetPropNames()}
        fields = record.document["fields"]
        assert fields.keys() == raw.keys()
        for key, value in fields.items():
            assert value == (raw[key] if isinstance(value, str) else float(raw[key]))
