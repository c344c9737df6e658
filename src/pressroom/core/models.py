"""Jobs, their states, and the values that travel between the engine and a store."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

JSON = Any
"""A value that :func:`json.dumps` accepts."""


class JobStatus(enum.StrEnum):
    """Where a job is in its life.

    ``scheduled`` waits for its ``run_at`` (a delayed job or a retry in backoff); ``queued`` may be
    claimed now; ``running`` is held by a worker under a lease; the last three are terminal.
    """

    SCHEDULED = "scheduled"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        """Whether the job can no longer change by itself."""
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class NewJob:
    """A validated request for a job, before a store gives it an id."""

    task: str
    args: dict[str, JSON] = field(default_factory=dict)
    queue: str = "default"
    priority: int = 0
    run_at: datetime | None = None
    max_attempts: int = 3
    timeout_s: float | None = None
    unique_key: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    tenant: str = "default"
    cache_key: str | None = None
    """Set on render jobs submitted with ``cache``: a hash of what they render (see
    :mod:`pressroom.documents.submit`); a later identical job may reuse this one's artifact."""


@dataclass(frozen=True, slots=True)
class JobError:
    """Why an attempt failed: an exception type, its message, and optionally its traceback."""

    type: str
    message: str
    traceback: str | None = None
    retryable: bool = True

    def to_dict(self) -> dict[str, JSON]:
        """The error as JSON, without the retry flag (a client sees the job's status instead)."""
        out: dict[str, JSON] = {"type": self.type, "message": self.message}
        if self.traceback:
            out["traceback"] = self.traceback
        return out

    @classmethod
    def from_dict(cls, data: dict[str, JSON]) -> JobError:
        """Rebuild an error stored as JSON."""
        return cls(
            type=str(data.get("type", "Error")),
            message=str(data.get("message", "")),
            traceback=data.get("traceback"),
            retryable=bool(data.get("retryable", True)),
        )


@dataclass(frozen=True, slots=True)
class Job:
    """A job as a store holds it."""

    id: str
    task: str
    args: dict[str, JSON]
    queue: str
    priority: int
    status: JobStatus
    attempt: int
    max_attempts: int
    run_at: datetime
    created_at: datetime
    tenant: str = "default"
    timeout_s: float | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    progress_percent: float = 0.0
    progress_message: str | None = None
    error: JobError | None = None
    result: JSON = None
    metadata: dict[str, str] = field(default_factory=dict)
    unique_key: str | None = None
    worker_id: str | None = None
    lease_expires_at: datetime | None = None
    cancel_requested: bool = False
    cache_key: str | None = None

    def to_dict(self) -> dict[str, JSON]:
        """The job as JSON, with the field names of the public contract."""
        return {
            "id": self.id,
            "task": self.task,
            "args": self.args,
            "status": self.status.value,
            "progress": {"percent": self.progress_percent, "message": self.progress_message},
            "attempt": self.attempt,
            "max_attempts": self.max_attempts,
            "queue": self.queue,
            "priority": self.priority,
            "timeout_s": self.timeout_s,
            "run_at": _iso(self.run_at),
            "created_at": _iso(self.created_at),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "error": self.error.to_dict() if self.error else None,
            "result": self.result,
            "metadata": self.metadata,
            "unique_key": self.unique_key,
            "cancel_requested": self.cancel_requested,
            "worker_id": self.worker_id,
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


class EventKind(enum.StrEnum):
    """What a job event records."""

    STATUS = "status"
    PROGRESS = "progress"
    ERROR = "error"
    CANCEL_REQUESTED = "cancel_requested"


@dataclass(frozen=True, slots=True)
class JobEvent:
    """One entry in a job's ordered event log; ``seq`` orders events across all jobs."""

    seq: int
    job_id: str
    at: datetime
    kind: EventKind
    data: dict[str, JSON]

    def to_dict(self) -> dict[str, JSON]:
        """The event as JSON."""
        return {
            "seq": self.seq,
            "job_id": self.job_id,
            "at": _iso(self.at),
            "kind": self.kind.value,
            "data": self.data,
        }


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a worker reports at the end of one attempt; the store applies it fenced by attempt.

    ``status`` is ``succeeded``, ``failed``, ``cancelled``, ``scheduled`` (a retry after
    ``run_at``), or ``queued`` (released unrun by a draining worker: the attempt it used is given
    back by raising ``max_attempts`` by one). The engine decides which (see
    :mod:`pressroom.core.retry`); the store only applies it.
    """

    job_id: str
    attempt: int
    status: JobStatus
    result: JSON = None
    error: JobError | None = None
    run_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ProgressUpdate:
    """A running attempt's latest progress, as a worker writes it (fenced by attempt)."""

    job_id: str
    attempt: int
    percent: float
    message: str | None = None


@dataclass(frozen=True, slots=True)
class ClaimParams:
    """What a worker asks for when it claims jobs."""

    worker_id: str
    queues: tuple[str, ...]
    limit: int
    lease_s: float
    now: datetime | None = None


@dataclass(frozen=True, slots=True)
class JobFilter:
    """Which jobs a listing returns; ``before`` is the cursor (an id), newest first."""

    status: JobStatus | None = None
    queue: str | None = None
    task: str | None = None
    tenant: str | None = None
    before: str | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """A worker node (one supervisor boot) as it registers itself."""

    id: str
    host: str
    pid: int
    queues: tuple[str, ...]
    concurrency: int
    started_at: datetime
    last_heartbeat_at: datetime
    running: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, JSON]:
        """The worker as JSON."""
        return {
            "id": self.id,
            "host": self.host,
            "pid": self.pid,
            "queues": list(self.queues),
            "concurrency": self.concurrency,
            "started_at": _iso(self.started_at),
            "last_heartbeat_at": _iso(self.last_heartbeat_at),
            "running": list(self.running),
        }


