"""Deleting finished jobs together with their artifacts."""

from __future__ import annotations

import logging
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


def purge_finished(store: Store, artifacts: ArtifactStore | None, finished_before: datetime) -> int:
    """Delete jobs finished before the cut-off, a batch per transaction, and then each batch's
    artifacts; return how many jobs were deleted.

    Rows go first: a job never points at a deleted artifact. If the artifact store fails right
    then, the files of that batch stay behind (logged with the job ids) — storage to reclaim by
    hand, never a lost result.
    """
    if artifacts is None:
        return store.job_purge(finished_before)
    total = 0
    while batch := store.job_purge_batch(finished_before, limit=PURGE_BATCH):
        total += len(batch)
        for tenant, job_id in batch:
            delete_job_artifacts(artifacts, tenant, job_id)
        if len(batch) < PURGE_BATCH:
            break
    return total
