"""The SQLite driver: WAL, ``BEGIN IMMEDIATE`` for every write, busy timeout plus retry.

One connection per thread. Writers serialise on SQLite's write lock; readers never block. A
write that meets a locked database waits (``busy_timeout``) and then retries with backoff, so
"database is locked" never reaches a caller while the lock is merely contended. Connections,
write transactions and retries live in :mod:`~pressroom.store.sqlite_connection`; rescue,
promotion, purge, workers, leadership, cron and queue limits in
:mod:`~pressroom.store.sqlite_maintenance`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from pressroom.core.errors import Conflict, InvalidInput, NotFound
from pressroom.core.ids import new_id
from pressroom.core.limits import claim_allowance
from pressroom.core.models import (
    TERMINAL_STATUSES,
    ClaimParams,
    EventKind,
    HeartbeatReply,
    Job,
    JobEvent,
    JobFilter,
    JobStatus,
    NewJob,
    Outcome,
    ProgressUpdate,
    Stats,
    utcnow,
)
from pressroom.store import _common as c
from pressroom.store.sqlite_access import SQLiteAccess
from pressroom.store.sqlite_batches import SQLiteBatches
from pressroom.store.sqlite_connection import SQLiteConnections, _at, _dt, _ts
from pressroom.store.sqlite_documents import SQLiteDocuments
from pressroom.store.sqlite_maintenance import SQLiteMaintenance
from pressroom.store.sqlite_webhooks import SQLiteWebhooks

_Q = c.load_queries("pressroom.store", "sqlite_queries.sql")
_MIGRATIONS = c.load_migrations("pressroom.store.migrations.sqlite")


def _row_to_job(row: Sequence[Any]) -> Job:
    return c.row_to_job(row, _dt, c.loads_or_none)


class SQLiteStore(
    SQLiteConnections,
    SQLiteMaintenance,
    SQLiteDocuments,
    SQLiteAccess,
    SQLiteWebhooks,
    SQLiteBatches,
):
    """A job store in one SQLite file (templates and the result cache: :class:`SQLiteDocuments`)."""

    supports_listener = False

    def __init__(self, path: str | Path, *, synchronous: str = "NORMAL") -> None:
        """Open (creating if needed) the database file at ``path``.

        ``synchronous`` is ``NORMAL`` (durable across process crashes; WAL may lose the last
        commits on power loss) or ``FULL`` (durable across power loss, slower).
        """
        if synchronous.upper() not in ("NORMAL", "FULL"):
            raise InvalidInput(f"synchronous must be NORMAL or FULL, not {synchronous!r}")
        self.path = str(path)
        self.url = f"sqlite:///{self.path}"
        self._synchronous = synchronous.upper()
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._conn().execute("PRAGMA journal_mode=WAL")

    # --- schema ---------------------------------------------------------------------------------
    def _ensure_migrations_table(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)"
        )

    def migrate(self) -> list[int]:
        """Apply pending migrations, each in its own transaction."""
        applied: list[int] = []
        with self._write() as conn:
            self._ensure_migrations_table(conn)
        for version, sql in _MIGRATIONS:
            with self._write() as conn:
                done = conn.execute(
                    "SELECT 1 FROM schema_migrations WHERE version = ?", (version,)
                ).fetchone()
                if done:
                    continue
                for statement in _split_sql(sql):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                    (version, time.time()),
                )
                applied.append(version)
        return applied

    def schema_version(self) -> tuple[int, int]:
        """(version in the file, newest version known)."""
        conn = self._conn()
        latest = _MIGRATIONS[-1][0]
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        ).fetchone()
        if not exists:
            return 0, latest
        row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
        return int(row[0] or 0), latest

    # --- job writes -----------------------------------------------------------------------------
    def _insert(self, conn: sqlite3.Connection, job: NewJob, now: datetime) -> str:
        """Insert a job; its creation event comes from the ``jobs_created_event`` trigger."""
        job_id = new_id()
        conn.execute(_Q["job_insert"], _insert_row(job_id, job, now))
        return job_id

    def job_insert(self, job: NewJob, *, now: datetime | None = None) -> tuple[Job, bool]:
        """Insert one job (one statement), or return the live job already holding its unique
        key (a transaction that looks first)."""
        now = now or utcnow()
        if not job.unique_key:
            job_id = new_id()
            self._write_one(_Q["job_insert"], _insert_row(job_id, job, now))
            return c.job_from_new(job_id, job, now), True
        with self._write() as conn:
            row = conn.execute(_Q["job_by_unique_key"], (job.tenant, job.unique_key)).fetchone()
            if row:
                return _row_to_job(row), False
            job_id = self._insert(conn, job, now)
        return c.job_from_new(job_id, job, now), True

    def job_insert_many(self, jobs: Sequence[NewJob], *, now: datetime | None = None) -> list[str]:
        """Insert many jobs in one transaction."""
        with self._write() as conn:
            return self._insert_many_in(conn, jobs, now or utcnow())

    def _insert_many_in(
        self, conn: sqlite3.Connection, jobs: Sequence[NewJob], now: datetime
    ) -> list[str]:
        """Insert jobs inside the caller's write transaction; return their ids in order."""
        c.check_bulk(jobs)
        rows = [_insert_row(new_id(), job, now) for job in jobs]
        conn.executemany(_Q["job_insert"], rows)
        return [r[0] for r in rows]

    def job_claim(self, params: ClaimParams) -> list[Job]:
        """Claim up to ``params.limit`` jobs, best first, honouring queue limits."""
        if params.limit <= 0 or not params.queues:
            return []
        now = params.now or utcnow()
        at = _ts(now)
        reader = self._conn()
        if not any(
            reader.execute(_Q["claim_candidates"], (q, 1)).fetchone() for q in params.queues
        ):
            return []
        with self._write() as conn:
            limits = {
                r[0]: r for r in conn.execute(_Q["queue_limits_for"], (json.dumps(params.queues),))
            }
            candidates: list[tuple[str, int, float]] = []
            for queue in dict.fromkeys(params.queues):
                want = params.limit
                if queue in limits:
                    want = self._allowance(conn, limits[queue], want, at)
                if want > 0:
                    candidates.extend(conn.execute(_Q["claim_candidates"], (queue, want)))
            if not candidates:
                return []
            if len(params.queues) > 1:
                candidates.sort(key=lambda r: (-r[1], r[2], r[0]))
            chosen = [r[0] for r in candidates[: params.limit]]
            rows = conn.execute(
                _Q["claim_ids"],
                (params.worker_id, at, at + params.lease_s, json.dumps(chosen)),
            ).fetchall()
            jobs = [_row_to_job(r) for r in rows]
            conn.execute(_Q["claim_events"], (at, json.dumps([j.id for j in jobs])))
            if limits:
                self._spend_tokens(conn, limits, jobs, at)
        jobs.sort(key=lambda j: (-j.priority, j.run_at, j.id))
        return jobs

    def _allowance(self, conn: sqlite3.Connection, lim: Sequence[Any], want: int, at: float) -> int:
        name, concurrency, rate_count, rate_period_s, tokens, refilled_at = lim
        running = 0
        if concurrency is not None:
            running = conn.execute(_Q["queue_running_count"], (name,)).fetchone()[0]
        allowed, _ = claim_allowance(
            want,
            concurrency=concurrency,
            running=running,
            rate_count=rate_count,
            rate_period_s=rate_period_s,
            tokens=tokens,
            elapsed_s=at - (refilled_at if refilled_at is not None else at),
        )
        return allowed

    def _spend_tokens(
        self, conn: sqlite3.Connection, limits: dict[str, Sequence[Any]], jobs: list[Job], at: float
    ) -> None:
        for name, lim in limits.items():
            _, _, rate_count, rate_period_s, tokens, refilled_at = lim
            if rate_count is None:
                continue
            _, level = claim_allowance(
                0,
                concurrency=None,
                running=0,
                rate_count=rate_count,
                rate_period_s=rate_period_s,
                tokens=tokens,
                elapsed_s=at - (refilled_at if refilled_at is not None else at),
            )
            started = sum(1 for j in jobs if j.queue == name)
            conn.execute(_Q["queue_tokens_update"], ((level or 0.0) - started, at, name))

    def job_heartbeat(
        self,
        worker_id: str,
        held: Sequence[tuple[str, int]],
        lease_s: float,
        *,
        now: datetime | None = None,
    ) -> HeartbeatReply:
        """Extend leases of held jobs."""
        if not held:
            return HeartbeatReply(frozenset(), frozenset())
        expires = _ts(now or utcnow()) + lease_s
        cancel, lost = set(), set()
        with self._write() as conn:
            for job_id, attempt in held:
                row = conn.execute(
                    _Q["job_heartbeat"], (expires, job_id, attempt, worker_id)
                ).fetchone()
                if row is None:
                    lost.add(job_id)
                elif row[0]:
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
        """Record progress, then apply outcomes fenced by (id, attempt[, worker]), in one
        transaction."""
        if not outcomes and not progress:
            return []
        at = _ts(now or utcnow())
        with self._write() as conn:
            for update in progress:
                self._progress_in(conn, update, at, worker_id)
            done = self._finish_in(conn, outcomes, at, worker_id) if outcomes else set()
        seen: set[str] = set()
        applied = []
        for o in outcomes:
            applied.append(o.job_id in done and o.job_id not in seen)
            seen.add(o.job_id)
        return applied

    def _finish_in(
        self,
        conn: sqlite3.Connection,
        outcomes: Sequence[Outcome],
        at: float,
        worker_id: str | None = None,
    ) -> set[str]:
        """Apply outcomes (one statement) and write their events; return the ids applied."""
        doc = c.dumps(
            [
                [
                    o.job_id,
                    o.attempt,
                    o.status.value,
                    at if o.status in TERMINAL_STATUSES else None,
                    None if o.result is None else c.dumps(o.result),
                    None if o.error is None else c.dumps(c.error_json(o.error)),
                    _ts(o.run_at) if o.run_at else None,
                    1 if o.status == JobStatus.QUEUED else 0,
                ]
                for o in outcomes
            ]
        )
        done = {r[0] for r in conn.execute(_Q["job_finish_many"], (doc, worker_id))}
        plain = [o for o in outcomes if o.job_id in done and c.is_plain(o)]
        conn.execute(
            _Q["status_events"],
            (at, c.dumps([[o.job_id, o.attempt, o.status.value] for o in plain])),
        )
        conn.executemany(
            _Q["event_insert"],
            [
                (o.job_id, at, kind, c.dumps(data))
                for o in outcomes
                if o.job_id in done and not c.is_plain(o)
                for kind, data in c.outcome_events(o)
            ],
        )
        return done

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
        with self._write() as conn:
            update = ProgressUpdate(job_id, attempt, percent, message)
            return self._progress_in(conn, update, _ts(now or utcnow()))

    def _progress_in(
        self, conn: sqlite3.Connection, u: ProgressUpdate, at: float, worker_id: str | None = None
    ) -> bool:
        """Record one progress update inside the caller's write transaction."""
        params = (u.percent, u.message, u.job_id, u.attempt, worker_id)
        cur = conn.execute(_Q["job_progress"], params)
        if cur.rowcount != 1:
            return False
        event = {"attempt": u.attempt, "percent": u.percent, "message": u.message}
        conn.execute(_Q["event_insert"], (u.job_id, at, EventKind.PROGRESS, c.dumps(event)))
        return True

    def _get_in(self, conn: sqlite3.Connection, job_id: str, tenant: str | None) -> Job:
        row = conn.execute(_Q["job_get"], (job_id,)).fetchone()
        if row is None or (tenant is not None and row[1] != tenant):
            raise NotFound(f"no job {job_id!r}")
        return _row_to_job(row)

    def job_cancel(
        self, job_id: str, *, tenant: str | None = None, now: datetime | None = None
    ) -> Job:
        """Cancel a waiting job, or flag a running one."""
        at = _ts(now or utcnow())
        with self._write() as conn:
            job = self._get_in(conn, job_id, tenant)
            if job.status.terminal:
                raise Conflict(f"job {job_id} already {job.status.value}")
            if job.status == JobStatus.RUNNING:
                if not job.cancel_requested:
                    conn.execute(_Q["job_set_cancel_requested"], (job_id,))
                    conn.execute(
                        _Q["event_insert"],
                        (job_id, at, EventKind.CANCEL_REQUESTED, c.dumps({"attempt": job.attempt})),
                    )
            else:
                err = c.dumps(c.error_json(c.cancelled_error()))
                conn.execute(_Q["job_set_cancelled"], (at, err, job_id))
                conn.execute(
                    _Q["event_insert"],
                    (
                        job_id,
                        at,
                        EventKind.STATUS,
                        c.dumps(c.status_event(JobStatus.CANCELLED, job.attempt)),
                    ),
                )
            return self._get_in(conn, job_id, None)

    def job_retry(
        self, job_id: str, *, tenant: str | None = None, now: datetime | None = None
    ) -> Job:
        """Queue a failed or cancelled job again."""
        at = _ts(now or utcnow())
        with self._write() as conn:
            job = self._get_in(conn, job_id, tenant)
            if job.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
                raise Conflict(
                    f"only failed or cancelled jobs can be retried; {job_id} is {job.status.value}"
                )
            try:
                conn.execute(_Q["job_requeue"], (at, job.attempt + 1, job_id))
            except sqlite3.IntegrityError as exc:
                raise Conflict(f"another live job holds unique key {job.unique_key!r}") from exc
            conn.execute(
                _Q["event_insert"],
                (
                    job_id,
                    at,
                    EventKind.STATUS,
                    c.dumps(c.status_event(JobStatus.QUEUED, job.attempt, retry=True)),
                ),
            )
            return self._get_in(conn, job_id, None)

    def job_delete(self, job_id: str, *, tenant: str | None = None) -> None:
        """Delete a finished job and its events."""
        with self._write() as conn:
            job = self._get_in(conn, job_id, tenant)
            if not job.status.terminal:
                raise Conflict(f"job {job_id} is {job.status.value}; cancel it first")
            conn.execute(_Q["job_delete_events"], (job_id,))
            conn.execute(_Q["job_delete"], (job_id,))

    # --- job reads ------------------------------------------------------------------------------
    def job_get(self, job_id: str, *, tenant: str | None = None) -> Job:
        """One job."""
        return self._get_in(self._conn(), job_id, tenant)

    def job_list(self, flt: JobFilter) -> list[Job]:
        """Jobs matching the filter, newest first."""
        rows = (
            self._conn()
            .execute(
                _Q["job_list"],
                (
                    flt.tenant,
                    flt.status.value if flt.status else None,
                    flt.queue,
                    flt.task,
                    flt.before,
                    flt.limit,
                ),
            )
            .fetchall()
        )
        return [_row_to_job(r) for r in rows]

    def job_events(self, job_id: str, *, after_seq: int = 0, limit: int = 1000) -> list[JobEvent]:
        """A job's events after ``after_seq``."""
        rows = self._conn().execute(_Q["job_events"], (job_id, after_seq, limit)).fetchall()
        out = []
        for seq, jid, at, kind, data in rows:
            out.append(c.make_event(seq, jid, _at(at), kind, json.loads(data)))
        return out

    def job_events_for(
        self, job_ids: Sequence[str], *, after_seq: int = 0, limit: int = 1000
    ) -> list[JobEvent]:
        """Events of any of these jobs after ``after_seq``, in ``seq`` order."""
        if not job_ids:
            return []
        params = (json.dumps(list(job_ids)), after_seq, limit)
        rows = self._conn().execute(_Q["job_events_for"], params).fetchall()
        return [
            c.make_event(seq, jid, _at(at), kind, json.loads(data))
            for seq, jid, at, kind, data in rows
        ]

    def job_events_last_seq(self) -> int:
        """The newest event's seq (0 without events)."""
        return int(self._conn().execute(_Q["job_events_last_seq"]).fetchone()[0])

    def job_stats(self, *, tenant: str | None = None) -> Stats:
        """Counts by queue and status."""
        counts: dict[str, dict[str, int]] = {}
        for queue, status, n in self._conn().execute(_Q["job_stats"], (tenant,)):
            counts.setdefault(queue, {})[status] = n
        return Stats(counts)

    def job_cancel_requested(self, job_ids: Sequence[str]) -> set[str]:
        """Running jobs among these that were asked to stop."""
        if not job_ids:
            return set()
        rows = self._conn().execute(_Q["job_cancel_requested"], (json.dumps(list(job_ids)),))
        return {r[0] for r in rows}


def _insert_row(job_id: str, job: NewJob, now: datetime) -> tuple[Any, ...]:
    """The parameters of ``job_insert`` for a new job."""
    return (
        job_id,
        job.tenant,
        job.task,
        c.dumps(job.args),
        job.queue,
        job.priority,
        c.initial_status(job, now).value,
        job.max_attempts,
        job.timeout_s,
        _ts(job.run_at or now),
        _ts(now),
        c.dumps(job.metadata),
        job.unique_key,
        job.cache_key,
    )


def _split_sql(script: str) -> list[str]:
    """Split a migration script into complete statements (a trigger body stays whole)."""
    statements, current = [], ""
    for line in script.splitlines():
        if line.strip().startswith("--"):
            continue
        current += line + "\n"
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return statements
