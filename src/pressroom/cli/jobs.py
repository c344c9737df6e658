"""``pressroom jobs …``, ``pressroom queues …`` and ``pressroom workers``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from pressroom.cli.main import Context, cli, echo_json
from pressroom.core.errors import InvalidInput
from pressroom.core.models import Job, JobFilter, JobStatus, NewJob


@cli.group()
def jobs() -> None:
    """Submit, inspect and control jobs."""


def _parse_args(text: str, where: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{where} is not valid JSON: {exc.msg} at position {exc.pos}") from None
    if not isinstance(value, dict):
        raise InvalidInput(f"{where} must be a JSON object, e.g. '{{\"seconds\": 2}}'")
    return value


@jobs.command("submit")
@click.option("--task", default=None, help="Registered task name, e.g. pressroom.sleep.")
@click.option(
    "--template",
    default=None,
    help="Render a document: a stored template (NAME or NAME@VERSION), or a template FILE or "
    "DIR sent with the job.",
)
@click.option(
    "--data", "data_path", default=None, help="With --template: a JSON file ('-': stdin)."
)
@click.option(
    "--format",
    "fmt",
    default=None,
    help="With --template: pdf, docx, png… (default: the engine's).",
)
@click.option(
    "--engine", default=None, help="With --template: the engine (default: from the file)."
)
@click.option(
    "--option",
    "option_pairs",
    multiple=True,
    help="With --template: an engine option k=v (repeatable).",
)
@click.option("--filename", default=None, help="With --template: the document's file name.")
@click.option(
    "--cache",
    default=None,
    help="With --template: reuse an identical result up to this old (90s, 1h, 1d).",
)
@click.option(
    "--args",
    "args_json",
    default="{}",
    show_default=True,
    help="The task's keyword arguments as a JSON object.",
)
@click.option(
    "--args-file",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="JSON lines, one object of arguments per job, inserted in bulk ('-': stdin).",
)
@click.option("--queue", default=None, help="Queue (default: the task's).")
@click.option("--priority", type=int, default=None, help="Higher runs first.")
@click.option("--delay", type=float, default=None, help="Seconds to wait before running.")
@click.option("--max-attempts", type=int, default=None, help="Attempts before failing.")
@click.option("--timeout", type=float, default=None, help="Hard limit per attempt, seconds.")
@click.option("--unique-key", default=None, help="A second submit with this key returns the first.")
@click.pass_obj
def submit(
    obj: Context,
    task: str | None,
    template: str | None,
    data_path: str | None,
    fmt: str | None,
    engine: str | None,
    option_pairs: tuple[str, ...],
    filename: str | None,
    cache: str | None,
    args_json: str,
    args_file: str | None,
    queue: str | None,
    priority: int | None,
    delay: float | None,
    max_attempts: int | None,
    timeout: float | None,
    unique_key: str | None,
) -> None:
    """Submit a job (or, with --args-file, many) and print its id.

    A task job: --task with --args. A render job: --template with --data and --format.
    """
    options: dict[str, Any] = {
        "queue": queue,
        "priority": priority,
        "delay_s": delay,
        "max_attempts": max_attempts,
        "timeout_s": timeout,
    }
    render_flags = (data_path, fmt, engine, option_pairs, filename, cache)
    if (task is None) == (template is None):
        raise InvalidInput("give either --task (with --args) or --template (with --data)")
    if template is not None:
        if args_file is not None or args_json != "{}":
            raise InvalidInput("--args and --args-file go with --task, not --template")
        from pressroom.cli.documents import submit_template

        submit_template(obj, template, *render_flags, unique_key=unique_key, **options)
        return
    if any(render_flags):
        raise InvalidInput(
            "--data, --format, --engine, --option, --filename and --cache need --template"
        )
    assert task is not None
    service = obj.service()
    if args_file is None:
        args = _parse_args(args_json, "--args")
        job, _ = service.submit(task, args, unique_key=unique_key, **options)
        click.echo(job.id)
        return
    if unique_key:
        raise InvalidInput("--unique-key cannot be combined with --args-file")
    local = obj.local()
    stream = sys.stdin if args_file == "-" else Path(args_file).open(encoding="utf-8")  # noqa: SIM115
    built: list[NewJob] = []
    with stream:
        for n, line in enumerate(stream, 1):
            if line.strip():
                args = _parse_args(line, f"line {n} of {args_file}")
                built.append(local.build_job(task, args, **options))
    for job_id in local.submit_many(built):
        click.echo(job_id)


def _show(job: Job) -> None:
    progress = f"{job.progress_percent:g}%" + (
        f" {job.progress_message}" if job.progress_message else ""
    )
    rows = [
        ("id", job.id),
        ("task", job.task),
        ("status", job.status.value),
        ("queue", job.queue),
        ("priority", job.priority),
        ("attempt", f"{job.attempt}/{job.max_attempts}"),
        ("progress", progress),
        ("created", job.to_dict()["created_at"]),
        ("started", job.to_dict()["started_at"]),
        ("finished", job.to_dict()["finished_at"]),
    ]
    if job.error:
        rows.append(("error", f"{job.error.type}: {job.error.message}"))
    if job.result is not None:
        rows.append(("result", json.dumps(job.result)))
    for key, value in rows:
        click.echo(f"{key:<9} {value if value is not None else '-'}")


@jobs.command("show")
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True, help="Print the job as JSON.")
@click.option("--events", is_flag=True, help="Include the job's event log.")
@click.pass_obj
def show(obj: Context, job_id: str, as_json: bool, events: bool) -> None:
    """Show one job."""
    service = obj.service()
    job = service.get(job_id)
    log = [e.to_dict() for e in service.events(job_id)] if events else None
    if as_json:
        echo_json({**job.to_dict(), **({"events": log} if log is not None else {})})
        return
    _show(job)
    for event in log or []:
        click.echo(
            f"  {event['seq']:>6} {event['at']} {event['kind']:<16} {json.dumps(event['data'])}"
        )


@jobs.command("list")
@click.option("--status", type=click.Choice([s.value for s in JobStatus]), default=None)
@click.option("--queue", default=None)
@click.option("--task", default=None)
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--before", default=None, help="Continue after this job id (newest first).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_jobs(
    obj: Context,
    status: str | None,
    queue: str | None,
    task: str | None,
    limit: int,
    before: str | None,
    as_json: bool,
) -> None:
    """List jobs, newest first."""
    flt = JobFilter(
        status=JobStatus(status) if status else None,
        queue=queue,
        task=task,
        limit=limit,
        before=before,
    )
    found = obj.service().list_jobs(flt)
    if as_json:
        echo_json([j.to_dict() for j in found])
        return
    for j in found:
        click.echo(
            f"{j.id}  {j.status.value:<9}  {j.queue:<12} {j.task:<28} "
            f"{j.attempt}/{j.max_attempts}  {j.progress_percent:5.1f}%"
        )


@jobs.command("stats")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def stats(obj: Context, as_json: bool) -> None:
    """Job counts by status and queue."""
    result = obj.service().stats()
    if as_json:
        echo_json(result.to_dict())
        return
    statuses = [s.value for s in JobStatus]
    click.echo(f"{'queue':<16}" + "".join(f"{s:>11}" for s in statuses))
    for queue, counts in sorted(result.counts.items()):
        click.echo(f"{queue:<16}" + "".join(f"{counts.get(s, 0):>11}" for s in statuses))
    totals = result.totals()
    click.echo(f"{'(all)':<16}" + "".join(f"{totals[s]:>11}" for s in statuses))


@jobs.command("cancel")
@click.argument("job_id")
@click.pass_obj
def cancel(obj: Context, job_id: str) -> None:
    """Cancel a waiting job, or stop a running one (within seconds)."""
    job = obj.service().cancel(job_id)
    click.echo("cancellation requested" if job.status == JobStatus.RUNNING else job.status.value)


@jobs.command("retry")
@click.argument("job_id")
@click.pass_obj
def retry(obj: Context, job_id: str) -> None:
    """Queue a failed or cancelled job again."""
    click.echo(obj.service().retry(job_id).status.value)


@jobs.command("wait")
@click.argument("job_id")
@click.option("--timeout", type=float, default=None, help="Give up after this many seconds.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def wait_job(obj: Context, job_id: str, timeout: float | None, as_json: bool) -> None:
    """Wait for a job to finish; exit 0 if it succeeded, 1 if it failed or was cancelled, 3 on
    timeout."""
    job = obj.service().wait(job_id, timeout_s=timeout)
    if as_json:
        echo_json(job.to_dict())
    else:
        click.echo(job.status.value)
    if job.status == JobStatus.SUCCEEDED:
        return
    if not job.status.terminal:
        click.echo(f"error: job {job_id} still {job.status.value} after {timeout}s", err=True)
        sys.exit(3)
    if job.error:
        click.echo(f"error: {job.error.type}: {job.error.message}", err=True)
    sys.exit(1)


@cli.group()
def queues() -> None:
    """Queue limits: concurrency across all workers, and start rates."""


@queues.command("set")
@click.argument("name")
@click.option("--concurrency", type=int, default=None, help="Most jobs running at once.")
@click.option("--rate", default=None, help="Most starts per period, e.g. 10/m, 5/30s, 100/h.")
@click.pass_obj
def queues_set(obj: Context, name: str, concurrency: int | None, rate: str | None) -> None:
    """Set a queue's limits (no options clears them)."""
    lim = obj.local().set_queue_limits(name, concurrency=concurrency, rate=rate)
    click.echo(f"{lim.name}: concurrency={lim.concurrency} rate={rate}")


@queues.command("list")
@click.pass_obj
def queues_list(obj: Context) -> None:
    """Show queues with limits."""
    for lim in obj.local().queue_limits():
        rate = f"{lim.rate_count}/{lim.rate_period_s:g}s" if lim.rate_count else "-"
        click.echo(f"{lim.name:<20} concurrency={lim.concurrency or '-'} rate={rate}")


@cli.command("workers")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def workers(obj: Context, as_json: bool) -> None:
    """List worker nodes and what they run."""
    found = obj.service().workers()
    if as_json:
        echo_json([w.to_dict() for w in found])
        return
    for w in found:
        click.echo(
            f"{w.id}  {w.host}:{w.pid}  queues={','.join(w.queues)} "
            f"concurrency={w.concurrency} running={len(w.running)} "
            f"heartbeat={w.last_heartbeat_at.isoformat(timespec='seconds')}"
        )
