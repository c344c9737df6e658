"""The SQLite driver's batches; mixed into :class:`~pressroom.store.sqlite.SQLiteStore`."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Protocol

from pressroom.core.batches import Batch, BatchMember
from pressroom.core.errors import NotFound
from pressroom.core.models import NewJob, utcnow
from pressroom.store import _batches as b
from pressroom.store import _common as c

_Q = c.load_queries("pressroom.store", "sqlite_batches.sql")


class _Driver(Protocol):
    def _conn(self) -> sqlite3.Connection: ...

    def _write(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def _insert_many_in(
        self, conn: sqlite3.Connection, jobs: Sequence[NewJob], now: datetime
    ) -> list[str]: ...


class SQLiteBatches:
    """Batches on SQLite (see the Store protocol)."""

    def batch_insert(
        self: _Driver,
        batch_id: str,
        tenant: str,
        jobs: Sequence[NewJob],
        *,
        now: datetime | None = None,
    ) -> list[str]:
        """Insert a batch and its jobs in one transaction; return the jobs' ids in order."""
        at = now or utcnow()
        with self._write() as conn:
            ids = self._insert_many_in(conn, jobs, at)
            conn.execute(_Q["batch_insert"], (batch_id, tenant, len(ids), at.timestamp()))
            conn.executemany(
                _Q["batch_job_insert"], [(batch_id, i, job_id) for i, job_id in enumerate(ids)]
            )
        return ids

    def batch_members(self: _Driver, tenant: str, batch_id: str) -> list[BatchMember]:
        """A tenant's batch's jobs in submission order; NotFound if there is no such batch."""
        conn = self._conn()
        if conn.execute(_Q["batch_get"], (batch_id, tenant)).fetchone() is None:
            raise NotFound(f"no batch {batch_id!r}")
        return [b.member(r) for r in conn.execute(_Q["batch_members"], (batch_id,))]

    def batch_get(self: _Driver, tenant: str, batch_id: str) -> Batch:
        """A tenant's batch with counts by status; NotFound if there is no such batch."""
        conn = self._conn()
        row = conn.execute(_Q["batch_get"], (batch_id, tenant)).fetchone()
        if row is None:
            raise NotFound(f"no batch {batch_id!r}")
        members = [b.member(r) for r in conn.execute(_Q["batch_members"], (batch_id,))]
        return b.batch(row[0], row[1], int(row[2]), datetime.fromtimestamp(row[3], UTC), members)

    def batch_purge(self: _Driver, created_before: datetime) -> int:
        """Delete batches (not their jobs) created before the cut-off; return how many."""
        with self._write() as conn:
            conn.execute(_Q["batch_purge_members"], (created_before.timestamp(),))
            return int(conn.execute(_Q["batch_purge"], (created_before.timestamp(),)).rowcount)
