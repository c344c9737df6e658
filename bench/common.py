"""Shared plumbing for the queue benchmark: configuration, the completion recorder,
worker process management, the System interface, the three metrics and statistics.

Everything here is importable by worker processes too (the job bodies call
:func:`record_job`), so module import must stay cheap: only the standard library and
``machine`` are imported at top level (``redis`` when first needed).

Metric definitions (the same as shared/ANCHORS.md):

* drain: pre-fill N no-op jobs, then start the workers; rate = N / (last completion -
  first completion). Worker start-up is excluded because the clock starts at the first
  completion.
* enqueue: one client, one job per call (one transaction each), jobs / elapsed.
* bulk: one client, ``batch`` jobs per call where the system has a batch API.
* latency: workers running and idle; the client enqueues one job, the job records
  ``time.time()`` when it starts; latency = job start - enqueue call start.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import mmap
import os
import random
import signal
import statistics
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

from machine import (  # noqa: F401 - re-exported for peers.py and depth.py
    CpuTimes,
    background_busy,
    percentile,
    summarize,
    wait_for_quiet,
)

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"

#: Redis database used for both the recorder and the Redis-backed peers. Flushed per run.
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
#: Maintenance database used to CREATE/DROP the per-system benchmark databases.
PG_ADMIN_DSN = os.environ.get("BENCH_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/test")

KEY_SAMPLES = "bench:samples"
#: Where each worker process keeps its completion slot (a count and the first and last
#: completion time, 24 bytes in a memory-mapped file of its own). Emptied per run.
RECORD_DIR = Path(os.environ.get("BENCH_RECORD_DIR", str(OUT_DIR / "recorder")))
_SLOT = struct.Struct("<qdd")
_TIMES = struct.Struct("<dd")
_COUNT = struct.Struct("<q")


class _Slot:
    """This process's completion slot: plain stores into shared memory, no system call."""

    def __init__(self) -> None:
        RECORD_DIR.mkdir(parents=True, exist_ok=True)
        path = RECORD_DIR / f"{os.getpid()}-{os.urandom(4).hex()}.slot"
        with path.open("w+b") as f:
            f.write(bytes(_SLOT.size))
            f.flush()
            self.map = mmap.mmap(f.fileno(), _SLOT.size)
        self.pid = os.getpid()
        self.count = 0
        self.first = 0.0
        self.last = 0.0

    def record(self, now: float) -> None:
        """Count one completion at ``now``; the count is stored last, after the times."""
        if self.count == 0:
            self.first = now
        self.last = max(self.last, now)
        self.count += 1
        _TIMES.pack_into(self.map, _COUNT.size, self.first, self.last)
        _COUNT.pack_into(self.map, 0, self.count)


_slot: _Slot | None = None
_sample_client: Any = None


def record_job(sample: int = -1) -> None:
    """Record one job's completion; called as the whole body of every job.

    The timestamp is taken first thing, so it is both the job's start and (the job being a
    no-op) its completion. Every job counts itself in its process's memory-mapped slot (about
    a microsecond); a latency sample (``sample`` >= 0) also pushes ``"<sample> <start time>"``
    onto a Redis list the client BLPOPs, after its timestamp was taken.
    """
    now = time.time()
    global _slot, _sample_client
    if _slot is None or _slot.pid != os.getpid():  # fork-safe: one slot per process
        _slot = _Slot()
        _sample_client = None
    _slot.record(now)
    if sample >= 0:
        if _sample_client is None:
            import redis

            _sample_client = redis.Redis.from_url(REDIS_URL)
        _sample_client.rpush(KEY_SAMPLES, f"{sample} {now!r}")


def read_slots() -> list[tuple[int, float, float]]:
    """(count, first, last) of every process's slot."""
    out = []
    for path in RECORD_DIR.glob("*.slot"):
        with contextlib.suppress(FileNotFoundError), path.open("rb") as f:
            data = f.read(_SLOT.size)
        if len(data) == _SLOT.size:
            out.append(_SLOT.unpack(data))
    return out


