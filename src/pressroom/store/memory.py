"""The memory driver: every table a dict in this process, behind one lock.

It exists for unit tests and passes the same conformance suite as the SQLite and PostgreSQL
drivers. Values go through a JSON round trip on the way in, as they would through a database, so
callers never share mutable state with the store. Without ``now`` it uses Python's UTC clock.
"""

from __future__ import annotations

import heapq
import json
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from pressroom.core.errors import Conflict, NotFound
from pressroom.core.ids import new_id
from pressroom.core.models import (
    TERMINAL_STATUSES,
    ClaimParams,
    EventKind,
    HeartbeatReply,
    Job,
    JobError,
    JobEvent,
    JobFilter,
    JobStatus,
    NewJob,
    Outcome,
    ProgressUpdate,
    QueueLimits,
    Stats,
    Template,
    WorkerInfo,
    utcnow,
)
from pressroom.store import _common as c
from pressroom.store.memory_access import MemoryAccess
from pressroom.store.memory_batches import MemoryBatches
from pressroom.store.memory_documents import MemoryDocuments
from pressroom.store.memory_webhooks import MemoryWebhooks

SCHEMA_VERSION = 2
"""The memory store has no migrations; its schema is always this, the current one."""

_Events = Sequence[tuple[str, dict[str, Any]]]
_UNHELD: dict[str, Any] = {"worker_id": None, "lease_expires_at": None}
_REQUEUED: dict[str, Any] = {
    "finished_at": None,
    "error": None,
    "result": None,
    "cancel_requested": False,
    "progress_percent": 0.0,
    "progress_message": None,
}


def _copy(value: Any) -> Any:
    """A detached copy of a JSON value, as a database would hand it back."""
    return json.loads(c.dumps(value))


def _order(job: Job) -> tuple[int, datetime, str]:
    """Claim order: priority (higher first), then run_at, then id."""
    return (-job.priority, job.run_at, job.id)


def _stored_error(error: JobError | None) -> JobError | None:
    """An error as the SQL drivers return it after storing it."""
    stored = c.error_json(error)
    return None if stored is None else JobError.from_dict(_copy(stored))


class MemoryListener:
    """Reports jobs made available (inserted, promoted, released, retried) since the last poll."""

    poll_interval_s = 0.001

    def __init__(self, store: MemoryStore) -> None:
        """Listen to ``store``."""
        self._store = store
        self._seen = store.wakeups()

    def fileno(self) -> int | None:
        """No descriptor: callers poll."""
        return None

    def poll(self) -> bool:
        """True when jobs became available since the last poll."""
        count = self._store.wakeups()
        changed = count != self._seen
        self._seen = count
        return changed

    def close(self) -> None:
        """Nothing to release."""


