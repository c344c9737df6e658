"""Helpers for testing code that uses Pressroom: waiting with a deadline, running jobs inline,
and running a real worker process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from pressroom.core import retry
from pressroom.core.models import ClaimParams, JobError, Outcome, utcnow
from pressroom.core.ports import Store
from pressroom.worker import child as proto

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T],
    *,
    timeout: float = 10.0,
    interval: float = 0.02,
    message: str = "condition",
) -> T:
    """Poll ``predicate`` until it returns something truthy; raise TimeoutError at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{message} not met within {timeout}s")
        time.sleep(interval)


def run_inline(store: Store, *, queues: Sequence[str] = ("default",), limit: int = 100) -> int:
    """Claim and run up to ``limit`` jobs in this process, one by one; return how many ran.

    Tasks run exactly as in a worker child (same context, same error handling), without
    timeouts or forced cancellation. Useful to test tasks without starting processes.
    """
    ran = 0
    while ran < limit:
        jobs = store.job_claim(ClaimParams("inline", tuple(queues), 1, 300.0))
        if not jobs:
            return ran
        job = jobs[0]
        message = (proto.RUN, job.id, job.attempt, job.max_attempts, job.queue, job.task, job.args)

        def report(job_id: str, attempt: int, percent: float, text: str | None) -> None:
            store.job_progress(job_id, attempt, percent, text)

        def is_cancelled(job_id: str = job.id) -> bool:
            return bool(store.job_cancel_requested([job_id]))

        _, job_id, attempt, status, result, error, _ = proto.run_one(message, report, is_cancelled)
        outcome: Outcome
        if status == "ok":
            outcome = retry.success(job_id, attempt, result)
        elif status == "cancelled":
            outcome = retry.cancelled(job_id, attempt)
        else:
            err = JobError(
                error["type"], error["message"], error["traceback"], retryable=error["retryable"]
            )
            outcome = retry.failure(job_id, attempt, job.max_attempts, err, utcnow())
        store.job_finish([outcome])
        ran += 1
    return ran


class WorkerProcess:
    """``pressroom worker`` as a subprocess, for tests that need the real thing."""

    def __init__(
        self,
        database_url: str,
        *args: str,
        env: dict[str, str] | None = None,
        log_path: str | None = None,
    ) -> None:
        """Prepare a worker with extra CLI ``args`` (e.g. ``"-c", "2"``)."""
        self.database_url = database_url
        self.args = args
        self.env = {**os.environ, **(env or {}), "PRESSROOM_DATABASE_URL": database_url}
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        """Start the worker."""
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pressroom", "worker", *self.args],
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    @property
    def pid(self) -> int:
        """The supervisor's process id."""
        assert self.proc is not None
        return self.proc.pid

    def children(self) -> list[int]:
        """Process ids of the worker's child processes."""
        import psutil

        try:
            return [
                c.pid
                for c in psutil.Process(self.pid).children()
                if "resource_tracker" not in " ".join(c.cmdline())
            ]
        except psutil.Error:
            return []

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM (drain) and wait; kill if it does not exit in time; return the exit code."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return -9

    def kill(self) -> None:
        """SIGKILL the supervisor (its children die with it)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def __enter__(self) -> WorkerProcess:
        """Start on entering a ``with`` block."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop on leaving it."""
        self.stop()
