"""File readers, checkpoints and the resumable ingest job (over an httpx.MockTransport)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.upsert_server import UpsertServer

import ipsim.clients.ingest as ingest
from ipsim.clients import BadRequest, Client, Overloaded, PayloadTooLarge, TransportError
from ipsim.clients.ingest import (
    RETRY_ATTEMPTS,
    CheckpointStore,
    IngestJob,
    InvalidRecord,
    Position,
    Record,
    SourceKey,
    default_state_dir,
    read_jsonl,
    reader_for,
    register_reader,
    source_files,
)

URL = "http://ipsim.test:8080"


def write_jsonl(path: Path, ids: list[str], *, extra: str = "") -> Path:
    lines = [json.dumps({"id": i, "content": {"text": f"text of {i}"}}) for i in ids]
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


@pytest.fixture
def server() -> UpsertServer:
    return UpsertServer("docs")


@pytest.fixture
def client(server: UpsertServer) -> Iterator[Client]:
    with Client(URL, transport=httpx.MockTransport(server)) as client:
        yield client


@pytest.fixture
def store(tmp_path: Path) -> CheckpointStore:
    return CheckpointStore(tmp_path / "state")


def job(client: Client, store: CheckpointStore, **options: Any) -> IngestJob:
    return IngestJob(client, URL, "docs", store, **options)


# --- readers ------------------------------------------------------------------------


def test_jsonl_reader_yields_documents_with_lines_and_resume_points(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"id": "1"}\n\n  \n{"id": "2", "fields": {"y": 1}}\n{"id": "3"}')
    records = list(read_jsonl(path, Position()))
    assert [(r.document["id"], r.line) for r in records] == [("1", 1), ("2", 4), ("3", 5)]
    assert records[0].end == Position(len(b'\xef\xbb\xbf{"id": "1"}\n'), 1, 1)
    assert records[-1].end == Position(path.stat().st_size, 5, 3)
    assert records[1].document == {"id": "2", "fields": {"y": 1}}


def test_jsonl_reader_resumes_from_a_record_end(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", ["1", "2", "3", "4"])
    first = list(read_jsonl(path, Position()))
    rest = list(read_jsonl(path, first[1].end))
    assert [(r.document["id"], r.line) for r in rest] == [("3", 3), ("4", 4)]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"id": "x",', "not valid JSON (Expecting property name enclosed in double quotes"),
        ('["id", "x"]', "expected a JSON object, got an array"),
        ('"just text"', "expected a JSON object, got a string"),
        ("42", "expected a JSON object, got a number"),
        ('{"content": {"text": "no id"}}', 'missing "id"'),
        ('{"id": 7}', '"id" must be a non-empty string'),
        ('{"id": ""}', '"id" must be a non-empty string'),
        ('{"id": "x", "content": "text"}', '"content" must be an object'),
        ('{"id": "x", "fields": []}', '"fields" must be an object'),
    ],
)
def test_bad_lines_name_the_file_and_line(tmp_path: Path, line: str, reason: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "ok"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(InvalidRecord) as caught:
        list(read_jsonl(path, Position()))
    assert caught.value.path == path
    assert caught.value.line == 2
    assert caught.value.message.startswith(f"{path}:2: {reason}")
    assert caught.value.code == "invalid_argument"


def test_bytes_that_are_not_utf8_are_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes('{"id": "café"}\n'.encode("latin-1"))
    with pytest.raises(InvalidRecord, match=r"latin1.jsonl:1: not UTF-8 text"):
        list(read_jsonl(path, Position()))


def test_reader_is_chosen_by_extension(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest, "_READERS", dict(ingest._READERS))

    def read_xml(path: Path, start: Position) -> Iterator[Record]:
        yield from ()

    def read_st26(path: Path, start: Position) -> Iterator[Record]:
        yield from ()

    register_reader(".xml", read_xml)
    register_reader(".ST26.xml", read_st26)
    assert reader_for(Path("a.JSONL")) is read_jsonl
    assert reader_for(Path("b.ndjson")) is read_jsonl
    assert reader_for(Path("c.xml")) is read_xml
    assert reader_for(Path("d.st26.xml")) is read_st26
    with pytest.raises(ValueError, match="must start with"):
        register_reader("sdf", read_xml)


@pytest.mark.parametrize("name", ["molecules.cdx", "README"])
def test_unknown_extension_is_a_clear_bad_request(name: str) -> None:
    with pytest.raises(BadRequest, match=r"cannot ingest a file of this type \(known: .*\.jsonl"):
        reader_for(Path(name))


def test_a_folder_gives_its_known_files_in_name_order(tmp_path: Path) -> None:
    for name in ["b.jsonl", "a.ndjson", ".hidden.jsonl", "notes.md"]:
        (tmp_path / name).write_text("", encoding="utf-8")
    (tmp_path / "sub.jsonl").mkdir()
    assert source_files(tmp_path) == [tmp_path / "a.ndjson", tmp_path / "b.jsonl"]
    assert source_files(tmp_path / "b.jsonl") == [tmp_path / "b.jsonl"]


def test_a_folder_with_nothing_to_read_is_a_bad_request(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("", encoding="utf-8")
    with pytest.raises(BadRequest, match="no files to ingest in this folder"):
        source_files(tmp_path)
    with pytest.raises(BadRequest, match="cannot ingest a file of this type"):
        source_files(tmp_path / "notes.md")


# --- checkpoints --------------------------------------------------------------------


def test_checkpoint_round_trip_and_no_temporary_files(
    tmp_path: Path, store: CheckpointStore
) -> None:
    key = SourceKey.of(URL, "docs", write_jsonl(tmp_path / "a.jsonl", ["1"]))
    assert store.load(key) is None
    store.save(key, Position(12, 1, 1))
    store.save(key, Position(40, 3, 2))
    assert store.load(key) == Position(40, 3, 2)
    assert [p.name for p in store.root.iterdir()] == [f"{key.digest()}.json"]


def test_checkpoint_is_per_server_collection_and_file_state(
    tmp_path: Path, store: CheckpointStore
) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", ["1"])
    key = SourceKey.of(URL + "/", "docs", path)
    store.save(key, Position(5, 1))
    assert key.url == URL
    assert store.load(SourceKey.of(URL, "docs", path)) == Position(5, 1)
    assert store.load(SourceKey.of("http://other:8080", "docs", path)) is None
    assert store.load(SourceKey.of(URL, "other", path)) is None
    write_jsonl(path, ["1", "2"])
    assert store.load(SourceKey.of(URL, "docs", path)) is None


def test_a_checkpoint_path_is_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_jsonl(tmp_path / "a.jsonl", ["1"])
    monkeypatch.chdir(tmp_path)
    assert SourceKey.of(URL, "docs", Path("a.jsonl")).path == str((tmp_path / "a.jsonl").resolve())


@pytest.mark.parametrize(
    "text", ["", "{", "[]", '{"offset": 3}', '{"source": null, "offset": 1, "line": 1}']
)
def test_an_unreadable_checkpoint_counts_as_none(
    tmp_path: Path, store: CheckpointStore, text: str
) -> None:
    key = SourceKey.of(URL, "docs", write_jsonl(tmp_path / "a.jsonl", ["1"]))
    store.save(key, Position(5, 1))
    store.path_for(key).write_text(text, encoding="utf-8")
    assert store.load(key) is None


@pytest.mark.parametrize("position", [Position(-1, 0, 0), Position(0, -1, 0), Position(0, 0, -1)])
def test_a_checkpoint_with_negative_position_counts_as_none(
    tmp_path: Path, store: CheckpointStore, position: Position
) -> None:
    key = SourceKey.of(URL, "docs", write_jsonl(tmp_path / "a.jsonl", ["1"]))
    store.save(key, position)
    assert store.load(key) is None


def test_a_checkpoint_without_a_record_count_counts_as_none(
    tmp_path: Path, store: CheckpointStore
) -> None:
    key = SourceKey.of(URL, "docs", write_jsonl(tmp_path / "a.jsonl", ["1"]))
    store.save(key, Position(5, 1, 1))
    saved = json.loads(store.path_for(key).read_text(encoding="utf-8"))
    del saved["record"]
    store.path_for(key).write_text(json.dumps(saved), encoding="utf-8")
    assert store.load(key) is None


def test_state_dir_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPSIM_STATE_DIR", "/srv/ipsim-state")
    assert default_state_dir() == Path("/srv/ipsim-state")
    assert CheckpointStore.default().root == Path("/srv/ipsim-state/ingest")
    monkeypatch.delenv("IPSIM_STATE_DIR")
    assert default_state_dir() == Path.home() / ".cache" / "ipsim"


# --- the job ------------------------------------------------------------------------


def test_ingest_sends_batches_and_a_rerun_sends_nothing(
    tmp_path: Path, server: UpsertServer, client: Client, store: CheckpointStore
) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [str(i) for i in range(5)])
    progress: list[int] = []
    report = job(client, store, batch_size=2, on_progress=progress.append).ingest_file(path)
    assert server.batches == [["0", "1"], ["2", "3"], ["4"]]
    assert (report.path, report.upserted, report.resumed_at_line) == (path, 5, 0)
    assert sum(progress) == path.stat().st_size

    again: list[int] = []
    report = job(client, store, batch_size=2, on_progress=again.append).ingest_file(path)
    assert (report.upserted, report.resumed_at_line) == (0, 5)
    assert len(server.batches) == 3
    assert sum(again) == path.stat().st_size


def test_restart_ignores_the_checkpoint(
    tmp_path: Path, server: UpsertServer, client: Client, store: CheckpointStore
) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", ["1", "2"])
    job(client, store).ingest_file(path)
    report = job(client, store, restart=True).ingest_file(path)
    assert report.upserted == 2
    assert server.ids == ["1", "2", "1", "2"]


def test_an_interrupted_ingest_resumes_after_the_last_acknowledged_batch(
    tmp_path: Path, server: UpsertServer, client: Client, store: CheckpointStore
) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [str(i) for i in range(7)])
    calls = 0

    def cut_on_third_batch(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise httpx.ConnectError("connection reset", request=request)
        return server(request)

    flaky = Client(URL, transport=httpx.MockTransport(cut_on_third_batch))
    with flaky, pytest.raises(TransportError):
        job(flaky, store, batch_size=2).ingest_file(path)
    assert server.ids == ["0", "1", "2", "3"]

    progress: list[int] = []
    report = job(client, store, batch_size=2, on_progress=progress.append).ingest_file(path)
    assert server.ids == [str(i) for i in range(7)]  # each once, in order
    assert (report.upserted, report.resumed_at_line) == (3, 4)
    assert sum(progress) == path.stat().st_size


def test_a_bad_line_sends_what_precedes_it_and_nothing_after(
    tmp_path: Path, server: UpsertServer, client: Client, store: CheckpointStore
) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", ["1", "2", "3"], extra='{"no": "id"}\n{"id": "5"}\n')
    with pytest.raises(InvalidRecord) as caught:
        job(client, store, batch_size=2).ingest_file(path)
    assert caught.value.line == 4
    assert server.ids == ["1", "2", "3"]
    assert store.load(SourceKey.of(URL, "docs", path)) == Position(
        len("".join(path.read_text().splitlines(keepends=True)[:3]).encode()), 3, 3
    )


def test_trailing_blank_lines_complete_the_file(
    tmp_path: Path, server: UpsertServer, client: Client, store: CheckpointStore
) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", ["1"], extra="\n\n")
    job(client, store).ingest_file(path)
    key = SourceKey.of(URL, "docs", path)
    assert store.load(key) == Position(path.stat().st_size, 1, 1)


def test_an_empty_file_sends_nothing(
    tmp_path: Path, server: UpsertServer, client: Client, store: CheckpointStore
) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    assert job(client, store).ingest_file(path).upserted == 0
    assert server.batches == []


def test_overloaded_batches_are_retried_after_the_servers_hint(
    tmp_path: Path, server: UpsertServer, client: Client, store: CheckpointStore
) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", ["1", "2"])
    busy = {"error": {"code": "resource_exhausted", "message": "queue full"}}
    not_ready = {"error": {"code": "unavailable", "message": "starting"}}
    server.failures = [
        httpx.Response(429, json=busy, headers={"Retry-After": "0.5"}),
        httpx.Response(503, json=not_ready),
        httpx.Response(429, json=busy, headers={"Retry-After": "600"}),
    ]
    slept: list[float] = []
    report = job(client, store, sleep=slept.append).ingest_file(path)
    assert report.upserted == 2
    assert server.ids == ["1", "2"]
    assert slept == [0.5, 2.0, 60.0]  # the hint, backoff for attempt 2, the cap


def test_retries_give_up_after_the_last_attempt(
    tmp_path: Path, server: UpsertServer, client: Client, store: CheckpointStore
) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", ["1"])
    busy = {"error": {"code": "resource_exhausted", "message": "queue full"}}
    server.failures = [httpx.Response(429, json=busy)] * RETRY_ATTEMPTS
    slept: list[float] = []
    with pytest.raises(Overloaded):
        job(client, store, sleep=slept.append).ingest_file(path)
    assert slept == [1.0, 2.0, 4.0, 8.0]
    assert server.batches == []


@pytest.mark.parametrize(
    ("message", "line"),
    [
        ("documents[1].content.text: empty", 4),
        ("documents.0.id: Input should be a valid string", 3),
        ("documents[7].content.text: empty", None),
        ("mydocuments.1: odd", None),
        ("content.text: empty", None),
    ],
)
def test_a_rejected_batch_points_at_the_documents_line(
    tmp_path: Path,
    server: UpsertServer,
    client: Client,
    store: CheckpointStore,
    message: str,
    line: int | None,
) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", ["1", "2", "3", "4"])
    bad = {"error": {"code": "invalid_argument", "message": message}}
    server.failures = [httpx.Response(200, json={"upserted": 2}), httpx.Response(400, json=bad)]
    with pytest.raises(BadRequest) as caught:
        job(client, store, batch_size=2).ingest_file(path)
    assert caught.value.message == (f"{path}:{line}: {message}" if line else message)
    assert caught.value.status == 400


def test_other_errors_pass_through_unchanged(
    tmp_path: Path, server: UpsertServer, client: Client, store: CheckpointStore
) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", ["1"])
    too_big = {"error": {"code": "payload_too_large", "message": "body over 32 MiB"}}
    server.failures = [httpx.Response(413, json=too_big)]
    with pytest.raises(PayloadTooLarge, match="body over 32 MiB"):
        job(client, store).ingest_file(path)


def test_batch_size_below_one_is_refused(client: Client, store: CheckpointStore) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        job(client, store, batch_size=0)


def test_checkpoint_survives_only_the_files_own_state(
    tmp_path: Path, server: UpsertServer, client: Client, store: CheckpointStore
) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", ["1", "2"])
    job(client, store).ingest_file(path)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    report = job(client, store).ingest_file(path)
    assert report.upserted == 2  # touched: a different file as far as checkpoints go
    assert server.ids == ["1", "2", "1", "2"]
