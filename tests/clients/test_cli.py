"""The ``ipsim`` command line via click's CliRunner, the server behind an httpx.MockTransport."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from ipsim.clients.cli import CliContext, build_query, cli, parse_filter
from ipsim.clients.errors import BadRequest
from ipsim.clients.ingest import known_suffixes
from ipsim.clients.render import render_hits

COLLECTION = {
    "name": "patents",
    "modality": "text",
    "count": 2,
    "dim": 384,
    "index": {"type": "hnsw", "M": 32},
    "shards": 1,
    "model": "all-MiniLM-L6-v2",
}
ANSWER = {
    "hits": [
        {
            "id": "EP1",
            "score": 0.91234,
            "fields": {"ipc": ["A61K", "B62K"], "year": 2020, "title": "Bike", "x": 1},
            "chunk": {"index": 3, "start": 120, "end": 480},
        },
        {"id": "EP2", "score": 0.5, "fields": {}},
    ],
    "total": 17,
    "took_ms": 4.25,
}
DOCUMENT = {"id": "NSC 1", "content": {"smiles": "CCO"}, "fields": {"AMW": 46.07}}
SVG = '<svg xmlns="http://www.w3.org/2000/svg"><path d="M0 0"/></svg>'
MOLFILE = (
    "ethanol\n  sketch\n\n  3  2  0  0  0  0  0  0  0  0999 V2000\n"
    "    0.0000    0.0000    0.0000 C   0  0\n"
    "    1.2990    0.7500    0.0000 C   0  0\n"
    "    2.5981    0.0000    0.0000 O   0  0\n"
    "  1  2  1  0\n  2  3  1  0\nM  END\n"
)


def error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message}})


class Server:
    """The routes the CLI calls, at the transport seam; records every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.upserted: list[str] = []
        self.documents: list[dict[str, Any]] = []
        self.cut_after_batches: int | None = None  # then the connection fails

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = (request.method, request.url.path)
        if route == ("POST", "/v1/collections"):
            body = json.loads(request.content)
            return httpx.Response(201, json={**COLLECTION, **body, "count": 0})
        if route == ("GET", "/v1/collections"):
            return httpx.Response(200, json={"collections": [COLLECTION]})
        if route == ("GET", "/v1/collections/patents"):
            return httpx.Response(200, json=COLLECTION)
        if route == ("DELETE", "/v1/collections/patents"):
            return httpx.Response(204)
        if route == ("PUT", "/v1/collections/patents/documents"):
            return self._upsert(request)
        if route == ("POST", "/v1/collections/patents/search"):
            return httpx.Response(200, json=ANSWER)
        if route == ("GET", "/v1/collections/patents/documents/NSC 1"):
            if request.url.params.get("depict") == "svg":
                return httpx.Response(200, text=SVG, headers={"Content-Type": "image/svg+xml"})
            return httpx.Response(200, json=DOCUMENT)
        return error(404, "not_found", f"no route {request.method} {request.url.path}")

    def _upsert(self, request: httpx.Request) -> httpx.Response:
        batches = sum(1 for r in self.requests if r.method == "PUT") - 1
        if self.cut_after_batches is not None and batches >= self.cut_after_batches:
            raise httpx.ConnectError("connection refused", request=request)
        documents = json.loads(request.content)["documents"]
        ids = [doc["id"] for doc in documents]
        self.upserted.extend(ids)
        self.documents.extend(documents)
        return httpx.Response(200, json={"upserted": len(ids)})

    def last_body(self) -> Any:
        return json.loads(self.requests[-1].content)


