"""``pressroom submit``: a render job, optionally followed with a progress bar and saved."""

from __future__ import annotations

import shutil
import sys
import time
from typing import Any

import click

from pressroom.cli.documents import (
    ENGINE_FLAG,
    OPTION_FLAG,
    output,
    parse_options,
    read_data,
    template_arg,
)
from pressroom.cli.main import Context, cli
from pressroom.client import Progress, RemoteJob
from pressroom.core.models import Job, JobStatus

TERMINAL = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


@cli.command("submit")
@click.argument("template")
@click.option("--data", "data_path", default=None, help="A JSON file ('-': stdin).")
@click.option("--format", "fmt", default=None, help="pdf, html, docx… (default: the engine's).")
@ENGINE_FLAG
@OPTION_FLAG
@click.option("--filename", default=None, help="The document's file name.")
@click.option("--queue", default=None)
@click.option("--priority", type=int, default=None, help="Higher runs first.")
@click.option("--wait", "wait", is_flag=True, help="Wait for the job, showing its progress.")
@click.option(
    "-o", "--output", "out", default=None, help="Save the document here (implies --wait)."
)
@click.option("--timeout", type=float, default=None, help="Give up waiting after S seconds.")
@click.pass_obj
def submit(
    obj: Context,
    template: str,
    data_path: str | None,
    fmt: str | None,
    engine: str | None,
    option_pairs: tuple[str, ...],
    filename: str | None,
    queue: str | None,
    priority: int | None,
    wait: bool,
    out: str | None,
    timeout: float | None,
) -> None:
    """Submit TEMPLATE (a stored NAME[@VERSION], a file or a folder) with --data; print the id.

    With --wait or -o, follow the job with a progress bar and exit 1 unless it succeeds.
    """
    chosen, override = template_arg(template, engine)
    service = obj.service()
    job, _ = service.submit_render(
        chosen,
        read_data(data_path),
        format=fmt,
        options=parse_options(option_pairs),
        filename=filename,
        engine=override,
        queue=queue,
        priority=priority,
    )
    if not (wait or out):
        click.echo(job.id)
        return
    click.echo(job.id, err=True)
    job = follow(obj, job.id, timeout)
    if job.status != JobStatus.SUCCEEDED:
        reason = f": {job.error.type}: {job.error.message}" if job.error else ""
        click.echo(f"error: job {job.id} {job.status.value}{reason}", err=True)
        sys.exit(1)
    if out:
        _, stream = service.open_result(job.id)
        with stream, output(out) as fh:
            shutil.copyfileobj(stream, fh)
        if out != "-":
            click.echo(f"wrote {out}", err=True)


def follow(obj: Context, job_id: str, timeout: float | None) -> Job:
    """Wait for the job, drawing its progress on stderr; the finished job."""
    from rich.console import Console
    from rich.progress import BarColumn, TaskProgressColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    from pressroom.cli.remote import RemoteService, core_job

    service = obj.service()
    with Bar(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("queued", total=100)

        def show(update: RemoteJob | Progress | Job) -> None:
            if isinstance(update, Progress):
                bar.update(task, completed=update.percent, description=update.message or "running")
            elif isinstance(update, RemoteJob):
                bar.update(task, completed=update.progress.percent, description=update.status)
            else:
                message = update.progress_message or update.status.value
                bar.update(task, completed=update.progress_percent, description=message)

        if isinstance(service, RemoteService):
            try:
                remote = service.client.wait(job_id, timeout=timeout, on_progress=show)
            except TimeoutError as exc:
                raise click.ClickException(str(exc)) from None
            return core_job(remote)
        return _poll(service.get, job_id, timeout, show)


def _poll(get: Any, job_id: str, timeout: float | None, show: Any) -> Job:
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        job: Job = get(job_id)
        show(job)
        if job.status in TERMINAL:
            return job
        if deadline is not None and time.monotonic() >= deadline:
            raise click.ClickException(f"job {job_id} still {job.status.value} after {timeout} s")
        time.sleep(0.2)
