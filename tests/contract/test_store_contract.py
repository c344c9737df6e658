"""The store conformance suite: every driver must pass every test here."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from pressroom.core.errors import Conflict, InvalidInput, NotFound
from pressroom.core.models import (
    ClaimParams,
    EventKind,
    JobError,
    JobFilter,
    JobStatus,
    NewJob,
    Outcome,
    ProgressUpdate,
    QueueLimits,
    WorkerInfo,
)
from pressroom.core.ports import Store
from pressroom.core.retry import failure, success
from pressroom.store import open_store

T0 = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """T0 plus some seconds."""
    return T0 + timedelta(seconds=seconds)


def claim(
    store: Store,
    n: int = 1,
    *,
    worker: str = "w1",
    queues: tuple[str, ...] = ("default",),
    now: datetime = T0,
    lease_s: float = 30,
) -> list:
    """Claim helper with test defaults."""
    return store.job_claim(ClaimParams(worker, queues, n, lease_s, now=now))


def test_migrate_is_idempotent(store: Store) -> None:
    """Migrating twice applies nothing the second time and leaves the schema current."""
    assert store.migrate() == []
    current, latest = store.schema_version()
    assert current == latest >= 1


def test_insert_queues_job_and_logs_event(store: Store) -> None:
    """A new job is queued with attempt 0 and its first event records that."""
    job, created = store.job_insert(NewJob(task="t", args={"a": 1}, metadata={"k": "v"}), now=T0)
    assert created
    assert job.status == JobStatus.QUEUED and job.attempt == 0
    assert job.args == {"a": 1} and job.metadata == {"k": "v"}
    assert store.job_get(job.id) == job
    events = store.job_events(job.id)
    assert [(e.kind, e.data["status"]) for e in events] == [(EventKind.STATUS, "queued")]


def test_delayed_job_waits_until_promoted(store: Store) -> None:
    """A job with run_at in the future is scheduled, not claimable until promoted when due."""
    job, _ = store.job_insert(NewJob(task="t", run_at=at(60)), now=T0)
    assert job.status == JobStatus.SCHEDULED
    assert claim(store, now=at(61)) == []
    assert store.job_promote(now=at(30)) == 0
    assert store.job_promote(now=at(61)) == 1
    assert [j.id for j in claim(store, now=at(61))] == [job.id]


def test_claim_order_priority_then_fifo(store: Store) -> None:
    """Higher priority runs first; within a priority, older jobs first."""
    low, _ = store.job_insert(NewJob(task="t", priority=0), now=at(0))
    high1, _ = store.job_insert(NewJob(task="t", priority=5), now=at(1))
    high2, _ = store.job_insert(NewJob(task="t", priority=5), now=at(2))
    got = [j.id for j in claim(store, 10, now=at(3))]
    assert got == [high1.id, high2.id, low.id]


def test_claim_respects_limit_and_queues(store: Store) -> None:
    """A claim takes at most ``limit`` jobs, only from the named queues."""
    for i in range(3):
        store.job_insert(NewJob(task="t", queue="a"), now=at(i))
    other, _ = store.job_insert(NewJob(task="t", queue="b"), now=at(5))
    assert len(claim(store, 2, queues=("a",))) == 2
    rest = claim(store, 10, queues=("a", "b"), now=at(6))
    assert len(rest) == 2 and other.id in {j.id for j in rest}
    assert claim(store, 10, queues=("a", "b"), now=at(7)) == []


def test_multi_queue_claim_orders_across_queues(store: Store) -> None:
    """Claiming from several queues still takes the best jobs over all of them."""
    a, _ = store.job_insert(NewJob(task="t", queue="a", priority=1), now=at(0))
    b, _ = store.job_insert(NewJob(task="t", queue="b", priority=9), now=at(1))
    store.job_insert(NewJob(task="t", queue="a", priority=0), now=at(2))
    got = claim(store, 2, queues=("a", "b"), now=at(3))
    assert [j.id for j in got] == [b.id, a.id]


def test_claim_sets_lease_and_increments_attempt(store: Store) -> None:
    """A claim makes the job running under the worker's lease with the next attempt number."""
    job, _ = store.job_insert(NewJob(task="t"), now=T0)
    (got,) = claim(store, worker="w9", now=at(1), lease_s=15)
    assert got.id == job.id and got.status == JobStatus.RUNNING
    assert got.attempt == 1 and got.worker_id == "w9"
    assert got.started_at == at(1) and got.lease_expires_at == at(16)
    assert claim(store, now=at(2)) == []