@pytest.fixture
def server() -> Server:
    return Server()


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPSIM_STATE_DIR", str(tmp_path / "state"))
    for name in ("IPSIM_URL", "IPSIM_API_KEY", "IPSIM_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)


def run(server: Server, *args: str, env: dict[str, str] | None = None) -> Result:
    context = CliContext(transport=httpx.MockTransport(server))
    return CliRunner().invoke(cli, list(args), obj=context, env=env)


def write_jsonl(path: Path, count: int) -> Path:
    lines = (json.dumps({"id": f"d{i}", "content": {"text": f"text {i}"}}) for i in range(count))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- collections --------------------------------------------------------------------


def test_collections_create_sends_the_options(server: Server) -> None:
    result = run(
        server, "collections", "create", "patents", "--modality", "text", "--index", "hnsw",
        "--shards", "2", "--model", "m",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert server.last_body() == {
        "name": "patents",
        "modality": "text",
        "index": {"type": "hnsw"},
        "shards": 2,
        "model": "m",
    }
    assert "name:     patents" in result.stdout
    assert 'index:    {"type": "hnsw"}' in result.stdout


def test_collections_create_refuses_an_unknown_modality(server: Server) -> None:
    result = run(server, "collections", "create", "patents", "--modality", "video")
    assert result.exit_code == 2
    assert "'video' is not one of" in result.stderr
    assert server.requests == []


def test_collections_list_prints_a_table(server: Server) -> None:
    result = run(server, "collections", "list")
    assert result.exit_code == 0
    header, row = result.stdout.splitlines()
    assert header.split() == ["NAME", "MODALITY", "COUNT", "DIM", "INDEX", "SHARDS", "MODEL"]
    assert row.split() == ["patents", "text", "2", "384", "hnsw", "1", "all-MiniLM-L6-v2"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["collections", "list", "--json"], {"collections": [COLLECTION]}),
        (["collections", "get", "patents", "--json"], COLLECTION),
        (["search", "patents", "--text", "bicycle", "--json"], ANSWER),
    ],
)
def test_json_output_is_the_answer_and_nothing_else(
    server: Server, args: list[str], expected: Any
) -> None:
    result = run(server, *args)
    assert result.exit_code == 0
    assert json.loads(result.stdout) == expected
    assert result.stdout.count("\n") == 1
    assert result.stderr == ""


def test_collections_get_and_delete(server: Server) -> None:
    got = run(server, "collections", "get", "patents")
    deleted = run(server, "collections", "delete", "patents")
    assert got.exit_code == deleted.exit_code == 0
    assert "count:    2" in got.stdout
    assert deleted.stdout == "deleted collection patents\n"
    assert [(r.method, r.url.path) for r in server.requests] == [
        ("GET", "/v1/collections/patents"),
        ("DELETE", "/v1/collections/patents"),
    ]


# --- global options and errors ------------------------------------------------------


def test_url_and_api_key_options_reach_the_request(server: Server) -> None:
    result = run(server, "--url", "http://10.0.0.5:9000", "--api-key", "k1", "collections", "list")
    assert result.exit_code == 0
    request = server.requests[0]
    assert str(request.url) == "http://10.0.0.5:9000/v1/collections"
    assert request.headers["Authorization"] == "Bearer k1"


def test_url_and_api_key_come_from_the_environment(server: Server) -> None:
    env = {"IPSIM_URL": "http://search.office:8080", "IPSIM_API_KEY": "k2"}
    result = run(server, "collections", "list", env=env)
    assert result.exit_code == 0
    assert server.requests[0].url.host == "search.office"
    assert server.requests[0].headers["Authorization"] == "Bearer k2"


def test_a_bad_url_is_a_usage_error(server: Server) -> None:
    result = run(server, "--url", "localhost:8080", "collections", "list")
    assert result.exit_code == 2
    assert "url must look like http://HOST:PORT" in result.stderr


@pytest.mark.parametrize(
    ("response", "exit_code", "line"),
    [
        (error(404, "not_found", "collection 'x' does not exist"), 1, "error: not_found: "
         "collection 'x' does not exist"),
        (error(400, "invalid_argument", "query.text: empty"), 2, "error: invalid_argument: "
         "query.text: empty"),
        (error(401, "unauthenticated", "unknown API key"), 1, "error: unauthenticated: "
         "unknown API key"),
        (httpx.Response(502, text="bad gateway"), 1, "error: internal: HTTP 502: bad gateway"),
    ],
)  # fmt: skip
def test_server_errors_print_one_line_and_exit_non_zero(
    response: httpx.Response, exit_code: int, line: str
) -> None:
    context = CliContext(transport=httpx.MockTransport(lambda request: response))
    result = CliRunner().invoke(cli, ["search", "x", "--text", "a", "--json"], obj=context)
    assert result.exit_code == exit_code
    assert result.stderr == line + "\n"
    assert result.stdout == ""
    assert "Traceback" not in result.output


