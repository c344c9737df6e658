"""The service validates submissions before anything is written."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime

import pytest

from pressroom.core.errors import InvalidInput
from pressroom.core.models import JobStatus
from pressroom.service import Pressroom
from pressroom.store import open_store
from pressroom.testing import run_inline


@pytest.fixture
def service() -> Iterator[Pressroom]:
    """A service over an in-memory store with the built-in and test tasks."""
    from pressroom.core.tasks import load_task_modules

    load_task_modules(["tests.worker_tasks"])
    svc = Pressroom(open_store("memory://"))
    yield svc
    svc.close()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task": "nope"}, "unknown task"),
        ({"task": "pressroom.sleep", "args": {"minutes": 1}}, "do not fit"),
        ({"task": "pressroom.sleep", "args": [1]}, "JSON object"),
        ({"task": "pressroom.noop", "delay_s": -1}, "delay"),
        ({"task": "pressroom.noop", "delay_s": math.inf}, "delay"),
        ({"task": "pressroom.noop", "run_at": datetime(2030, 1, 1)}, "time zone"),
        ({"task": "pressroom.noop", "priority": 10**9}, "priority"),
        ({"task": "pressroom.noop", "max_attempts": 0}, "max_attempts"),
        ({"task": "pressroom.noop", "timeout_s": 0}, "timeout"),
        ({"task": "pressroom.noop", "queue": "a b"}, "queue name"),
        ({"task": "pressroom.noop", "metadata": {"k": 1}}, "metadata"),
        ({"task": "pressroom.noop", "delay_s": 1, "run_at": datetime(2030, 1, 1)}, "either"),
    ],
)
def test_bad_submissions_are_refused_and_write_nothing(
    service: Pressroom, kwargs: dict, message: str
) -> None:
    """Each invalid submission raises InvalidInput with a useful message and stores no job."""
    task = kwargs.pop("task")
    args = kwargs.pop("args", None)
    with pytest.raises(InvalidInput, match=message):
        service.submit(task, args, **kwargs)
    assert sum(service.stats().totals().values()) == 0


def test_delay_schedules_and_inline_run_finishes(service: Pressroom) -> None:
    """A delayed job is scheduled; an immediate one runs inline to success."""
    delayed, _ = service.submit("pressroom.noop", delay_s=60)
    assert delayed.status == JobStatus.SCHEDULED
    job, _ = service.submit("test.progress", {"steps": 2})
    assert run_inline(service.store) == 1
    done = service.get(job.id)
    assert done.status == JobStatus.SUCCEEDED and done.result == 2


def test_inline_failures_follow_retry_rules(service: Pressroom) -> None:
    """Inline runs record permanent failures at once."""
    job, _ = service.submit("test.permanent", max_attempts=3)
    run_inline(service.store)
    failed = service.get(job.id)
    assert failed.status == JobStatus.FAILED and failed.attempt == 1


def test_queue_limits_validation(service: Pressroom) -> None:
    """Queue limits reject a bad rate or concurrency and store good ones."""
    with pytest.raises(InvalidInput):
        service.set_queue_limits("q", rate="fast")
    with pytest.raises(InvalidInput):
        service.set_queue_limits("q", concurrency=0)
    limits = service.set_queue_limits("q", concurrency=2, rate="10/m")
    assert (limits.concurrency, limits.rate_count, limits.rate_period_s) == (2, 10, 60.0)
