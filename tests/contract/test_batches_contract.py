"""The store conformance suite for batches: one transaction, counts by status, tenants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pressroom.core.errors import InvalidInput, NotFound
from pressroom.core.models import ClaimParams, JobError, NewJob
from pressroom.core.ports import Store
from pressroom.core.retry import failure, success

T0 = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)


def test_batch_insert_and_counts(store: Store) -> None:
    """A batch's jobs are inserted in order and counted by status as they end or vanish."""
    ids = store.batch_insert(
        "b1", "acme", [NewJob(task="t", tenant="acme") for _ in range(4)], now=T0
    )
    assert len(ids) == 4 and len(set(ids)) == 4
    batch = store.batch_get("acme", "b1")
    assert (batch.total, batch.counts, batch.done, batch.progress) == (4, {"queued": 4}, False, 0.0)
    assert batch.created_at == T0
    claimed = store.job_claim(ClaimParams("w", ("default",), 3, 30, now=T0))
    by_id = {j.id: j for j in claimed}
    store.job_finish(
        [
            success(ids[0], by_id[ids[0]].attempt, {"key": "k0", "filename": "a.pdf"}),
            failure(ids[1], by_id[ids[1]].attempt, 1, JobError("E", "x", retryable=False), T0),
        ],
        now=T0,
    )
    store.job_cancel(ids[3], tenant="acme", now=T0)
    batch = store.batch_get("acme", "b1")
    assert batch.counts == {"cancelled": 1, "failed": 1, "running": 1, "succeeded": 1}
    assert batch.progress == 75.0 and not batch.done
    members = store.batch_members("acme", "b1")
    assert [m.job_id for m in members] == ids and [m.position for m in members] == [0, 1, 2, 3]
    assert members[0].result == {"key": "k0", "filename": "a.pdf"}
    store.job_finish([success(ids[2], by_id[ids[2]].attempt, None)], now=T0)
    store.job_delete(ids[2], tenant="acme")
    batch = store.batch_get("acme", "b1")
    assert batch.counts["gone"] == 1 and batch.done and batch.progress == 100.0


def test_batch_tenants_and_purge(store: Store) -> None:
    """Another tenant cannot see a batch; purging removes old batches, not their jobs."""
    ids = store.batch_insert("b1", "acme", [NewJob(task="t", tenant="acme")], now=T0)
    with pytest.raises(NotFound):
        store.batch_get("beta", "b1")
    with pytest.raises(NotFound):
        store.batch_members("beta", "b1")
    store.batch_insert("b2", "acme", [NewJob(task="t", tenant="acme")], now=T0 + timedelta(days=2))
    assert store.batch_purge(T0 + timedelta(days=1)) == 1
    with pytest.raises(NotFound):
        store.batch_get("acme", "b1")
    assert store.job_get(ids[0]).id == ids[0]
    assert store.batch_get("acme", "b2").total == 1


def test_batch_refuses_unique_keys_and_writes_nothing(store: Store) -> None:
    """A batch with a unique key is refused as a whole: no batch and no job is stored."""
    jobs = [NewJob(task="t", tenant="acme"), NewJob(task="t", tenant="acme", unique_key="u")]
    with pytest.raises(InvalidInput):
        store.batch_insert("b1", "acme", jobs, now=T0)
    with pytest.raises(NotFound):
        store.batch_get("acme", "b1")
    assert store.job_count_waiting("acme", 10) == 0
