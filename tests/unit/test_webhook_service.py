"""Submitting with a webhook: the URL is guarded first, and the right jobs are flagged."""

from __future__ import annotations

import pytest

import pressroom.builtin_tasks  # noqa: F401 - registers pressroom.noop
from pressroom.core.errors import InvalidInput
from pressroom.core.models import JobFilter
from pressroom.service import Pressroom
from pressroom.store import open_store
from pressroom.testing import run_inline
from pressroom.webhooks.guard import AllowList, UnsafeUrl


def resolver(host: str, port: int) -> list[str]:
    """A fake DNS with one public name."""
    return {"hooks.example.com": ["93.184.216.34"]}[host]


@pytest.fixture
def svc() -> Pressroom:
    """A service over a memory store whose guard uses the fake DNS and no allow list."""
    service = Pressroom(open_store("memory://"))
    service.webhooks.resolver = resolver
    service.webhooks.allow = AllowList()
    return service


@pytest.mark.parametrize(
    "webhook",
    [
        {"url": "http://127.0.0.1/h"},
        {"url": "http://169.254.169.254/"},
        {"url": "ftp://hooks.example.com/"},
        {"url": 5},
        {"url": "https://hooks.example.com/", "secret": "short"},
        {"url": "https://hooks.example.com/", "extra": 1},
        "https://hooks.example.com/",
    ],
)
def test_bad_webhook_refused_before_any_job(svc: Pressroom, webhook: object) -> None:
    """A refused webhook raises InvalidInput (UnsafeUrl for the guard) and inserts no job."""
    with pytest.raises(InvalidInput):
        svc.submit("pressroom.noop", {}, tenant="acme", webhook=webhook)  # type: ignore[arg-type]
    assert svc.list_jobs(JobFilter(tenant="acme")) == []


def test_job_webhook_and_subscription_deliveries(svc: Pressroom) -> None:
    """A job with a webhook, and any job of a subscribed tenant, is enqueued when it ends."""
    own, _ = svc.submit(
        "pressroom.noop",
        {},
        tenant="acme",
        webhook={"url": "https://hooks.example.com/own", "secret": "whsec_" + "A" * 32},
    )
    plain, _ = svc.submit("pressroom.noop", {}, tenant="acme")
    svc.webhooks.subscribe("beta", "https://hooks.example.com/sub", ["job.succeeded"])
    with pytest.raises(UnsafeUrl):
        svc.webhooks.subscribe("beta", "http://10.0.0.1/")
    subscribed, _ = svc.submit("pressroom.noop", {}, tenant="beta")
    run_inline(svc.store, limit=10)
    [d] = svc.webhooks.deliveries("acme")
    assert d.job_id == own.id and d.url.endswith("/own") and d.secret is not None
    [s] = svc.webhooks.deliveries("beta")
    assert s.job_id == subscribed.id and s.subscription_id is not None
    assert plain.id not in {d.job_id for d in svc.webhooks.deliveries("acme")}
