"""Processes and measurements of the documents benchmark (``bench/documents.py``).

* ``Load``: the machine's load around one measurement (other load before, busy and steal during);
* ``Proc``: a process started in its own session, stopped by process group, logged to
  ``bench/out/logs``; ``worker_children``: a worker's job children;
* ``Queue``: a fresh SQLite database and artifact folder with render jobs waiting, and a real
  ``pressroom worker`` on it; ``CpuMeter``: a worker's CPU per document; ``wait_jobs``: poll
  until the jobs are final.

Also the benchmark's folders (``BENCH``, ``ROOT``, ``OUT``, ``WORK``, ``LOGS``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from machine import CpuTimes, background_busy
from pressroom.artifacts import open_artifacts
from pressroom.documents import templates as tpl
from pressroom.documents.task import RENDER_TASK
from pressroom.service import Pressroom
from pressroom.store import open_store

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
WORK = OUT / "documents"
LOGS = OUT / "logs"


@dataclass
class Load:
    """Machine load around one measurement: other load before it, busy and steal during it."""

    background_busy_pct: float = 0.0
    started: CpuTimes = field(default_factory=CpuTimes.now)

    @classmethod
    def begin(cls) -> Load:
        """Probe other load for 0.5 s, then start counting."""
        return cls(background_busy())

    def end(self) -> dict[str, float]:
        """Busy and steal percentages since :meth:`begin`, plus the background probe."""
        usage = CpuTimes.now().usage_since(self.started)
        return {"background_busy_pct": self.background_busy_pct, **usage}


# --------------------------------------------------------------------------------------------
# Processes


class Proc:
    """A process started by the benchmark, in its own session, stopped by process group."""

    live: set[Proc] = set()

    def __init__(self, argv: list[str], env: dict[str, str], log_name: str) -> None:
        """Start ``argv`` with ``env`` added; output goes to ``bench/out/logs/<log_name>``."""
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log = (LOGS / log_name).open("ab")
        self.log.write(f"$ {' '.join(argv)}\n".encode())
        self.log.flush()
        self.popen = subprocess.Popen(
            argv,
            cwd=BENCH,
            env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        Proc.live.add(self)

    @property
    def pid(self) -> int:
        """The process id."""
        return self.popen.pid

    def check_alive(self) -> None:
        """Raise if the process has exited."""
        if self.popen.poll() is not None:
            raise RuntimeError(f"{self.popen.args!r} exited with {self.popen.returncode}")

    def stop(self, grace: float = 30.0) -> None:
        """SIGTERM the group, wait up to ``grace`` s, then SIGKILL it."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=grace)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)
        self.log.close()
        Proc.live.discard(self)

    @classmethod
    def stop_all(cls) -> None:
        """Stop every process still running (on errors and interrupts)."""
        for proc in list(cls.live):
            proc.stop(grace=5)


def worker_children(worker: psutil.Process) -> list[psutil.Process]:
    """The supervisor's job children (not multiprocessing's resource tracker)."""
    out = []
    for child in worker.children():
        with contextlib.suppress(psutil.Error):
            if "resource_tracker" not in " ".join(child.cmdline()):
                out.append(child)
    return out


# --------------------------------------------------------------------------------------------
# Pressroom: a pre-filled queue, a real worker


