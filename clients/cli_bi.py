"""The ``ipsim bi`` commands: business-intelligence data. They register on the ``cli`` group
of :mod:`ipsim.clients.cli`, which imports this module last."""

from __future__ import annotations

from pathlib import Path

import click

from ipsim.clients.cli import CliContext, cli, print_json, read_bytes

SUFFIX_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


@cli.group()
def bi() -> None:
    """Business intelligence: the bibliographic records the analytics count."""


@bi.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("csv", "jsonl")),
    help="Default: from FILE's extension (.csv, .jsonl or .ndjson).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the server's JSON.")
@click.pass_obj
def import_records(obj: CliContext, file: Path, fmt: str | None, as_json: bool) -> None:
    """Import records from FILE (admin key): CSV with columns id, kind, country, filing_date,
    ipc (codes separated by ';') and optionally publication_date, status; or JSON Lines.
    Records are upserted by id, so importing a file again changes nothing."""
    chosen = fmt or SUFFIX_FORMATS.get(file.suffix.lower())
    if chosen is None:
        raise click.BadParameter(
            f"cannot tell the format of {file.name}; use --format", param_hint="'--format'"
        )
    with obj.client() as client:
        answer = client.import_bi_records(read_bytes(file), chosen)
    if as_json:
        print_json(answer)
    else:
        click.echo(f"imported {answer['imported']} records from {file.name}")
