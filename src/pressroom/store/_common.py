"""What every driver shares: named-query files, migration files, JSON, and row mapping."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from importlib import resources
from typing import Any, NamedTuple

from pressroom.core.errors import InvalidInput
from pressroom.core.limits import claim_allowance
from pressroom.core.models import (
    EventKind,
    Job,
    JobError,
    JobEvent,
    JobStatus,
    NewJob,
    Outcome,
    Template,
)

JOB_COLUMNS = (
    "id, tenant, task, args, queue, priority, status, attempt, max_attempts, timeout_s, run_at, "
    "created_at, started_at, finished_at, progress_percent, progress_message, error, result, "
    "metadata, unique_key, worker_id, lease_expires_at, cancel_requested, cache_key"
)
"""The column order every driver selects jobs in; :func:`row_to_job` reads that order."""

_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)

LEASE_EXPIRED = JobError(
    "LeaseExpired", "the worker holding this job stopped heartbeating (lease expired)"
)
WORKER_DIED = JobError("WorkerDied", "the worker holding this job is gone")


def load_queries(package: str, filename: str) -> dict[str, str]:
    """Read a named-query file: ``-- name: x`` starts query ``x``; ``{job_columns}`` and
    ``{template_columns}`` expand."""
    text = resources.files(package).joinpath(filename).read_text(encoding="utf-8")
    parts = _NAME.split(text)
    queries: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        body = body.strip().replace("{job_columns}", JOB_COLUMNS)
        queries[name] = body.replace("{template_columns}", TEMPLATE_COLUMNS)
    return queries


def load_migrations(package: str) -> list[tuple[int, str]]:
    """The migration scripts of a driver as (version, SQL), oldest first."""
    out = []
    for entry in resources.files(package).iterdir():
        match = re.match(r"^(\d{4})_\w+\.sql$", entry.name)
        if match:
            out.append((int(match.group(1)), entry.read_text(encoding="utf-8")))
    return sorted(out)


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dumps(value: Any) -> str:
    """Compact JSON text (one encoder for every call: ``json.dumps`` with options builds one
    per call)."""
    return "{}" if value == {} else _ENCODER.encode(value)


def loads_or_none(text: str | None) -> Any:
    """Parse JSON text, keeping None as None."""
    return None if text is None else json.loads(text)


def initial_status(job: NewJob, now: datetime) -> JobStatus:
    """A new job is scheduled when it asks to run later, queued otherwise."""
    return JobStatus.SCHEDULED if job.run_at is not None and job.run_at > now else JobStatus.QUEUED


def job_from_new(job_id: str, job: NewJob, now: datetime) -> Job:
    """The job a store holds right after inserting ``job`` at ``now`` (no read back needed)."""
    return Job(
        id=job_id,
        task=job.task,
        args=job.args,
        queue=job.queue,
        priority=job.priority,
        status=initial_status(job, now),
        attempt=0,
        max_attempts=job.max_attempts,
        run_at=job.run_at or now,
        created_at=now,
        tenant=job.tenant,
        timeout_s=job.timeout_s,
        metadata=job.metadata,
        unique_key=job.unique_key,
        cache_key=job.cache_key,
    )


def check_bulk(jobs: Sequence[NewJob]) -> None:
    """Bulk inserts do not take unique keys (one key per call keeps the answer unambiguous)."""
    if any(j.unique_key for j in jobs):
        raise InvalidInput("unique keys are not supported in bulk inserts; submit those one by one")


def row_to_job(
    row: Sequence[Any], to_dt: Callable[[Any], datetime | None], from_json: Callable[[Any], Any]
) -> Job:
    """Build a :class:`Job` from a row in :data:`JOB_COLUMNS` order."""
    error = from_json(row[16])
    run_at = to_dt(row[10])
    created_at = to_dt(row[11])
    if run_at is None or created_at is None:
        raise ValueError("a job row without run_at or created_at")
    return Job(
        id=row[0],
        tenant=row[1],
        task=row[2],
        args=from_json(row[3]),
        queue=row[4],
        priority=row[5],
        status=JobStatus(row[6]),
        attempt=row[7],
        max_attempts=row[8],
        timeout_s=row[9],
        run_at=run_at,
        created_at=created_at,
        started_at=to_dt(row[12]),
        finished_at=to_dt(row[13]),
        progress_percent=row[14],
        progress_message=row[15],
        error=JobError.from_dict(error) if error else None,
        result=from_json(row[17]),
        metadata=from_json(row[18]) or {},
        unique_key=row[19],
        worker_id=row[20],
        lease_expires_at=to_dt(row[21]),
        cancel_requested=bool(row[22]),
        cache_key=row[23],
    )


TEMPLATE_COLUMNS = "tenant, name, version, engine, main, sha256, size, created_at"
"""The column order every driver selects template versions in (the bundle, when asked for,
comes last)."""


def row_to_template(row: Sequence[Any], to_dt: Callable[[Any], datetime | None]) -> Template:
    """Build a :class:`Template` from a row in :data:`TEMPLATE_COLUMNS` order (+ bundle)."""
    created_at = to_dt(row[7])
    if created_at is None:
        raise ValueError("a template row without created_at")
    return Template(
        tenant=row[0],
        name=row[1],
        version=row[2],
        engine=row[3],
        main=row[4],
        sha256=row[5],
        size=row[6],
        created_at=created_at,
        bundle=bytes(row[8]) if len(row) > 8 and row[8] is not None else None,
    )


def template_missing(name: str, version: int | None) -> str:
    """The NotFound message for a template (version) that does not exist."""
    return f"no template {name!r}" if version is None else f"no template {name}@{version}"


def cached_events(source_id: str | None) -> list[tuple[str, dict[str, Any]]]:
    """The event log of a job created succeeded from the result cache."""
    return [
        (EventKind.STATUS, status_event(JobStatus.SUCCEEDED, 0, cached_from=source_id)),
    ]


def make_event(seq: int, job_id: str, at: datetime, kind: str, data: Any) -> JobEvent:
    """Build a :class:`JobEvent` from stored parts."""
    return JobEvent(seq=seq, job_id=job_id, at=at, kind=EventKind(kind), data=data)


def status_event(status: JobStatus, attempt: int, **extra: Any) -> dict[str, Any]:
    """The data of a status-change event."""
    return {"status": status.value, "attempt": attempt, **extra}


def outcome_events(outcome: Outcome) -> list[tuple[str, dict[str, Any]]]:
    """The events an applied outcome writes: an error (if any), then the new status."""
    events: list[tuple[str, dict[str, Any]]] = []
    if outcome.error is not None:
        events.append((EventKind.ERROR, {"attempt": outcome.attempt, **outcome.error.to_dict()}))
    extra: dict[str, Any] = {}
    if outcome.run_at is not None:
        extra["run_at"] = outcome.run_at.isoformat()
    events.append((EventKind.STATUS, status_event(outcome.status, outcome.attempt, **extra)))
    return events


def is_plain(outcome: Outcome) -> bool:
    """Whether an outcome writes just a status event (no error, no retry time)."""
    return outcome.error is None and outcome.run_at is None


def error_json(error: JobError | None) -> dict[str, Any] | None:
    """An error as stored: its public fields plus the retry flag."""
    if error is None:
        return None
    return {**error.to_dict(), "retryable": error.retryable}


def rescue_target(attempt: int, max_attempts: int, cancel_requested: bool) -> JobStatus:
    """Where a job goes when its worker is gone: cancelled, queued again, or failed."""
    if cancel_requested:
        return JobStatus.CANCELLED
    return JobStatus.QUEUED if attempt < max_attempts else JobStatus.FAILED


def cancelled_error() -> JobError:
    """The error recorded on a job cancelled by request."""
    return JobError("Cancelled", "cancelled by request", retryable=False)


def rescue_plan(
    attempt: int, max_attempts: int, cancel_requested: bool, error: JobError
) -> tuple[JobStatus, JobError, list[tuple[str, dict[str, Any]]]]:
    """Where a rescued job goes, the error it records, and the events that log it."""
    target = rescue_target(attempt, max_attempts, cancel_requested)
    err = cancelled_error() if target == JobStatus.CANCELLED else error
    events: list[tuple[str, dict[str, Any]]] = [
        (EventKind.ERROR, {"attempt": attempt, **err.to_dict()}),
        (EventKind.STATUS, status_event(target, attempt, rescued=True)),
    ]
    return target, err, events


class QueueState(NamedTuple):
    """A limited queue as a claim reads it: its limits and its token bucket."""

    name: str
    concurrency: int | None
    rate_count: int | None
    rate_period_s: float | None
    tokens: float | None
    refilled_at: datetime | None

    def _elapsed(self, now: datetime) -> float:
        return 0.0 if self.refilled_at is None else (now - self.refilled_at).total_seconds()

    def allowance(self, wanted: int, running: int, now: datetime) -> int:
        """How many of ``wanted`` jobs this queue may start at ``now`` with ``running`` running."""
        allowed, _ = claim_allowance(
            wanted,
            concurrency=self.concurrency,
            running=running,
            rate_count=self.rate_count,
            rate_period_s=self.rate_period_s,
            tokens=self.tokens,
            elapsed_s=self._elapsed(now),
        )
        return allowed

    def tokens_after(self, started: int, now: datetime) -> float | None:
        """The bucket's level once refilled up to ``now`` and ``started`` tokens spent."""
        _, level = claim_allowance(
            0,
            concurrency=None,
            running=0,
            rate_count=self.rate_count,
            rate_period_s=self.rate_period_s,
            tokens=self.tokens,
            elapsed_s=self._elapsed(now),
        )
        return None if level is None else level - started
