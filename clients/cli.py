"""The ``ipsim`` command line: collections, ingest, search and watches against a running server.

Every command talks to the server over HTTP through :class:`ipsim.clients.http.Client`.
Errors print ``error: <code>: <message>`` on stderr and exit 2 for bad input, 1 for
anything else; with ``--json`` stdout carries the server's JSON and nothing else.

Tests (and embedders) inject the HTTP transport through the click context object::

    CliRunner().invoke(cli, ["search", ...], obj=CliContext(transport=httpx.MockTransport(h)))
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

import click
import httpx
from tqdm import tqdm

from ipsim import __version__
from ipsim.clients.chem_files import first_molblock
from ipsim.clients.errors import BadRequest, IpsimError, PayloadTooLarge
from ipsim.clients.http import DEFAULT_URL, Client
from ipsim.clients.ingest import (
    CheckpointStore,
    FileReport,
    IngestJob,
    InvalidRecord,
    source_files,
)
from ipsim.clients.render import cell, index_label, render_hits, render_table, score_label

MODALITIES = ("text", "image", "mesh", "chemical", "sequence", "trademark")
MESH_FORMATS = ("stl", "obj", "ply", "off")
QUERY_OPTIONS = (
    "text",
    "image",
    "mesh",
    "smiles",
    "smarts",
    "molblock",
    "formula",
    "sequence",
    "word",
)
#: The mode a query option implies when ``--mode`` is not given (else the server's default).
DEFAULT_MODES = {"smarts": "substructure", "formula": "formula"}
#: The query options ``--threshold`` applies to: chemical structures.
THRESHOLD_OPTIONS = ("smiles", "smarts", "molblock")
DEPICT_FORMATS = ("svg", "png", "glb")
"""svg: a chemical structure's drawing; png / glb: a mesh's thumbnail / simplified model."""


@dataclass
class CliContext:
    """What every command shares: the server's address and how to reach it.

    The root group fills ``url``, ``api_key`` and ``timeout`` from its options; pass an
    instance with a ``transport`` as click's ``obj`` to send requests elsewhere than the
    network.
    """

    transport: httpx.BaseTransport | None = None
    url: str = DEFAULT_URL
    api_key: str | None = None
    timeout: float = 30.0

    def client(self) -> Client:
        """A new client for the configured server."""
        try:
            return Client(
                self.url, api_key=self.api_key, timeout=self.timeout, transport=self.transport
            )
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="'--url'") from exc


class CliFailure(click.ClickException):
    """A failed command: printed as ``error: <code>: <message>`` (and a hint, if any)."""

    exit_code = 1

    def __init__(self, code: str, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.code = code
        self.hint = hint

    @staticmethod
    def from_error(error: IpsimError, *, hint: str | None = None) -> CliFailure:
        """The failure for a client error; bad input (local or the server's 400) exits 2."""
        cls = CliBadInput if isinstance(error, BadRequest) else CliFailure
        return cls(error.code, error.message, hint=hint)

    def show(self, file: IO[Any] | None = None) -> None:
        """Print to stderr: no usage text and no traceback."""
        click.echo(f"error: {self.code}: {self.message}", err=True)
        if self.hint:
            click.echo(self.hint, err=True)


class CliBadInput(CliFailure):
    """A command failed on bad input: exits 2, like click's own usage errors."""

    exit_code = 2


class _IpsimGroup(click.Group):
    """The root group: turns client errors from any subcommand into ``CliFailure``."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except IpsimError as exc:
            raise CliFailure.from_error(exc) from exc


@click.group(cls=_IpsimGroup)
@click.option(
    "--url",
    envvar="IPSIM_URL",
    default=DEFAULT_URL,
    show_default=True,
    help="Server base URL (env IPSIM_URL).",
)
@click.option("--api-key", envvar="IPSIM_API_KEY", help="API key sent as a Bearer token.")
@click.option(
    "--timeout",
    envvar="IPSIM_TIMEOUT",
    type=click.FloatRange(min=0, min_open=True),
    default=30.0,
    show_default=True,
    help="Seconds to wait for each answer.",
)
@click.version_option(__version__, prog_name="ipsim")
@click.pass_context
def cli(ctx: click.Context, url: str, api_key: str | None, timeout: float) -> None:
    """Similarity search for intellectual-property objects."""
    settings = ctx.ensure_object(CliContext)
    settings.url, settings.api_key, settings.timeout = url, api_key, timeout


# --- collections --------------------------------------------------------------------


@cli.group()
def collections() -> None:
    """Create, list, inspect and delete collections."""


@collections.command("create")
@click.argument("name")
@click.option("--modality", required=True, type=click.Choice(MODALITIES))
@click.option(
    "--index", "index_type", help="Index type: auto, flat, ivf, hnsw, ivfpq, binary, cagra."
)
@click.option("--shards", type=click.IntRange(min=1), help="Number of index shards.")
@click.option("--model", help="Encoder name or path (default: the modality's).")
@click.option("--json", "as_json", is_flag=True, help="Print the server's JSON.")
@click.pass_obj
def create_collection(
    obj: CliContext,
    name: str,
    modality: str,
    index_type: str | None,
    shards: int | None,
    model: str | None,
    as_json: bool,
) -> None:
    """Create collection NAME."""
    with obj.client() as client:
        info = client.create_collection(
            name, modality, index=index_type, shards=shards, model=model
        )
    _print_record(info, as_json)


@collections.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the server's JSON.")
@click.pass_obj
def list_collections(obj: CliContext, as_json: bool) -> None:
    """List every collection."""
    with obj.client() as client:
        infos = client.list_collections()
    if as_json:
        print_json({"collections": infos})
        return
    headers = ["NAME", "MODALITY", "COUNT", "DIM", "INDEX", "SHARDS", "MODEL"]
    rows = [
        [
            info.get("name"),
            info.get("modality"),
            info.get("count"),
            info.get("dim"),
            index_label(info.get("index")),
            info.get("shards"),
            info.get("model"),
        ]
        for info in infos
    ]
    click.echo(render_table(headers, rows) if rows else "no collections")


@collections.command("get")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the server's JSON.")
@click.pass_obj
def get_collection(obj: CliContext, name: str, as_json: bool) -> None:
    """Show collection NAME."""
    with obj.client() as client:
        info = client.get_collection(name)
    _print_record(info, as_json)


@collections.command("delete")
@click.argument("name")
@click.pass_obj
def delete_collection(obj: CliContext, name: str) -> None:
    """Delete collection NAME and every document in it."""
    with obj.client() as client:
        client.delete_collection(name)
    click.echo(f"deleted collection {name}")


# --- ingest -------------------------------------------------------------------------

_RESUME_HINT = "ingest stopped; run the same command again to resume after the last batch sent"
_BAD_LINE_HINT = "ingest stopped; the documents before it were sent: fix it and run again"
_TOO_LARGE_HINT = "ingest stopped; run it again with a smaller --batch-size to resume"


@cli.command()
@click.argument("name")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=256,
    show_default=True,
    help="Documents per request.",
)
@click.option("--restart", is_flag=True, help="Ignore the checkpoint and send everything again.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary only.")
@click.pass_obj
def ingest(
    obj: CliContext, name: str, path: Path, batch_size: int, restart: bool, as_json: bool
) -> None:
    """Upsert the documents of a file or folder into collection NAME.

    PATH is a file, or a folder whose files are read in name order. JSON Lines files
    (.jsonl, .ndjson) hold one {"id", "content", "fields"} document per line; SD files
    (.sdf, .sd) and SMILES files (.smi, .smiles) hold chemical structures; each mesh file
    (.stl, .obj, .ply, .off) is one 3D design, its file name the id. The run is
    resumable: what the server acknowledged is checkpointed under $IPSIM_STATE_DIR
    (default ~/.cache/ipsim), and a rerun skips it.
    """
    files = source_files(path)
    total = sum(file.stat().st_size for file in files)
    show_bar = not as_json and sys.stderr.isatty()
    with (
        obj.client() as client,
        tqdm(
            total=total, unit="B", unit_scale=True, desc=name, file=sys.stderr, disable=not show_bar
        ) as bar,
    ):
        job = IngestJob(
            client,
            client.url,
            name,
            CheckpointStore.default(),
            batch_size=batch_size,
            restart=restart,
            on_progress=bar.update,
        )
        reports = [_ingest_one(job, file) for file in files]
    _print_ingest_summary(name, reports, as_json)


def _ingest_one(job: IngestJob, file: Path) -> FileReport:
    try:
        return job.ingest_file(file)
    except InvalidRecord as exc:
        raise CliFailure.from_error(exc, hint=_BAD_LINE_HINT) from exc
    except PayloadTooLarge as exc:
        raise CliFailure.from_error(exc, hint=_TOO_LARGE_HINT) from exc
    except IpsimError as exc:
        raise CliFailure.from_error(exc, hint=_RESUME_HINT) from exc
    except OSError as exc:
        raise CliFailure("io_error", str(exc), hint=_RESUME_HINT) from exc


def _print_ingest_summary(name: str, reports: Sequence[FileReport], as_json: bool) -> None:
    upserted = sum(report.upserted for report in reports)
    if as_json:
        files = [
            {"path": str(r.path), "upserted": r.upserted, "resumed_at_line": r.resumed_at_line}
            for r in reports
        ]
        print_json({"collection": name, "upserted": upserted, "files": files})
        return
    for report in reports:
        if report.resumed_at_line:
            click.echo(f"{report.path}: resumed after line {report.resumed_at_line}", err=True)
    click.echo(f"upserted {upserted} documents into {name} from {len(reports)} file(s)")


# --- search -------------------------------------------------------------------------


@cli.command()
@click.argument("name")
@click.option("--text", help="Text query.")
@click.option(
    "--image",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PNG or JPEG file (image or trademark collections).",
)
@click.option(
    "--mesh",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Mesh file: .stl, .obj, .ply or .off.",
)
@click.option("--smiles", help="Chemical structure as SMILES (similarity unless --mode).")
@click.option("--smarts", help="Substructure pattern as SMARTS (substructure unless --mode).")
@click.option(
    "--molblock",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Molfile (.mol, or the first record of an .sdf) as the chemical structure.",
)
@click.option("--formula", help="Molecular formula, e.g. C8H10N4O2 or C6-8H*O2 (mode formula).")
@click.option("--sequence", help="Protein, DNA or RNA sequence.")
@click.option("--word", help="Trademark word.")
@click.option(
    "-k", "k", type=click.IntRange(min=1), default=10, show_default=True, help="Hits to return."
)
@click.option(
    "--offset", type=click.IntRange(min=0), default=0, show_default=True, help="Hits to skip."
)
@click.option(
    "--mode",
    help="Search mode (text: dense, lexical, hybrid; chemical: similarity, substructure,"
    " exact, formula; trademark: spelling, phonetic, semantic, all, image).",
)
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1),
    help="Lowest similarity to return, 0 to 1 (--smiles, --smarts, --molblock).",
)
@click.option("--filter", "filter_json", help='JSON over fields: {"ipc": {"prefix": "A61K"}}.')
@click.option(
    "--weight",
    type=click.FloatRange(0, 1),
    help="Hybrid text search (--mode hybrid): the dense share, 0 to 1 (default 0.7).",
)
@click.option(
    "--facet",
    "facet_fields",
    multiple=True,
    metavar="FIELD[:PREFIX]",
    help="Also count the documents passing the filter per value or child code of FIELD"
    " (ipc:A61K counts the children of A61K); repeatable.",
)
@click.option("--group-by", help="At most --group-size hits per value of this field.")
@click.option("--group-size", type=click.IntRange(1, 100), help="Hits per group (default 1).")
@click.option(
    "--fusion",
    type=click.Choice(["rrf", "score", "raw"]),
    help="How several collections' lists are fused (default rrf).",
)
@click.option(
    "--timeout-ms", type=click.FloatRange(min=1), help="Per-source time-out, several collections."
)
@click.option("--json", "as_json", is_flag=True, help="Print the server's JSON only.")
@click.pass_obj
def search(
    obj: CliContext,
    name: str,
    text: str | None,
    image: Path | None,
    mesh: Path | None,
    smiles: str | None,
    smarts: str | None,
    molblock: Path | None,
    formula: str | None,
    sequence: str | None,
    word: str | None,
    k: int,
    offset: int,
    mode: str | None,
    threshold: float | None,
    filter_json: str | None,
    weight: float | None,
    facet_fields: tuple[str, ...],
    group_by: str | None,
    group_size: int | None,
    fusion: str | None,
    timeout_ms: float | None,
    as_json: bool,
) -> None:
    """Search collection NAME with exactly one query option.

    NAME may list several collections, comma-separated, searched as one window with the
    hits fused (`patents-ru,patents-ep`); `SOURCE:NAME` is a collection of a remote source
    configured on the server (`eapo:patents`).
    """
    values = (text, image, mesh, smiles, smarts, molblock, formula, sequence, word)
    given = [
        (option, value)
        for option, value in zip(QUERY_OPTIONS, values, strict=True)
        if value is not None
    ]
    if len(given) != 1:
        names = ", ".join(f"--{option}" for option in QUERY_OPTIONS)
        raise click.UsageError(f"give exactly one of {names}")
    [(option, value)] = given
    query = build_query(option, value)
    if threshold is not None:
        if option not in THRESHOLD_OPTIONS:
            names = ", ".join(f"--{option}" for option in THRESHOLD_OPTIONS)
            raise click.UsageError(f"--threshold goes with {names}, not --{option}")
        query["threshold"] = threshold
    if weight is not None:
        if option != "text":
            raise click.UsageError("--weight goes with --text")
        query["weight"] = weight
    mode = mode if mode is not None else DEFAULT_MODES.get(option)
    filter_ = parse_filter(filter_json) if filter_json is not None else None
    collections = [part.strip() for part in name.split(",") if part.strip()]
    one_window = len(collections) != 1 or ":" in collections[0]
    if not one_window and (fusion is not None or timeout_ms is not None):
        raise click.UsageError("--fusion and --timeout-ms go with several collections")
    options: dict[str, Any] = {"k": k, "offset": offset, "filter": filter_, "mode": mode}
    options |= {"group_by": group_by, "group_size": group_size}
    options["facets"] = [facet_option(text) for text in facet_fields] or None
    with obj.client() as client:
        if one_window:
            answer = client.search_many(
                collections, query, fusion=fusion, timeout_ms=timeout_ms, **options
            )
        else:
            answer = client.search(collections[0], query, **options)
    if as_json:
        print_json(answer)
    else:
        click.echo(render_hits(answer, offset))


def facet_option(text: str) -> str | dict[str, Any]:
    """``ipc`` → ``"ipc"``, ``ipc:A61K`` → ``{"field": "ipc", "prefix": "A61K"}``."""
    field, _, prefix = text.partition(":")
    return {"field": field, "prefix": prefix} if prefix else field


def build_query(option: str, value: str | Path) -> dict[str, Any]:
    """The contract's query object for one ``ipsim search`` query option."""
    if option == "image":
        return {"image_b64": _read_b64(Path(value))}
    if option == "mesh":
        path = Path(value)
        fmt = path.suffix.lower().lstrip(".")
        if fmt not in MESH_FORMATS:
            known = ", ".join(MESH_FORMATS)
            raise BadRequest(f"--mesh: {path.name}: the extension must be one of {known}")
        return {"mesh_b64": _read_b64(path), "format": fmt}
    if option == "molblock":
        return {"molblock": _read_molblock(Path(value))}
    if option in QUERY_OPTIONS:
        return {option: str(value)}
    raise ValueError(f"unknown query option {option!r}")


def parse_filter(text: str) -> dict[str, Any]:
    """``--filter``'s JSON object; raise ``BadRequest`` for anything else."""
    return parse_json_object(text, "--filter", '{"field": value}')


def parse_json_object(text: str, option: str, example: str) -> dict[str, Any]:
    """An option's JSON object; raise ``BadRequest`` naming the option for anything else."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"{option}: not valid JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(value, dict):
        raise BadRequest(f"{option}: must be a JSON object such as {example}")
    return value


def _read_b64(path: Path) -> str:
    return base64.b64encode(read_bytes(path)).decode("ascii")


def _read_molblock(path: Path) -> str:
    try:
        text = read_bytes(path).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"--molblock: {path.name}: not UTF-8 text ({exc.reason})") from exc
    molblock = first_molblock(text)
    if molblock is None:
        raise BadRequest(f'--molblock: {path.name}: not a molfile (no "M  END" line)')
    return molblock


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise BadRequest(f"{path}: cannot read: {exc.strerror}") from exc


# --- documents ----------------------------------------------------------------------


@cli.command()
@click.argument("name")
@click.argument("doc_id", metavar="ID")
@click.option(
    "--depict",
    type=click.Choice(DEPICT_FORMATS),
    help="The server's drawing instead: svg (chemical structures), png thumbnail or glb"
    " model (meshes; binary, so with -o or a redirected stdout).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to this file instead of stdout.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the server's JSON.")
@click.pass_obj
def get(
    obj: CliContext,
    name: str,
    doc_id: str,
    depict: str | None,
    output: Path | None,
    as_json: bool,
) -> None:
    """Show document ID of collection NAME, or with --depict its drawing."""
    if depict is not None and as_json:
        raise click.UsageError("--depict prints a drawing, not JSON: leave out --json")
    if depict in ("png", "glb"):
        _write_binary(obj, name, doc_id, depict, output)
        return
    with obj.client() as client:
        if depict is not None:
            text = client.depict(name, doc_id)
        else:
            document = client.get(name, doc_id)
            text = json_text(document) if as_json else record_text(document)
    if output is None:
        click.echo(text)
        return
    try:
        with output.open("w", encoding="utf-8") as stream:
            click.echo(text, file=stream)
    except OSError as exc:
        raise CliFailure("io_error", f"{output}: cannot write: {exc.strerror}") from exc


def _write_binary(obj: CliContext, name: str, doc_id: str, form: str, output: Path | None) -> None:
    """A mesh preview to ``output``, or to stdout when that is not a terminal."""
    stdout: BinaryIO = sys.stdout.buffer
    if output is None and stdout.isatty():
        raise click.UsageError(f"--depict {form} is binary: give -o FILE or redirect stdout")
    with obj.client() as client:
        data = client.preview(name, doc_id, form)
    if output is None:
        stdout.write(data)
        stdout.flush()
        return
    try:
        output.write_bytes(data)
    except OSError as exc:
        raise CliFailure("io_error", f"{output}: cannot write: {exc.strerror}") from exc


# --- watches ------------------------------------------------------------------------


@cli.group()
def watches() -> None:
    """Standing queries: be told when an upserted document matches."""


@watches.command("create")
@click.argument("collection")
@click.option("--word", help="Trademark word to watch for.")
@click.option(
    "--image",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PNG or JPEG logo to watch for.",
)
@click.option("--query", "query_json", help='Any query as JSON: {"text": "a folding bicycle"}.')
@click.option(
    "--threshold",
    required=True,
    type=click.FloatRange(0, 1),
    help="Lowest score that notifies, 0 to 1.",
)
@click.option("--mode", help="Search mode the matches are scored with (the server's default).")
@click.option("--filter", "filter_json", help='JSON over fields: {"class": 25}.')
@click.option("--callback", help="http(s) URL each notification is POSTed to.")
@click.option("--json", "as_json", is_flag=True, help="Print the server's JSON.")
@click.pass_obj
def create_watch(
    obj: CliContext,
    collection: str,
    word: str | None,
    image: Path | None,
    query_json: str | None,
    threshold: float,
    mode: str | None,
    filter_json: str | None,
    callback: str | None,
    as_json: bool,
) -> None:
    """Watch COLLECTION for new documents matching exactly one of --word, --image, --query."""
    query = _watch_query(word, image, query_json)
    filter_ = parse_filter(filter_json) if filter_json is not None else None
    with obj.client() as client:
        watch = client.create_watch(
            collection, query, threshold=threshold, mode=mode, filter=filter_, callback_url=callback
        )
    click.echo(json_text(watch) if as_json else _watch_text(watch))


@watches.command("get")
@click.argument("watch_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print the server's JSON.")
@click.pass_obj
def get_watch(obj: CliContext, watch_id: str, as_json: bool) -> None:
    """Show watch ID."""
    with obj.client() as client:
        watch = client.get_watch(watch_id)
    click.echo(json_text(watch) if as_json else _watch_text(watch))


@watches.command("delete")
@click.argument("watch_id", metavar="ID")
@click.pass_obj
def delete_watch(obj: CliContext, watch_id: str) -> None:
    """Delete watch ID and its notifications."""
    with obj.client() as client:
        client.delete_watch(watch_id)
    click.echo(f"deleted watch {watch_id}")


@watches.command("notifications")
@click.argument("watch_id", metavar="ID")
@click.option(
    "--offset", type=click.IntRange(min=0), default=0, show_default=True, help="Entries to skip."
)
@click.option(
    "--limit",
    type=click.IntRange(1, 1000),
    default=100,
    show_default=True,
    help="Entries to show.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the server's JSON.")
@click.pass_obj
def watch_notifications(
    obj: CliContext, watch_id: str, offset: int, limit: int, as_json: bool
) -> None:
    """List the notifications of watch ID, oldest first."""
    with obj.client() as client:
        answer = client.watch_notifications(watch_id, offset=offset, limit=limit)
    if as_json:
        print_json(answer)
        return
    notes = answer.get("notifications") or []
    total = answer.get("total")
    if not notes:
        click.echo(f"no notifications (total {total})")
        return
    headers = ["CREATED", "DOCUMENT", "SCORE", "DELIVERY"]
    rows = [
        [note.get("created"), note.get("document_id"), score_label(note), _delivery_label(note)]
        for note in notes
    ]
    click.echo(f"{render_table(headers, rows)}\n{len(notes)} of {total} notifications")


def _watch_query(word: str | None, image: Path | None, query_json: str | None) -> dict[str, Any]:
    """The query of ``watches create``, from exactly one of its query options."""
    if sum(value is not None for value in (word, image, query_json)) != 1:
        raise click.UsageError("give exactly one of --word, --image, --query")
    if word is not None:
        return build_query("word", word)
    if image is not None:
        return build_query("image", image)
    assert query_json is not None
    return parse_json_object(query_json, "--query", '{"word": "ACME"}')


def _watch_text(watch: dict[str, Any]) -> str:
    """A watch as ``key: value`` lines; long query values (an image) are cut."""
    query = watch.get("query")
    if isinstance(query, dict):
        query = {key: cell(v) if isinstance(v, str) else v for key, v in query.items()}
    return record_text({**watch, "query": query})


def _delivery_label(note: dict[str, Any]) -> str:
    """``delivered after 3 attempts``, ``failed after 6 attempts: HTTP 500``, ``none``."""
    label = str(note.get("delivery"))
    attempts = note.get("attempts")
    if isinstance(attempts, int) and attempts > 0:
        label += f" after {attempts} attempt{'s' if attempts > 1 else ''}"
    if note.get("delivery") == "failed" and note.get("last_error"):
        label += f": {note['last_error']}"
    return label


# --- output -------------------------------------------------------------------------


def print_json(value: Any) -> None:
    click.echo(json_text(value))


def _print_record(info: dict[str, Any], as_json: bool) -> None:
    click.echo(json_text(info) if as_json else record_text(info))


def json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def record_text(info: dict[str, Any]) -> str:
    """``key: value`` lines, keys aligned; objects and lists shown as JSON."""
    width = max((len(key) for key in info), default=0)
    return "\n".join(
        f"{key + ':':<{width + 1}} {json_text(value) if isinstance(value, dict | list) else value}"
        for key, value in info.items()
    )


# The portal's commands (facets, graphs, result sets) and the re-index jobs' commands
# register themselves on `cli`.
from ipsim.clients import cli_bi, cli_gateway, cli_jobs, cli_ledger, cli_portal  # noqa: E402, F401

__all__ = [
    "CliBadInput",
    "CliContext",
    "CliFailure",
    "build_query",
    "cli",
    "json_text",
    "parse_filter",
    "parse_json_object",
    "print_json",
    "read_bytes",
    "record_text",
]