def test_finish_success_is_fenced_by_attempt(store: Store) -> None:
    """Only the current attempt can finish a job; a stale attempt number is refused."""
    store.job_insert(NewJob(task="t"), now=T0)
    (job,) = claim(store)
    assert store.job_finish([success(job.id, job.attempt + 1, 1)], now=at(1)) == [False]
    assert store.job_finish([success(job.id, job.attempt, {"ok": True})], now=at(1)) == [True]
    done = store.job_get(job.id)
    assert done.status == JobStatus.SUCCEEDED and done.result == {"ok": True}
    assert done.finished_at == at(1) and done.progress_percent == 100
    assert done.worker_id is None
    assert store.job_finish([success(job.id, job.attempt, 2)], now=at(2)) == [False]
    assert store.job_get(job.id).result == {"ok": True}


def test_finish_by_a_worker_is_fenced_by_its_id(store: Store) -> None:
    """A worker's outcomes and progress apply only to runs it holds: the same attempt held by
    another worker (a claim a database crash forgot, made again) is stale for it."""
    store.job_insert(NewJob(task="t"), now=T0)
    (job,) = claim(store, worker="w2")
    progress = [ProgressUpdate(job.id, job.attempt, 50, "old run")]
    stale = store.job_finish(
        [success(job.id, job.attempt, "old")], progress=progress, worker_id="w1", now=at(1)
    )
    assert stale == [False]
    got = store.job_get(job.id)
    assert got.status == JobStatus.RUNNING and got.progress_percent == 0 and got.result is None
    progress = [ProgressUpdate(job.id, job.attempt, 60, "new run")]
    assert store.job_finish([], progress=progress, worker_id="w2", now=at(2)) == []
    assert store.job_get(job.id).progress_message == "new run"
    ok = store.job_finish([success(job.id, job.attempt, "new")], worker_id="w2", now=at(3))
    assert ok == [True] and store.job_get(job.id).result == "new"


def test_retry_goes_through_scheduled_with_backoff(store: Store) -> None:
    """A retryable failure schedules the job for later; the next claim is attempt 2."""
    store.job_insert(NewJob(task="t", max_attempts=2), now=T0)
    (job,) = claim(store)
    out = failure(job.id, 1, 2, JobError("RuntimeError", "boom"), now=at(1))
    assert out.status == JobStatus.SCHEDULED and out.run_at is not None and out.run_at > at(1)
    assert store.job_finish([out], now=at(1)) == [True]
    waiting = store.job_get(job.id)
    assert waiting.status == JobStatus.SCHEDULED and waiting.error is not None
    assert waiting.error.message == "boom"
    store.job_promote(now=at(100))
    (again,) = claim(store, now=at(100))
    assert again.attempt == 2
    final = failure(job.id, 2, 2, JobError("RuntimeError", "boom again"), now=at(101))
    assert final.status == JobStatus.FAILED
    store.job_finish([final], now=at(101))
    failed = store.job_get(job.id)
    assert failed.status == JobStatus.FAILED and failed.finished_at == at(101)
    kinds = [(e.kind, e.data.get("status")) for e in store.job_events(job.id)]
    assert kinds == [
        (EventKind.STATUS, "queued"),
        (EventKind.STATUS, "running"),
        (EventKind.ERROR, None),
        (EventKind.STATUS, "scheduled"),
        (EventKind.STATUS, "queued"),
        (EventKind.STATUS, "running"),
        (EventKind.ERROR, None),
        (EventKind.STATUS, "failed"),
    ]


