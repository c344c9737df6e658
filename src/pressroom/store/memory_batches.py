"""The memory driver's batches; mixed into :class:`~pressroom.store.memory.MemoryStore`."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from pressroom.core.batches import Batch, BatchMember
from pressroom.core.errors import NotFound
from pressroom.core.models import Job, NewJob, utcnow
from pressroom.store import _batches as b
from pressroom.store import _common as c


class _Driver(Protocol):
    _lock: threading.Lock
    _jobs: dict[str, Job]
    _batches: dict[str, tuple[str, datetime, list[str]]]

    def _insert(self, new: NewJob, now: datetime) -> Job: ...

    def _members(self, tenant: str, batch_id: str) -> tuple[datetime, list[BatchMember]]: ...


class MemoryBatches:
    """Batches in memory (see the Store protocol)."""

    def _init_batches(self) -> None:
        """Create the empty tables (called by the store's constructor)."""
        self._batches: dict[str, tuple[str, datetime, list[str]]] = {}

    def batch_insert(
        self: _Driver,
        batch_id: str,
        tenant: str,
        jobs: Sequence[NewJob],
        *,
        now: datetime | None = None,
    ) -> list[str]:
        """Insert a batch and its jobs at once; return the jobs' ids in order."""
        c.check_bulk(jobs)
        at = now or utcnow()
        with self._lock:
            ids = [self._insert(job, at).id for job in jobs]
            self._batches[batch_id] = (tenant, at, ids)
        return ids

    def _members(self: _Driver, tenant: str, batch_id: str) -> tuple[datetime, list[BatchMember]]:
        found = self._batches.get(batch_id)
        if found is None or found[0] != tenant:
            raise NotFound(f"no batch {batch_id!r}")
        members = []
        for i, job_id in enumerate(found[2]):
            job = self._jobs.get(job_id)
            if job is None:
                members.append(BatchMember(i, job_id, None))
            else:
                members.append(BatchMember(i, job_id, job.status, job.progress_percent, job.result))
        return found[1], members

    def batch_members(self: _Driver, tenant: str, batch_id: str) -> list[BatchMember]:
        """A tenant's batch's jobs in submission order; NotFound if there is no such batch."""
        with self._lock:
            return self._members(tenant, batch_id)[1]

    def batch_get(self: _Driver, tenant: str, batch_id: str) -> Batch:
        """A tenant's batch with counts by status; NotFound if there is no such batch."""
        with self._lock:
            created, members = self._members(tenant, batch_id)
            total = len(self._batches[batch_id][2])
        return b.batch(batch_id, tenant, total, created, members)

    def batch_purge(self: _Driver, created_before: datetime) -> int:
        """Delete batches (not their jobs) created before the cut-off; return how many."""
        with self._lock:
            old = [k for k, v in self._batches.items() if v[1] < created_before]
            for k in old:
                del self._batches[k]
        return len(old)