def clear_slots() -> None:
    """Remove every process's slot (a new run starts from zero)."""
    for path in RECORD_DIR.glob("*.slot"):
        path.unlink(missing_ok=True)


class Recorder:
    """Client-side view of what the jobs recorded: the slots, and latency samples in Redis."""

    def __init__(self, url: str = REDIS_URL) -> None:
        """Connect to the benchmark's Redis database."""
        import redis

        # redis-py 8 defaults to a 5 s socket timeout; BLPOP waits are bounded by us.
        self.redis = redis.Redis.from_url(url, socket_timeout=120)

    def flush(self) -> None:
        """Remove every slot and empty the benchmark Redis database (samples and the Redis
        peers' data)."""
        clear_slots()
        self.redis.flushdb()

    def count(self) -> int:
        """Return how many jobs have completed."""
        return sum(count for count, _, _ in read_slots())

    def span(self) -> tuple[float, float]:
        """Return (first completion, last completion) as epoch seconds."""
        used = [(first, last) for count, first, last in read_slots() if count > 0]
        if not used:
            raise RuntimeError("no completion recorded")
        return min(f for f, _ in used), max(last for _, last in used)

    def wait_sample(
        self, timeout: float, check: Callable[[], None] | None = None
    ) -> tuple[int, float] | None:
        """Wait up to ``timeout`` s for the next latency sample: (index, start time).

        BLPOP in slices of at most 1 s so that ``check`` (e.g. "are the workers alive?")
        runs in between.
        """
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            item = self.redis.blpop([KEY_SAMPLES], timeout=min(1.0, remaining))
            if item is not None:
                raw = item[1]
                text = raw.decode() if isinstance(raw, bytes) else str(raw)
                index, started = text.split(" ")
                return int(index), float(started)
            if check is not None:
                check()

    def server_version(self) -> str:
        """Return the Redis server version."""
        return str(self.redis.info("server")["redis_version"])


# --------------------------------------------------------------------------------------
# Processes


class WorkerGroup:
    """Worker processes started by the benchmark, each in its own process group."""

    def __init__(self, log_path: Path) -> None:
        """Collect worker processes whose output goes to ``log_path``."""
        self.log_path = log_path
        self.procs: list[subprocess.Popen[bytes]] = []
        self._log: Any = None

    def spawn(self, argv: Sequence[str], env: dict[str, str] | None = None) -> None:
        """Start one worker process (new session, so its children can be signalled too)."""
        if self._log is None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("ab")
        full_env = worker_env()
        if env:
            full_env.update(env)
        self._log.write(f"$ {' '.join(argv)}\n".encode())
        self._log.flush()
        proc = subprocess.Popen(
            list(argv),
            cwd=BENCH_DIR,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _LIVE.add(proc)
        self.procs.append(proc)

    def check_alive(self) -> None:
        """Raise if a worker has exited (a crashed worker would otherwise look like a hang)."""
        for proc in self.procs:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"worker pid {proc.pid} exited with {proc.returncode}; see {self.log_path}"
                )

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM each worker's process group, wait up to ``grace`` s, then SIGKILL."""
        for proc in self.procs:
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        for proc in self.procs:
            # Kill the group even if the leader exited: forked children may linger.
            _signal_group(proc, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
            _LIVE.discard(proc)
        self.procs.clear()
        if self._log is not None:
            self._log.close()
            self._log = None


_LIVE: set[subprocess.Popen[bytes]] = set()


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)  # the group id is the leader's pid (start_new_session)


