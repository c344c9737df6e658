"""Many open event streams on one ``pressroom serve`` process (``http_bench.py --sse-streams``).

For each database: start ``serve --workers 2`` (the per-caller stream cap raised above the
stream count, since one unauthenticated client opens them all), submit ``jobs`` long
``pressroom.sleep`` jobs (two run and report progress every second, the rest wait), then for
each stream count open that many concurrent streams spread over the jobs with one asyncio httpx
client, hold them for ``window_s`` and count errors (non-200, broken or early-ended streams),
events received and the database's queries per second over the window:

- SQLite: statements run by every connection of the server and its workers, counted through
  ``PRESSROOM_SQLITE_COUNT_FILE`` (a one-line trace hook in the SQLite driver that appends one
  byte per statement to that file; the benchmark reads its size);
- PostgreSQL: transactions (``xact_commit + xact_rollback`` of ``pg_stat_database``) of a
  database made for this run (the server runs its statements in autocommit or short
  transactions; the statistics are flushed about once a second, so windows are 15 s).

The figure that matters is the ratio between stream counts: the hub reads the events of every
watched job in one query per wake-up, so it should not grow with the number of streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psutil

PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
PG_DB = "pressroom_bench_sse"


def _pg_url(database: str) -> str:
    return urlunsplit(urlsplit(PG_URL)._replace(path=f"/{database}"))


def _fresh_pg_database() -> str:
    import psycopg

    with psycopg.connect(_pg_url("postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_DB}")
    return _pg_url(PG_DB)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Counter:
    """Reads the database's running count of queries (statements or transactions)."""

    def __init__(self, database: str, count_file: Path) -> None:
        """Count for ``database`` ("sqlite": the trace file; "postgres": pg_stat_database)."""
        self.database = database
        self.count_file = count_file

    def read(self) -> int:
        """The count now."""
        if self.database == "sqlite":
            return self.count_file.stat().st_size if self.count_file.exists() else 0
        import psycopg

        with psycopg.connect(_pg_url("postgres"), autocommit=True) as conn:
            row = conn.execute(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
                (PG_DB,),
            ).fetchone()
        return int(row[0]) if row else 0


@dataclass
class Phase:
    """What one stream count gave."""

    streams: int
    connected: int = 0
    errors: int = 0
    events: int = 0
    open_s: float = 0.0
    queries_per_s: float = 0.0
    server_cpu_pct: float = 0.0
    problems: list[str] = field(default_factory=list)


async def _hold(
    base: str, urls: list[str], phase: Phase, window_s: float, counter: Counter, pid: int
) -> None:
    counting = False
    ended_early = 0
    limits = httpx.Limits(max_connections=phase.streams + 10, max_keepalive_connections=0)
    timeout = httpx.Timeout(None, connect=60)

    async def one(client: httpx.AsyncClient, url: str) -> None:
        nonlocal ended_early
        try:
            async with client.stream("GET", url) as response:
                if response.status_code != 200:
                    phase.errors += 1
                    phase.problems.append(f"HTTP {response.status_code}")
                    return
                async for line in response.aiter_lines():
                    if line == ": connected":
                        phase.connected += 1
                    elif line.startswith("id:") and counting:
                        phase.events += 1
            ended_early += 1
        except httpx.HTTPError as exc:
            phase.errors += 1
            phase.problems.append(type(exc).__name__)

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as client:
        t0 = time.perf_counter()
        tasks = [
            asyncio.create_task(one(client, urls[i % len(urls)])) for i in range(phase.streams)
        ]
        deadline = time.monotonic() + 120
        while phase.connected + phase.errors < phase.streams and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        phase.open_s = time.perf_counter() - t0
        await asyncio.sleep(1.0)
        server = psutil.Process(pid)
        cpu0 = sum(server.cpu_times()[:2])
        before, t1 = counter.read(), time.perf_counter()
        counting = True
        await asyncio.sleep(window_s)
        counting = False
        after, elapsed = counter.read(), time.perf_counter() - t1
        phase.server_cpu_pct = (sum(server.cpu_times()[:2]) - cpu0) * 100 / elapsed
        phase.queries_per_s = (after - before) / elapsed
        phase.errors += ended_early
        if ended_early:
            phase.problems.append(f"{ended_early} stream(s) ended early")
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def raise_fd_limit() -> None:
    """This process holds one socket per stream: soft open-files limit up to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 65536 if hard == resource.RLIM_INFINITY else hard
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def measure(
    database: str, workdir: Path, counts: list[int], window_s: float = 15.0, jobs: int = 10
) -> list[Phase]:
    """Open ``counts`` streams in turn on one fresh server over ``database``; one Phase each."""
    raise_fd_limit()
    count_file = workdir / f"statements-{database}"
    db = _fresh_pg_database() if database == "postgres" else f"sqlite:///{workdir}/sse.db"
    env = {
        **os.environ,
        "PRESSROOM_DATABASE_URL": db,
        "PRESSROOM_STORAGE_URL": str(workdir / "artifacts"),
        "PRESSROOM_TENANT_QUEUE_CAP": "0",
        "PRESSROOM_API_SSE_MAX_STREAMS": str(max(counts) + 100),
    }
    run = [sys.executable, "-m", "pressroom"]
    subprocess.run([*run, "migrate"], env=env, check=True, capture_output=True)
    if database == "sqlite":
        env["PRESSROOM_SQLITE_COUNT_FILE"] = str(count_file)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = (workdir / f"sse-{database}.log").open("ab")
    args = [*run, "serve", "--port", str(port), "--workers", "2", "--grace", "1"]
    proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    phases = []
    try:
        _wait_up(base, proc)
        seconds = len(counts) * (window_s + 30) + 60
        body = {"task": "pressroom.sleep", "args": {"seconds": seconds}}
        urls = [
            httpx.post(f"{base}/v1/jobs", json=body).json()["links"]["events"] for _ in range(jobs)
        ]
        _wait_running(base, 2)
        counter = Counter(database, count_file)
        for n in counts:
            phase = Phase(n)
            asyncio.run(_hold(base, urls, phase, window_s, counter, proc.pid))
            phases.append(phase)
            print(f"sse streams {database}: {phase}", flush=True)
            time.sleep(2)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(60)
        if proc.poll() is None:
            proc.kill()
        log.close()
    return phases


def _wait_up(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("serve exited")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError("serve did not start")


def _wait_running(base: str, n: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        jobs = httpx.get(f"{base}/v1/jobs", params={"status": "running"}).json()["jobs"]
        if len(jobs) >= n:
            return
        time.sleep(0.2)
    raise RuntimeError(f"{n} jobs did not start running")


def as_json(phases: list[Phase]) -> list[dict[str, Any]]:
    """The phases as plain dicts (bench/out/http.json)."""
    return [dict(vars(p)) for p in phases]
