"""``pressroom serve``: the HTTP API (uvicorn, asyncio loop) with embedded worker processes.

The API runs in this process; ``--workers N`` job slots run in a ``pressroom worker``
supervisor started as a child process (with its maintenance duties: rescue, promotion,
retention). SIGTERM or Ctrl-C stops the API (open event streams end) and drains the workers; if
the worker supervisor dies on its own, the API stops too, so a process manager restarts both.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from types import FrameType

import click
import uvicorn

from pressroom.api import ApiSettings, create_app
from pressroom.api.bind import check_bind
from pressroom.api.routes_common import ApiState
from pressroom.cli.main import Context, cli
from pressroom.core.errors import InvalidInput

log = logging.getLogger("pressroom.serve")
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Server(uvicorn.Server):
    """uvicorn, ending open event streams as soon as shutdown begins (they never end alone)."""

    api: ApiState | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Begin the graceful shutdown."""
        if self.api is not None:
            self.api.hub.end_streams()
        super().handle_exit(sig, frame)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """uvicorn's signal handling, without re-raising the signal once the API has stopped:
        ``serve`` still has its workers to drain, then exits normally."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        originals = {sig: signal.signal(sig, self.handle_exit) for sig in _SIGNALS}
        try:
            yield
        finally:
            for sig, handler in originals.items():
                signal.signal(sig, handler)


def _die_with_parent() -> None:
    """In the worker child: receive SIGTERM (drain) if ``serve`` dies without stopping it."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_workers(obj: Context, workers: int, queues: str, grace: float) -> subprocess.Popen[bytes]:
    """Start ``pressroom worker`` as a child process with ``workers`` job slots."""
    args = [sys.executable, "-m", "pressroom", "--database-url", obj.database_url]
    args += ["--storage-url", obj.storage_url, "--tasks", ",".join(obj.tasks)]
    args += ["worker", "--concurrency", str(workers), "--queues", queues, "--grace", str(grace)]
    return subprocess.Popen(args, preexec_fn=_die_with_parent)


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
    allow_unauthenticated: bool,
) -> None:
    """Serve the HTTP API (and /docs) with embedded workers."""
    if workers is None:
        workers = os.cpu_count() or 1
    if workers < 0:
        raise InvalidInput("--workers cannot be negative")
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
    app = create_app(service, ApiSettings.from_env())
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="asyncio",
        http="httptools",
        lifespan="on",
        access_log=False,
        timeout_graceful_shutdown=10,
    )
    server = _Server(config)
    server.api = app.state.api
    child = start_workers(obj, workers, queues, grace) if workers else None
    died = threading.Event()
    if child is not None:
        threading.Thread(target=_watch, args=(child, server, died), daemon=True).start()
    _print_urls(host, port, workers)
    try:
        server.run()
    finally:
        code = _stop_workers(child, grace)
        service.close()
    if died.is_set():
        click.echo(f"error: the worker supervisor exited (code {code}); stopping", err=True)
        sys.exit(1)


def _watch(child: subprocess.Popen[bytes], server: uvicorn.Server, died: threading.Event) -> None:
    """Stop the API when the worker supervisor exits while the API still runs."""
    child.wait()
    if not server.should_exit:
        died.set()
        server.should_exit = True


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


def _print_urls(host: str, port: int, workers: int) -> None:
    shown = f"[{host}]" if ":" in host else host
    base = f"http://{shown}:{port}"
    who = "API keys: none — every caller acts as the default tenant"
    click.echo(
        f"Pressroom serving on {base}  ({workers} worker process(es); {who})\n"
        f"  API        {base}/v1/jobs\n"
        f"  docs       {base}/docs\n"
        f"  dashboard  {base}/dashboard (placeholder)\n"
        f"  metrics    {base}/metrics",
        err=True,
    )
