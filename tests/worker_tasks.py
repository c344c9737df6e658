"""Tasks the integration tests run in real worker processes."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from pressroom import JobContext, Permanent, task


@task(name="test.flaky", max_attempts=3)
def flaky(ctx: JobContext, marker: str, fail_times: int = 1) -> dict[str, int]:
    """Fail the first ``fail_times`` attempts (counted in a file), then succeed."""
    path = Path(marker)
    count = int(path.read_text()) if path.exists() else 0
    if count < fail_times:
        path.write_text(str(count + 1))
        raise RuntimeError(f"flaky failure {count + 1}")
    return {"attempt": ctx.attempt}


@task(name="test.permanent")
def permanent(ctx: JobContext) -> None:
    """Fail in a way retrying cannot fix."""
    raise Permanent("template line 3: undefined variable 'customer'")


@task(name="test.hang")
def hang(ctx: JobContext, seconds: float = 60.0) -> None:
    """Sleep without ever checking for cancellation."""
    time.sleep(seconds)


@task(name="test.pid")
def pid(ctx: JobContext) -> int:
    """Return the process id that ran the job."""
    return os.getpid()


@task(name="test.record", max_attempts=10)
def record(ctx: JobContext, path: str, seconds: float = 0.0) -> str:
    """Append start and end lines to a file, sleeping in between."""
    with open(path, "a") as fh:
        fh.write(f"{ctx.job_id} start {time.time()}\n")
    time.sleep(seconds)
    with open(path, "a") as fh:
        fh.write(f"{ctx.job_id} end {time.time()}\n")
    return ctx.job_id


@task(name="test.crash_once")
def crash_once(ctx: JobContext, marker: str) -> str:
    """Kill its own process the first time, succeed the second."""
    path = Path(marker)
    if not path.exists():
        path.write_text("crashed")
        os.kill(os.getpid(), signal.SIGKILL)
    return "survived"


@task(name="test.progress")
def progress(ctx: JobContext, steps: int = 3) -> int:
    """Report progress in steps."""
    for i in range(1, steps + 1):
        ctx.progress(100 * i / steps, f"step {i} of {steps}")
    return steps
