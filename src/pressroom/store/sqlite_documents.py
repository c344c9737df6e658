"""The SQLite driver's document operations: versioned templates, the render result cache, and
purging in batches that name what they deleted; mixed into
:class:`~pressroom.store.sqlite.SQLiteStore`.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, Protocol

from pressroom.core.errors import NotFound
from pressroom.core.models import JSON, Job, NewJob, NewTemplate, Template, utcnow
from pressroom.store import _common as c

_Q = c.load_queries("pressroom.store", "sqlite_queries.sql")


def _dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _template(row: Any) -> Template:
    return c.row_to_template(row, _dt)


class _Driver(Protocol):
    def _conn(self) -> sqlite3.Connection: ...

    def _write(self) -> AbstractContextManager[sqlite3.Connection]: ...


class SQLiteDocuments:
    """Templates, cached results and batch purges on SQLite (see the Store protocol)."""

    def job_insert_cached(
        self: _Driver, job_id: str, job: NewJob, result: JSON, *, now: datetime | None = None
    ) -> tuple[Job, bool]:
        """Insert a job already succeeded with ``result``, unless its unique key is held."""
        at = (now or utcnow()).timestamp()
        with self._write() as conn:
            if job.unique_key:
                row = conn.execute(_Q["job_by_unique_key"], (job.tenant, job.unique_key)).fetchone()
                if row:
                    return c.row_to_job(row, _dt, c.loads_or_none), False
            conn.execute(
                _Q["job_insert_cached"],
                (
                    job_id,
                    job.tenant,
                    job.task,
                    c.dumps(job.args),
                    job.queue,
                    job.priority,
                    job.max_attempts,
                    job.timeout_s,
                    at,
                    c.dumps(job.metadata),
                    job.unique_key,
                    job.cache_key,
                    c.dumps(result),
                ),
            )
            source = result.get("cached_from") if isinstance(result, dict) else None
            conn.executemany(
                _Q["event_insert"],
                [(job_id, at, kind, c.dumps(data)) for kind, data in c.cached_events(source)],
            )
            row = conn.execute(_Q["job_get"], (job_id,)).fetchone()
        return c.row_to_job(row, _dt, c.loads_or_none), True

    def job_get_cached(
        self: _Driver, cache_key: str, finished_after: datetime, *, tenant: str = "default"
    ) -> Job | None:
        """The newest succeeded job with this cache key finished after the given time."""
        row = (
            self._conn()
            .execute(_Q["job_get_cached"], (tenant, cache_key, finished_after.timestamp()))
            .fetchone()
        )
        return None if row is None else c.row_to_job(row, _dt, c.loads_or_none)

    def job_purge_batch(
        self: _Driver, finished_before: datetime, *, limit: int = 1000
    ) -> list[tuple[str, str]]:
        """Delete up to ``limit`` old finished jobs; return their (tenant, id) pairs."""
        with self._write() as conn:
            rows = conn.execute(
                _Q["purge_select_batch"], (finished_before.timestamp(), limit)
            ).fetchall()
            if not rows:
                return []
            doc = json.dumps([r[0] for r in rows])
            conn.execute(_Q["purge_events"], (doc,))
            conn.execute(_Q["purge_jobs"], (doc,))
        return [(tenant, job_id) for job_id, tenant in rows]

    def template_put(
        self: _Driver, template: NewTemplate, *, now: datetime | None = None
    ) -> tuple[Template, bool]:
        """Store a new version, unless the latest one has the same digest."""
        at = (now or utcnow()).timestamp()
        t = template
        with self._write() as conn:
            latest = conn.execute(_Q["template_latest"], (t.tenant, t.name)).fetchone()
            if latest is not None and latest[5] == t.sha256 and latest[3] == t.engine:
                return _template(latest), False
            version = 1 if latest is None else int(latest[2]) + 1
            conn.execute(
                _Q["template_insert"],
                (t.tenant, t.name, version, t.engine, t.main, t.sha256, t.size, at, t.bundle),
            )
        stored = Template(
            t.name, version, t.engine, t.main, t.sha256, t.size, _dt(at) or utcnow(), t.tenant
        )
        return stored, True

    def template_get(
        self: _Driver,
        name: str,
        version: int | None = None,
        *,
        tenant: str = "default",
        with_bundle: bool = True,
    ) -> Template:
        """One version of a template, the latest by default."""
        query = _Q["template_get" if with_bundle else "template_get_info"]
        row = self._conn().execute(query, (tenant, name, version)).fetchone()
        if row is None:
            raise NotFound(c.template_missing(name, version))
        return _template(row)

    def template_list(self: _Driver, *, tenant: str = "default") -> list[Template]:
        """The latest version of each template, by name."""
        return [_template(r) for r in self._conn().execute(_Q["template_list"], (tenant,))]