def test_non_retryable_error_fails_at_once(store: Store) -> None:
    """An error marked not retryable fails the job on its first attempt."""
    store.job_insert(NewJob(task="t", max_attempts=5), now=T0)
    (job,) = claim(store)
    out = failure(job.id, 1, 5, JobError("Permanent", "bad", retryable=False), now=at(1))
    store.job_finish([out], now=at(1))
    assert store.job_get(job.id).status == JobStatus.FAILED


def test_heartbeat_extends_lease_and_reports_cancel_and_loss(store: Store) -> None:
    """Heartbeats move the lease, flag cancellation requests, and report jobs no longer held."""
    store.job_insert(NewJob(task="t"), now=T0)
    store.job_insert(NewJob(task="t"), now=T0)
    a, b = claim(store, 2, lease_s=10)
    reply = store.job_heartbeat("w1", [(a.id, a.attempt), (b.id, b.attempt)], 10, now=at(5))
    assert reply.cancel_requested == frozenset() and reply.lost == frozenset()
    assert store.job_get(a.id).lease_expires_at == at(15)
    store.job_cancel(a.id, now=at(6))
    reply = store.job_heartbeat("w1", [(a.id, a.attempt), (b.id, b.attempt + 1)], 10, now=at(7))
    assert reply.cancel_requested == {a.id}
    assert reply.lost == {b.id}
    assert store.job_heartbeat("w2", [(a.id, a.attempt)], 10, now=at(8)).lost == {a.id}


def test_rescue_requeues_expired_and_fences_stale_worker(store: Store) -> None:
    """An expired lease puts the job back; the dead worker's late completion is refused."""
    store.job_insert(NewJob(task="t", max_attempts=3), now=T0)
    (job,) = claim(store, lease_s=10)
    assert store.job_rescue(now=at(5)) == []
    assert store.job_rescue(now=at(11)) == [job.id]
    rescued = store.job_get(job.id)
    assert rescued.status == JobStatus.QUEUED and rescued.worker_id is None
    assert store.job_finish([success(job.id, 1, "stale")], now=at(12)) == [False]
    (again,) = claim(store, worker="w2", now=at(12))
    assert again.attempt == 2
    assert store.job_finish([success(job.id, 1, "stale")], now=at(13)) == [False]
    assert store.job_finish([success(job.id, 2, "fresh")], now=at(13)) == [True]
    assert store.job_get(job.id).result == "fresh"


def test_rescue_fails_job_out_of_attempts_and_cancels_flagged(store: Store) -> None:
    """Rescue fails a job with no attempts left, and cancels one whose cancellation was asked."""
    store.job_insert(NewJob(task="t", max_attempts=1), now=T0)
    store.job_insert(NewJob(task="t", max_attempts=3), now=at(1))
    a, b = claim(store, 2, now=at(2), lease_s=10)
    store.job_cancel(b.id, now=at(3))
    assert sorted(store.job_rescue(now=at(20))) == sorted([a.id, b.id])
    failed = store.job_get(a.id)
    assert failed.status == JobStatus.FAILED and failed.error is not None
    assert failed.error.type == "LeaseExpired"
    assert store.job_get(b.id).status == JobStatus.CANCELLED


def test_rescue_worker_takes_back_its_jobs_at_once(store: Store) -> None:
    """Jobs of a worker known dead are requeued without waiting for the lease."""
    store.job_insert(NewJob(task="t"), now=T0)
    store.job_insert(NewJob(task="t"), now=T0)
    (mine,) = claim(store, worker="dead")
    (theirs,) = claim(store, worker="alive")
    assert store.job_rescue_worker("dead", now=at(1)) == [mine.id]
    assert store.job_get(mine.id).status == JobStatus.QUEUED
    assert store.job_get(theirs.id).status == JobStatus.RUNNING


def test_cancel_waiting_running_and_finished(store: Store) -> None:
    """Cancel ends a waiting job, flags a running one, and refuses a finished one."""
    waiting, _ = store.job_insert(NewJob(task="t", run_at=at(100)), now=T0)
    store.job_insert(NewJob(task="t"), now=T0)
    (running,) = claim(store)
    assert store.job_cancel(waiting.id, now=at(1)).status == JobStatus.CANCELLED
    flagged = store.job_cancel(running.id, now=at(1))
    assert flagged.status == JobStatus.RUNNING and flagged.cancel_requested
    assert store.job_cancel_requested([running.id, waiting.id]) == {running.id}
    with pytest.raises(Conflict):
        store.job_cancel(waiting.id)
    with pytest.raises(NotFound):
        store.job_cancel("nope")