@dataclass(frozen=True, slots=True)
class QueueLimits:
    """Limits on one queue across every worker: concurrent running jobs, and starts per period."""

    name: str
    concurrency: int | None = None
    rate_count: int | None = None
    rate_period_s: float | None = None


@dataclass(frozen=True, slots=True)
class HeartbeatReply:
    """What a lease heartbeat learns: jobs whose cancellation was asked, and jobs no longer held."""

    cancel_requested: frozenset[str]
    lost: frozenset[str]


@dataclass(frozen=True, slots=True)
class Stats:
    """Job counts by queue and status."""

    counts: dict[str, dict[str, int]]

    def totals(self) -> dict[str, int]:
        """Counts by status over all queues."""
        out = {s.value: 0 for s in JobStatus}
        for per_status in self.counts.values():
            for status, n in per_status.items():
                out[status] += n
        return out

    def to_dict(self) -> dict[str, JSON]:
        """The stats as JSON."""
        return {"by_status": self.totals(), "by_queue": self.counts}


@dataclass(frozen=True, slots=True)
class NewTemplate:
    """A template version to store: its bundle packed as one zip, with its digest and size.

    ``sha256`` is the bundle's content digest (engine, main file and files; see
    :func:`pressroom.documents.templates.bundle_digest`); ``size`` is the total bytes of its
    files. Storing the same digest as the latest version of ``name`` adds no version.
    """

    name: str
    engine: str
    main: str
    bundle: bytes
    sha256: str
    size: int
    tenant: str = "default"


@dataclass(frozen=True, slots=True)
class Template:
    """A stored template version; ``bundle`` (the zip) is None when it was not asked for."""

    name: str
    version: int
    engine: str
    main: str
    sha256: str
    size: int
    created_at: datetime
    tenant: str = "default"
    bundle: bytes | None = None

    @property
    def ref(self) -> str:
        """``name@version``: how a job names exactly this version."""
        return f"{self.name}@{self.version}"

    def to_dict(self) -> dict[str, JSON]:
        """The template version as JSON, without its bundle."""
        return {
            "name": self.name,
            "version": self.version,
            "ref": self.ref,
            "engine": self.engine,
            "main": self.main,
            "sha256": self.sha256,
            "size": self.size,
            "created_at": _iso(self.created_at),
        }
