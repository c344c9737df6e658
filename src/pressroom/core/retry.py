"""How an attempt's end becomes a job's next state: retries with exponential backoff and jitter."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from pressroom.core.models import JSON, JobError, JobStatus, Outcome

BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 3600.0


def backoff_s(attempt: int, *, base: float = BACKOFF_BASE_S, cap: float = BACKOFF_CAP_S) -> float:
    """Seconds before the attempt after ``attempt``: ``base·2^(attempt-1)``, ±25 % jitter."""
    delay = min(cap, base * 2 ** max(0, attempt - 1))
    return float(delay * random.uniform(0.75, 1.25))


def success(job_id: str, attempt: int, result: JSON) -> Outcome:
    """The outcome of an attempt that returned ``result``."""
    return Outcome(job_id, attempt, JobStatus.SUCCEEDED, result=result)


def cancelled(job_id: str, attempt: int, reason: str = "cancelled while running") -> Outcome:
    """The outcome of an attempt stopped because its job was cancelled."""
    error = JobError("Cancelled", reason, retryable=False)
    return Outcome(job_id, attempt, JobStatus.CANCELLED, error=error)


def failure(
    job_id: str, attempt: int, max_attempts: int, error: JobError, now: datetime
) -> Outcome:
    """The outcome of a failed attempt: a scheduled retry, or the job's final failure."""
    if error.retryable and attempt < max_attempts:
        run_at = now + timedelta(seconds=backoff_s(attempt))
        return Outcome(job_id, attempt, JobStatus.SCHEDULED, error=error, run_at=run_at)
    return Outcome(job_id, attempt, JobStatus.FAILED, error=error)


def released(job_id: str, attempt: int) -> Outcome:
    """The outcome of a job a stopping worker gives back without running it to the end."""
    return Outcome(job_id, attempt, JobStatus.QUEUED)
