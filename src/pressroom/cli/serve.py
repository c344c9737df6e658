"""``pressroom serve``: the HTTP API (uvicorn, asyncio loop) with embedded worker processes.

The API runs in this process (or, with ``--api-processes N``, in N spawned processes sharing
the listening socket: :mod:`pressroom.cli._api_processes`); ``--workers N`` job slots run in one
``pressroom worker`` supervisor started as a child process (with its maintenance duties: rescue,
promotion, retention). SIGTERM or Ctrl-C stops the API (open event streams end) and drains the
workers; if the worker supervisor (or an API process) dies on its own, the rest stops too, so a
process manager restarts everything.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading

import click

from pressroom.api import ApiSettings, create_app
from pressroom.api.bind import check_bind
from pressroom.cli._api_processes import (
    ApiProcesses,
    ApiSpec,
    Server,
    die_with_parent,
    make_server,
    raise_fd_limit,
)
from pressroom.cli.main import Context, cli
from pressroom.core.errors import InvalidInput

log = logging.getLogger("pressroom.serve")


def start_workers(obj: Context, workers: int, queues: str, grace: float) -> subprocess.Popen[bytes]:
    """Start ``pressroom worker`` as a child process with ``workers`` job slots."""
    args = [sys.executable, "-m", "pressroom", "--database-url", obj.database_url]
    args += ["--storage-url", obj.storage_url, "--tasks", ",".join(obj.tasks)]
    args += ["worker", "--concurrency", str(workers), "--queues", queues, "--grace", str(grace)]
    return subprocess.Popen(args, preexec_fn=die_with_parent)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port to listen on.",
)
@click.option(
    "--workers",
    "--concurrency",
    "-c",
    "workers",
    type=int,
    default=None,
    help="Embedded worker processes running jobs (default: CPU cores; 0: API only).",
)
@click.option("--queues", "-q", default="default", show_default=True, help="Queues they serve.")
@click.option(
    "--templates",
    "templates_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Store each subfolder of this folder as a template named after it, at start.",
)
@click.option("--grace", type=float, default=30.0, show_default=True, help="Drain seconds.")
@click.option(
    "--api-processes",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="API processes sharing the port, each with its own event hub and writer thread.",
)
@click.option(
    "--allow-unauthenticated",
    is_flag=True,
    help="Listen beyond loopback although no API keys exist (anyone reaching it is admin).",
)
@click.pass_obj
def serve(
    obj: Context,
    host: str,
    port: int,
    workers: int | None,
    queues: str,
    templates_dir: str | None,
    grace: float,
    api_processes: int,
    allow_unauthenticated: bool,
) -> None:
    """Serve the HTTP API (and /docs) with embedded workers."""
    if workers is None:
        workers = os.cpu_count() or 1
    if workers < 0:
        raise InvalidInput("--workers cannot be negative")
    settings = ApiSettings.from_env()  # a bad PRESSROOM_API_* value refuses before anything starts
    service = obj.local()
    keys = service.keys_configured()
    check_bind(host, keys_configured=keys, override=allow_unauthenticated)
    if not keys:
        log.warning(
            "no API keys exist: every caller acts as tenant 'default' with operator rights "
            "(create one with `pressroom keys create --tenant NAME`)"
        )
    if templates_dir is not None:
        for stored, created in service.template_load_dir(templates_dir):
            log.info("template %s %s", stored.ref, "stored" if created else "unchanged")
    raise_fd_limit()
    api: ApiProcesses | _OneProcess
    if api_processes == 1:
        api = _OneProcess(make_server(create_app(service, settings), host, port))
    else:
        verbose = logging.getLogger().isEnabledFor(logging.DEBUG)
        spec = ApiSpec(obj.database_url, obj.tasks, obj.storage_url, host, port, verbose)
        api = ApiProcesses(spec, api_processes)
    child = start_workers(obj, workers, queues, grace) if workers else None
    died = threading.Event()
    if child is not None:
        threading.Thread(target=_watch, args=(child, api, died), daemon=True).start()
    _print_urls(host, port, workers, api_processes)
    try:
        api.run()
    finally:
        code = _stop_workers(child, grace)
        service.close()
    if isinstance(api, ApiProcesses) and api.failed:
        click.echo("error: an API process exited on its own; stopping", err=True)
        sys.exit(1)
    if died.is_set():
        click.echo(f"error: the worker supervisor exited (code {code}); stopping", err=True)
        sys.exit(1)


class _OneProcess:
    """The API in the ``serve`` process itself (the default)."""

    def __init__(self, server: Server) -> None:
        self.server = server

    def run(self) -> None:
        """Serve until stopped."""
        self.server.run()

    @property
    def should_exit(self) -> bool:
        """Whether the API is stopping."""
        return bool(self.server.should_exit)

    def stop(self) -> None:
        """Begin the graceful shutdown."""
        self.server.should_exit = True


def _watch(
    child: subprocess.Popen[bytes], api: ApiProcesses | _OneProcess, died: threading.Event
) -> None:
    """Stop the API when the worker supervisor exits while the API still runs."""
    child.wait()
    if not api.should_exit:
        died.set()
        api.stop()


def _stop_workers(child: subprocess.Popen[bytes] | None, grace: float) -> int | None:
    if child is None:
        return None
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
    try:
        return child.wait(grace + 15)
    except subprocess.TimeoutExpired:
        log.warning("worker supervisor did not stop in time; killing it")
        child.kill()
        return child.wait()


def _print_urls(host: str, port: int, workers: int, api_processes: int) -> None:
    shown = f"[{host}]" if ":" in host else host
    base = f"http://{shown}:{port}"
    who = "API keys: none — every caller acts as the default tenant"
    click.echo(
        f"Pressroom serving on {base}  ({api_processes} API process(es), {workers} worker "
        f"process(es); {who})\n"
        f"  API        {base}/v1/jobs\n"
        f"  docs       {base}/docs\n"
        f"  dashboard  {base}/dashboard (placeholder)\n"
        f"  metrics    {base}/metrics",
        err=True,
    )