def test_an_unreachable_server_is_a_transport_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    result = CliRunner().invoke(
        cli, ["collections", "list"], obj=CliContext(transport=httpx.MockTransport(refuse))
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("error: transport_error: request to http://127.0.0.1:8080/")


# --- search -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "query", "mode"),
    [
        ("--text", "folding bicycle", {"text": "folding bicycle"}, None),
        ("--smiles", "CCO", {"smiles": "CCO"}, None),
        ("--formula", "C8H10N4O2", {"formula": "C8H10N4O2"}, "formula"),
        ("--sequence", "MKTAYIAK", {"sequence": "MKTAYIAK"}, None),
        ("--word", "ACME", {"word": "ACME"}, None),
    ],
)
def test_search_builds_the_contract_query(
    server: Server, option: str, value: str, query: dict[str, str], mode: str | None
) -> None:
    result = run(server, "search", "patents", option, value, "--json")
    assert result.exit_code == 0, result.stderr
    expected: dict[str, Any] = {"query": query, "k": 10, "offset": 0}
    if mode:
        expected["mode"] = mode
    assert server.last_body() == expected


def test_search_passes_paging_mode_and_filter(server: Server) -> None:
    result = run(
        server, "search", "patents", "--smiles", "c1ccccc1", "-k", "5", "--offset", "10",
        "--mode", "substructure", "--filter", '{"ipc": {"prefix": "A61K"}}', "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert server.last_body() == {
        "query": {"smiles": "c1ccccc1"},
        "k": 5,
        "offset": 10,
        "mode": "substructure",
        "filter": {"ipc": {"prefix": "A61K"}},
    }


def test_an_explicit_mode_wins_over_the_formula_default(server: Server) -> None:
    run(server, "search", "patents", "--formula", "C6H6", "--mode", "exact", "--json")
    assert server.last_body()["mode"] == "exact"


def test_search_image_and_mesh_send_base64_files(server: Server, tmp_path: Path) -> None:
    image = tmp_path / "logo.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n fake pixels")
    mesh = tmp_path / "part.STL"
    mesh.write_bytes(b"solid part\nendsolid part\n")
    assert run(server, "search", "patents", "--image", str(image), "--json").exit_code == 0
    assert server.last_body()["query"] == {
        "image_b64": base64.b64encode(image.read_bytes()).decode()
    }
    assert run(server, "search", "patents", "--mesh", str(mesh), "--json").exit_code == 0
    assert server.last_body()["query"] == {
        "mesh_b64": base64.b64encode(mesh.read_bytes()).decode(),
        "format": "stl",
    }


def test_a_mesh_of_unknown_format_is_bad_input(server: Server, tmp_path: Path) -> None:
    mesh = tmp_path / "part.step"
    mesh.write_bytes(b"ISO-10303-21;")
    result = run(server, "search", "patents", "--mesh", str(mesh))
    assert result.exit_code == 2
    assert result.stderr == (
        "error: invalid_argument: --mesh: part.step: "
        "the extension must be one of stl, obj, ply, off\n"
    )
    assert server.requests == []


@pytest.mark.parametrize("args", [[], ["--text", "a", "--word", "b"]])
def test_search_needs_exactly_one_query_option(server: Server, args: list[str]) -> None:
    result = run(server, "search", "patents", *args)
    assert result.exit_code == 2
    assert "give exactly one of --text, --image, --mesh" in result.stderr
    assert server.requests == []


@pytest.mark.parametrize(
    ("args", "query", "mode"),
    [
        (["--smiles", "CCO", "--mode", "exact"], {"smiles": "CCO"}, "exact"),
        (["--smarts", "c1ccccc1[OH]"], {"smarts": "c1ccccc1[OH]"}, "substructure"),
        (["--smarts", "[#6]", "--mode", "similarity"], {"smarts": "[#6]"}, "similarity"),
        (["--smiles", "CCO", "--threshold", "0.7"], {"smiles": "CCO", "threshold": 0.7}, None),
        (["--smarts", "C=O", "--threshold", "0"], {"smarts": "C=O", "threshold": 0.0},
         "substructure"),
        (["--formula", "C6-8H*O2"], {"formula": "C6-8H*O2"}, "formula"),
    ],
)  # fmt: skip
def test_chemical_options_send_query_and_mode(
    server: Server, args: list[str], query: dict[str, Any], mode: str | None
) -> None:
    result = run(server, "search", "patents", *args, "--json")
    assert result.exit_code == 0, result.stderr
    body = server.last_body()
    assert body["query"] == query
    assert body.get("mode") == mode


