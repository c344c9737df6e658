"""The API side of ``pressroom serve``: one uvicorn server in the ``serve`` process, or
``--api-processes N`` of them in spawned processes sharing one listening socket.

Every API process builds its own service, app, event hub and writer thread (nothing is shared
but the socket, which the kernel hands to whichever process accepts first). The embedded worker
supervisor is started once, by ``serve``, whatever the number of API processes.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import os
import resource
import signal
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType

import uvicorn
from fastapi import FastAPI

from pressroom._linux import on_parent_death
from pressroom.api import ApiSettings, create_app
from pressroom.api.routes_common import ApiState
from pressroom.cli.main import Context, setup_logging

log = logging.getLogger("pressroom.serve")
SIGNALS = (signal.SIGINT, signal.SIGTERM)
_STOP_S = 30.0
"""How long ``serve`` waits for an API process to finish its graceful shutdown."""


class Server(uvicorn.Server):
    """uvicorn, ending open event streams as soon as shutdown begins (they never end alone)."""

    api: ApiState | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's start-up, then :func:`settle_gc` (everything alive now stays alive)."""
        await super().startup(sockets)
        if self.api is not None:
            settle_gc(self.api.settings.gc_gen0_threshold)

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
        originals = {sig: signal.signal(sig, self.handle_exit) for sig in SIGNALS}
        try:
            yield
        finally:
            for sig, handler in originals.items():
                signal.signal(sig, handler)


def settle_gc(gen0_threshold: int) -> None:
    """Tune the cyclic garbage collector for a long-running API process.

    Measured on ``POST /v1/jobs`` at 64 connections (bench/http_bench.py): full collections
    walked the ~80,000 objects alive after start-up (modules, the app, its routes and models)
    twice a second, 50-200 ms each with the event loop stopped, and made the p99. Freezing them
    (``gc.freeze``: moved to a generation the collector never walks) makes a full collection
    cost only what requests left behind; a gen-0 threshold of 10,000 instead of 700 lets a
    request's objects die young instead of being promoted while it awaits its commit.
    """
    gc.collect()
    gc.freeze()
    if gen0_threshold > 0:
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(gen0_threshold, gen1, gen2)


def make_server(app: FastAPI, host: str, port: int) -> Server:
    """The uvicorn server of one API process (asyncio loop, httptools, no access log)."""
    server = Server(_config(app, host, port))
    server.api = app.state.api
    return server


def _config(app: FastAPI | str, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="asyncio",
        http="httptools",
        lifespan="on",
        access_log=False,
        timeout_graceful_shutdown=10,
    )


def raise_fd_limit() -> int:
    """Raise this process's soft limit of open files to its hard limit (every open event
    stream holds a socket; the usual soft limit of 1024 is too few); the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 65536 if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            return wanted
    return soft


def die_with_parent() -> None:
    """Receive SIGTERM (drain) if the parent process dies without stopping this one."""
    on_parent_death(signal.SIGTERM)


def shared_socket(host: str, port: int) -> socket.socket:
    """The socket the API processes share, bound (as uvicorn binds it; each listens on it), with
    its protocol read back from the kernel: uvicorn makes it with proto 0, accepted
    connections inherit that, and asyncio then skips TCP_NODELAY on them (Nagle plus delayed
    ACKs held every response ~40 ms)."""
    bound = _config("unused", host, port).bind_socket()
    return socket.socket(fileno=bound.detach())


@dataclass(frozen=True)
class ApiSpec:
    """What a spawned API process needs to build its own service and server (picklable)."""

    database_url: str
    tasks: tuple[str, ...]
    storage_url: str
    host: str
    port: int
    verbose: bool = False


class ApiProcesses:
    """``count`` spawned API processes on one socket; :meth:`run` blocks until :meth:`stop`,
    SIGTERM/SIGINT or the death of one of them, then stops them all (each drains its requests
    and ends its event streams)."""

    def __init__(self, spec: ApiSpec, count: int) -> None:
        """Describe the processes; nothing starts before :meth:`run`."""
        self.spec = spec
        self.count = count
        self.should_exit = False
        self.failed = False
        """Whether an API process exited on its own (``serve`` then exits 1)."""
        self._stop = threading.Event()

    def stop(self) -> None:
        """Make :meth:`run` stop the processes and return (thread- and signal-safe)."""
        self.should_exit = True
        self._stop.set()

    def run(self) -> None:
        """Bind the socket, start the processes, wait, stop them."""
        sock = shared_socket(self.spec.host, self.spec.port)
        spawn = multiprocessing.get_context("spawn")
        procs = [
            spawn.Process(target=_api_main, args=(self.spec, sock), name=f"pressroom-api-{i}")
            for i in range(self.count)
        ]
        originals = {sig: signal.signal(sig, self._on_signal) for sig in SIGNALS}
        try:
            for proc in procs:
                proc.start()
            while not self._stop.wait(0.5):
                if any(proc.exitcode is not None for proc in procs):
                    log.error("an API process exited on its own; stopping")
                    self.failed = True
                    self.stop()
        finally:
            for proc in procs:
                if proc.pid is not None and proc.exitcode is None:
                    os.kill(proc.pid, signal.SIGTERM)
            for proc in procs:
                proc.join(_STOP_S)
                if proc.exitcode is None:
                    log.warning("API process %s did not stop in time; killing it", proc.pid)
                    proc.kill()
                    proc.join()
            for sig, handler in originals.items():
                signal.signal(sig, handler)
            sock.close()

    def _on_signal(self, _sig: int, _frame: FrameType | None) -> None:
        self.stop()


def _api_main(spec: ApiSpec, sock: socket.socket) -> None:
    """One spawned API process: its own service, app, hub and writer thread, on ``sock``."""
    die_with_parent()
    setup_logging(spec.verbose)
    service = Context(spec.database_url, spec.tasks, spec.storage_url).local()
    try:
        app = create_app(service, ApiSettings.from_env())
        make_server(app, spec.host, spec.port).run(sockets=[sock])
    finally:
        service.close()
