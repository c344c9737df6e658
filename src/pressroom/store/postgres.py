"""The PostgreSQL driver: psycopg 3, a small connection pool, LISTEN/NOTIFY wake-ups.

Transactions
    Pool connections are in autocommit mode. A method that needs one statement sends one
    statement (its own implicit transaction: claims, inserts, finishes are each one round trip);
    a method that needs several wraps them in ``with conn.transaction()``. No transaction
    outlives the method that opened it.

Claims
    ``SELECT … FOR UPDATE SKIP LOCKED`` in a CTE feeds ``UPDATE … RETURNING`` and the event-log
    insert, all one statement. A claim first asks only for queues without limits (a guard in the
    statement itself); when that yields nothing and a queue has limits, the claim is redone in a
    transaction that locks those queues' rows in ``pressroom_queues``, counts their running jobs
    in a later statement (so it sees every claim committed before the lock), and spends rate
    tokens. Unlimited queues never touch that lock.

Clock
    Without ``now``, time comes from the database (``coalesce(%(now)s, now())``), so every node
    measures leases, schedules and leadership by one clock.

Reconnecting
    Statements run through :class:`~pressroom.store.postgres_connection.PostgresConnection`,
    which checks pooled connections and retries a failure only when that is safe (its module
    says when).

Modules
    This one holds schema, job writes, claims and reads; rescue, promotion, purging, workers,
    leadership, cron ticks and queue limits are in ``postgres_maintenance.py``; the pool, retries
    and ``LISTEN`` in ``postgres_connection.py``; the other tables in ``postgres_*.py`` mixins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import set_json_dumps

from pressroom.core.errors import Conflict, NotFound, StoreError
from pressroom.core.ids import new_id
from pressroom.core.models import (
    ClaimParams,
    HeartbeatReply,
    Job,
    JobEvent,
    JobFilter,
    JobStatus,
    NewJob,
    Outcome,
    ProgressUpdate,
    Stats,
)
from pressroom.store import _common as c
from pressroom.store._postgres_mixin import OutcomeRow, event_docs
from pressroom.store.postgres_access import PostgresAccess
from pressroom.store.postgres_batches import PostgresBatches
from pressroom.store.postgres_connection import PostgresConnection, _one
from pressroom.store.postgres_documents import PostgresDocuments
from pressroom.store.postgres_maintenance import PostgresMaintenance
from pressroom.store.postgres_webhooks import PostgresWebhooks

_Q = c.load_queries("pressroom.store", "postgres_queries.sql")
_MIGRATIONS = c.load_migrations("pressroom.store.migrations.postgres")
_UNIQUE_RACE_TRIES = 3

_COPY_TYPES = (
    "text", "text", "text", "jsonb", "text", "int4", "text", "int4", "float8", "timestamptz",
    "timestamptz", "jsonb", "text",
)  # fmt: skip
"""Column types of ``job_copy`` (binary COPY sends each value in its column's own format)."""

_Conn = psycopg.Connection[TupleRow]


def _dt(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is UTC:  # pool sessions use UTC: psycopg returns UTC
        return value
    return value.astimezone(UTC)


def _at(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _row_to_job(row: Sequence[Any]) -> Job:
    return c.row_to_job(row, _dt, lambda value: value)


def _order(job: Job) -> tuple[int, datetime, str]:
    return (-job.priority, job.run_at, job.id)


class PostgresStore(
    PostgresDocuments,
    PostgresAccess,
    PostgresWebhooks,
    PostgresBatches,
    PostgresMaintenance,
    PostgresConnection,
):
    """A job store in a PostgreSQL database (tables prefixed ``pressroom_``); templates and the
    result cache: :class:`PostgresDocuments`; rescue, workers, leadership, cron and queue limits:
    :class:`PostgresMaintenance`; the pool and retries: :class:`PostgresConnection`."""

    supports_listener = True

    # --- schema ---------------------------------------------------------------------------------
    def migrate(self) -> list[int]:
        """Apply pending migrations in one transaction, under an advisory lock so that nodes
        migrating at once apply each version once."""

        def op(conn: _Conn) -> list[int]:
            conn.execute(_Q["migrations_lock"])
            conn.execute(_Q["migrations_table"])
            done = {r[0] for r in conn.execute(_Q["migrations_applied"])}
            applied = []
            for version, script in _MIGRATIONS:
                if version not in done:
                    conn.execute(script)
                    conn.execute(_Q["migrations_add"], {"version": version})
                    applied.append(version)
            return applied

        return self._run(op, write=True, tx=True)

    def schema_version(self) -> tuple[int, int]:
        """(version in the database, newest version known)."""
        latest = _MIGRATIONS[-1][0]
        if not self._value("migrations_table_exists", {}, write=False):
            return 0, latest
        return int(self._value("migrations_current", {}, write=False)), latest

    # --- job writes -----------------------------------------------------------------------------
    def _insert(self, conn: _Conn, job: NewJob, now: datetime | None) -> tuple[Job, bool]:
        params = {
            "tenant": job.tenant,
            "task": job.task,
            "args": c.dumps(job.args),
            "queue": job.queue,
            "priority": job.priority,
            "max_attempts": job.max_attempts,
            "timeout_s": job.timeout_s,
            "run_at": job.run_at,
            "metadata": c.dumps(job.metadata),
            "unique_key": job.unique_key,
            "cache_key": job.cache_key,
            "now": now,
        }
        for _ in range(_UNIQUE_RACE_TRIES):
            job_id = new_id()
            row = conn.execute(_Q["job_insert"], {**params, "id": job_id}).fetchone()
            if row is not None:  # the job is what was sent, created at the returned time
                return c.job_from_new(job_id, job, _at(row[0])), True
            held = conn.execute(_Q["job_by_unique_key"], params).fetchone()
            if held is not None:
                return _row_to_job(held), False
        raise StoreError(f"unique key {job.unique_key!r} keeps changing hands; try again")

    def job_insert(self, job: NewJob, *, now: datetime | None = None) -> tuple[Job, bool]:
        """Insert one job (one statement, with its event and a notification), or return the
        live job already holding its unique key."""
        return self._run(lambda conn: self._insert(conn, job, now), write=True)

    def job_insert_many(self, jobs: Sequence[NewJob], *, now: datetime | None = None) -> list[str]:
        """Insert many jobs with ``COPY`` (binary rows, encoded in C), then their events and
        notifications in one statement, in one transaction."""
        return self._run(lambda conn: self._insert_many_in(conn, jobs, now), write=True, tx=True)

    def _insert_many_in(
        self, conn: _Conn, jobs: Sequence[NewJob], now: datetime | None
    ) -> list[str]:
        """Insert jobs on ``conn`` inside the caller's transaction (``COPY``, then one statement
        for their creation events)."""
        c.check_bulk(jobs)
        ids = [new_id() for _ in jobs]
        if not ids:
            return ids
        at = now or _one(conn.execute(_Q["tx_now"], {"now": None}).fetchone())[0]
        cursor = conn.cursor()
        set_json_dumps(c.dumps, cursor)
        with cursor.copy(_Q["job_copy"]) as copy:
            copy.set_types(_COPY_TYPES)
            for job_id, job in zip(ids, jobs, strict=True):
                run_at = job.run_at or at
                copy.write_row(
                    (
                        job_id,
                        job.tenant,
                        job.task,
                        job.args,
                        job.queue,
                        job.priority,
                        "scheduled" if run_at > at else "queued",
                        job.max_attempts,
                        job.timeout_s,
                        run_at,
                        at,
                        job.metadata,
                        job.cache_key,
                    )
                )
        conn.execute(_Q["job_copied_events"], {"first": min(ids), "last": max(ids), "at": at})
        return ids

    def job_claim(self, params: ClaimParams) -> list[Job]:
        """Claim up to ``params.limit`` jobs, best first, honouring queue limits.

        A claim commits asynchronously (``synchronous_commit`` off for its own transaction):
        it returns without waiting for its WAL flush (0.2 ms warm, about 0.5 ms after an idle
        pause on the benchmark machine). A crash of the server can forget a claim of its last
        moments; the job is then queued again under its previous attempt number and runs
        again. The forgotten run cannot write over the new one: a worker's outcomes and
        progress are fenced by its id as well as the attempt, its heartbeat reports the job
        lost, and a worker that claims a job it still runs stops the old run first. Submits
        and outcomes commit synchronously, and each such commit flushes every claim before it.
        """
        if params.limit <= 0 or not params.queues:
            return []
        queues = list(dict.fromkeys(params.queues))
        args = {**asdict(params), "lease_s": float(params.lease_s), "gated": True}
        jobs = self._run(lambda conn: self._claim(conn, queues, None, args), write=True)
        if not jobs and self._value("queue_has_limits", {"queues": queues}, write=False):
            jobs = self._run(
                lambda conn: self._claim_limited(conn, queues, args), write=True, tx=True
            )
        return sorted(jobs, key=_order)

    def _claim(
        self, conn: _Conn, queues: list[str], wants: list[int] | None, args: dict[str, Any]
    ) -> list[Job]:
        wants = wants or [args["limit"]] * len(queues)
        if len(queues) == 1:
            query = {**args, "queue": queues[0], "limit": min(wants[0], args["limit"])}
            rows = conn.execute(_Q["job_claim_one"], query).fetchall()
        else:
            query = {**args, "queues": queues, "wants": wants}
            rows = conn.execute(_Q["job_claim_many"], query).fetchall()
        return [_row_to_job(r) for r in rows]

    def _claim_limited(self, conn: _Conn, queues: list[str], args: dict[str, Any]) -> list[Job]:
        args = {**args, "gated": False}
        locked = conn.execute(_Q["queue_limits_lock"], {**args, "queues": queues}).fetchall()
        if not locked:  # the limits went away since we looked
            return self._claim(conn, queues, None, args)
        now: datetime = locked[0][6]
        states = {r[0]: c.QueueState(*r[:6]) for r in locked}
        counted = [s.name for s in states.values() if s.concurrency is not None]
        running: dict[str, int] = {}
        if counted:
            running = dict(conn.execute(_Q["queue_running_counts"], {"queues": counted}))
        limit = args["limit"]
        allowed = {q: s.allowance(limit, running.get(q, 0), now) for q, s in states.items()}
        wants = [allowed.get(q, limit) for q in queues]
        if not any(wants):
            return []
        jobs = self._claim(conn, queues, wants, {**args, "now": now})
        rated = [s for s in states.values() if s.rate_count is not None]
        if jobs and rated:
            tokens = [s.tokens_after(sum(j.queue == s.name for j in jobs), now) for s in rated]
            update = {"names": [s.name for s in rated], "tokens": tokens, "now": now}
            conn.execute(_Q["queue_tokens_update"], update)
        return jobs

    def job_heartbeat(
        self,
        worker_id: str,
        held: Sequence[tuple[str, int]],
        lease_s: float,
        *,
        now: datetime | None = None,
    ) -> HeartbeatReply:
        """Extend the leases of held jobs, in one statement."""
        if not held:
            return HeartbeatReply(frozenset(), frozenset())
        ids, attempts = (list(col) for col in zip(*held, strict=True))
        params = {"ids": ids, "attempts": attempts, "worker_id": worker_id, "now": now}
        rows = self._fetch("job_heartbeat", {**params, "lease_s": float(lease_s)}, write=True)
        alive = {r[0]: bool(r[1]) for r in rows}
        return HeartbeatReply(
            frozenset(i for i, cancel in alive.items() if cancel),
            frozenset(i for i in ids if i not in alive),
        )

    def _apply(
        self,
        conn: _Conn,
        rows: Sequence[OutcomeRow],
        now: datetime | None,
        worker_id: str | None = None,
    ) -> set[tuple[str, int]]:
        """Apply fenced outcomes; return the (id, attempt) pairs applied."""
        outcomes = {
            f"{job_id}:{attempt}": {
                "s": status,
                "r": result,
                "e": error,
                "t": run_at,
                "g": g,
                "v": ev,
            }
            for job_id, attempt, status, result, error, run_at, g, ev in rows
        }
        params = {
            "ids": [r[0] for r in rows],
            "outcomes": c.dumps(outcomes),
            "worker_id": worker_id,
            "now": now,
        }
        cur = conn.execute(_Q["job_finish"], params)
        return {(r[0], r[1]) for r in cur}

    def job_finish(
        self,
        outcomes: Sequence[Outcome],
        *,
        progress: Sequence[ProgressUpdate] = (),
        worker_id: str | None = None,
        now: datetime | None = None,
    ) -> list[bool]:
        """Record progress, then apply outcomes fenced by (id, attempt[, worker]), one statement
        each, in one transaction; True where applied (only the first of several outcomes for
        one attempt can apply, as when applied one by one)."""
        first = list({(o.job_id, o.attempt): o for o in reversed(outcomes)}.values())[::-1]
        if not first and not progress:
            return []
        rows = [
            (
                o.job_id,
                o.attempt,
                o.status.value,
                o.result,
                None if o.error is None else c.error_json(o.error),
                None if o.run_at is None else o.run_at.isoformat(),
                int(o.status == JobStatus.QUEUED),
                None if c.is_plain(o) else event_docs(c.outcome_events(o)),
            )
            for o in first
        ]

        def op(conn: _Conn) -> set[tuple[str, int]]:
            if progress:
                self._progress_in(conn, progress, now, worker_id)
            return self._apply(conn, rows, now, worker_id) if rows else set()

        applied = self._run(op, write=True, tx=bool(progress) and bool(rows))
        sent = {id(o) for o in first}
        return [id(o) in sent and (o.job_id, o.attempt) in applied for o in outcomes]

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
        update = ProgressUpdate(job_id, attempt, percent, message)
        return bool(self._run(lambda conn: self._progress_in(conn, [update], now), write=True))

    def _progress_in(
        self,
        conn: _Conn,
        updates: Sequence[ProgressUpdate],
        now: datetime | None,
        worker_id: str | None = None,
    ) -> int:
        """Record progress updates in one statement; return how many applied."""
        doc = {f"{u.job_id}:{u.attempt}": {"p": float(u.percent), "m": u.message} for u in updates}
        params = {
            "ids": [u.job_id for u in updates],
            "updates": c.dumps(doc),
            "worker_id": worker_id,
            "now": now,
        }
        return int(_one(conn.execute(_Q["job_progress"], params).fetchone())[0])

    def _get(self, conn: _Conn, job_id: str, tenant: str | None, query: str = "job_get") -> Job:
        row = conn.execute(_Q[query], {"id": job_id}).fetchone()
        if row is None or (tenant is not None and row[1] != tenant):
            raise NotFound(f"no job {job_id!r}")
        return _row_to_job(row)

    def job_cancel(
        self, job_id: str, *, tenant: str | None = None, now: datetime | None = None
    ) -> Job:
        """Cancel a waiting job, or flag a running one."""
        params = {"id": job_id, "now": now, "error": c.dumps(c.error_json(c.cancelled_error()))}

        def op(conn: _Conn) -> Job:
            job = self._get(conn, job_id, tenant, "job_get_for_update")
            if job.status.terminal:
                raise Conflict(f"job {job_id} already {job.status.value}")
            if job.status == JobStatus.RUNNING and job.cancel_requested:
                return job
            running = job.status == JobStatus.RUNNING
            query = _Q["job_request_cancel" if running else "job_set_cancelled"]
            return _row_to_job(_one(conn.execute(query, params).fetchone()))

        return self._run(op, write=True, tx=True)

    def job_retry(
        self, job_id: str, *, tenant: str | None = None, now: datetime | None = None
    ) -> Job:
        """Queue a failed or cancelled job again."""

        def op(conn: _Conn) -> Job:
            job = self._get(conn, job_id, tenant, "job_get_for_update")
            if job.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
                raise Conflict(
                    f"only failed or cancelled jobs can be retried; {job_id} is {job.status.value}"
                )
            try:
                row = conn.execute(_Q["job_requeue"], {"id": job_id, "now": now}).fetchone()
            except psycopg.errors.UniqueViolation as exc:
                raise Conflict(f"another live job holds unique key {job.unique_key!r}") from exc
            return _row_to_job(_one(row))

        return self._run(op, write=True, tx=True)

    def job_delete(self, job_id: str, *, tenant: str | None = None) -> None:
        """Delete a finished job and its events (one statement when it can be deleted)."""

        def op(conn: _Conn) -> None:
            row = conn.execute(_Q["job_delete"], {"id": job_id, "tenant": tenant}).fetchone()
            if not _one(row)[0]:
                job = self._get(conn, job_id, tenant)
                raise Conflict(f"job {job_id} is {job.status.value}; cancel it first")

        self._run(op, write=True)

    # --- job reads ------------------------------------------------------------------------------
    def job_get(self, job_id: str, *, tenant: str | None = None) -> Job:
        """One job."""
        return self._run(lambda conn: self._get(conn, job_id, tenant), write=False)

    def job_list(self, flt: JobFilter) -> list[Job]:
        """Jobs matching the filter, newest first."""
        params = {**asdict(flt), "status": flt.status.value if flt.status else None}
        return [_row_to_job(r) for r in self._fetch("job_list", params, write=False)]

    def job_events(self, job_id: str, *, after_seq: int = 0, limit: int = 1000) -> list[JobEvent]:
        """A job's events after ``after_seq``."""
        params = {"id": job_id, "after_seq": after_seq, "limit": limit}
        rows = self._fetch("job_events", params, write=False)
        return [c.make_event(seq, jid, _at(at), kind, data) for seq, jid, at, kind, data in rows]

    def job_events_for(
        self, job_ids: Sequence[str], *, after_seq: int = 0, limit: int = 1000
    ) -> list[JobEvent]:
        """Events of any of these jobs after ``after_seq``, in ``seq`` order."""
        if not job_ids:
            return []
        params = {"ids": list(job_ids), "after_seq": after_seq, "limit": limit}
        rows = self._fetch("job_events_for", params, write=False)
        return [c.make_event(seq, jid, _at(at), kind, data) for seq, jid, at, kind, data in rows]

    def job_events_last_seq(self) -> int:
        """The newest event's seq (0 without events)."""
        rows = self._fetch("job_events_last_seq", {}, write=False)
        return int(rows[0][0])

    def job_stats(self, *, tenant: str | None = None) -> Stats:
        """Counts by queue and status."""
        counts: dict[str, dict[str, int]] = {}
        for queue, status, n in self._fetch("job_stats", {"tenant": tenant}, write=False):
            counts.setdefault(queue, {})[status] = n
        return Stats(counts)

    def job_cancel_requested(self, job_ids: Sequence[str]) -> set[str]:
        """Running jobs among these that were asked to stop."""
        if not job_ids:
            return set()
        rows = self._fetch("job_cancel_requested", {"ids": list(job_ids)}, write=False)
        return {r[0] for r in rows}