def test_molblock_sends_the_first_record_of_the_file(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "query.sdf"
    sd = MOLFILE + "> <source>\nsketch\n\n$$$$\n" + MOLFILE.replace("ethanol", "other") + "$$$$\n"
    path.write_bytes(b"\xef\xbb\xbf" + sd.replace("\n", "\r\n").encode())
    result = run(server, "search", "patents", "--molblock", str(path), "--threshold", "0.5")
    assert result.exit_code == 0, result.stderr
    assert server.last_body() == {
        "query": {"molblock": MOLFILE, "threshold": 0.5},
        "k": 10,
        "offset": 0,
    }


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"CCO\n", 'not a molfile (no "M  END" line)'),
        ("é\nM  END\n".encode("latin-1"), "not UTF-8 text (invalid continuation byte)"),
    ],
)
def test_a_molblock_file_that_is_not_a_molfile_is_bad_input(
    server: Server, tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "query.mol"
    path.write_bytes(content)
    result = run(server, "search", "patents", "--molblock", str(path))
    assert result.exit_code == 2
    assert result.stderr == f"error: invalid_argument: --molblock: query.mol: {reason}\n"
    assert server.requests == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--smiles", "CCO", "--smarts", "C"], "give exactly one of --text, --image, --mesh, "
         "--smiles, --smarts, --molblock, --formula, --sequence, --word"),
        (["--text", "bike", "--threshold", "0.5"], "--threshold goes with --smiles, --smarts, "
         "--molblock, not --text"),
        (["--formula", "C6H6", "--threshold", "0.5"], "not --formula"),
        (["--smiles", "CCO", "--threshold", "1.5"], "1.5 is not in the range 0<=x<=1"),
        (["--molblock", "/no/such/file.mol"], "'/no/such/file.mol' does not exist"),
    ],
)  # fmt: skip
def test_chemical_option_misuse_is_a_usage_error(
    server: Server, args: list[str], message: str
) -> None:
    result = run(server, "search", "patents", *args)
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())
    assert server.requests == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{ipc: 1}", "--filter: not valid JSON (Expecting property name"),
        ('["A61K"]', "--filter: must be a JSON object"),
    ],
)
def test_a_bad_filter_is_bad_input(server: Server, text: str, message: str) -> None:
    result = run(server, "search", "patents", "--text", "a", "--filter", text)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: invalid_argument: {message}")
    assert server.requests == []


def test_search_table_shows_rank_id_score_fields_and_chunk(server: Server) -> None:
    result = run(server, "search", "patents", "--text", "bicycle", "--offset", "20")
    assert result.exit_code == 0
    header, first, second, footer = result.stdout.splitlines()
    assert header.split() == ["RANK", "ID", "SCORE", "FIELDS", "MATCH"]
    assert first.startswith("21")
    assert "EP1" in first and "0.9123" in first
    assert "ipc=A61K|B62K, year=2020, title=Bike, +1" in first
    assert first.endswith("chunk 3 [120:480]")
    assert second.split() == ["22", "EP2", "0.5000"]
    assert footer == "2 hits of 17 in 4.2 ms"


def test_render_hits_without_hits_and_with_chunk_text() -> None:
    assert render_hits({"hits": [], "took_ms": 1.0}) == "no hits in 1.0 ms"
    table = render_hits(
        {"hits": [{"id": "a", "score": 1, "chunk": {"text": "the  matched\npart"}}]}
    )
    assert table.splitlines()[1].split("  ")[-1] == "the matched part"


def test_long_cells_are_cut() -> None:
    table = render_hits({"hits": [{"id": "x" * 100, "score": 1.0, "fields": {}}]})
    assert "x" * 47 + "…" in table
    assert "x" * 48 not in table


def test_build_query_and_parse_filter_directly(tmp_path: Path) -> None:
    assert build_query("word", "ACME") == {"word": "ACME"}
    assert parse_filter('{"year": {"gte": 2000}}') == {"year": {"gte": 2000}}
    with pytest.raises(BadRequest):
        parse_filter("null")
    with pytest.raises(ValueError, match="unknown query option"):
        build_query("audio", "x")


# --- get ----------------------------------------------------------------------------


def test_get_prints_the_document(server: Server) -> None:
    shown = run(server, "get", "patents", "NSC 1")
    as_json = run(server, "get", "patents", "NSC 1", "--json")
    assert shown.exit_code == as_json.exit_code == 0
    assert shown.stdout.splitlines() == [
        "id:      NSC 1",
        'content: {"smiles": "CCO"}',
        'fields:  {"AMW": 46.07}',
    ]
    assert json.loads(as_json.stdout) == DOCUMENT
    assert [str(r.url) for r in server.requests] == [
        "http://127.0.0.1:8080/v1/collections/patents/documents/NSC%201"
    ] * 2


