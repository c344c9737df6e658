"""The store conformance suite for webhooks: the outbox fills when jobs end, claims and records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pressroom.core.errors import NotFound
from pressroom.core.models import ClaimParams, JobError, NewJob
from pressroom.core.ports import Store
from pressroom.core.retry import failure, success
from pressroom.core.webhooks import DeliveryStatus, WebhookSubscription

T0 = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """T0 plus some seconds."""
    return T0 + timedelta(seconds=seconds)


def run_job(store: Store, tenant: str = "acme", *, when: datetime = T0) -> str:
    """Insert and claim a job; return its id."""
    job, _ = store.job_insert(NewJob(task="t", tenant=tenant, metadata={"m": "1"}), now=when)
    assert store.job_claim(ClaimParams("w", ("default",), 1, 30, now=when))
    return job.id


def test_job_webhook_enqueued_when_job_ends(store: Store) -> None:
    """A job's webhook gets one pending delivery when it succeeds, with the job in the payload."""
    job_id = run_job(store)
    assert store.webhook_attach(job_id, "acme", "https://example.com/h", "whsec_x", now=T0) == 0
    assert store.webhook_delivery_list("acme") == []
    store.job_finish([success(job_id, 1, {"size": 3})], now=at(5))
    [d] = store.webhook_delivery_list("acme")
    assert d.id.startswith("msg_") and d.job_id == job_id and d.event == "job.succeeded"
    assert d.status == DeliveryStatus.PENDING and d.attempt == 0 and d.secret == "whsec_x"
    assert d.url == "https://example.com/h" and d.next_attempt_at == at(5)
    assert d.payload == {
        "id": job_id,
        "status": "succeeded",
        "attempt": 1,
        "task": "t",
        "queue": "default",
        "error": None,
        "result": {"size": 3},
        "metadata": {"m": "1"},
    }


def test_no_delivery_without_webhook_or_for_retries(store: Store) -> None:
    """Jobs without webhooks enqueue nothing; a retryable failure is not an end."""
    plain = run_job(store)
    store.job_finish([success(plain, 1, None)], now=at(1))
    job, _ = store.job_insert(NewJob(task="t", tenant="acme", max_attempts=2), now=at(2))
    store.job_claim(ClaimParams("w", ("default",), 1, 30, now=at(2)))
    store.webhook_attach(job.id, "acme", "https://example.com/h", None, now=at(2))
    store.job_finish([failure(job.id, 1, 2, JobError("E", "boom"), at(3))], now=at(3))
    assert store.webhook_delivery_list("acme") == []


def test_attach_after_end_and_cancel(store: Store) -> None:
    """Attaching to an ended job enqueues at once; cancelling a queued job is an end too."""
    done = run_job(store)
    store.job_finish([success(done, 1, None)], now=at(1))
    assert store.webhook_attach(done, "acme", "https://example.com/a", None, now=at(2)) == 1
    queued, _ = store.job_insert(NewJob(task="t", tenant="acme"), now=at(3))
    store.webhook_attach(queued.id, "acme", "https://example.com/b", None, now=at(3))
    store.job_cancel(queued.id, tenant="acme", now=at(4))
    events = sorted((d.url, d.event) for d in store.webhook_delivery_list("acme"))
    assert events == [
        ("https://example.com/a", "job.succeeded"),
        ("https://example.com/b", "job.cancelled"),
    ]
    with pytest.raises(NotFound):
        store.webhook_attach(done, "beta", "https://example.com/c", None, now=at(5))


def test_subscriptions_filter_events_and_tenants(store: Store) -> None:
    """Subscriptions get their tenant's matching events only; deleting one stops it."""
    subs = [
        WebhookSubscription("s1", "acme", "https://example.com/all", ["*"], T0),
        WebhookSubscription("s2", "acme", "https://example.com/fail", ["job.failed"], at(1)),
        WebhookSubscription("s3", "beta", "https://example.com/beta", ["*"], T0),
    ]
    for sub in subs:
        store.webhook_subscription_add(sub)
    assert [s.id for s in store.webhook_subscription_list("acme")] == ["s1", "s2"]
    assert store.webhook_subscription_list("acme")[1].events == ["job.failed"]
    unflagged = run_job(store)
    store.job_finish([success(unflagged, 1, None)], now=at(2))
    assert store.webhook_delivery_list("acme") == []
    job_id = run_job(store)
    assert store.webhook_attach(job_id, "acme", None, None, now=at(2)) == 0
    store.job_finish([success(job_id, 1, None)], now=at(2))
    [d] = store.webhook_delivery_list("acme")
    assert (d.subscription_id, d.event, d.secret) == ("s1", "job.succeeded", None)
    failing, _ = store.job_insert(NewJob(task="t", tenant="acme", max_attempts=1), now=at(3))
    store.webhook_attach(failing.id, "acme", None, None, now=at(3))
    store.job_claim(ClaimParams("w", ("default",), 1, 30, now=at(3)))
    store.job_finish([failure(failing.id, 1, 1, JobError("E", "boom"), at(4))], now=at(4))
    assert sorted(
        d.subscription_id or "" for d in store.webhook_delivery_list("acme", job_id=failing.id)
    ) == ["s1", "s2"]
    assert store.webhook_delivery_list("beta") == []
    store.webhook_subscription_delete("acme", "s1")
    with pytest.raises(NotFound):
        store.webhook_subscription_delete("beta", "s2")
    assert [s.id for s in store.webhook_subscription_list("acme")] == ["s2"]