def test_tenants_do_not_see_each_other(store: Store) -> None:
    """A job of one tenant is NotFound for another, in reads, lists, cancels and deletes."""
    job, _ = store.job_insert(NewJob(task="t", tenant="acme"), now=T0)
    store.job_insert(NewJob(task="t", tenant="globex"), now=T0)
    assert store.job_get(job.id, tenant="acme").id == job.id
    with pytest.raises(NotFound):
        store.job_get(job.id, tenant="globex")
    with pytest.raises(NotFound):
        store.job_cancel(job.id, tenant="globex")
    with pytest.raises(NotFound):
        store.job_delete(job.id, tenant="globex")
    assert [j.tenant for j in store.job_list(JobFilter(tenant="globex"))] == ["globex"]
    assert store.job_stats(tenant="acme").totals()["queued"] == 1


def test_retry_and_delete(store: Store) -> None:
    """A failed job can be retried with one more attempt; only finished jobs can be deleted."""
    store.job_insert(NewJob(task="t", max_attempts=1), now=T0)
    (job,) = claim(store)
    with pytest.raises(Conflict):
        store.job_retry(job.id)
    with pytest.raises(Conflict):
        store.job_delete(job.id)
    store.job_finish([failure(job.id, 1, 1, JobError("E", "x"), now=at(1))], now=at(1))
    again = store.job_retry(job.id, now=at(2))
    assert again.status == JobStatus.QUEUED and again.max_attempts == 2 and again.error is None
    (second,) = claim(store, now=at(3))
    assert second.attempt == 2
    store.job_finish([success(job.id, 2, None)], now=at(4))
    store.job_delete(job.id)
    with pytest.raises(NotFound):
        store.job_get(job.id)
    assert store.job_events(job.id) == []


def test_unique_key_returns_existing_live_job(store: Store) -> None:
    """A second insert with a live job's unique key returns that job; a failed one frees it."""
    first, created = store.job_insert(NewJob(task="t", unique_key="k", max_attempts=1), now=T0)
    second, created2 = store.job_insert(NewJob(task="t", unique_key="k"), now=at(1))
    assert created and not created2 and second.id == first.id
    other_tenant, created3 = store.job_insert(
        NewJob(task="t", unique_key="k", tenant="x"), now=at(1)
    )
    assert created3 and other_tenant.id != first.id
    (job,) = claim(store, now=at(2))
    store.job_finish([failure(job.id, 1, 1, JobError("E", "x"), now=at(3))], now=at(3))
    third, created4 = store.job_insert(NewJob(task="t", unique_key="k"), now=at(4))
    assert created4 and third.id != first.id


def test_insert_many(store: Store) -> None:
    """Bulk insert keeps order, queues everything, and refuses unique keys."""
    ids = store.job_insert_many([NewJob(task="t", args={"i": i}) for i in range(50)], now=T0)
    assert len(ids) == len(set(ids)) == 50
    assert store.job_get(ids[7]).args == {"i": 7}
    assert store.job_stats().totals()["queued"] == 50
    got = claim(store, 50, now=at(1))
    assert [j.args["i"] for j in got] == list(range(50))
    with pytest.raises(InvalidInput):
        store.job_insert_many([NewJob(task="t", unique_key="u")])


def test_insert_many_logs_creation_events_and_schedules(store: Store) -> None:
    """Each bulk-inserted job gets its one creation event; one due later is scheduled."""
    jobs = [NewJob(task="t"), NewJob(task="t", run_at=at(60)), NewJob(task="t", queue="q")]
    ids = store.job_insert_many(jobs, now=T0)
    got = [store.job_get(i) for i in ids]
    assert [j.status for j in got] == [JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.QUEUED]
    assert [j.created_at for j in got] == [T0] * 3 and got[1].run_at == at(60)
    for job in got:
        events = store.job_events(job.id)
        assert [(e.kind, e.data["status"], e.at) for e in events] == [
            (EventKind.STATUS, job.status.value, T0)
        ]
    assert [j.id for j in claim(store, 5, now=at(1))] == [ids[0]]


