"""The ``ipsim gateway`` commands: signed exchange packages between offices.

``pack`` and ``verify`` work offline (a sending office packs and signs with its own key; a
receiving one can check a package against its partners' keys before sending it anywhere);
``import`` sends a package to the server, which verifies it again against its registry.
They register on the ``cli`` group of :mod:`ipsim.clients.cli`, which imports this module
last.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from ipsim.clients.cli import CliContext, cli, print_json, read_bytes
from ipsim.engine.errors import EngineError
from ipsim.platform.gateway.formats import get_format, read_xml
from ipsim.platform.gateway.packages import (
    load_private_key,
    pack,
    parse_public_key,
    verify_package,
)
from ipsim.platform.gateway.records import Record

SUFFIX_FORMATS = {".xml": "st96", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
FilePath = click.Path(exists=True, dir_okay=False, path_type=Path)


@cli.group()
def gateway() -> None:
    """The international gateway: signed exchange packages (ST.96, GBD, CSV, JSON Lines)."""


def _records(file: Path) -> list[Record]:
    name = SUFFIX_FORMATS.get(file.suffix.lower())
    if name is None:
        raise click.BadParameter(f"{file.name}: use .xml, .csv or .jsonl", param_hint="FILES")
    reader = read_xml if name == "st96" else get_format(name).read
    assert reader is not None
    try:
        return reader(read_bytes(file))
    except EngineError as exc:
        raise click.ClickException(f"{file.name}: {exc}") from None


def _keys(file: Path) -> dict[str, str]:
    """A keys file: a JSON object ``{"EM": "<base64 key>", …}`` or lines ``EM <base64>``."""
    text = file.read_text()
    try:
        loaded = json.loads(text)
    except json.JSONDecodeError:
        loaded = dict(line.split(None, 1) for line in text.splitlines() if line.strip())
    if not isinstance(loaded, dict):
        raise click.BadParameter("must be a JSON object or 'OFFICE KEY' lines", param_hint="--keys")
    return {str(office).upper(): str(key).strip() for office, key in loaded.items()}


@gateway.command("pack")
@click.argument("files", nargs=-1, required=True, type=FilePath)
@click.option("--sender", required=True, help="The sending office's two-letter code.")
@click.option(
    "--key",
    "key_file",
    required=True,
    type=FilePath,
    help="The office's Ed25519 private key: PEM, 32 raw bytes or their base64.",
)
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--collection", help="The collection the package suggests to import into.")
@click.option("--id", "package_id", help="The package id (default: a random one).")
def pack_command(
    files: tuple[Path, ...],
    sender: str,
    key_file: Path,
    out: Path,
    collection: str | None,
    package_id: str | None,
) -> None:
    """Pack the records of FILES (.xml ST.96/GBD, .csv, .jsonl) into a signed package."""
    records = [record for file in files for record in _records(file)]
    try:
        data = pack(records, sender, load_private_key(key_file.read_bytes()),
                    package_id=package_id, collection=collection)  # fmt: skip
    except EngineError as exc:
        raise click.ClickException(str(exc)) from None
    out.write_bytes(data)
    click.echo(f"packed {len(records)} records from {sender.upper()} into {out}")


@gateway.command("verify")
@click.argument("package", type=FilePath)
@click.option("--keys", "keys_file", required=True, type=FilePath,
              help="Partner keys: JSON {\"EM\": \"<base64>\"} or 'EM <base64>' lines.")  # fmt: skip
def verify_command(package: Path, keys_file: Path) -> None:
    """Check PACKAGE's sender, signature and manifest offline (exit 1 when it fails)."""
    try:
        keys = {office: parse_public_key(key) for office, key in _keys(keys_file).items()}
        verified = verify_package(read_bytes(package), keys)
    except EngineError as exc:
        raise click.ClickException(f"rejected: {exc}") from None
    click.echo(f"ok: package {verified.id} from {verified.sender}, {len(verified.records)} records")


@gateway.command("import")
@click.argument("package", type=FilePath)
@click.option("--collection", help="Default: the collection the package names.")
@click.option("--json", "as_json", is_flag=True, help="Print the server's JSON.")
@click.pass_obj
def import_command(obj: CliContext, package: Path, collection: str | None, as_json: bool) -> None:
    """Send PACKAGE to the server, which verifies it against its partner registry."""
    with obj.client() as client:
        answer = client.import_package(read_bytes(package), collection)
    if as_json:
        print_json(answer)
    else:
        click.echo(
            f"imported {len(answer['imported'])} records of package {answer['package']}"
            f" from {answer['sender']} into {answer['collection']}"
        )