def test_get_depict_prints_the_svg(server: Server) -> None:
    result = run(server, "get", "patents", "NSC 1", "--depict", "svg")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == SVG + "\n"
    assert server.requests[0].url.params["depict"] == "svg"


def test_get_depict_writes_the_svg_to_a_file(server: Server, tmp_path: Path) -> None:
    out = tmp_path / "nsc1.svg"
    result = run(server, "get", "patents", "NSC 1", "--depict", "svg", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert out.read_text(encoding="utf-8") == SVG + "\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--depict", "gif"], "Invalid value for '--depict': 'gif'"),
        (["--depict", "svg", "--json"], "--depict prints a drawing, not JSON"),
    ],
)
def test_get_depict_misuse_is_a_usage_error(server: Server, args: list[str], message: str) -> None:
    result = run(server, "get", "patents", "NSC 1", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert server.requests == []


def test_get_of_a_missing_document_is_an_error(server: Server) -> None:
    result = run(server, "get", "patents", "EP9", "--depict", "svg")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: not_found: no route GET /v1/collections/patents/documents/EP9\n"
    )
    assert result.stdout == ""


def test_get_cannot_write_into_a_missing_folder(server: Server, tmp_path: Path) -> None:
    out = tmp_path / "missing" / "x.svg"
    result = run(server, "get", "patents", "NSC 1", "--depict", "svg", "-o", str(out))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: io_error: {out}: cannot write: No such file")


# --- ingest -------------------------------------------------------------------------


def test_ingest_sends_everything_then_a_rerun_sends_nothing(server: Server, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "docs.jsonl", 5)
    first = run(server, "ingest", "patents", str(path), "--batch-size", "2")
    assert first.exit_code == 0, first.output
    assert first.stdout == "upserted 5 documents into patents from 1 file(s)\n"
    assert server.upserted == [f"d{i}" for i in range(5)]

    second = run(server, "ingest", "patents", str(path), "--batch-size", "2")
    assert second.exit_code == 0
    assert second.stdout == "upserted 0 documents into patents from 1 file(s)\n"
    assert f"{path}: resumed after line 5" in second.stderr
    assert len(server.upserted) == 5


def test_an_interrupted_ingest_resumes_without_sending_anything_twice(
    server: Server, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "docs.jsonl", 10)
    server.cut_after_batches = 2
    cut = run(server, "ingest", "patents", str(path), "--batch-size", "3")
    assert cut.exit_code == 1
    assert cut.stderr.splitlines() == [
        "error: transport_error: request to "
        "http://127.0.0.1:8080/v1/collections/patents/documents failed: connection refused",
        "ingest stopped; run the same command again to resume after the last batch sent",
    ]
    assert server.upserted == [f"d{i}" for i in range(6)]

    server.cut_after_batches = None
    resumed = run(server, "ingest", "patents", str(path), "--batch-size", "3", "--json")
    assert resumed.exit_code == 0, resumed.output
    assert server.upserted == [f"d{i}" for i in range(10)]  # everything, each once
    assert json.loads(resumed.stdout) == {
        "collection": "patents",
        "upserted": 4,
        "files": [{"path": str(path), "upserted": 4, "resumed_at_line": 6}],
    }


def test_restart_sends_everything_again(server: Server, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "docs.jsonl", 3)
    run(server, "ingest", "patents", str(path))
    result = run(server, "ingest", "patents", str(path), "--restart")
    assert result.exit_code == 0
    assert server.upserted == ["d0", "d1", "d2"] * 2


def test_checkpoints_are_kept_apart_per_server(server: Server, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "docs.jsonl", 2)
    run(server, "ingest", "patents", str(path))
    run(server, "--url", "http://replica:8080", "ingest", "patents", str(path))
    assert server.upserted == ["d0", "d1"] * 2


def test_a_bad_line_stops_with_its_file_and_line(server: Server, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "docs.jsonl", 3)
    with path.open("a", encoding="utf-8") as stream:
        stream.write('{"id": "d3", "content": {"text": \n{"id": "d4"}\n')
    result = run(server, "ingest", "patents", str(path), "--batch-size", "2")
    assert result.exit_code == 2
    first_line = result.stderr.splitlines()[0]
    assert first_line.startswith(f"error: invalid_argument: {path}:4: not valid JSON")
    assert server.upserted == ["d0", "d1", "d2"]  # what precedes it, nothing after