def kill_all_started() -> None:
    """SIGKILL every worker process group this process started and has not reaped."""
    for proc in list(_LIVE):
        _signal_group(proc, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        _LIVE.discard(proc)


def worker_env() -> dict[str, str]:
    """Environment for worker processes: importable bench modules, unbuffered output."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(BENCH_DIR), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    env["BENCH_REDIS_URL"] = REDIS_URL
    env["BENCH_RECORD_DIR"] = str(RECORD_DIR)
    return env


def venv_script(name: str) -> str:
    """Path of a console script installed beside the running interpreter."""
    return str(Path(sys.executable).parent / name)


def wait_until(
    predicate: Callable[[], bool],
    timeout: float,
    what: str,
    interval: float = 0.02,
    check: Callable[[], None] | None = None,
) -> None:
    """Poll ``predicate`` every ``interval`` s until true; raise TimeoutError at the deadline."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if check is not None:
            check()
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


# --------------------------------------------------------------------------------------
# PostgreSQL helpers


def pg_dsn(dbname: str) -> str:
    """DSN of database ``dbname`` on the admin server."""
    base, _, _ = PG_ADMIN_DSN.rpartition("/")
    return f"{base}/{dbname}"


def pg_recreate(dbname: str) -> str:
    """Drop (forcefully) and create database ``dbname``; return its DSN."""
    pg_drop(dbname)
    import psycopg

    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    return pg_dsn(dbname)


def pg_drop(dbname: str) -> None:
    """Drop database ``dbname`` if it exists, disconnecting its sessions."""
    import psycopg

    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def pg_server_version() -> str:
    """Return the PostgreSQL server version string."""
    import psycopg

    with psycopg.connect(PG_ADMIN_DSN) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


# --------------------------------------------------------------------------------------
# The System interface


@dataclasses.dataclass
class RunContext:
    """Where one run's system may put its files and logs."""

    log_path: Path
    recorder: Recorder


class System(abc.ABC):
    """One queue system under test. Subclass, fill the class attributes, register it.

    The harness calls, per run: ``setup()``; the metric (which calls the methods below);
    ``stop_workers()``; ``teardown()``. ``setup`` and ``teardown`` must both leave a clean
    slate (flushed Redis DB, recreated database, removed files), so a crashed earlier run
    cannot leak into the next one.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    #: Distributions whose versions are reported (importlib.metadata names).
    distributions: ClassVar[tuple[str, ...]]
    #: Default drain size: large enough for a few seconds of draining, small enough for ~20 s.
    drain_jobs: ClassVar[int] = 20_000
    #: Default number of single enqueue calls.
    enqueue_calls: ClassVar[int] = 5_000
    #: Whether :meth:`enqueue_bulk` is a real batch API (otherwise bulk is not measured).
    supports_bulk: ClassVar[bool] = False
    #: Extra facts for the report (pool type, batch size, flags that differ from defaults).
    notes: ClassVar[str] = ""

    def __init__(self, ctx: RunContext) -> None:
        """Bind the system to one run's context; nothing is started here."""
        self.ctx = ctx
        self.workers = WorkerGroup(ctx.log_path)

    @abc.abstractmethod
    def setup(self) -> None:
        """Create a clean, empty queue (schema installed) and open client connections."""

    @abc.abstractmethod
    def enqueue_one(self, sample: int = -1) -> None:
        """Enqueue one no-op job in its own call/transaction; ``sample`` goes to the job."""

    def enqueue_bulk(self, n: int) -> None:
        """Enqueue ``n`` no-op jobs (sample -1) using the system's batch API if it has one."""
        for _ in range(n):
            self.enqueue_one()

    @abc.abstractmethod
    def start_workers(self, n: int) -> None:
        """Start ``n`` worker processes (or one consumer with ``n`` worker processes)."""

    def stop_workers(self) -> None:
        """Stop every worker process started by :meth:`start_workers`."""
        self.workers.stop()

    def completed_count(self) -> int:
        """Number of completed jobs (default: the Redis recorder's counter)."""
        return self.ctx.recorder.count()

    def completion_span(self) -> tuple[float, float]:
        """(first, last) completion time in epoch seconds (default: the recorder)."""
        return self.ctx.recorder.span()

    def teardown(self) -> None:
        """Close client connections and remove everything :meth:`setup` created."""
        self.ctx.recorder.flush()

    @classmethod
    def versions(cls) -> dict[str, str]:
        """Installed versions of :attr:`distributions`."""
        out: dict[str, str] = {}
        for dist in cls.distributions:
            try:
                out[dist] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                out[dist] = "not installed"
        return out


# --------------------------------------------------------------------------------------
# Metrics


@dataclasses.dataclass
class MetricParams:
    """Knobs of one metric run; zeros mean "use the system's default"."""

    workers: int = 2
    drain_jobs: int = 0
    enqueue_calls: int = 0
    bulk_jobs: int = 10_000
    bulk_batch: int = 1_000
    latency_samples: int = 200
    latency_warmup: int = 10
    pause_min: float = 0.005
    pause_max: float = 0.020
    drain_timeout: float = 120.0
    startup_timeout: float = 60.0
    sample_timeout: float = 15.0


def measure_drain(system: System, p: MetricParams) -> dict[str, Any]:
    """Pre-fill N jobs, start the workers, wait for all N; rate from first to last completion."""
    n = p.drain_jobs or system.drain_jobs
    t0 = time.perf_counter()
    system.enqueue_bulk(n)
    prefill_s = time.perf_counter() - t0
    if system.completed_count() != 0:
        raise RuntimeError("jobs completed before the workers were started")
    system.start_workers(p.workers)
    wait_until(
        lambda: system.completed_count() >= n,
        p.drain_timeout,
        f"{n} completions",
        interval=0.05,
        check=system.workers.check_alive,
    )
    done = system.completed_count()
    first, last = system.completion_span()
    return {
        "value": n / (last - first),
        "jobs": n,
        "completed": done,
        "drain_s": last - first,
        "prefill_s": prefill_s,
        "prefill_per_s": n / prefill_s,
    }


def measure_enqueue(system: System, p: MetricParams) -> dict[str, Any]:
    """One client, one job per call, no workers running."""
    n = p.enqueue_calls or system.enqueue_calls
    system.enqueue_one()  # warm the client connection/prepared statements
    t0 = time.perf_counter()
    for _ in range(n):
        system.enqueue_one()
    elapsed = time.perf_counter() - t0
    return {"value": n / elapsed, "calls": n, "elapsed_s": elapsed}


def measure_bulk(system: System, p: MetricParams) -> dict[str, Any]:
    """One client, ``bulk_batch`` jobs per call through the system's batch API."""
    if not system.supports_bulk:
        raise NotImplementedError(f"{system.name} has no batch enqueue API")
    calls = max(1, p.bulk_jobs // p.bulk_batch)
    system.enqueue_bulk(10)  # warm-up
    t0 = time.perf_counter()
    for _ in range(calls):
        system.enqueue_bulk(p.bulk_batch)
    elapsed = time.perf_counter() - t0
    jobs = calls * p.bulk_batch
    return {"value": jobs / elapsed, "jobs": jobs, "batch": p.bulk_batch, "elapsed_s": elapsed}


def measure_latency(system: System, p: MetricParams) -> dict[str, Any]:
    """Idle workers; enqueue one job at a time and wait for it to start (BLPOP, bounded)."""
    system.start_workers(p.workers)
    recorder = system.ctx.recorder
    latencies_ms: list[float] = []
    total = p.latency_warmup + p.latency_samples
    for i in range(total):
        warm = i < p.latency_warmup
        t0 = time.time()
        system.enqueue_one(sample=i)
        timeout = p.startup_timeout if warm else p.sample_timeout
        got = recorder.wait_sample(timeout, check=system.workers.check_alive)
        if got is None:
            raise TimeoutError(f"sample {i} did not start within {timeout:.0f} s")
        index, started = got
        if index != i:
            raise RuntimeError(f"expected sample {i}, got {index}")
        if not warm:
            latencies_ms.append((started - t0) * 1000.0)
        time.sleep(random.uniform(p.pause_min, p.pause_max))  # the prescribed idle pause
    return {
        "p50": percentile(latencies_ms, 50),
        "p99": percentile(latencies_ms, 99),
        "mean": statistics.fmean(latencies_ms),
        "max": max(latencies_ms),
        "samples": len(latencies_ms),
    }


METRICS: dict[str, Callable[[System, MetricParams], dict[str, Any]]] = {
    "drain": measure_drain,
    "enqueue": measure_enqueue,
    "bulk": measure_bulk,
    "latency": measure_latency,
}

UNITS = {"drain": "jobs/s", "enqueue": "jobs/s", "bulk": "jobs/s", "latency": "ms"}
