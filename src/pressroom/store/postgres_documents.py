"""The PostgreSQL driver's document operations: versioned templates, the render result cache,
and purging in batches that name what they deleted; mixed into
:class:`~pressroom.store.postgres.PostgresStore`.

New versions of one template are serialised by a transaction-scoped advisory lock on
(tenant, name), so two nodes pushing at once get versions n and n+1, never a clash.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import psycopg
from psycopg.rows import TupleRow

from pressroom.core.errors import NotFound, StoreError
from pressroom.core.models import JSON, Job, NewJob, NewTemplate, Template
from pressroom.store import _common as c

_Q = c.load_queries("pressroom.store", "postgres_queries.sql")
_Conn = psycopg.Connection[TupleRow]
_T = TypeVar("_T")


def _dt(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


def _job(row: TupleRow) -> Job:
    return c.row_to_job(row, _dt, lambda value: value)


class _Driver(Protocol):
    def _run(self, op: Callable[[_Conn], _T], *, write: bool, tx: bool = False) -> _T: ...

    def _fetch(self, name: str, params: dict[str, Any], *, write: bool) -> list[TupleRow]: ...


class PostgresDocuments:
    """Templates, cached results and batch purges on PostgreSQL (see the Store protocol)."""

    def job_insert_cached(
        self: _Driver, job_id: str, job: NewJob, result: JSON, *, now: datetime | None = None
    ) -> tuple[Job, bool]:
        """Insert a job already succeeded with ``result``, unless its unique key is held."""
        params = {
            "id": job_id,
            "tenant": job.tenant,
            "task": job.task,
            "args": c.dumps(job.args),
            "queue": job.queue,
            "priority": job.priority,
            "max_attempts": job.max_attempts,
            "timeout_s": job.timeout_s,
            "metadata": c.dumps(job.metadata),
            "unique_key": job.unique_key,
            "cache_key": job.cache_key,
            "result": c.dumps(result),
            "now": now,
        }

        def op(conn: _Conn) -> tuple[Job, bool]:
            row = conn.execute(_Q["job_insert_cached"], params).fetchone()
            if row is not None:
                return _job(row), True
            held = conn.execute(_Q["job_by_unique_key"], params).fetchone()
            if held is None:
                raise StoreError(f"job {job_id} was not inserted and no job holds its unique key")
            return _job(held), False

        return self._run(op, write=True)

    def job_get_cached(
        self: _Driver, cache_key: str, finished_after: datetime, *, tenant: str = "default"
    ) -> Job | None:
        """The newest succeeded job with this cache key finished after the given time."""
        params = {"tenant": tenant, "cache_key": cache_key, "after": finished_after}
        rows = self._fetch("job_get_cached", params, write=False)
        return _job(rows[0]) if rows else None

    def job_purge_batch(
        self: _Driver, finished_before: datetime, *, limit: int = 1000
    ) -> list[tuple[str, str]]:
        """Delete up to ``limit`` old finished jobs in one statement; return (tenant, id)."""
        params = {"before": finished_before, "limit": limit}
        rows = self._fetch("job_purge_batch", params, write=True)
        return [(r[0], r[1]) for r in rows]

    def template_put(
        self: _Driver, template: NewTemplate, *, now: datetime | None = None
    ) -> tuple[Template, bool]:
        """Store a new version under the template's advisory lock, unless the latest version
        has the same digest."""
        params: dict[str, Any] = {
            "tenant": template.tenant,
            "name": template.name,
            "engine": template.engine,
            "main": template.main,
            "sha256": template.sha256,
            "size": template.size,
            "bundle": template.bundle,
            "now": now,
        }

        def op(conn: _Conn) -> tuple[Template, bool]:
            conn.execute(_Q["template_lock"], params)
            latest = conn.execute(_Q["template_latest"], params).fetchone()
            if latest is not None and latest[5] == template.sha256 and latest[3] == template.engine:
                return c.row_to_template(latest, _dt), False
            version = 1 if latest is None else int(latest[2]) + 1
            row = conn.execute(_Q["template_insert"], {**params, "version": version}).fetchone()
            if row is None:
                raise StoreError(f"template {template.name}@{version} was not inserted")
            return c.row_to_template(row, _dt), True

        return self._run(op, write=True, tx=True)

    def template_get(
        self: _Driver,
        name: str,
        version: int | None = None,
        *,
        tenant: str = "default",
        with_bundle: bool = True,
    ) -> Template:
        """One version of a template, the latest by default."""
        params = {"tenant": tenant, "name": name, "version": version}
        rows = self._fetch(
            "template_get" if with_bundle else "template_get_info", params, write=False
        )
        if not rows:
            raise NotFound(c.template_missing(name, version))
        return c.row_to_template(rows[0], _dt)

    def template_list(self: _Driver, *, tenant: str = "default") -> list[Template]:
        """The latest version of each template, by name."""
        rows = self._fetch("template_list", {"tenant": tenant}, write=False)
        return [c.row_to_template(r, _dt) for r in rows]
