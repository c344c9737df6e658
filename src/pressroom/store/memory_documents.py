"""The memory driver's document operations: versioned templates, the render result cache, and
purging in batches that name what they deleted; mixed into
:class:`~pressroom.store.memory.MemoryStore`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from pressroom.core.errors import NotFound
from pressroom.core.models import JSON, Job, JobEvent, JobStatus, NewJob, NewTemplate, Template
from pressroom.core.models import utcnow as _utcnow
from pressroom.store import _common as c


def _copy(value: Any) -> Any:
    return json.loads(c.dumps(value))


class _Driver(Protocol):
    _lock: threading.Lock
    _jobs: dict[str, Job]
    _events: dict[str, list[JobEvent]]
    _unique: dict[tuple[str, str], str]
    _templates: dict[tuple[str, str], list[Template]]

    def _unique_holder(self, tenant: str, key: str | None) -> Job | None: ...

    def _set(
        self, job: Job, at: datetime, events: Sequence[tuple[str, dict[str, Any]]], **changes: Any
    ) -> Job: ...


class MemoryDocuments:
    """Templates, cached results and batch purges in memory (see the Store protocol)."""

    def job_insert_cached(
        self: _Driver, job_id: str, job: NewJob, result: JSON, *, now: datetime | None = None
    ) -> tuple[Job, bool]:
        """Insert a job already succeeded with ``result``, unless its unique key is held."""
        at = now or _utcnow()
        with self._lock:
            held = self._unique_holder(job.tenant, job.unique_key)
            if held is not None:
                return held, False
            new = Job(
                id=job_id,
                task=job.task,
                args=_copy(job.args),
                queue=job.queue,
                priority=job.priority,
                status=JobStatus.SUCCEEDED,
                attempt=0,
                max_attempts=job.max_attempts,
                run_at=at,
                created_at=at,
                tenant=job.tenant,
                timeout_s=job.timeout_s,
                started_at=at,
                finished_at=at,
                progress_percent=100.0,
                result=_copy(result),
                metadata=_copy(job.metadata),
                unique_key=job.unique_key,
                cache_key=job.cache_key,
            )
            if job.unique_key:
                self._unique[(job.tenant, job.unique_key)] = job_id
            source = result.get("cached_from") if isinstance(result, dict) else None
            return self._set(new, at, c.cached_events(source)), True

    def job_get_cached(
        self: _Driver, cache_key: str, finished_after: datetime, *, tenant: str = "default"
    ) -> Job | None:
        """The newest succeeded job with this cache key finished after the given time."""
        with self._lock:
            hits = [
                j
                for j in self._jobs.values()
                if j.cache_key == cache_key
                and j.tenant == tenant
                and j.status == JobStatus.SUCCEEDED
                and j.finished_at is not None
                and j.finished_at > finished_after
            ]
        return max(hits, key=lambda j: j.finished_at or finished_after, default=None)

    def job_purge_batch(
        self: _Driver, finished_before: datetime, *, limit: int = 1000
    ) -> list[tuple[str, str]]:
        """Delete up to ``limit`` old finished jobs; return their (tenant, id) pairs."""
        with self._lock:
            old = sorted(
                (
                    j
                    for j in self._jobs.values()
                    if j.status.terminal
                    and j.finished_at is not None
                    and j.finished_at < finished_before
                ),
                key=lambda j: j.finished_at or finished_before,
            )[:limit]
            for job in old:
                del self._jobs[job.id]
                self._events.pop(job.id, None)
        return [(j.tenant, j.id) for j in old]

    def template_put(
        self: _Driver, template: NewTemplate, *, now: datetime | None = None
    ) -> tuple[Template, bool]:
        """Store a new version, unless the latest one has the same digest."""
        t = template
        with self._lock:
            versions = self._templates.setdefault((t.tenant, t.name), [])
            latest = versions[-1] if versions else None
            if latest is not None and latest.sha256 == t.sha256 and latest.engine == t.engine:
                return replace(latest, bundle=None), False
            stored = Template(
                name=t.name,
                version=len(versions) + 1,
                engine=t.engine,
                main=t.main,
                sha256=t.sha256,
                size=t.size,
                created_at=now or _utcnow(),
                tenant=t.tenant,
                bundle=bytes(t.bundle),
            )
            versions.append(stored)
        return replace(stored, bundle=None), True

    def template_get(
        self: _Driver,
        name: str,
        version: int | None = None,
        *,
        tenant: str = "default",
        with_bundle: bool = True,
    ) -> Template:
        """One version of a template, the latest by default."""
        with self._lock:
            versions = self._templates.get((tenant, name), [])
        found = [v for v in versions if version is None or v.version == version]
        if not found:
            raise NotFound(c.template_missing(name, version))
        return found[-1] if with_bundle else replace(found[-1], bundle=None)

    def template_list(self: _Driver, *, tenant: str = "default") -> list[Template]:
        """The latest version of each template, by name."""
        with self._lock:
            latest = [v[-1] for (t, _), v in self._templates.items() if t == tenant and v]
        return sorted((replace(x, bundle=None) for x in latest), key=lambda x: x.name)
