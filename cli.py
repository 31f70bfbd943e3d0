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
@click.option(
    "--ray",
    "ray_address",
    metavar="ADDRESS",
    help="Ray cluster for sharded indexes: HOST:PORT, auto or ray://HOST:PORT (IPSIM_RAY_ADDRESS).",
)
@click.option(
    "--insecure",
    is_flag=True,
    default=None,
    help="Without API keys, listen on a non-loopback address anyway (IPSIM_INSECURE).",
)
@click.option(
    "--tls-cert",
    type=click.Path(path_type=Path),
    help="PEM certificate: serve HTTPS and gRPC over TLS (IPSIM_TLS_CERT).",
)
@click.option("--tls-key", type=click.Path(path_type=Path), help="PEM key (IPSIM_TLS_KEY).")
def serve(
    data: Path | None,
    http: str | None,
    grpc: str | None,
    config: Path | None,
    demo: bool | None,
    ray_address: str | None,
    insecure: bool | None,
    tls_cert: Path | None,
    tls_key: Path | None,
) -> None:
    """Serve HTTP and gRPC; prints `ipsim ready http=… grpc=…` once both listen."""
    from ipsim.server.serve import run

    try:
        code = run(
            data=data,
            http=http,
            grpc=grpc,
            config=config,
            demo=demo,
            ray_address=ray_address,
            insecure=insecure,
            tls_cert=tls_cert,
            tls_key=tls_key,
        )
    except (ValidationError, ValueError) as exc:
        click.echo(f"error: settings: {exc}", err=True)
        sys.exit(2)
    sys.exit(code)


BENCH_CONCERNS = ("ann", "batching", "encode", "chem", "mesh", "seq", "e2e", "results")
"""``ipsim bench`` per concern (benchmarks/README.md); the module names work as well."""
BENCH_MODULES = {"seq": "bench_sequence", "e2e": "bench_http_overhead", "results": "results_md"}
BENCHMARKS: tuple[str, ...] = (
    *BENCH_CONCERNS,
    "batching",
    "http_overhead",
    "ann",
    "quality",
    "tanimoto",
    "substructure",
    "trademark_words",
    "figurative",
    "mesh",
    "mesh_cuda",
    "sequence",
    "hybrid",
    "facets",
    "federation",
    "gpu",
    "faiss_gpu",
    "encode",
    "reindex",
    "ray",
    "anomalies",
    "load",
)
BENCHMARKS = tuple(dict.fromkeys(BENCHMARKS))


@cli.command(context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("name", type=click.Choice(BENCHMARKS))
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def bench(name: str, args: tuple[str, ...]) -> None:
    """Run a benchmark from a source checkout: `ipsim bench ann --quick` (benchmarks/README.md)."""
    import importlib

    module = importlib.import_module(f"ipsim.benchmarks.{BENCH_MODULES.get(name, 'bench_' + name)}")
    sys.exit(module.main(list(args)))


@cli.group()
def export() -> None:
    """Write a model out for another serving system."""


@export.command("triton")
@click.option(
    "--model",
    default="all-MiniLM-L6-v2",
    show_default=True,
    help="A text model (name or local model directory) or `efficientnet-lite0`.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Triton model repository folder (created if missing).",
)
@click.option("--name", help="Triton model name (default: the model's name).")
@click.option("--max-batch-size", type=click.IntRange(1, 4096), default=64, show_default=True)
def export_triton(model: str, out: Path, name: str | None, max_batch_size: int) -> None:
    """ONNX + config.pbtxt with dynamic batching: `tritonserver --model-repository OUT`."""
    from ipsim.models.registry import UnknownModel
    from ipsim.models.triton_export import export_triton as write

    try:
        exported = write(model, out, name=name, max_batch_size=max_batch_size)
    except UnknownModel as exc:
        raise click.BadParameter(str(exc), param_hint="--model") from exc
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--name") from exc
    click.echo(f"wrote {exported.config} and {exported.onnx}")


@cli.group()
def train() -> None:
    """Train a modality's model on a local data folder."""


@train.command("mesh")
@click.option(
    "--data",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder with labels.csv (path,source,class,family) or class sub-folders.",
)
@click.option("--epochs", required=True, type=click.IntRange(min=1), help="Total epochs.")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Checkpoint file, rewritten after every epoch.",
)
@click.option("--resume", is_flag=True, help="Continue the run saved in --out.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), help="Default: cuda if present.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--batch",
    type=click.IntRange(min=2),
    default=32,
    show_default=True,
    help="Shapes per step (two views each).",
)
@click.option("--points", type=click.IntRange(min=16), default=1024, show_default=True)
@click.option("--align", type=click.Choice(["none", "pca"]), default="none", show_default=True)
@click.option(
    "--normals",
    type=click.Choice(["local", "outward", "abs", "none"]),
    default="local",
    show_default=True,
)
@click.option(
    "--extras/--no-extras",
    default=True,
    show_default=True,
    help="Per-point radius, normal·radial and surface variation channels.",
)
@click.option(
    "--class-weight",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Weight of same-class shapes as positives (family members weigh 1).",
)
@click.option(
    "--fold",
    type=click.IntRange(0, 2),
    default=0,
    show_default=True,
    help="Which third of the shapes to hold out (cross-validation; 0 = the shipped split).",
)
def train_mesh(
    data: Path,
    epochs: int,
    out: Path,
    resume: bool,
    device: str | None,
    seed: int,
    batch: int,
    points: int,
    align: str,
    normals: str,
    extras: bool,
    class_weight: float,
    fold: int,
) -> None:
    """Train the Siamese mesh network (models/mesh_training.py); prints test-split scores."""
    from ipsim.models.mesh_siamese import CheckpointError, NetworkConfig
    from ipsim.models.mesh_training import TrainOptions, train

    network = NetworkConfig(
        points=points,
        align=align,  # type: ignore[arg-type]
        normals=normals,  # type: ignore[arg-type]
        extras=extras,
    )
    options = TrainOptions(
        data=data, out=out, epochs=epochs, seed=seed, batch=batch, device=device,
        resume=resume, network=network, class_weight=class_weight, fold=fold,
    )  # fmt: skip
    if resume and not out.is_file():
        raise click.BadParameter(f"{out} does not exist: nothing to resume", param_hint="--out")
    try:
        train(options, echo=click.echo)
    except (CheckpointError, ValueError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="ipsim")
