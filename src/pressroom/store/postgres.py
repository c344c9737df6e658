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
    The pool checks a connection before lending it, cheaply: only when its idle socket is
    readable (a server that restarted or killed the backend has sent an error or closed it) does
    it ask the server, and a dead connection is replaced. Then a failure with
    ``psycopg.OperationalError`` is retried with exponential backoff for up to 30 s if either the
    method only reads, or it failed before its statement could have committed (getting a
    connection, or ``BEGIN``), or the server reported the transaction rolled back (deadlock,
    serialisation failure). A write that fails later raises :class:`StoreError`: it may or may
    not have been applied, and retrying an insert or a claim blindly could duplicate it.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import set_json_dumps
from psycopg_pool import ConnectionPool, PoolClosed

from pressroom._fds import readable
from pressroom.core.errors import Conflict, InvalidInput, NotFound, StoreError
from pressroom.core.ids import new_id
from pressroom.core.models import (
    ClaimParams,
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
    WorkerInfo,
)
from pressroom.store import _common as c
from pressroom.store.postgres_access import PostgresAccess
from pressroom.store.postgres_batches import PostgresBatches
from pressroom.store.postgres_documents import PostgresDocuments
from pressroom.store.postgres_webhooks import PostgresWebhooks

_Q = c.load_queries("pressroom.store", "postgres_queries.sql")
_MIGRATIONS = c.load_migrations("pressroom.store.migrations.postgres")
_log = logging.getLogger(__name__)

_RETRY_DEADLINE_S = 30.0
_BACKOFF_FIRST_S = 0.05
_BACKOFF_MAX_S = 2.0
_ACQUIRE_TIMEOUT_S = 5.0
_LISTEN_BACKOFF_FIRST_S = 0.5
_LISTEN_BACKOFF_MAX_S = 30.0
_POOL_PARAMS = ("pool_min", "pool_max")
_LISTEN_OPTIONS: dict[str, Any] = {"connect_timeout": 5, "keepalives": 1, "keepalives_idle": 30}
_UNIQUE_RACE_TRIES = 3
_DRAIN_ROUNDS = 100
_PLAN_PER_CALL = frozenset({"job_heartbeat", "job_cancel_requested"})
"""Statements that look jobs up by a list of ids are planned on every call: a prepared, generic
plan cannot see the list's size and was seen to scan all of a deep queue (1,000,000 jobs: 12 s
per heartbeat, leases lost). Planning costs about 0.1 ms. ``job_finish`` is prepared: it reads
rows by primary key only (no join, no partial index can serve it), so its generic plan is the
same primary-key walk, and planning was a quarter of its cost (tests/contract pins the plan)."""

_COPY_TYPES = (
    "text", "text", "text", "jsonb", "text", "int4", "text", "int4", "float8", "timestamptz",
    "timestamptz", "jsonb", "text",
)  # fmt: skip
"""Column types of ``job_copy`` (binary COPY sends each value in its column's own format)."""

_OutcomeRow = tuple[str, int, str, Any, Any, str | None, int, list[dict[str, Any]] | None]
"""(id, attempt, status, result, error JSON, run_at ISO text, give_back, events or None)."""

_Conn = psycopg.Connection[TupleRow]
_T = TypeVar("_T")


