"""The ``ipsim`` command: the client commands plus ``serve``, which starts the server."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from pydantic import ValidationError

from ipsim.clients.cli import cli


@cli.command()
@click.option("--data", type=click.Path(path_type=Path), help="Data directory (IPSIM_DATA).")
@click.option("--http", "http", metavar="HOST:PORT", help="HTTP address (IPSIM_HTTP).")
@click.option("--grpc", "grpc", metavar="HOST:PORT", help="gRPC address (IPSIM_GRPC).")
@click.option("--config", type=click.Path(path_type=Path), help="TOML/JSON settings file.")
@click.option("--demo", is_flag=True, default=None, help="Build the demo collections.")
def serve(
    data: Path | None, http: str | None, grpc: str | None, config: Path | None, demo: bool | None
) -> None:
    """Serve HTTP and gRPC; prints `ipsim ready http=… grpc=…` once both listen."""
    from ipsim.server.serve import run

    try:
        code = run(data=data, http=http, grpc=grpc, config=config, demo=demo)
    except (ValidationError, ValueError) as exc:
        click.echo(f"error: settings: {exc}", err=True)
        sys.exit(2)
    sys.exit(code)


BENCHMARKS = (
    "batching",
    "http_overhead",
    "ann",
    "quality",
    "tanimoto",
    "substructure",
    "trademark_words",
    "figurative",
)


@cli.command(context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("name", type=click.Choice(BENCHMARKS))
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def bench(name: str, args: tuple[str, ...]) -> None:
    """Run a benchmark from a source checkout: `ipsim bench ann --quick` (benchmarks/README.md)."""
    import importlib

    module = importlib.import_module(f"ipsim.benchmarks.bench_{name}")
    sys.exit(module.main(list(args)))


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="ipsim")
