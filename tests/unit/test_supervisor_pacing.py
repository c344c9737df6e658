"""How a worker node paces its claims and writes from the average job duration, and keeps what
a failed write did not record (no children are started: these are the node's decisions)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from pressroom.core.errors import StoreError
from pressroom.core.models import ClaimParams, NewJob, ProgressUpdate
from pressroom.core.retry import success
from pressroom.store.memory import MemoryStore
from pressroom.worker.config import WorkerConfig
from pressroom.worker.pacing import JobPace
from pressroom.worker.supervisor import Supervisor


@pytest.fixture
def node() -> Iterator[Supervisor]:
    sup = Supervisor(WorkerConfig(database_url="memory://", concurrency=2), store=MemoryStore())
    yield sup
    os.close(sup._wake_r)
    os.close(sup._wake_w)


def test_jobs_of_tens_of_ms_are_claimed_several_at_a_time(node: Supervisor) -> None:
    """30 ms jobs: the node holds a few per child and claims again when half are gone, so a
    claim brings more than one job (with a 50 ms budget it was one claim per job)."""
    node._pace = JobPace(30.0)
    assert node._prefetch_target() >= 6
    assert node._prefetch_target() // 2 >= 3
    assert node._depth() == 2


def test_slow_jobs_are_not_prefetched_or_sent_ahead(node: Supervisor) -> None:
    """Jobs of 200 ms and more wait in the database, where any node can take them."""
    node._pace = JobPace(250.0)
    assert node._prefetch_target() == 0
    assert node._depth() == 1
    node._pace = JobPace(120.0)
    assert node._depth() == 1  # prefetched by the node, but not queued behind a child's job


def test_outcomes_wait_about_one_job_duration_within_bounds() -> None:
    """Group commit: fast jobs 5 ms, a 30 ms job 30 ms, long jobs at most 50 ms."""
    assert JobPace(0.05).flush_delay_s() == pytest.approx(0.005)
    assert JobPace(30.0).flush_delay_s() == pytest.approx(0.030)
    assert JobPace(5000.0).flush_delay_s() == pytest.approx(0.050)


def test_the_average_follows_the_jobs_from_a_cautious_prior() -> None:
    """A new node assumes slow jobs (no prefetch, one at a time) until fast ones are timed;
    sub-2 ms jobs then go to children in chunks."""
    pace = JobPace()
    assert pace.prefetch_per_child() == 0 and pace.chunk() == 1
    for _ in range(120):
        pace.observe(0.1)
    assert pace.average_ms < 1.0
    assert pace.prefetch_per_child() == 64 and pace.chunk() > 1


def test_an_outcome_is_written_at_once_when_nothing_else_is_in_flight(node: Supervisor) -> None:
    """An idle node does not hold a finished job's outcome back for batching."""
    node._pace = JobPace(30.0)
    node._add_outcome(success("job", 1, None))
    assert node._flush_due(node._outcomes_since)


class _FailsOnce(MemoryStore):
    """The in-memory store, with its next ``job_finish`` failing as an outage would."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_next = True

    def job_finish(self, *args: Any, **kwargs: Any) -> list[bool]:
        if self.fail_next:
            self.fail_next = False
            raise StoreError("the database is unreachable")
        return super().job_finish(*args, **kwargs)


def test_progress_a_failed_write_did_not_record_is_written_with_the_next() -> None:
    """A write of outcomes and progress that fails keeps both for the retry; newer progress
    reported meanwhile is not overwritten by the older one put back."""
    store = _FailsOnce()
    job, _ = store.job_insert(NewJob(task="t"))
    node = Supervisor(WorkerConfig(database_url="memory://", concurrency=1), store=store)
    node.store = store  # as run() sets it, without starting the node
    (claimed,) = store.job_claim(ClaimParams(node.id, ("default",), 1, 30.0))
    try:
        node._note_progress([(job.id, claimed.attempt, 40.0, "halfway")])
        assert not node._flush()
        assert not store.fail_next  # it was the store's failure, not another
        assert store.job_get(job.id).progress_percent == 0
        node._restore_progress([ProgressUpdate(job.id, claimed.attempt, 10.0, "older")])
        assert node._flush()
        got = store.job_get(job.id)
        assert (got.progress_percent, got.progress_message) == (40.0, "halfway")
    finally:
        os.close(node._wake_r)
        os.close(node._wake_w)
