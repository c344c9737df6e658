"""The SQLite driver's connections: one per thread, ``BEGIN IMMEDIATE`` write transactions
retried while the file is busy, the data-version listener and the timestamp conversions;
mixed into :class:`~pressroom.store.sqlite.SQLiteStore`.
"""

from __future__ import annotations

import functools
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from pressroom.core.errors import StoreError

_LOCK_RETRY_DEADLINE_S = 60.0
_COUNT_FILE = "PRESSROOM_SQLITE_COUNT_FILE"


def _connect(path: str, timeout: float = 5.0) -> sqlite3.Connection:
    """A connection; with ``PRESSROOM_SQLITE_COUNT_FILE`` set (benchmarks only), every statement
    it runs appends one byte to that file, so the file's size counts the statements of every
    process sharing it (``bench/http_bench.py --sse-streams`` reads it)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=timeout)
    count_file = os.environ.get(_COUNT_FILE)
    if count_file:
        fd = _count_fd(count_file)
        conn.set_trace_callback(lambda _sql: os.write(fd, b"."))
    return conn


@functools.cache
def _count_fd(path: str) -> int:
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)


def _ts(value: datetime) -> float:
    return value.timestamp()


def _dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _at(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _while_busy(step: Callable[[], object]) -> None:
    """Run ``step`` until the database file is not busy (backoff with jitter, 1 ms doubling
    to 100 ms), for up to the lock-retry deadline; then, or on any other error, StoreError."""
    deadline = time.monotonic() + _LOCK_RETRY_DEADLINE_S
    delay = 0.001
    while True:
        try:
            step()
            return
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() > deadline:
                raise StoreError(f"SQLite write failed: {exc}") from exc
            time.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, 0.1)


class SQLiteListener:
    """Polls ``PRAGMA data_version``, which changes when another connection commits."""

    poll_interval_s = 0.003

    def __init__(self, path: str) -> None:
        """Open a read connection on ``path``."""
        self._conn = _connect(path)
        self._version = self._read()

    def _read(self) -> int:
        row = self._conn.execute("PRAGMA data_version").fetchone()
        return int(row[0])

    def fileno(self) -> int | None:
        """SQLite cannot notify: None, so callers poll."""
        return None

    def poll(self) -> bool:
        """True when another connection has committed since the last poll."""
        version = self._read()
        changed = version != self._version
        self._version = version
        return changed

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


class SQLiteConnections:
    """Per-thread connections, write transactions and lock retries, mixed into
    :class:`~pressroom.store.sqlite.SQLiteStore` (whose ``__init__`` sets the attributes)."""

    path: str
    _synchronous: str
    _local: threading.local
    _all: list[sqlite3.Connection]
    _all_lock: threading.Lock

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.path)
            conn.execute(f"PRAGMA synchronous={self._synchronous}")
            conn.execute("PRAGMA busy_timeout=5000")
            conn.execute("PRAGMA temp_store=MEMORY")
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction taken with BEGIN IMMEDIATE, retried while the file is busy."""
        conn = self._conn()
        _while_busy(lambda: conn.execute("BEGIN IMMEDIATE"))
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _write_one(self, sql: str, params: Sequence[Any]) -> None:
        """One statement in autocommit: its own transaction, taking the write lock at once (as
        BEGIN IMMEDIATE would), retried while the file is busy."""
        conn = self._conn()
        _while_busy(lambda: conn.execute(sql, params))

    def close(self) -> None:
        """Close every connection this store opened."""
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()

    def listener(self) -> SQLiteListener:
        """A listener that polls the file's data version."""
        return SQLiteListener(self.path)
