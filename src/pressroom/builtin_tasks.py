"""Built-in tasks for health checks, benchmarks and tests."""

from __future__ import annotations

import time

from pressroom.core.errors import InvalidInput
from pressroom.core.tasks import JobContext, task


@task(name="pressroom.noop", max_attempts=1)
def noop(ctx: JobContext) -> None:
    """Do nothing; measures the engine's own cost."""


@task(name="pressroom.sleep")
def sleep(ctx: JobContext, seconds: float = 1.0) -> dict[str, float]:
    """Sleep ``seconds``, reporting progress every second and stopping when cancelled."""
    if not isinstance(seconds, int | float) or seconds < 0:
        raise InvalidInput("seconds must be a non-negative number")
    start = time.monotonic()
    end = start + seconds
    while True:
        now = time.monotonic()
        if now >= end:
            break
        ctx.raise_if_cancelled()
        time.sleep(min(1.0, end - now))
        done = min(1.0, (time.monotonic() - start) / seconds) if seconds else 1.0
        ctx.progress(round(done * 100, 1), f"slept {time.monotonic() - start:.1f}s")
    return {"slept_s": round(time.monotonic() - start, 3)}


@task(name="pressroom.fail")
def fail(ctx: JobContext, message: str = "failed on purpose", permanent: bool = False) -> None:
    """Raise an error: retryable by default, permanent when asked."""
    from pressroom.core.errors import Permanent

    if permanent:
        raise Permanent(message)
    raise RuntimeError(message)