def test_list_filters_and_cursor(store: Store) -> None:
    """Listing filters by status, queue and task, newest first, and pages with a cursor."""
    ids = [
        store.job_insert(NewJob(task="t" if i % 2 else "u", queue="q"), now=at(i))[0].id
        for i in range(5)
    ]
    page1 = store.job_list(JobFilter(limit=2))
    assert [j.id for j in page1] == [ids[4], ids[3]]
    page2 = store.job_list(JobFilter(limit=2, before=page1[-1].id))
    assert [j.id for j in page2] == [ids[2], ids[1]]
    assert {j.task for j in store.job_list(JobFilter(task="t"))} == {"t"}
    assert store.job_list(JobFilter(queue="other")) == []
    assert len(store.job_list(JobFilter(status=JobStatus.QUEUED))) == 5


def test_stats_count_by_queue_and_status(store: Store) -> None:
    """Stats count jobs per queue and status."""
    store.job_insert_many([NewJob(task="t", queue="a")] * 3 + [NewJob(task="t", queue="b")], now=T0)
    claim(store, 1, queues=("a",))
    stats = store.job_stats()
    assert stats.counts["a"] == {"queued": 2, "running": 1}
    assert stats.totals()["queued"] == 3


def test_progress_is_fenced_and_logged(store: Store) -> None:
    """Progress updates apply to the current attempt only and appear in the event log."""
    store.job_insert(NewJob(task="t"), now=T0)
    (job,) = claim(store)
    assert store.job_progress(job.id, 1, 40, "halfway", now=at(1))
    assert not store.job_progress(job.id, 2, 90, "stale", now=at(2))
    got = store.job_get(job.id)
    assert got.progress_percent == 40 and got.progress_message == "halfway"
    events = store.job_events(job.id)
    assert events[-1].kind == EventKind.PROGRESS and events[-1].data["percent"] == 40
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    later = store.job_events(job.id, after_seq=events[0].seq)
    assert [e.seq for e in later] == [e.seq for e in events[1:]]


def test_finish_writes_progress_first_in_the_same_call(store: Store) -> None:
    """job_finish records progress updates (fenced, stale ones dropped) before its outcomes,
    so a finished job's log ends with its last stage and then its status."""
    store.job_insert_many([NewJob(task="t")] * 3, now=T0)
    done, running, rescued = claim(store, 3)
    updates = [
        ProgressUpdate(done.id, 1, 92, "storing"),
        ProgressUpdate(running.id, 1, 33.3, None),
        ProgressUpdate(rescued.id, 2, 50, "stale"),
    ]
    applied = store.job_finish([success(done.id, 1, {"n": 1})], progress=updates, now=at(1))
    assert applied == [True]
    kinds = [
        (e.kind, e.data.get("percent"), e.data.get("status")) for e in store.job_events(done.id)
    ]
    assert kinds[-2:] == [(EventKind.PROGRESS, 92, None), (EventKind.STATUS, None, "succeeded")]
    assert store.job_get(done.id).status == JobStatus.SUCCEEDED
    got = store.job_get(running.id)
    assert (got.status, got.progress_percent, got.progress_message) == (
        JobStatus.RUNNING,
        33.3,
        None,
    )
    assert store.job_events(running.id)[-1].data == {"attempt": 1, "percent": 33.3, "message": None}
    assert store.job_get(rescued.id).progress_percent == 0
    assert all(e.kind != EventKind.PROGRESS for e in store.job_events(rescued.id))
    assert store.job_finish([], progress=[ProgressUpdate(running.id, 1, 60)], now=at(2)) == []
    assert store.job_get(running.id).progress_percent == 60