def _dt(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is UTC:  # pool sessions use UTC: psycopg returns UTC
        return value
    return value.astimezone(UTC)


def _configure(conn: _Conn) -> None:
    """A new pool connection talks UTC, so timestamps arrive in UTC (converting each one to
    UTC was a tenth of the supervisor's time when claiming)."""
    conn.execute("SET TimeZone TO 'UTC'")


def _at(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _row_to_job(row: Sequence[Any]) -> Job:
    return c.row_to_job(row, _dt, lambda value: value)


def _order(job: Job) -> tuple[int, datetime, str]:
    return (-job.priority, job.run_at, job.id)


def _one(row: TupleRow | None) -> TupleRow:
    if row is None:
        raise StoreError("PostgreSQL returned no row where one was expected")
    return row


def _events(events: Sequence[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    return [{"kind": kind, "data": data} for kind, data in events]


def split_url(url: str) -> tuple[str, str, int, int]:
    """Split a store URL into (libpq conninfo, URL without password, pool min, pool max).

    ``pool_min`` (default 1) and ``pool_max`` (default 8) are Pressroom's own query parameters
    and are removed from the conninfo; every other parameter goes to libpq unchanged.
    """
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    ours = {k: v for k, v in query if k in _POOL_PARAMS}
    try:
        pool_min, pool_max = int(ours.get("pool_min", 1)), int(ours.get("pool_max", 8))
    except ValueError as exc:
        raise InvalidInput(f"pool_min and pool_max must be integers in {url!r}") from exc
    if pool_max < 1 or not 0 <= pool_min <= pool_max:
        raise InvalidInput(f"need 0 <= pool_min <= pool_max and pool_max >= 1 in {url!r}")
    conninfo = urlunsplit(
        parts._replace(query=urlencode([(k, v) for k, v in query if k not in _POOL_PARAMS]))
    )
    public = urlencode([(k, v) for k, v in query if k != "password"])
    netloc = re.sub(r":[^@]*@", "@", parts.netloc, count=1)  # drop a password
    return conninfo, urlunsplit(parts._replace(netloc=netloc, query=public)), pool_min, pool_max


def _check(conn: _Conn) -> None:
    """The pool's check: an idle connection with nothing to read is taken as alive; one whose
    socket is readable (an error or a hang-up from the server) gets a real round trip."""
    if conn.closed or conn.broken:
        raise psycopg.OperationalError("connection closed")
    if readable([conn.fileno()]):
        ConnectionPool.check_connection(conn)


class PostgresListener:
    """``LISTEN pressroom_jobs`` on a dedicated connection (not from the pool).

    :meth:`fileno` is the socket to wait on. When the connection breaks, :meth:`poll` returns True
    (callers claim, as on a hint); while it is down every poll says True, :meth:`fileno` is None,
    and polls try to reconnect after 0.5 s, doubling up to 30 s between attempts.
    """

    poll_interval_s = 0.5

    def __init__(self, conninfo: str) -> None:
        """Connect and listen; if the server is unreachable, start disconnected."""
        self._conninfo = conninfo
        self._conn: _Conn | None = None
        self._delay = _LISTEN_BACKOFF_FIRST_S
        self._next_try = 0.0
        self._closed = False
        self._connect()

    def _connect(self) -> None:
        conn: _Conn | None = None
        try:
            conn = psycopg.connect(self._conninfo, autocommit=True, **_LISTEN_OPTIONS)
            conn.execute(_Q["listen"])
        except psycopg.OperationalError as exc:
            if conn is not None:
                conn.close()
            _log.warning("LISTEN connection failed (%s); retrying in %.1f s", exc, self._delay)
            self._next_try = time.monotonic() + self._delay
            self._delay = min(self._delay * 2, _LISTEN_BACKOFF_MAX_S)
            return
        self._conn = conn
        self._delay = _LISTEN_BACKOFF_FIRST_S

    def fileno(self) -> int | None:
        """The listening socket, or None while disconnected."""
        conn = self._conn
        return None if conn is None or conn.closed else conn.fileno()

    def poll(self) -> bool:
        """Drain pending notifications without blocking; True if any arrived or if disconnected."""
        if self._closed:
            return False
        if self._conn is None:
            if time.monotonic() >= self._next_try:
                self._connect()
            return True
        heard = False
        try:
            # Drain while the socket stays readable: a server that killed the backend sends an
            # error (read as a mere notice) and then EOF, which only the next read reports.
            for _ in range(_DRAIN_ROUNDS):
                if sum(1 for _ in self._conn.notifies(timeout=0)):
                    heard = True
                elif not readable([self._conn.fileno()]):
                    break
        except psycopg.Error as exc:
            _log.warning("LISTEN connection lost: %s", exc)
            self._conn.close()
            self._conn = None
            return True
        return heard

    def close(self) -> None:
        """Close the connection."""
        self._closed = True
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class PostgresStore(PostgresDocuments, PostgresAccess, PostgresWebhooks, PostgresBatches):
    """A job store in a PostgreSQL database (tables prefixed ``pressroom_``); templates and the
    result cache: :class:`PostgresDocuments`."""

    supports_listener = True

    def __init__(self, url: str) -> None:
        """Open a pool on ``url`` (``postgresql://…``; ``?pool_min=``/``?pool_max=`` size it)."""
        self._conninfo, self.url, pool_min, pool_max = split_url(url)
        self._pool: ConnectionPool[_Conn] = ConnectionPool(
            self._conninfo,
            min_size=pool_min,
            max_size=pool_max,
            open=True,
            name="pressroom",
            kwargs={"autocommit": True},
            check=_check,
            configure=_configure,
            timeout=_ACQUIRE_TIMEOUT_S,
            num_workers=2,
        )

    # --- connections and retries ----------------------------------------------------------------
    def _run(self, op: Callable[[_Conn], _T], *, write: bool, tx: bool = False) -> _T:
        """Run ``op`` on a pooled connection (in a transaction if ``tx``), retrying when safe."""
        deadline = time.monotonic() + _RETRY_DEADLINE_S
        delay = _BACKOFF_FIRST_S
        while True:
            started = False
            try:
                with self._pool.connection() as conn:
                    if not tx:
                        started = True
                        return op(conn)
                    with conn.transaction():
                        started = True
                        return op(conn)
            except PoolClosed as exc:
                raise StoreError("the store is closed") from exc
            except psycopg.OperationalError as exc:
                rolled_back = isinstance(exc, psycopg.errors.TransactionRollback)
                if write and started and not rolled_back:
                    raise StoreError(
                        f"PostgreSQL failed during a write, which may or may not "
                        f"have been applied: {exc}"
                    ) from exc
                if time.monotonic() + delay > deadline:
                    raise StoreError(f"PostgreSQL unavailable: {exc}") from exc
                _log.warning("PostgreSQL unavailable (%s); retrying in %.2f s", exc, delay)
                time.sleep(delay * random.uniform(0.5, 1.0))
                delay = min(delay * 2, _BACKOFF_MAX_S)
            except psycopg.Error as exc:
                raise StoreError(f"PostgreSQL error: {exc}") from exc

    def _fetch(self, name: str, params: dict[str, Any], *, write: bool) -> list[TupleRow]:
        """All rows (if it returns any) of one named query, sent as one statement."""

        def op(conn: _Conn) -> list[TupleRow]:
            cur = conn.execute(_Q[name], params, prepare=False if name in _PLAN_PER_CALL else None)
            return cur.fetchall() if cur.description else []

        return self._run(op, write=write)

    def _value(self, name: str, params: dict[str, Any], *, write: bool) -> Any:
        """The first column of the one row a named query returns."""
        return _one(next(iter(self._fetch(name, params, write=write)), None))[0]

    def close(self) -> None:
        """Close the pool."""
        self._pool.close()

    def listener(self) -> PostgresListener:
        """A listener on its own connection."""
        return PostgresListener(self._conninfo)

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
        """Claim up to ``params.limit`` jobs, best first, honouring queue limits."""
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
        self, conn: _Conn, rows: Sequence[_OutcomeRow], now: datetime | None
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
        params = {"ids": [r[0] for r in rows], "outcomes": c.dumps(outcomes), "now": now}
        cur = conn.execute(_Q["job_finish"], params)
        return {(r[0], r[1]) for r in cur}

    def job_finish(
        self,
        outcomes: Sequence[Outcome],
        *,
        progress: Sequence[ProgressUpdate] = (),
        now: datetime | None = None,
    ) -> list[bool]:
        """Record progress, then apply outcomes fenced by (id, attempt), one statement each, in
        one transaction; True where applied (only the first of several outcomes for one attempt
        can apply, as when applied one by one)."""
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
                None if c.is_plain(o) else _events(c.outcome_events(o)),
            )
            for o in first
        ]

        def op(conn: _Conn) -> set[tuple[str, int]]:
            if progress:
                self._progress_in(conn, progress, now)
            return self._apply(conn, rows, now) if rows else set()

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
        self, conn: _Conn, updates: Sequence[ProgressUpdate], now: datetime | None
    ) -> int:
        """Record progress updates in one statement; return how many applied."""
        doc = {f"{u.job_id}:{u.attempt}": {"p": float(u.percent), "m": u.message} for u in updates}
        params = {"ids": [u.job_id for u in updates], "updates": c.dumps(doc), "now": now}
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

    def _rescue(self, query: str, params: dict[str, Any], error: JobError) -> list[str]:
        def op(conn: _Conn) -> list[str]:
            held = conn.execute(_Q[query], params).fetchall()
            if not held:
                return []
            at: datetime = held[0][4]
            rows: list[_OutcomeRow] = []
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
                        _events(logged),
                    )
                )
            applied = self._apply(conn, rows, at)
            return [r[0] for r in rows if (r[0], r[1]) in applied]

        return self._run(op, write=True, tx=True)

    def job_rescue(self, *, now: datetime | None = None) -> list[str]:
        """Rescue running jobs whose lease expired (skipping rows another session holds)."""
        return self._rescue("expired_leases", {"now": now}, c.LEASE_EXPIRED)

    def job_rescue_worker(self, worker_id: str, *, now: datetime | None = None) -> list[str]:
        """Rescue every job a dead worker held."""
        params = {"now": now, "worker_id": worker_id}
        return self._rescue("held_by_worker", params, c.WORKER_DIED)

    def job_promote(self, *, now: datetime | None = None) -> int:
        """Queue scheduled jobs that are due, and notify their queues."""
        return int(self._value("job_promote", {"now": now}, write=True))

    def job_purge(self, finished_before: datetime) -> int:
        """Delete finished jobs older than the cut-off, a thousand per statement."""
        total = 0
        while deleted := int(self._value("job_purge", {"before": finished_before}, write=True)):
            total += deleted
        return total

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

    # --- workers and coordination ---------------------------------------------------------------
    def worker_upsert(self, info: WorkerInfo) -> None:
        """Register or refresh a worker."""
        params = {**asdict(info), "queues": c.dumps(info.queues), "running": c.dumps(info.running)}
        self._fetch("worker_upsert", params, write=True)

    def worker_delete(self, worker_id: str) -> None:
        """Remove a worker."""
        self._fetch("worker_delete", {"id": worker_id}, write=True)

    def worker_list(self) -> list[WorkerInfo]:
        """All workers, newest first."""
        rows = self._fetch("worker_list", {}, write=False)
        return [
            WorkerInfo(wid, host, pid, tuple(queues), n, _at(started), _at(beat), tuple(running))
            for wid, host, pid, queues, n, started, beat, running in rows
        ]

    def worker_prune(self, silent_since: datetime) -> list[str]:
        """Remove silent workers."""
        return [r[0] for r in self._fetch("worker_prune", {"before": silent_since}, write=True)]

    def leader_attempt_elect(
        self, name: str, node_id: str, ttl_s: float, *, now: datetime | None = None
    ) -> bool:
        """Take or keep a leadership lease, in one statement."""
        params = {"name": name, "node_id": node_id, "ttl_s": float(ttl_s), "now": now}
        return bool(self._fetch("leader_elect", params, write=True))

    def cron_enqueue(
        self, name: str, tick: datetime, job: NewJob, *, now: datetime | None = None
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

    def queue_limits_set(self, limits: QueueLimits) -> None:
        """Set or clear a queue's limits (setting them refills the bucket)."""
        clear = limits.concurrency is None and limits.rate_count is None
        self._fetch(
            "queue_limits_delete" if clear else "queue_limits_set", asdict(limits), write=True
        )

    def queue_limits_list(self) -> list[QueueLimits]:
        """Queues with limits."""
        return [QueueLimits(*r) for r in self._fetch("queue_limits_list", {}, write=False)]
