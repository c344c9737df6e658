"""The PostgreSQL driver's connections: the pool (each connection set to UTC, checked cheaply
before it is lent), running statements on it with retries, and the ``LISTEN`` connection;
:class:`PostgresConnection` is the base of :class:`~pressroom.store.postgres.PostgresStore`.

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
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool, PoolClosed

from pressroom._fds import readable
from pressroom.core.errors import InvalidInput, StoreError
from pressroom.store import _common as c

_Q = c.load_queries("pressroom.store", "postgres_queries.sql")
_log = logging.getLogger(__name__)

_RETRY_DEADLINE_S = 30.0
_BACKOFF_FIRST_S = 0.05
_BACKOFF_MAX_S = 2.0
_ACQUIRE_TIMEOUT_S = 5.0
_LISTEN_BACKOFF_FIRST_S = 0.5
_LISTEN_BACKOFF_MAX_S = 30.0
_POOL_PARAMS = ("pool_min", "pool_max")
_LISTEN_OPTIONS: dict[str, Any] = {"connect_timeout": 5, "keepalives": 1, "keepalives_idle": 30}
_DRAIN_ROUNDS = 100
_PLAN_PER_CALL = frozenset({"job_heartbeat", "job_cancel_requested"})
"""Statements that look jobs up by a list of ids are planned on every call: a prepared, generic
plan cannot see the list's size and was seen to scan all of a deep queue (1,000,000 jobs: 12 s
per heartbeat, leases lost). Planning costs about 0.1 ms. ``job_finish`` is prepared: it reads
rows by primary key only (no join, no partial index can serve it), so its generic plan is the
same primary-key walk, and planning was a quarter of its cost (tests/contract pins the plan)."""

_Conn = psycopg.Connection[TupleRow]
_T = TypeVar("_T")


def _configure(conn: _Conn) -> None:
    """A new pool connection talks UTC, so timestamps arrive in UTC (converting each one to
    UTC was a tenth of the supervisor's time when claiming)."""
    conn.execute("SET TimeZone TO 'UTC'")


def _one(row: TupleRow | None) -> TupleRow:
    if row is None:
        raise StoreError("PostgreSQL returned no row where one was expected")
    return row


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


class PostgresConnection:
    """A pool of autocommit connections, and running one operation on it with retries (see
    Reconnecting in the module notes); the base of
    :class:`~pressroom.store.postgres.PostgresStore`."""

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