def test_ingest_reads_a_folder_of_jsonl_files(server: Server, tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "b.jsonl").write_text('{"id": "b1"}\n', encoding="utf-8")
    (folder / "a.jsonl").write_text('{"id": "a1"}\n{"id": "a2"}\n', encoding="utf-8")
    (folder / "README.md").write_text("not data", encoding="utf-8")
    result = run(server, "ingest", "patents", str(folder), "--json")
    assert result.exit_code == 0, result.output
    assert server.upserted == ["a1", "a2", "b1"]
    summary = json.loads(result.stdout)
    assert [f["path"] for f in summary["files"]] == [
        str(folder / "a.jsonl"),
        str(folder / "b.jsonl"),
    ]
    assert summary["upserted"] == 3


def test_ingest_reads_sd_and_smiles_files(server: Server, tmp_path: Path) -> None:
    folder = tmp_path / "chem"
    folder.mkdir()
    (folder / "a.smi").write_text("SMILES\tid\nCCO\tethanol\nC=O\n", encoding="utf-8")
    (folder / "b.sdf").write_text(MOLFILE + "> <AMW>\n46.07\n\n$$$$\n", encoding="utf-8")
    result = run(server, "ingest", "patents", str(folder), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["upserted"] == 3
    assert server.documents == [
        {"id": "ethanol", "content": {"smiles": "CCO"}, "fields": {}},
        {"id": "a:3", "content": {"smiles": "C=O"}, "fields": {}},
        {"id": "ethanol", "content": {"molblock": MOLFILE}, "fields": {"AMW": 46.07}},
    ]


def test_a_bad_sd_record_stops_with_its_file_and_record(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "lib.sdf"
    path.write_text(MOLFILE + "$$$$\nbroken\n$$$$\n" + MOLFILE + "$$$$\n", encoding="utf-8")
    result = run(server, "ingest", "patents", str(path))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f'error: invalid_argument: {path}:12: record 2 has no "M  END" line before "$$$$" '
        "at line 13",
        "ingest stopped; the documents before it were sent: fix it and run again",
    ]
    assert server.upserted == ["ethanol"]


def test_an_interrupted_sd_ingest_resumes(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "lib.sdf"
    path.write_text("".join(MOLFILE.replace("ethanol", "") + "$$$$\n" for _ in range(5)), "utf-8")
    server.cut_after_batches = 1
    cut = run(server, "ingest", "patents", str(path), "--batch-size", "2")
    assert cut.exit_code == 1
    assert server.upserted == ["lib:1", "lib:2"]
    server.cut_after_batches = None
    resumed = run(server, "ingest", "patents", str(path), "--batch-size", "2")
    assert resumed.exit_code == 0, resumed.output
    assert server.upserted == [f"lib:{i}" for i in range(1, 6)]
    assert f"{path}: resumed after line 22" in resumed.stderr


def test_ingest_of_an_unknown_format_exits_with_a_clear_message(
    server: Server, tmp_path: Path
) -> None:
    path = tmp_path / "molecules.cdx"
    path.write_bytes(b"VjCD0100")
    result = run(server, "ingest", "patents", str(path))
    assert result.exit_code == 2
    known = ", ".join(known_suffixes())
    assert result.stderr == (
        f"error: invalid_argument: {path}: cannot ingest a file of this type (known: {known})\n"
    )
    assert ".sdf" in known and ".smi" in known
    assert server.requests == []


def test_ingest_of_a_missing_path_is_a_usage_error(server: Server, tmp_path: Path) -> None:
    result = run(server, "ingest", "patents", str(tmp_path / "nope.jsonl"))
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_ingest_json_output_is_pure(server: Server, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "docs.jsonl", 2)
    result = run(server, "ingest", "patents", str(path), "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["upserted"] == 2
    assert result.stderr == ""


def test_a_rejected_document_names_its_line(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "docs.jsonl", 4)
    rejected = error(400, "invalid_argument", "documents[1].content.text: must not be empty")
    context = CliContext(transport=httpx.MockTransport(lambda request: rejected))
    result = CliRunner().invoke(cli, ["ingest", "patents", str(path)], obj=context)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        f"error: invalid_argument: {path}:2: documents[1].content.text: must not be empty"
    )


def test_version_option() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("ipsim, version ")
