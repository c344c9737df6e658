"""The PostgreSQL driver's maintenance operations: rescuing jobs from expired leases and dead
workers, promoting due jobs, purging old ones, worker rows, leader election, cron ticks and queue
limits; mixed into :class:`~pressroom.store.postgres.PostgresStore`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import psycopg
from psycopg.rows import TupleRow

from pressroom.core.models import Job, JobError, NewJob, QueueLimits, WorkerInfo
from pressroom.store import _common as c
from pressroom.store._postgres_mixin import OutcomeRow, event_docs

_Q = c.load_queries("pressroom.store", "postgres_queries.sql")
_Conn = psycopg.Connection[TupleRow]
_T = TypeVar("_T")


def _at(value: datetime) -> datetime:
    return value.astimezone(UTC)


class _Driver(Protocol):
    def _run(self, op: Callable[[_Conn], _T], *, write: bool, tx: bool = False) -> _T: ...

    def _fetch(self, name: str, params: dict[str, Any], *, write: bool) -> list[TupleRow]: ...

    def _value(self, name: str, params: dict[str, Any], *, write: bool) -> Any: ...

    def _insert(self, conn: _Conn, job: NewJob, now: datetime | None) -> tuple[Job, bool]: ...

    def _apply(
        self, conn: _Conn, rows: Sequence[OutcomeRow], now: datetime | None
    ) -> set[tuple[str, int]]: ...


def _rescue(store: _Driver, query: str, params: dict[str, Any], error: JobError) -> list[str]:
    """Move the jobs ``query`` selects out of their attempts (retry, fail or cancel each)."""

    def op(conn: _Conn) -> list[str]:
        held = conn.execute(_Q[query], params).fetchall()
        if not held:
            return []
        at: datetime = held[0][4]
        rows: list[OutcomeRow] = []
        for job_id, attempt, max_attempts, cancel_requested, _ in held:
            target, err, logged = c.rescue_plan(attempt, max_attempts, cancel_requested, error)
            iso = at.isoformat()
            rows.append(
                (
                    job_id,
                    attempt,
                    target.value,
                    None,
                    c.error_json(err),
                    iso,
                    0,
                    event_docs(logged),
                )
            )
        applied = store._apply(conn, rows, at)
        return [r[0] for r in rows if (r[0], r[1]) in applied]

    return store._run(op, write=True, tx=True)


class PostgresMaintenance:
    """Rescue, promotion, purging, workers, leadership, cron ticks and queue limits on PostgreSQL
    (see Store)."""

    def job_rescue(self: _Driver, *, now: datetime | None = None) -> list[str]:
        """Rescue running jobs whose lease expired (skipping rows another session holds)."""
        return _rescue(self, "expired_leases", {"now": now}, c.LEASE_EXPIRED)

    def job_rescue_worker(
        self: _Driver, worker_id: str, *, now: datetime | None = None
    ) -> list[str]:
        """Rescue every job a dead worker held."""
        params = {"now": now, "worker_id": worker_id}
        return _rescue(self, "held_by_worker", params, c.WORKER_DIED)

    def job_promote(self: _Driver, *, now: datetime | None = None) -> int:
        """Queue scheduled jobs that are due, and notify their queues."""
        return int(self._value("job_promote", {"now": now}, write=True))

    def job_purge(self: _Driver, finished_before: datetime) -> int:
        """Delete finished jobs older than the cut-off, a thousand per statement."""
        total = 0
        while deleted := int(self._value("job_purge", {"before": finished_before}, write=True)):
            total += deleted
        return total

    # --- workers and coordination ---------------------------------------------------------------
    def worker_upsert(self: _Driver, info: WorkerInfo) -> None:
        """Register or refresh a worker."""
        params = {**asdict(info), "queues": c.dumps(info.queues), "running": c.dumps(info.running)}
        self._fetch("worker_upsert", params, write=True)

    def worker_delete(self: _Driver, worker_id: str) -> None:
        """Remove a worker."""
        self._fetch("worker_delete", {"id": worker_id}, write=True)

    def worker_list(self: _Driver) -> list[WorkerInfo]:
        """All workers, newest first."""
        rows = self._fetch("worker_list", {}, write=False)
        return [
            WorkerInfo(wid, host, pid, tuple(queues), n, _at(started), _at(beat), tuple(running))
            for wid, host, pid, queues, n, started, beat, running in rows
        ]

    def worker_prune(self: _Driver, silent_since: datetime) -> list[str]:
        """Remove silent workers."""
        return [r[0] for r in self._fetch("worker_prune", {"before": silent_since}, write=True)]

    def leader_attempt_elect(
        self: _Driver, name: str, node_id: str, ttl_s: float, *, now: datetime | None = None
    ) -> bool:
        """Take or keep a leadership lease, in one statement."""
        params = {"name": name, "node_id": node_id, "ttl_s": float(ttl_s), "now": now}
        return bool(self._fetch("leader_elect", params, write=True))

    def cron_enqueue(
        self: _Driver, name: str, tick: datetime, job: NewJob, *, now: datetime | None = None
    ) -> bool:
        """Enqueue a cron tick's job exactly once (a live job holding its unique key counts)."""

        def op(conn: _Conn) -> bool:
            key = {"name": name, "tick": tick, "now": now}
            if conn.execute(_Q["cron_tick_insert"], key).fetchone() is None:
                return False
            inserted, _ = self._insert(conn, job, now)
            conn.execute(_Q["cron_tick_job"], {**key, "job_id": inserted.id})
            conn.execute(_Q["cron_ticks_prune"], key)
            return True

        return self._run(op, write=True, tx=True)

    def queue_limits_set(self: _Driver, limits: QueueLimits) -> None:
        """Set or clear a queue's limits (setting them refills the bucket)."""
        clear = limits.concurrency is None and limits.rate_count is None
        self._fetch(
            "queue_limits_delete" if clear else "queue_limits_set", asdict(limits), write=True
        )

    def queue_limits_list(self: _Driver) -> list[QueueLimits]:
        """Queues with limits."""
        return [QueueLimits(*r) for r in self._fetch("queue_limits_list", {}, write=False)]
