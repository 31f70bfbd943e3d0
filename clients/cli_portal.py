"""The ``ipsim`` commands of the portal features: classification facets, neighbour graphs
and expert-mode result sets. They register on the ``cli`` group of :mod:`ipsim.clients.cli`,
which imports this module last."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ipsim.clients.cli import (
    CliContext,
    CliFailure,
    build_query,
    cli,
    json_text,
    parse_filter,
    parse_json_object,
    print_json,
    read_bytes,
    record_text,
)
from ipsim.clients.errors import BadRequest
from ipsim.clients.graph_files import FORMATS as GRAPH_FORMATS
from ipsim.clients.graph_files import graph_text
from ipsim.clients.render import cell, render_facet, render_table, score_label

# --- neighbour graphs ---------------------------------------------------------------

GRAPH_SUFFIXES = {".html": "html", ".htm": "html", ".graphml": "graphml", ".json": "json"}


@cli.command()
@click.argument("name")
@click.argument("doc_id", metavar="ID")
@click.option("--depth", type=int, default=1, show_default=True, help="1 or 2 hops.")
@click.option("-k", "k", type=int, default=10, show_default=True, help="Neighbours per document.")
@click.option(
    "--collections",
    help="Comma-separated collections of the same modality to search instead of NAME"
    " (list NAME too to search it as well).",
)
@click.option("--min-score", type=float, help="Leave out weaker links.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(GRAPH_FORMATS),
    help="html: an interactive page; graphml: for Gephi; json: the server's answer."
    " Default: from --out's extension, json on stdout.",
)
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to this file instead of stdout.",
)
@click.pass_obj
def graph(
    obj: CliContext,
    name: str,
    doc_id: str,
    depth: int,
    k: int,
    collections: str | None,
    min_score: float | None,
    fmt: str | None,
    out: Path | None,
) -> None:
    """The documents nearest to document ID of collection NAME, as a graph."""
    if fmt is None:
        fmt = GRAPH_SUFFIXES.get(out.suffix.lower()) if out is not None else "json"
        if fmt is None:
            raise click.UsageError("cannot tell the format from --out's extension: give --format")
    searched = collections.split(",") if collections is not None else None
    with obj.client() as client:
        answer = client.neighbors(
            name, doc_id, depth=depth, k=k, collections=searched, min_score=min_score
        )
    text = graph_text(answer, fmt)
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliFailure("io_error", f"{out}: cannot write: {exc.strerror}") from exc
    click.echo(f"{len(answer['nodes'])} documents, {len(answer['edges'])} links: {out}", err=True)


# --- classification facets ----------------------------------------------------------


@cli.command()
@click.argument("name")
@click.argument("field")
@click.option("--prefix", help="Count the children of this code (A61K); default: the top level.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--filter", "filter_json", help='Count only what passes: {"country": "RU"}.')
@click.option("--json", "as_json", is_flag=True, help="Print the server's JSON.")
@click.pass_obj
def facets(
    obj: CliContext,
    name: str,
    field: str,
    prefix: str | None,
    limit: int,
    filter_json: str | None,
    as_json: bool,
) -> None:
    """Documents of collection NAME per child code of FIELD (ipc, cpc, vienna, locarno) or
    per value of any other field."""
    filter_ = parse_filter(filter_json) if filter_json is not None else None
    with obj.client() as client:
        answer = client.facets(name, field, prefix=prefix, limit=limit, filter=filter_)
    if as_json:
        print_json(answer)
        return
    click.echo(render_facet(answer))


# --- result sets --------------------------------------------------------------------


@cli.group("result-sets")
def result_sets() -> None:
    """Expert mode: saved searches with their hits, tags and comments, shared by id."""


@result_sets.command("save")
@click.argument("name")
@click.option("--text", help="Text query.")
@click.option("--word", help="Trademark word.")
@click.option("--query", "query_json", help='Any query as JSON: {"smiles": "c1ccccc1"}.')
@click.option("-k", "k", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--mode", help="Search mode (the server's default).")
@click.option("--filter", "filter_json", help='JSON over fields: {"ipc": {"prefix": "A61K"}}.')
@click.option(
    "--from-json",
    "from_json",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Save the hits of this saved search answer (`ipsim search --json`) instead of"
    " searching; the other options then only describe the search.",
)
@click.option("--title", help="A title for the set.")
@click.option("--tag", "tags", multiple=True, help="A tag of the set (repeatable).")
@click.option("--comment", help="A first comment.")
@click.option("--json", "as_json", is_flag=True, help="Print the server's JSON.")
@click.pass_obj
def save_result_set(
    obj: CliContext,
    name: str,
    text: str | None,
    word: str | None,
    query_json: str | None,
    k: int,
    mode: str | None,
    filter_json: str | None,
    from_json: Path | None,
    title: str | None,
    tags: tuple[str, ...],
    comment: str | None,
    as_json: bool,
) -> None:
    """Search NAME (collections comma-separated, as in `ipsim search`) and save the hits.

    Prints the new set's id: `ipsim result-sets show ID` is what to forward.
    """
    query = _result_set_query(text, word, query_json, required=from_json is None)
    collections = [part.strip() for part in name.split(",") if part.strip()]
    options: dict[str, Any] = {"k": k, "mode": mode}
    options["filter"] = parse_filter(filter_json) if filter_json is not None else None
    one_window = len(collections) != 1 or ":" in collections[0]
    search_body: dict[str, Any] = (
        {"collections": collections} if one_window else {"collection": collections[0]}
    )
    search_body.update({"query": query, **options})
    search_body = {key: value for key, value in search_body.items() if value is not None}
    with obj.client() as client:
        if from_json is not None:
            answer = parse_json_object(_read_text(from_json), str(from_json), '{"hits": [...]}')
        elif one_window:
            answer = client.search_many(collections, query or {}, **options)
        else:
            answer = client.search(collections[0], query or {}, **options)
        hits = answer.get("hits")
        if not isinstance(hits, list):
            raise BadRequest(f'{from_json or "the search answer"}: has no "hits" list')
        saved = client.create_result_set(search_body, hits, name=title, tags=tags, comment=comment)
    if as_json:
        print_json(saved)
    else:
        click.echo(f"saved result set {saved['id']} ({len(saved['hits'])} hits)")


@result_sets.command("show")
@click.argument("set_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print the server's JSON.")
@click.pass_obj
def show_result_set(obj: CliContext, set_id: str, as_json: bool) -> None:
    """Show result set ID: its search, tags, comments and hits."""
    with obj.client() as client:
        saved = client.get_result_set(set_id)
    click.echo(json_text(saved) if as_json else _result_set_text(saved))


@result_sets.command("list")
@click.option("--tag", help="Only sets with this tag.")
@click.option("--owner", help="me (default), an identity, or * for everyone's (admin).")
@click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the server's JSON.")
@click.pass_obj
def list_result_sets(
    obj: CliContext, tag: str | None, owner: str | None, offset: int, limit: int, as_json: bool
) -> None:
    """List result sets, newest first."""
    with obj.client() as client:
        answer = client.list_result_sets(tag=tag, owner=owner, offset=offset, limit=limit)
    if as_json:
        print_json(answer)
        return
    sets = answer.get("result_sets") or []
    headers = ["ID", "NAME", "OWNER", "HITS", "TAGS", "CREATED"]
    rows = [
        [
            s.get("id"),
            cell(s.get("name")),
            s.get("owner"),
            s.get("hit_count"),
            _tags(s),
            s.get("created"),
        ]
        for s in sets
    ]
    click.echo(render_table(headers, rows) if rows else "no result sets")
    click.echo(f"{len(sets)} of {answer.get('total')} result sets", err=True)


@result_sets.command("tag")
@click.argument("set_id", metavar="ID")
@click.argument("tags", nargs=-1, required=True)
@click.option("--hit", metavar="COLLECTION/ID", help="Tag this hit instead of the set.")
@click.option("--remove", is_flag=True, help="Take the tags off instead.")
@click.option("--json", "as_json", is_flag=True, help="Print the server's JSON.")
@click.pass_obj
def tag_result_set(
    obj: CliContext,
    set_id: str,
    tags: tuple[str, ...],
    hit: str | None,
    remove: bool,
    as_json: bool,
) -> None:
    """Add TAGS to result set ID (or to one of its hits)."""
    changes: dict[str, Any]
    if hit is None:
        changes = {"remove_tags" if remove else "tags": list(tags)}
    else:
        changes = {"remove_hit_tags" if remove else "hit_tags": {hit: list(tags)}}
    with obj.client() as client:
        saved = client.update_result_set(set_id, **changes)
    click.echo(json_text(saved) if as_json else f"tags of {hit or set_id}: {_tags(saved, hit)}")


@result_sets.command("comment")
@click.argument("set_id", metavar="ID")
@click.argument("text")
@click.option("--hit", metavar="COLLECTION/ID", help="Comment on this hit instead of the set.")
@click.option("--json", "as_json", is_flag=True, help="Print the server's JSON.")
@click.pass_obj
def comment_result_set(
    obj: CliContext, set_id: str, text: str, hit: str | None, as_json: bool
) -> None:
    """Add a comment to result set ID (or to one of its hits)."""
    with obj.client() as client:
        if hit is None:
            saved = client.update_result_set(set_id, comment=text)
        else:
            saved = client.update_result_set(set_id, hit_comments={hit: text})
    click.echo(json_text(saved) if as_json else f"commented on {hit or set_id}")


@result_sets.command("delete")
@click.argument("set_id", metavar="ID")
@click.pass_obj
def delete_result_set(obj: CliContext, set_id: str) -> None:
    """Delete result set ID (its owner or an admin key only)."""
    with obj.client() as client:
        client.delete_result_set(set_id)
    click.echo(f"deleted result set {set_id}")


def _result_set_query(
    text: str | None, word: str | None, query_json: str | None, *, required: bool
) -> dict[str, Any] | None:
    """The query of ``result-sets save``, from at most one of its query options."""
    given = sum(value is not None for value in (text, word, query_json))
    if given > 1 or (required and given == 0):
        raise click.UsageError("give exactly one of --text, --word, --query (or --from-json)")
    if query_json is not None:
        return parse_json_object(query_json, "--query", '{"text": "a folding bicycle"}')
    if text is not None:
        return build_query("text", text)
    return build_query("word", word) if word is not None else None


def _read_text(path: Path) -> str:
    try:
        return read_bytes(path).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"{path}: not UTF-8 text ({exc.reason})") from exc


def _tags(record: dict[str, Any], hit: str | None = None) -> str:
    """The tags of a set, or of its hit ``COLLECTION/ID``, comma-separated."""
    if hit is not None:
        found = [h for h in record.get("hits", []) if f"{h.get('collection')}/{h.get('id')}" == hit]
        record = found[0] if found else {}
    return ", ".join(record.get("tags") or [])


def _result_set_text(saved: dict[str, Any]) -> str:
    """A set as a header of ``key: value`` lines, its comments, then a table of its hits."""
    header = {key: saved.get(key) for key in ("id", "name", "owner", "created", "updated")}
    header |= {"tags": _tags(saved), "search": saved.get("search")}
    lines = [record_text(header)]
    lines += [_comment_line(note) for note in saved.get("comments") or []]
    rows = []
    for rank, hit in enumerate(saved.get("hits") or [], start=1):
        notes = " / ".join(f"{n.get('author')}: {n.get('text')}" for n in hit.get("comments") or [])
        rows.append(
            [rank, hit.get("collection"), hit.get("id"), score_label(hit), _tags(hit), cell(notes)]
        )
    table = ["RANK", "COLLECTION", "ID", "SCORE", "TAGS", "COMMENTS"]
    lines.append(render_table(table, rows) if rows else "no hits")
    return "\n".join(lines)


def _comment_line(note: dict[str, Any]) -> str:
    return f"# {note.get('author')} at {note.get('created')}: {note.get('text')}"