def test_events_for_many_jobs_in_one_call(store: Store) -> None:
    """job_events_for returns the events of exactly the named jobs after a seq, in seq order."""
    a, _ = store.job_insert(NewJob(task="t"), now=T0)
    b, _ = store.job_insert(NewJob(task="t"), now=at(1))
    other, _ = store.job_insert(NewJob(task="t"), now=at(2))
    claim(store, 3, now=at(3))
    both = store.job_events_for([a.id, b.id])
    assert {e.job_id for e in both} == {a.id, b.id}
    assert len(both) == 4 and [e.seq for e in both] == sorted(e.seq for e in both)
    later = store.job_events_for([a.id, b.id], after_seq=both[1].seq)
    assert [e.seq for e in later] == [e.seq for e in both[2:]]
    assert store.job_events_for([a.id, b.id], limit=1) == both[:1]
    assert store.job_events_for([]) == []
    assert all(e.job_id != other.id for e in store.job_events_for([a.id, b.id]))


def test_events_last_seq_follows_new_events(store: Store) -> None:
    """job_events_last_seq is 0 on an empty store and then the newest event's seq."""
    assert store.job_events_last_seq() == 0
    job, _ = store.job_insert(NewJob(task="t"), now=T0)
    claim(store)
    assert store.job_events_last_seq() == store.job_events(job.id)[-1].seq


def test_purge_removes_only_old_finished_jobs(store: Store) -> None:
    """Purge deletes jobs finished before the cut-off with their events, and nothing else."""
    store.job_insert_many([NewJob(task="t")] * 3, now=T0)
    a, b, c = claim(store, 3)
    store.job_finish([success(a.id, 1, None)], now=at(10))
    store.job_finish([success(b.id, 1, None)], now=at(100))
    assert store.job_purge(at(50)) == 1
    with pytest.raises(NotFound):
        store.job_get(a.id)
    assert store.job_events(a.id) == []
    assert store.job_get(b.id).status == JobStatus.SUCCEEDED
    assert store.job_get(c.id).status == JobStatus.RUNNING


def test_workers_register_list_and_prune(store: Store) -> None:
    """Workers upsert their row, list newest first, and silent ones are pruned."""
    w1 = WorkerInfo("w1", "host", 10, ("default",), 2, at(0), at(0))
    w2 = WorkerInfo("w2", "host", 11, ("a", "b"), 4, at(1), at(1))
    store.worker_upsert(w1)
    store.worker_upsert(w2)
    store.worker_upsert(WorkerInfo("w2", "host", 11, ("a", "b"), 4, at(1), at(50), ("j1",)))
    listed = store.worker_list()
    assert [w.id for w in listed] == ["w2", "w1"]
    assert listed[0].running == ("j1",) and listed[0].queues == ("a", "b")
    assert store.worker_prune(at(30)) == ["w1"]
    store.worker_delete("w2")
    assert store.worker_list() == []


def test_leader_election_single_holder(store: Store) -> None:
    """One node holds a leadership at a time; another takes it only after it expires."""
    assert store.leader_attempt_elect("maint", "a", 10, now=at(0))
    assert not store.leader_attempt_elect("maint", "b", 10, now=at(5))
    assert store.leader_attempt_elect("maint", "a", 10, now=at(8))
    assert not store.leader_attempt_elect("maint", "b", 10, now=at(17))
    assert store.leader_attempt_elect("maint", "b", 10, now=at(19))
    assert not store.leader_attempt_elect("maint", "a", 10, now=at(20))


def test_cron_tick_enqueues_exactly_once(store: Store) -> None:
    """The same cron tick enqueues one job however many nodes try."""
    tick = at(0)
    results = [store.cron_enqueue("nightly", tick, NewJob(task="t"), now=at(1)) for _ in range(3)]
    assert results == [True, False, False]
    assert store.cron_enqueue("nightly", at(60), NewJob(task="t"), now=at(61))
    assert store.job_stats().totals()["queued"] == 2


