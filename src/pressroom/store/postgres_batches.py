"""The PostgreSQL driver's batches; mixed into :class:`~pressroom.store.postgres.PostgresStore`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol, TypeVar

import psycopg
from psycopg.rows import TupleRow

from pressroom.core.batches import Batch, BatchMember
from pressroom.core.errors import NotFound
from pressroom.core.models import NewJob
from pressroom.store import _batches as b
from pressroom.store import _common as c

_Q = c.load_queries("pressroom.store", "postgres_batches.sql")
_Conn = psycopg.Connection[TupleRow]
_T = TypeVar("_T")


class _Driver(Protocol):
    def _run(self, op: Callable[[_Conn], _T], *, write: bool, tx: bool = False) -> _T: ...

    def _insert_many_in(
        self, conn: _Conn, jobs: Sequence[NewJob], now: datetime | None
    ) -> list[str]: ...


def _read(conn: _Conn, tenant: str, batch_id: str) -> tuple[TupleRow, list[BatchMember]]:
    row = conn.execute(_Q["batch_get"], {"id": batch_id, "tenant": tenant}).fetchone()
    if row is None:
        raise NotFound(f"no batch {batch_id!r}")
    members = [b.member(r) for r in conn.execute(_Q["batch_members"], {"id": batch_id})]
    return row, members


class PostgresBatches:
    """Batches on PostgreSQL (see the Store protocol)."""

    def batch_insert(
        self: _Driver,
        batch_id: str,
        tenant: str,
        jobs: Sequence[NewJob],
        *,
        now: datetime | None = None,
    ) -> list[str]:
        """Insert a batch and its jobs in one transaction; return the jobs' ids in order."""

        def op(conn: _Conn) -> list[str]:
            ids = self._insert_many_in(conn, jobs, now)
            params = {"id": batch_id, "tenant": tenant, "total": len(ids), "now": now}
            conn.execute(_Q["batch_insert"], params)
            conn.execute(_Q["batch_jobs_insert"], {"id": batch_id, "job_ids": ids})
            return ids

        return self._run(op, write=True, tx=True)

    def batch_members(self: _Driver, tenant: str, batch_id: str) -> list[BatchMember]:
        """A tenant's batch's jobs in submission order; NotFound if there is no such batch."""
        return self._run(lambda conn: _read(conn, tenant, batch_id)[1], write=False)

    def batch_get(self: _Driver, tenant: str, batch_id: str) -> Batch:
        """A tenant's batch with counts by status; NotFound if there is no such batch."""
        row, members = self._run(lambda conn: _read(conn, tenant, batch_id), write=False)
        return b.batch(row[0], row[1], int(row[2]), row[3].astimezone(UTC), members)

    def batch_purge(self: _Driver, created_before: datetime) -> int:
        """Delete batches (not their jobs) created before the cut-off; return how many."""

        def op(conn: _Conn) -> int:
            conn.execute(_Q["batch_purge_members"], {"before": created_before})
            return conn.execute(_Q["batch_purge"], {"before": created_before}).rowcount

        return self._run(op, write=True, tx=True)
