"""The SQLite driver's maintenance operations: rescuing expired leases and dead workers' jobs,
promoting due jobs, purging finished ones, worker rows, leader election, cron ticks and queue
limits; mixed into :class:`~pressroom.store.sqlite.SQLiteStore`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol

from pressroom.core.models import (
    TERMINAL_STATUSES,
    EventKind,
    JobStatus,
    NewJob,
    QueueLimits,
    WorkerInfo,
    utcnow,
)
from pressroom.store import _common as c
from pressroom.store.sqlite_connection import _at, _ts

_Q = c.load_queries("pressroom.store", "sqlite_queries.sql")


class _Driver(Protocol):
    def _conn(self) -> sqlite3.Connection: ...

    def _write(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def _insert(self, conn: sqlite3.Connection, job: NewJob, now: datetime) -> str: ...


def _rescue(
    conn: sqlite3.Connection, rows: Sequence[Sequence[Any]], at: float, error: Any
) -> list[str]:
    rescued = []
    for job_id, attempt, max_attempts, cancel_requested in rows:
        target = c.rescue_target(attempt, max_attempts, bool(cancel_requested))
        terminal = target in TERMINAL_STATUSES
        err = c.cancelled_error() if target == JobStatus.CANCELLED else error
        conn.execute(
            _Q["job_rescue_one"],
            (target, at, at if terminal else None, c.dumps(c.error_json(err)), job_id, attempt),
        )
        conn.execute(
            _Q["event_insert"],
            (job_id, at, EventKind.ERROR, c.dumps({"attempt": attempt, **err.to_dict()})),
        )
        conn.execute(
            _Q["event_insert"],
            (
                job_id,
                at,
                EventKind.STATUS,
                c.dumps(c.status_event(target, attempt, rescued=True)),
            ),
        )
        rescued.append(job_id)
    return rescued


class SQLiteMaintenance:
    """Rescue, promotion, purge, workers, leader election, cron ticks and queue limits on
    SQLite (see the Store protocol)."""

    def job_rescue(self: _Driver, *, now: datetime | None = None) -> list[str]:
        """Rescue running jobs whose lease expired."""
        at = _ts(now or utcnow())
        if not self._conn().execute(_Q["expired_leases"], (at,)).fetchone():
            return []
        with self._write() as conn:
            rows = conn.execute(_Q["expired_leases"], (at,)).fetchall()
            return _rescue(conn, rows, at, c.LEASE_EXPIRED)

    def job_rescue_worker(
        self: _Driver, worker_id: str, *, now: datetime | None = None
    ) -> list[str]:
        """Rescue every job a dead worker held."""
        at = _ts(now or utcnow())
        with self._write() as conn:
            rows = conn.execute(_Q["held_by_worker"], (worker_id,)).fetchall()
            return _rescue(conn, rows, at, c.WORKER_DIED)

    def job_promote(self: _Driver, *, now: datetime | None = None) -> int:
        """Queue scheduled jobs that are due."""
        at = _ts(now or utcnow())
        with self._write() as conn:
            rows = conn.execute(_Q["job_promote"], (at,)).fetchall()
            conn.executemany(
                _Q["event_insert"],
                [
                    (
                        job_id,
                        at,
                        EventKind.STATUS,
                        c.dumps(c.status_event(JobStatus.QUEUED, attempt)),
                    )
                    for job_id, attempt in rows
                ],
            )
        return len(rows)

    def job_purge(self: _Driver, finished_before: datetime) -> int:
        """Delete finished jobs older than the cut-off, a thousand per transaction."""
        total = 0
        cutoff = _ts(finished_before)
        while True:
            with self._write() as conn:
                ids = [r[0] for r in conn.execute(_Q["purge_select"], (cutoff,))]
                if not ids:
                    return total
                doc = json.dumps(ids)
                conn.execute(_Q["purge_events"], (doc,))
                conn.execute(_Q["purge_jobs"], (doc,))
            total += len(ids)

    def worker_upsert(self: _Driver, info: WorkerInfo) -> None:
        """Register or refresh a worker."""
        with self._write() as conn:
            conn.execute(
                _Q["worker_upsert"],
                (
                    info.id,
                    info.host,
                    info.pid,
                    json.dumps(info.queues),
                    info.concurrency,
                    _ts(info.started_at),
                    _ts(info.last_heartbeat_at),
                    json.dumps(info.running),
                ),
            )

    def worker_delete(self: _Driver, worker_id: str) -> None:
        """Remove a worker."""
        with self._write() as conn:
            conn.execute(_Q["worker_delete"], (worker_id,))

    def worker_list(self: _Driver) -> list[WorkerInfo]:
        """All workers."""
        out = []
        for wid, host, pid, queues, conc, started, beat, running in self._conn().execute(
            _Q["worker_list"]
        ):
            s, b = _at(started), _at(beat)
            out.append(
                WorkerInfo(
                    wid,
                    host,
                    pid,
                    tuple(json.loads(queues)),
                    conc,
                    s,
                    b,
                    tuple(json.loads(running)),
                )
            )
        return out

    def worker_prune(self: _Driver, silent_since: datetime) -> list[str]:
        """Remove silent workers."""
        with self._write() as conn:
            return [r[0] for r in conn.execute(_Q["worker_prune"], (_ts(silent_since),))]

    def leader_attempt_elect(
        self: _Driver, name: str, node_id: str, ttl_s: float, *, now: datetime | None = None
    ) -> bool:
        """Take or keep a leadership lease."""
        at = _ts(now or utcnow())
        with self._write() as conn:
            conn.execute(_Q["leader_elect"], (name, node_id, at + ttl_s, at))
            row = conn.execute(_Q["leader_get"], (name,)).fetchone()
        return bool(row and row[0] == node_id)

    def cron_enqueue(
        self: _Driver, name: str, tick: datetime, job: NewJob, *, now: datetime | None = None
    ) -> bool:
        """Enqueue a cron tick's job exactly once."""
        now = now or utcnow()
        with self._write() as conn:
            cur = conn.execute(_Q["cron_tick_insert"], (name, _ts(tick)))
            if cur.rowcount != 1:
                return False
            job_id = self._insert(conn, job, now)
            conn.execute(_Q["cron_tick_job"], (job_id, name, _ts(tick)))
            conn.execute(_Q["cron_ticks_prune"], (_ts(now - timedelta(days=7)),))
        return True

    def queue_limits_set(self: _Driver, limits: QueueLimits) -> None:
        """Set or clear a queue's limits."""
        with self._write() as conn:
            if limits.concurrency is None and limits.rate_count is None:
                conn.execute(_Q["queue_limits_delete"], (limits.name,))
                return
            conn.execute(
                _Q["queue_limits_set"],
                (
                    limits.name,
                    limits.concurrency,
                    limits.rate_count,
                    limits.rate_period_s,
                    None,
                    None,
                ),
            )

    def queue_limits_list(self: _Driver) -> list[QueueLimits]:
        """Queues with limits."""
        return [QueueLimits(*r) for r in self._conn().execute(_Q["queue_limits_list"])]