class MemoryStore(MemoryDocuments, MemoryAccess, MemoryWebhooks, MemoryBatches):
    """A job store in this process's memory, for tests; every method takes one lock.

    Templates, cached results and batch purges: :class:`MemoryDocuments`."""

    supports_listener = False
    url = "memory://"

    def __init__(self) -> None:
        """An empty store."""
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._events: dict[str, list[JobEvent]] = {}
        self._seq = 0
        self._unique: dict[tuple[str, str], str] = {}
        self._workers: dict[str, WorkerInfo] = {}
        self._leaders: dict[str, tuple[str, datetime]] = {}
        self._ticks: dict[tuple[str, datetime], str] = {}
        self._queues: dict[str, c.QueueState] = {}
        self._wakeups = 0
        self._templates: dict[tuple[str, str], list[Template]] = {}
        self._init_access()
        self._init_webhooks()
        self._init_batches()

    # --- schema and lifecycle -------------------------------------------------------------------
    def migrate(self) -> list[int]:
        """Nothing to migrate."""
        return []

    def schema_version(self) -> tuple[int, int]:
        """Always current."""
        return SCHEMA_VERSION, SCHEMA_VERSION

    def close(self) -> None:
        """Nothing to close; the data lives as long as the object."""

    def listener(self) -> MemoryListener:
        """A listener counting jobs made available."""
        return MemoryListener(self)

    def wakeups(self) -> int:
        """How many times jobs were made available since the store was created."""
        with self._lock:
            return self._wakeups

    # --- helpers (call with the lock held) ------------------------------------------------------
    def _set(self, job: Job, at: datetime, events: _Events, **changes: Any) -> Job:
        """Store ``job`` with ``changes`` and log ``events``; count it if it became queued."""
        old, new = self._jobs.get(job.id), replace(job, **changes)
        self._jobs[new.id] = new
        for kind, data in events:
            self._seq += 1
            event = JobEvent(self._seq, new.id, at, EventKind(kind), _copy(data))
            self._events.setdefault(new.id, []).append(event)
        self._wakeups += new.status == JobStatus.QUEUED and (
            old is None or old.status != new.status
        )
        if old is not None and new.status.terminal and not old.status.terminal:
            self._job_ended(new, at)
        return new

    def _get(self, job_id: str, tenant: str | None) -> Job:
        job = self._jobs.get(job_id)
        if job is None or (tenant is not None and job.tenant != tenant):
            raise NotFound(f"no job {job_id!r}")
        return job

    def _unique_holder(self, tenant: str, key: str | None) -> Job | None:
        job = self._jobs.get(self._unique.get((tenant, key or ""), ""))
        if key is None or job is None or job.status in (JobStatus.FAILED, JobStatus.CANCELLED):
            return None
        return job

    def _insert(self, new: NewJob, now: datetime) -> Job:
        status = c.initial_status(new, now)
        job = Job(
            id=new_id(),
            task=new.task,
            args=_copy(new.args),
            queue=new.queue,
            priority=new.priority,
            status=status,
            attempt=0,
            max_attempts=new.max_attempts,
            run_at=new.run_at or now,
            created_at=now,
            tenant=new.tenant,
            timeout_s=new.timeout_s,
            metadata=_copy(new.metadata),
            unique_key=new.unique_key,
            cache_key=new.cache_key,
        )
        if new.unique_key:
            self._unique[(new.tenant, new.unique_key)] = job.id
        return self._set(job, now, [(EventKind.STATUS, c.status_event(status, 0))])

    def _fenced(self, job_id: str, attempt: int, worker_id: str | None = None) -> Job | None:
        job = self._jobs.get(job_id)
        if job is None or job.attempt != attempt or job.status != JobStatus.RUNNING:
            return None
        return job if worker_id in (None, job.worker_id) else None

    # --- job writes -----------------------------------------------------------------------------
    def job_insert(self, job: NewJob, *, now: datetime | None = None) -> tuple[Job, bool]:
        """Insert one job, or return the live job already holding its unique key."""
        with self._lock:
            held = self._unique_holder(job.tenant, job.unique_key)
            return (held, False) if held else (self._insert(job, now or utcnow()), True)

    def job_insert_many(self, jobs: Sequence[NewJob], *, now: datetime | None = None) -> list[str]:
        """Insert many jobs at once."""
        c.check_bulk(jobs)
        at = now or utcnow()
        with self._lock:
            return [self._insert(job, at).id for job in jobs]

    def job_claim(self, params: ClaimParams) -> list[Job]:
        """Claim up to ``params.limit`` jobs, best first, honouring queue limits."""
        if params.limit <= 0 or not params.queues:
            return []
        now = params.now or utcnow()
        queues = list(dict.fromkeys(params.queues))
        with self._lock:
            by_state: defaultdict[tuple[str, str], list[Job]] = defaultdict(list)
            for job in self._jobs.values():
                by_state[(job.queue, job.status)].append(job)
            candidates: list[Job] = []
            for queue in queues:
                want, state = params.limit, self._queues.get(queue)
                if state is not None:
                    want = state.allowance(want, len(by_state[(queue, JobStatus.RUNNING)]), now)
                waiting = by_state[(queue, JobStatus.QUEUED)]
                candidates.extend(heapq.nsmallest(want, waiting, key=_order))
            claimed = []
            lease = now + timedelta(seconds=params.lease_s)
            for job in sorted(candidates, key=_order)[: params.limit]:
                event = c.status_event(
                    JobStatus.RUNNING, job.attempt + 1, worker_id=params.worker_id
                )
                claimed.append(
                    self._set(
                        job,
                        now,
                        [(EventKind.STATUS, event)],
                        status=JobStatus.RUNNING,
                        attempt=job.attempt + 1,
                        worker_id=params.worker_id,
                        started_at=now,
                        lease_expires_at=lease,
                        progress_percent=0.0,
                        progress_message=None,
                    )
                )
            for queue in queues:
                state = self._queues.get(queue)
                if state is not None and state.rate_count is not None:
                    tokens = state.tokens_after(sum(j.queue == queue for j in claimed), now)
                    self._queues[queue] = state._replace(tokens=tokens, refilled_at=now)
        return claimed

    def job_heartbeat(
        self,
        worker_id: str,
        held: Sequence[tuple[str, int]],
        lease_s: float,
        *,
        now: datetime | None = None,
    ) -> HeartbeatReply:
        """Extend leases of held jobs."""
        expires = (now or utcnow()) + timedelta(seconds=lease_s)
        cancel, lost = set(), set()
        with self._lock:
            for job_id, attempt in held:
                job = self._fenced(job_id, attempt)
                if job is None or job.worker_id != worker_id:
                    lost.add(job_id)
                    continue
                self._jobs[job_id] = replace(job, lease_expires_at=expires)
                if job.cancel_requested:
                    cancel.add(job_id)
        return HeartbeatReply(frozenset(cancel), frozenset(lost))

    def job_finish(
        self,
        outcomes: Sequence[Outcome],
        *,
        progress: Sequence[ProgressUpdate] = (),
        worker_id: str | None = None,
        now: datetime | None = None,
    ) -> list[bool]:
        """Record progress, then apply outcomes fenced by (id, attempt[, worker])."""
        at = now or utcnow()
        applied = []
        with self._lock:
            for u in progress:
                self._progress_locked(u, at, worker_id)
            for o in outcomes:
                job = self._fenced(o.job_id, o.attempt, worker_id)
                applied.append(job is not None)
                if job is None:
                    continue
                succeeded, released = o.status == JobStatus.SUCCEEDED, o.status == JobStatus.QUEUED
                self._set(
                    job,
                    at,
                    c.outcome_events(o),
                    **_UNHELD,
                    status=o.status,
                    finished_at=at if o.status in TERMINAL_STATUSES else None,
                    result=None if o.result is None else _copy(o.result),
                    error=_stored_error(o.error),
                    run_at=o.run_at or job.run_at,
                    max_attempts=job.max_attempts + released,
                    progress_percent=100.0 if succeeded else job.progress_percent,
                )
        return applied

    def job_progress(
        self,
        job_id: str,
        attempt: int,
        percent: float,
        message: str | None,
        *,
        now: datetime | None = None,
    ) -> bool:
        """Record progress of a running attempt."""
        with self._lock:
            return self._progress_locked(
                ProgressUpdate(job_id, attempt, percent, message), now or utcnow()
            )

    def _progress_locked(self, u: ProgressUpdate, at: datetime, worker: str | None = None) -> bool:
        job = self._fenced(u.job_id, u.attempt, worker)
        if job is not None:
            event = {"attempt": u.attempt, "percent": u.percent, "message": u.message}
            self._set(
                job,
                at,
                [(EventKind.PROGRESS, event)],
                progress_percent=u.percent,
                progress_message=u.message,
            )
        return job is not None

    def job_cancel(
        self, job_id: str, *, tenant: str | None = None, now: datetime | None = None
    ) -> Job:
        """Cancel a waiting job, or flag a running one."""
        at = now or utcnow()
        with self._lock:
            job = self._get(job_id, tenant)
            if job.status.terminal:
                raise Conflict(f"job {job_id} already {job.status.value}")
            if job.status != JobStatus.RUNNING:
                event = c.status_event(JobStatus.CANCELLED, job.attempt)
                return self._set(
                    job,
                    at,
                    [(EventKind.STATUS, event)],
                    status=JobStatus.CANCELLED,
                    finished_at=at,
                    error=_stored_error(c.cancelled_error()),
                )
            if job.cancel_requested:
                return job
            event = {"attempt": job.attempt}
            return self._set(job, at, [(EventKind.CANCEL_REQUESTED, event)], cancel_requested=True)

    def job_retry(
        self, job_id: str, *, tenant: str | None = None, now: datetime | None = None
    ) -> Job:
        """Queue a failed or cancelled job again."""
        at = now or utcnow()
        with self._lock:
            job = self._get(job_id, tenant)
            if job.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
                raise Conflict(
                    f"only failed or cancelled jobs can be retried; {job_id} is {job.status.value}"
                )
            holder = self._unique_holder(job.tenant, job.unique_key)
            if holder is not None and holder.id != job_id:
                raise Conflict(f"another live job holds unique key {job.unique_key!r}")
            if job.unique_key:
                self._unique[(job.tenant, job.unique_key)] = job_id
            event = c.status_event(JobStatus.QUEUED, job.attempt, retry=True)
            return self._set(
                job,
                at,
                [(EventKind.STATUS, event)],
                **_REQUEUED,
                status=JobStatus.QUEUED,
                run_at=at,
                max_attempts=job.attempt + 1,
            )

    def job_delete(self, job_id: str, *, tenant: str | None = None) -> None:
        """Delete a finished job and its events."""
        with self._lock:
            job = self._get(job_id, tenant)
            if not job.status.terminal:
                raise Conflict(f"job {job_id} is {job.status.value}; cancel it first")
            del self._jobs[job_id]
            self._events.pop(job_id, None)

    def _rescue(self, jobs: list[Job], at: datetime, error: JobError) -> list[str]:
        for job in jobs:
            target, err, events = c.rescue_plan(
                job.attempt, job.max_attempts, job.cancel_requested, error
            )
            finished = at if target in TERMINAL_STATUSES else None
            self._set(
                job,
                at,
                events,
                **_UNHELD,
                status=target,
                run_at=at,
                finished_at=finished,
                error=_stored_error(err),
            )
        return [j.id for j in jobs]

    def job_rescue(self, *, now: datetime | None = None) -> list[str]:
        """Rescue running jobs whose lease expired."""
        at = now or utcnow()
        with self._lock:
            expired = [
                j
                for j in self._jobs.values()
                if j.status == JobStatus.RUNNING
                and j.lease_expires_at is not None
                and j.lease_expires_at < at
            ]
            return self._rescue(expired, at, c.LEASE_EXPIRED)

    def job_rescue_worker(self, worker_id: str, *, now: datetime | None = None) -> list[str]:
        """Rescue every job a dead worker held."""
        with self._lock:
            held = [
                j
                for j in self._jobs.values()
                if j.status == JobStatus.RUNNING and j.worker_id == worker_id
            ]
            return self._rescue(held, now or utcnow(), c.WORKER_DIED)

    def job_promote(self, *, now: datetime | None = None) -> int:
        """Queue scheduled jobs that are due."""
        at = now or utcnow()
        with self._lock:
            due = [
                j for j in self._jobs.values() if j.status == JobStatus.SCHEDULED and j.run_at <= at
            ]
            for job in due:
                event = c.status_event(JobStatus.QUEUED, job.attempt)
                self._set(job, at, [(EventKind.STATUS, event)], status=JobStatus.QUEUED)
        return len(due)

    def job_purge(self, finished_before: datetime) -> int:
        """Delete finished jobs older than the cut-off."""
        with self._lock:
            old = [
                j.id
                for j in self._jobs.values()
                if j.status.terminal
                and j.finished_at is not None
                and j.finished_at < finished_before
            ]
            for job_id in old:
                del self._jobs[job_id]
                self._events.pop(job_id, None)
        return len(old)

    # --- job reads ------------------------------------------------------------------------------
    def job_get(self, job_id: str, *, tenant: str | None = None) -> Job:
        """One job."""
        with self._lock:
            return self._get(job_id, tenant)

    def job_list(self, flt: JobFilter) -> list[Job]:
        """Jobs matching the filter, newest first."""
        wanted = {"tenant": flt.tenant, "status": flt.status, "queue": flt.queue, "task": flt.task}
        wanted = {k: v for k, v in wanted.items() if v is not None}
        with self._lock:
            jobs = [
                j
                for j in self._jobs.values()
                if all(getattr(j, k) == v for k, v in wanted.items())
                and (flt.before is None or j.id < flt.before)
            ]
        return heapq.nlargest(flt.limit, jobs, key=lambda j: j.id)

    def job_events(self, job_id: str, *, after_seq: int = 0, limit: int = 1000) -> list[JobEvent]:
        """A job's events after ``after_seq``."""
        with self._lock:
            return [e for e in self._events.get(job_id, []) if e.seq > after_seq][:limit]

    def job_events_for(
        self, job_ids: Sequence[str], *, after_seq: int = 0, limit: int = 1000
    ) -> list[JobEvent]:
        """Events of any of these jobs after ``after_seq``, in ``seq`` order."""
        with self._lock:
            found = [e for i in set(job_ids) for e in self._events.get(i, []) if e.seq > after_seq]
        return sorted(found, key=lambda e: e.seq)[:limit]

    def job_events_last_seq(self) -> int:
        """The newest event's seq (0 without events)."""
        with self._lock:
            return max((e[-1].seq for e in self._events.values() if e), default=0)

    def job_stats(self, *, tenant: str | None = None) -> Stats:
        """Counts by queue and status."""
        counts: defaultdict[str, defaultdict[str, int]] = defaultdict(lambda: defaultdict(int))
        with self._lock:
            for job in self._jobs.values():
                if tenant is None or job.tenant == tenant:
                    counts[job.queue][job.status.value] += 1
        return Stats({queue: dict(per_status) for queue, per_status in counts.items()})

    def job_cancel_requested(self, job_ids: Sequence[str]) -> set[str]:
        """Running jobs among these that were asked to stop."""
        with self._lock:
            jobs = [self._jobs[i] for i in job_ids if i in self._jobs]
        return {j.id for j in jobs if j.cancel_requested and j.status == JobStatus.RUNNING}

    # --- workers and coordination ---------------------------------------------------------------
    def worker_upsert(self, info: WorkerInfo) -> None:
        """Register or refresh a worker."""
        with self._lock:
            old = self._workers.get(info.id)
            if old is not None:
                info = replace(old, last_heartbeat_at=info.last_heartbeat_at, running=info.running)
            self._workers[info.id] = info

    def worker_delete(self, worker_id: str) -> None:
        """Remove a worker."""
        with self._lock:
            self._workers.pop(worker_id, None)

    def worker_list(self) -> list[WorkerInfo]:
        """All workers, newest first."""
        with self._lock:
            return sorted(self._workers.values(), key=lambda w: w.started_at, reverse=True)

    def worker_prune(self, silent_since: datetime) -> list[str]:
        """Remove silent workers."""
        with self._lock:
            gone = [w.id for w in self._workers.values() if w.last_heartbeat_at < silent_since]
            for worker_id in gone:
                del self._workers[worker_id]
        return gone

    def leader_attempt_elect(
        self, name: str, node_id: str, ttl_s: float, *, now: datetime | None = None
    ) -> bool:
        """Take or keep a leadership lease."""
        at = now or utcnow()
        with self._lock:
            holder = self._leaders.get(name)
            if holder is None or holder[0] == node_id or holder[1] < at:
                self._leaders[name] = (node_id, at + timedelta(seconds=ttl_s))
            return self._leaders[name][0] == node_id

    def cron_enqueue(
        self, name: str, tick: datetime, job: NewJob, *, now: datetime | None = None
    ) -> bool:
        """Enqueue a cron tick's job exactly once (a live job holding its unique key counts)."""
        now = now or utcnow()
        with self._lock:
            if (name, tick) in self._ticks:
                return False
            held = self._unique_holder(job.tenant, job.unique_key)
            self._ticks[(name, tick)] = (held or self._insert(job, now)).id
            cutoff = now - timedelta(days=7)
            for key in [k for k in self._ticks if k[1] < cutoff]:
                del self._ticks[key]
        return True

    def queue_limits_set(self, limits: QueueLimits) -> None:
        """Set or clear a queue's limits (setting them refills the bucket)."""
        with self._lock:
            if limits.concurrency is None and limits.rate_count is None:
                self._queues.pop(limits.name, None)
            else:
                self._queues[limits.name] = c.QueueState(
                    limits.name,
                    limits.concurrency,
                    limits.rate_count,
                    limits.rate_period_s,
                    None,
                    None,
                )

    def queue_limits_list(self) -> list[QueueLimits]:
        """Queues with limits."""
        with self._lock:
            return [QueueLimits(*s[:4]) for _, s in sorted(self._queues.items())]
