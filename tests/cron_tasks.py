"""A periodic task for the cron test: every second."""

from __future__ import annotations

from pressroom import JobContext, task


@task(name="test.every_second", cron="* * * * * *", max_attempts=1)
def every_second(ctx: JobContext) -> None:
    """Do nothing, once per second across all workers."""