def test_queue_concurrency_limit(store: Store) -> None:
    """A queue limited to one running job yields nothing more until that job finishes."""
    store.queue_limits_set(QueueLimits("llm", concurrency=1))
    store.job_insert_many([NewJob(task="t", queue="llm")] * 3, now=T0)
    (first,) = claim(store, 5, queues=("llm",))
    assert claim(store, 5, queues=("llm",), worker="w2") == []
    store.job_finish([success(first.id, 1, None)], now=at(1))
    assert len(claim(store, 5, queues=("llm",), now=at(2))) == 1
    assert store.queue_limits_list() == [QueueLimits("llm", concurrency=1)]
    store.queue_limits_set(QueueLimits("llm"))
    assert store.queue_limits_list() == []


def test_queue_rate_limit(store: Store) -> None:
    """A queue limited to 2 starts a minute starts two, then one more per 30 s."""
    store.queue_limits_set(QueueLimits("api", rate_count=2, rate_period_s=60))
    store.job_insert_many([NewJob(task="t", queue="api")] * 5, now=T0)
    assert len(claim(store, 5, queues=("api",), now=at(0))) == 2
    assert claim(store, 5, queues=("api",), now=at(10)) == []
    assert len(claim(store, 5, queues=("api",), now=at(31))) == 1
    assert len(claim(store, 5, queues=("api",), now=at(200))) == 2


def test_listener_hears_inserts_from_another_connection(store_url: str) -> None:
    """A listener reports a change after another store instance inserts a job."""
    if store_url.startswith("memory"):
        pytest.skip(
            "the memory store lives in one process; "
            "tests/unit/test_memory_store.py covers its listener"
        )
    a, b = open_store(store_url), open_store(store_url)
    listener = a.listener()
    try:
        listener.poll()
        b.job_insert(NewJob(task="t"))
        import time

        deadline = time.monotonic() + 5
        heard = False
        while time.monotonic() < deadline and not heard:
            heard = listener.poll()
            if not heard and listener.fileno() is None:
                time.sleep(listener.poll_interval_s)
            elif not heard:
                import select

                select.select([listener.fileno()], [], [], 0.1)
        assert heard
    finally:
        listener.close()
        a.close()
        b.close()


def test_concurrent_claimers_never_share_a_job(store_url: str) -> None:
    """Threads with their own store instances claim disjoint sets of jobs."""
    setup = open_store(store_url)
    setup.job_insert_many([NewJob(task="t")] * 200)
    shared = setup if store_url.startswith("memory") else None
    seen: list[list[str]] = [[] for _ in range(4)]

    def run(i: int) -> None:
        s = shared or open_store(store_url)
        while True:
            got = s.job_claim(ClaimParams(f"w{i}", ("default",), 7, 30))
            if not got:
                break
            seen[i].extend(j.id for j in got)
        if s is not shared:
            s.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    all_ids = [x for ids in seen for x in ids]
    assert len(all_ids) == 200 and len(set(all_ids)) == 200
    setup.close()


def test_outcome_with_error_keeps_traceback(store: Store) -> None:
    """A failure's traceback is kept in the job's error and event log."""
    store.job_insert(NewJob(task="t", max_attempts=1), now=T0)
    (job,) = claim(store)
    err = JobError("ValueError", "bad value", traceback="Traceback...\nValueError: bad value")
    store.job_finish([Outcome(job.id, 1, JobStatus.FAILED, error=err)], now=at(1))
    got = store.job_get(job.id)
    assert got.error is not None and got.error.traceback is not None
    assert got.to_dict()["error"]["traceback"].endswith("bad value")
    err_events = [e for e in store.job_events(job.id) if e.kind == EventKind.ERROR]
    assert err_events[0].data["type"] == "ValueError"


def test_release_requeues_without_using_an_attempt(store: Store) -> None:
    """A job released by a draining worker is queued again and keeps its attempt budget."""
    from pressroom.core.retry import released

    store.job_insert(NewJob(task="t", max_attempts=1), now=T0)
    (job,) = claim(store)
    assert store.job_finish([released(job.id, 1)], now=at(1)) == [True]
    back = store.job_get(job.id)
    assert back.status == JobStatus.QUEUED and back.max_attempts == 2 and back.finished_at is None
    (again,) = claim(store, now=at(2))
    assert again.attempt == 2
    assert store.job_finish([released(job.id, 1)], now=at(3)) == [False]