class Queue:
    """A fresh SQLite database and artifact folder with render jobs waiting."""

    def __init__(self, folder: Path) -> None:
        """Start from an empty ``folder``."""
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.folder = folder
        self.db_path = folder / "pressroom.db"
        self.url = f"sqlite:///{self.db_path}"
        self.storage = str(folder / "artifacts")

    def fill(self, name: str, template: Path, fmt: str, datas: list[dict[str, Any]]) -> float:
        """Store the template, submit one render job per data set in one transaction;
        return the seconds it took."""
        store = open_store(self.url)
        store.migrate()
        app = Pressroom(store, artifacts=open_artifacts(self.storage))
        try:
            app.template_push(name, tpl.load_path(template))
            t0 = time.perf_counter()
            jobs = [
                app.build_job(RENDER_TASK, {"template": name, "data": data, "format": fmt})
                for data in datas
            ]
            app.submit_many(jobs)
            return time.perf_counter() - t0
        finally:
            app.close()

    def start_worker(
        self, concurrency: int, log_name: str, extra_env: dict[str, str] | None = None
    ) -> Proc:
        """``pressroom worker -c N`` on this database and artifact folder."""
        env = {"PRESSROOM_DATABASE_URL": self.url, "PRESSROOM_STORAGE_URL": self.storage}
        env.update(extra_env or {})
        argv = [sys.executable, "-m", "pressroom", "worker", "-c", str(concurrency)]
        return Proc(argv, env, log_name)

    def finished(self, conn: sqlite3.Connection) -> int:
        """How many jobs have a final status."""
        row = conn.execute(
            "SELECT count(*) FROM jobs WHERE status IN ('succeeded', 'failed', 'cancelled')"
        ).fetchone()
        return int(row[0])

    def outcome(self, conn: sqlite3.Connection, n: int) -> dict[str, Any]:
        """Check every job succeeded and stored a document; the completion span."""
        bad = conn.execute(
            "SELECT status, error FROM jobs WHERE status != 'succeeded' LIMIT 1"
        ).fetchone()
        if bad is not None:
            raise RuntimeError(f"a render job ended {bad[0]}: {str(bad[1])[:500]}")
        first, last, mean_run = conn.execute(
            "SELECT min(finished_at), max(finished_at), avg(finished_at - started_at) FROM jobs"
        ).fetchone()
        stored = sum(1 for p in Path(self.storage).rglob("*") if p.is_file())
        if stored != n:
            raise RuntimeError(f"{stored} documents stored for {n} jobs")
        return {"first": first, "last": last, "mean_job_s": mean_run}


class CpuMeter:
    """CPU seconds per document of a worker (its supervisor and its children apart), counted
    from the poll where a tenth of the jobs are done to the poll where all are, so start-up
    (imports, fonts, the first renders) is left out."""

    def __init__(self, pid: int, n: int) -> None:
        """Measure the worker whose supervisor is ``pid``, running ``n`` jobs."""
        self.process = psutil.Process(pid)
        self.n = n
        self.marks: list[tuple[int, float, float]] = []

    def _times(self) -> tuple[float, float]:
        def cpu(proc: psutil.Process) -> float:
            times = proc.cpu_times()
            return float(times.user + times.system)

        children = 0.0
        for child in worker_children(self.process):
            with contextlib.suppress(psutil.Error):
                children += cpu(child)
        return cpu(self.process), children

    def poll(self, done: int) -> None:
        """Mark the start (first poll past a tenth of the jobs) and the end (all done)."""
        if (not self.marks and done >= max(1, self.n // 10)) or (self.marks and done >= self.n):
            with contextlib.suppress(psutil.Error):
                self.marks.append((done, *self._times()))

    def per_document(self) -> dict[str, float]:
        """Milliseconds of CPU per document: supervisor, children, both."""
        if len(self.marks) < 2 or self.marks[-1][0] <= self.marks[0][0]:
            return {}
        (d0, s0, c0), (d1, s1, c1) = self.marks[0], self.marks[-1]
        docs = d1 - d0
        supervisor, children = (s1 - s0) * 1000 / docs, (c1 - c0) * 1000 / docs
        return {
            "cpu_ms_per_doc": supervisor + children,
            "cpu_ms_supervisor": supervisor,
            "cpu_ms_children": children,
        }


def wait_jobs(
    queue: Queue, n: int, worker: Proc, timeout: float, meter: CpuMeter | None = None
) -> dict[str, Any]:
    """Poll until ``n`` jobs are final (worker alive, bounded); return the outcome."""
    conn = sqlite3.connect(queue.db_path, timeout=30)
    try:
        deadline = time.monotonic() + timeout
        while True:
            done = queue.finished(conn)
            if meter is not None:
                meter.poll(done)
            if done >= n:
                break
            worker.check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{done}/{n} jobs done after {timeout:.0f} s")
            time.sleep(0.1)
        return queue.outcome(conn, n)
    finally:
        conn.close()
