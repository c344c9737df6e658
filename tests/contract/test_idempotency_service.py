"""Idempotent submission over every store: one job per (tenant, key), even under a race."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import pressroom.builtin_tasks  # noqa: F401 - registers pressroom.noop
from pressroom.core.errors import IdempotencyMismatch, InvalidInput
from pressroom.core.models import Job, JobFilter
from pressroom.security.idempotency import request_hash
from pressroom.service import Pressroom
from pressroom.store import open_store


def submitter(svc: Pressroom, tenant: str, args: dict[str, Any]) -> Any:
    """A submit callable as the API would pass it."""

    def submit(unique_key: str) -> tuple[Job, bool]:
        return svc.submit("pressroom.noop", args, unique_key=unique_key, tenant=tenant)

    return submit


def test_same_key_same_body_returns_same_job(store_url: str) -> None:
    """A repeated key with the same body returns the first job, not created again."""
    svc = Pressroom(open_store(store_url))
    body = {"task": "pressroom.noop", "args": {}}
    first, created = svc.submit_idempotent(
        "acme", "k-1", request_hash(body), submitter(svc, "acme", {})
    )
    again, created_again = svc.submit_idempotent(
        "acme", "k-1", request_hash(dict(reversed(body.items()))), submitter(svc, "acme", {})
    )
    assert created and not created_again and again.id == first.id
    other, created_other = svc.submit_idempotent(
        "beta", "k-1", request_hash(body), submitter(svc, "beta", {})
    )
    assert created_other and other.id != first.id and other.tenant == "beta"
    assert len(svc.list_jobs(JobFilter(tenant="acme"))) == 1
    svc.close()


def test_same_key_other_body_is_mismatch(store_url: str) -> None:
    """The same key with a different body raises IdempotencyMismatch and submits nothing."""
    svc = Pressroom(open_store(store_url))
    svc.submit_idempotent("acme", "k", request_hash({"a": 1}), submitter(svc, "acme", {}))
    with pytest.raises(IdempotencyMismatch):
        svc.submit_idempotent("acme", "k", request_hash({"a": 2}), submitter(svc, "acme", {}))
    with pytest.raises(InvalidInput):
        svc.submit_idempotent("acme", "bad key", "h", submitter(svc, "acme", {}))
    assert len(svc.list_jobs(JobFilter(tenant="acme"))) == 1
    svc.close()


def test_racing_requests_make_one_job(store_url: str) -> None:
    """Eight requests racing with one key, each through its own store connection, get one job."""
    if store_url == "memory://":
        pytest.skip("one memory store cannot be shared between service objects")
    services = [Pressroom(open_store(store_url)) for _ in range(8)]
    barrier = threading.Barrier(len(services))
    results: list[tuple[str, bool]] = []

    def go(svc: Pressroom) -> None:
        barrier.wait()
        job, created = svc.submit_idempotent(
            "acme", "race", request_hash({"x": 1}), submitter(svc, "acme", {})
        )
        results.append((job.id, created))

    threads = [threading.Thread(target=go, args=(s,)) for s in services]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({job_id for job_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert len(services[0].list_jobs(JobFilter(tenant="acme"))) == 1
    for s in services:
        s.close()
