"""The ``ipsim reindex`` and ``ipsim jobs`` commands: start a re-index (or a rollback) on
the server and follow its job with a progress bar. They register on the ``cli`` group of
:mod:`ipsim.clients.cli`, which imports this module last.

The job runs in the server, not in this process: Ctrl-C stops following it, never the job
(``ipsim jobs ID`` picks it up again).
"""

from __future__ import annotations

import sys
import time
from typing import Any

import click
from tqdm import tqdm

from ipsim.clients.cli import (
    CliBadInput,
    CliContext,
    CliFailure,
    cli,
    parse_json_object,
    print_json,
    record_text,
)
from ipsim.clients.http import Client

FINISHED = ("done", "failed", "cancelled")


@cli.command()
@click.argument("name")
@click.option("--model", help="The new encoder (name or model folder); default: the current one.")
@click.option(
    "--index",
    help='The new index: a type (hnsw) or a JSON object ({"type": "hnsw", "M": 32});'
    " default: the current one.",
)
@click.option(
    "--ray",
    "ray",
    metavar="ADDRESS",
    help="Encode on this Ray cluster's actors (HOST:PORT, auto, ray://HOST:PORT; 'server':"
    " the server's own IPSIM_RAY_ADDRESS); default: in the server.",
)
@click.option("--rollback", is_flag=True, help="Return to the previous version instead.")
@click.option("--no-wait", is_flag=True, help="Print the job and return at once.")
@click.option(
    "--poll", type=click.FloatRange(min=0.05), default=0.5, show_default=True, help="Seconds."
)
@click.option("--json", "as_json", is_flag=True, help="Print the server's JSON.")
@click.pass_obj
def reindex(
    obj: CliContext,
    name: str,
    model: str | None,
    index: str | None,
    ray: str | None,
    rollback: bool,
    no_wait: bool,
    poll: float,
    as_json: bool,
) -> None:
    """Rebuild collection NAME with a new model and/or index beside the live version, then
    switch to it; searches go on meanwhile. Shows progress until the switch."""
    if rollback and (model or index or ray):
        raise CliBadInput("invalid_argument", "--rollback takes neither --model, --index nor --ray")
    with obj.client() as client:
        if rollback:
            job = client.rollback(name)
        else:
            cluster: str | bool | None = True if ray == "server" else ray
            job = client.reindex(name, model=model, index=_index_option(index), ray=cluster)
        if not no_wait:
            job = _follow(client, job, poll)
    _show(job, as_json)


@cli.command()
@click.argument("job_id", metavar="[ID]", required=False)
@click.option("--follow", is_flag=True, help="Show the job's progress until it finishes.")
@click.option(
    "--poll", type=click.FloatRange(min=0.05), default=0.5, show_default=True, help="Seconds."
)
@click.option("--json", "as_json", is_flag=True, help="Print the server's JSON.")
@click.pass_obj
def jobs(obj: CliContext, job_id: str | None, follow: bool, poll: float, as_json: bool) -> None:
    """List the re-index jobs, or show job ID."""
    with obj.client() as client:
        if job_id is None:
            listed = client.list_jobs()
            if as_json:
                print_json({"jobs": listed})
            for job in [] if as_json else listed:
                click.echo(f"{job['id']}  {job['collection']}  {job['kind']}  {_status(job)}")
            return
        job = client.get_job(job_id)
        if follow:
            job = _follow(client, job, poll)
    _show(job, as_json)


def _index_option(text: str | None) -> str | dict[str, Any] | None:
    if text is None or not text.lstrip().startswith("{"):
        return text
    return parse_json_object(text, "--index", '{"type": "hnsw", "M": 32}')


def _follow(client: Client, job: dict[str, Any], poll: float) -> dict[str, Any]:
    """Poll the job into a progress bar (on stderr) until it finishes; Ctrl-C stops following."""
    bar = tqdm(
        total=job["total"] or None,
        desc=f"{job['kind']} {job['collection']}",
        unit="doc",
        file=sys.stderr,
        dynamic_ncols=True,
    )
    try:
        while job["state"] not in FINISHED:
            time.sleep(poll)
            job = client.get_job(job["id"])
            bar.total = job["total"] or bar.total
            bar.n = job["done"]
            bar.set_postfix_str(job["state"], refresh=True)
    except KeyboardInterrupt:
        bar.close()
        click.echo(
            f"stopped following; job {job['id']} goes on in the server (ipsim jobs {job['id']})",
            err=True,
        )
        raise click.exceptions.Exit(130) from None
    bar.close()
    return job


def _show(job: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(job)
    else:
        click.echo(record_text(job))
    if job["state"] in ("failed", "cancelled"):
        raise CliFailure(f"job_{job['state']}", job["error"] or job["state"])


def _status(job: dict[str, Any]) -> str:
    progress = f"{job['done']}/{job['total']}"
    return f"{job['state']} {progress} v{job['from_version']}->v{job['to_version']}"
