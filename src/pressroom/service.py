"""The service object every adapter (CLI, HTTP API, dashboard) goes through.

It validates requests into :class:`~pressroom.core.models.NewJob` values, applies task defaults,
and forwards to the store. Nothing here knows about HTTP or a particular database.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from pressroom.core.clock import Clock, SystemClock
from pressroom.core.errors import InvalidInput
from pressroom.core.limits import parse_rate
from pressroom.core.models import (
    Job,
    JobEvent,
    JobFilter,
    JobStatus,
    NewJob,
    QueueLimits,
    Stats,
    WorkerInfo,
)
from pressroom.core.ports import Store
from pressroom.core.tasks import Registry, registry
from pressroom.worker.config import validate_queue_name

MAX_PRIORITY = 1_000_000
MAX_ATTEMPTS = 100
MAX_DELAY_S = 366 * 86400.0


class Pressroom:
    """Submit, inspect and control jobs."""

    def __init__(
        self, store: Store, *, tasks: Registry | None = None, clock: Clock | None = None
    ) -> None:
        """Serve jobs from ``store`` with the tasks in ``tasks`` (default: the global registry)."""
        self.store = store
        self.tasks = tasks or registry
        self.clock = clock or SystemClock()

    def close(self) -> None:
        """Close the store."""
        self.store.close()

    # --- submitting -----------------------------------------------------------------------------
    def build_job(
        self,
        task: str,
        args: Mapping[str, Any] | None = None,
        *,
        queue: str | None = None,
        priority: int | None = None,
        delay_s: float | None = None,
        run_at: datetime | None = None,
        max_attempts: int | None = None,
        timeout_s: float | None = None,
        unique_key: str | None = None,
        metadata: Mapping[str, str] | None = None,
        tenant: str = "default",
    ) -> NewJob:
        """Validate a submission and apply the task's defaults; raise InvalidInput if it is bad."""
        spec = self.tasks.get(task)
        if args is None:
            args = {}
        if not isinstance(args, Mapping):
            raise InvalidInput("args must be a JSON object of keyword arguments")
        args = dict(args)
        spec.check_args(args)
        if delay_s is not None and run_at is not None:
            raise InvalidInput("give either delay_s or run_at, not both")
        if delay_s is not None:
            if not _finite(delay_s) or delay_s < 0 or delay_s > MAX_DELAY_S:
                raise InvalidInput(f"delay must be between 0 and {MAX_DELAY_S:.0f} seconds")
            run_at = self.clock.now() + timedelta(seconds=delay_s)
        if run_at is not None and run_at.tzinfo is None:
            raise InvalidInput("run_at must include a time zone (e.g. 2030-01-01T09:00:00Z)")
        if priority is not None and (not isinstance(priority, int) or abs(priority) > MAX_PRIORITY):
            raise InvalidInput(f"priority must be an integer within ±{MAX_PRIORITY}")
        if max_attempts is not None and not 1 <= max_attempts <= MAX_ATTEMPTS:
            raise InvalidInput(f"max_attempts must be between 1 and {MAX_ATTEMPTS}")
        if timeout_s is not None and (not _finite(timeout_s) or timeout_s <= 0):
            raise InvalidInput("timeout must be a positive number of seconds")
        if queue is not None:
            validate_queue_name(queue)
        if unique_key is not None and not 1 <= len(unique_key) <= 200:
            raise InvalidInput("unique key must be 1-200 characters")
        meta = dict(metadata or {})
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
            raise InvalidInput("metadata must map strings to strings")
        return spec.new_job(
            args,
            queue=queue,
            priority=priority,
            run_at=run_at,
            max_attempts=max_attempts,
            timeout_s=timeout_s,
            unique_key=unique_key,
            metadata=meta,
            tenant=tenant,
        )

    def submit(
        self, task: str, args: Mapping[str, Any] | None = None, **options: Any
    ) -> tuple[Job, bool]:
        """Submit one job; returns (job, created). With a live unique key: (that job, False)."""
        return self.store.job_insert(self.build_job(task, args, **options), now=self.clock.now())

    def submit_many(self, jobs: Iterable[NewJob]) -> list[str]:
        """Insert already-built jobs in one transaction; returns their ids."""
        return self.store.job_insert_many(list(jobs), now=self.clock.now())

    # --- reading --------------------------------------------------------------------------------
    def get(self, job_id: str, *, tenant: str | None = None) -> Job:
        """One job."""
        return self.store.job_get(job_id, tenant=tenant)

    def list_jobs(self, flt: JobFilter) -> list[Job]:
        """Jobs matching a filter, newest first."""
        if not 1 <= flt.limit <= 1000:
            raise InvalidInput("limit must be between 1 and 1000")
        return self.store.job_list(flt)

    def events(
        self, job_id: str, *, after_seq: int = 0, tenant: str | None = None
    ) -> list[JobEvent]:
        """A job's event log."""
        self.store.job_get(job_id, tenant=tenant)
        return self.store.job_events(job_id, after_seq=after_seq)

    def stats(self, *, tenant: str | None = None) -> Stats:
        """Counts by queue and status."""
        return self.store.job_stats(tenant=tenant)

    def workers(self) -> list[WorkerInfo]:
        """Registered worker nodes."""
        return self.store.worker_list()

    def wait(
        self,
        job_id: str,
        *,
        timeout_s: float | None = None,
        tenant: str | None = None,
        poll_s: float = 0.05,
    ) -> Job:
        """Block until the job is finished or ``timeout_s`` passes; return its latest state."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        delay = min(poll_s, 0.01)
        while True:
            job = self.store.job_get(job_id, tenant=tenant)
            if job.status.terminal or (deadline is not None and time.monotonic() >= deadline):
                return job
            time.sleep(delay)
            delay = min(delay * 1.5, max(poll_s, 0.5))

    # --- control --------------------------------------------------------------------------------
    def cancel(self, job_id: str, *, tenant: str | None = None) -> Job:
        """Cancel a waiting job or stop a running one."""
        return self.store.job_cancel(job_id, tenant=tenant, now=self.clock.now())

    def retry(self, job_id: str, *, tenant: str | None = None) -> Job:
        """Run a failed or cancelled job again."""
        return self.store.job_retry(job_id, tenant=tenant, now=self.clock.now())

    def delete(self, job_id: str, *, tenant: str | None = None) -> None:
        """Delete a finished job."""
        self.store.job_delete(job_id, tenant=tenant)

    def purge(self, older_than_s: float) -> int:
        """Delete jobs finished more than ``older_than_s`` seconds ago."""
        if not _finite(older_than_s) or older_than_s < 0:
            raise InvalidInput("the age must be a non-negative number of seconds")
        return self.store.job_purge(self.clock.now() - timedelta(seconds=older_than_s))

    def set_queue_limits(
        self, queue: str, *, concurrency: int | None = None, rate: str | None = None
    ) -> QueueLimits:
        """Limit a queue's running jobs and/or its start rate (``"10/m"``); no limits clears."""
        validate_queue_name(queue)
        if concurrency is not None and concurrency < 1:
            raise InvalidInput("concurrency must be at least 1")
        count, period = parse_rate(rate) if rate else (None, None)
        limits = QueueLimits(queue, concurrency, count, period)
        self.store.queue_limits_set(limits)
        return limits

    def queue_limits(self) -> list[QueueLimits]:
        """Every queue with limits."""
        return self.store.queue_limits_list()


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


__all__ = ["JobStatus", "Pressroom"]