def test_claim_lease_and_fenced_record(store: Store) -> None:
    """A claim leases due deliveries; a stale attempt cannot record; failures come back later."""
    job_id = run_job(store)
    store.webhook_attach(job_id, "acme", "https://example.com/h", None, now=T0)
    store.job_finish([success(job_id, 1, None)], now=at(1))
    assert store.webhook_delivery_claim(10, 30, now=at(0)) == []
    [d] = store.webhook_delivery_claim(10, 30, now=at(2))
    assert d.attempt == 1 and d.next_attempt_at == at(32) and d.last_attempt_at == at(2)
    assert store.webhook_delivery_claim(10, 30, now=at(3)) == []
    [again] = store.webhook_delivery_claim(10, 30, now=at(40))
    assert again.attempt == 2
    assert not store.webhook_delivery_record(d.id, 1, status=DeliveryStatus.DELIVERED)
    assert store.webhook_delivery_record(
        d.id,
        2,
        status=DeliveryStatus.PENDING,
        response_code=500,
        error="HTTP 500",
        next_attempt_at=at(100),
        now=at(41),
    )
    assert store.webhook_delivery_claim(10, 30, now=at(99)) == []
    [third] = store.webhook_delivery_claim(10, 30, now=at(100))
    assert (third.attempt, third.response_code, third.last_error) == (3, 500, "HTTP 500")
    assert store.webhook_delivery_record(
        d.id, 3, status=DeliveryStatus.DELIVERED, response_code=204, now=at(101)
    )
    assert store.webhook_delivery_claim(10, 30, now=at(1000)) == []
    [done] = store.webhook_delivery_list("acme")
    assert done.status == DeliveryStatus.DELIVERED and done.response_code == 204
    log = [
        (a.attempt, a.at, a.response_code, a.error)
        for a in store.webhook_attempt_list("acme", d.id)
    ]
    assert log == [(2, at(41), 500, "HTTP 500"), (3, at(101), 204, None)]
    assert store.webhook_attempt_list("beta", d.id) == []


def test_purge_finished_deliveries_and_orphan_webhooks(store: Store) -> None:
    """Purging deletes old finished deliveries, keeps pending ones, and forgets deleted jobs."""
    first = run_job(store)
    store.webhook_attach(first, "acme", "https://example.com/1", None, now=T0)
    store.job_finish([success(first, 1, None)], now=at(1))
    [d] = store.webhook_delivery_claim(10, 30, now=at(2))
    store.webhook_delivery_record(d.id, 1, status=DeliveryStatus.FAILED, error="gave up")
    assert len(store.webhook_attempt_list("acme", d.id)) == 1
    second = run_job(store, when=at(3))
    store.webhook_attach(second, "acme", "https://example.com/2", None, now=at(3))
    store.job_finish([success(second, 1, None)], now=at(4))
    store.job_delete(first, tenant="acme")
    assert store.webhook_delivery_purge(at(100)) == 1
    assert [d.job_id for d in store.webhook_delivery_list("acme")] == [second]
    assert store.webhook_attempt_list("acme", d.id) == []
    with pytest.raises(NotFound):
        store.webhook_attach(first, "acme", "https://example.com/1", None, now=at(5))


def test_flagging_an_ended_job_enqueues_once(store: Store) -> None:
    """Flagging a job that already ended enqueues its webhook and subscriptions once only."""
    store.webhook_subscription_add(WebhookSubscription("s1", "acme", "https://e.com/s", ["*"], T0))
    job_id = run_job(store)
    store.job_finish([success(job_id, 1, None)], now=at(1))
    assert store.webhook_attach(job_id, "acme", "https://e.com/own", None, now=at(2)) == 2
    assert store.webhook_attach(job_id, "acme", None, None, now=at(3)) == 0
    urls = sorted(d.url for d in store.webhook_delivery_list("acme"))
    assert urls == ["https://e.com/own", "https://e.com/s"]
    assert all(d.created_at == at(2) for d in store.webhook_delivery_list("acme"))
