"""Deleting finished jobs together with their artifacts."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from datetime import datetime

from pressroom.artifacts import ArtifactStore, job_prefix
from pressroom.core.ports import Store

log = logging.getLogger("pressroom.retention")

PURGE_BATCH = 1000


def delete_job_artifacts(artifacts: ArtifactStore, tenant: str, job_id: str) -> int:
    """Delete every artifact of one job (all attempts); failures are logged, not raised."""
    try:
        return artifacts.delete_prefix(job_prefix(tenant, job_id))
    except Exception:
        log.warning("could not delete the artifacts of job %s", job_id, exc_info=True)
        return 0


Purged = Sequence[tuple[str, str]]


def purge_finished(
    store: Store,
    artifacts: ArtifactStore | None,
    finished_before: datetime,
    *,
    delete: Callable[[Purged], None] | None = None,
) -> int:
    """Delete jobs finished before the cut-off, a batch per transaction, and then each batch's
    artifacts (through ``delete`` when given, e.g. a :class:`BackgroundDeleter`); return how
    many jobs were deleted.

    Rows go first: a job never points at a deleted artifact. If the artifact store fails right
    then, the files of that batch stay behind (logged with the job ids) — storage to reclaim by
    hand, never a lost result.
    """
    if artifacts is None:
        return store.job_purge(finished_before)
    total = 0
    while batch := store.job_purge_batch(finished_before, limit=PURGE_BATCH):
        total += len(batch)
        if delete is not None:
            delete(batch)
        else:
            for tenant, job_id in batch:
                delete_job_artifacts(artifacts, tenant, job_id)
        if len(batch) < PURGE_BATCH:
            break
    return total


class BackgroundDeleter:
    """Deletes purged jobs' artifacts on a daemon thread, so a worker's loop (heartbeats,
    claims) never waits on object storage; what is still queued when the process exits stays
    behind, like any deletion the artifact store refused."""

    def __init__(self, artifacts: ArtifactStore) -> None:
        """Delete from ``artifacts``; the thread starts with the first batch."""
        self.artifacts = artifacts
        self._queue: queue.SimpleQueue[Purged] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def __call__(self, batch: Purged) -> None:
        """Queue one batch of (tenant, job id) pairs."""
        self._queue.put(list(batch))
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="pressroom-artifact-purge", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            for tenant, job_id in self._queue.get():
                delete_job_artifacts(self.artifacts, tenant, job_id)
