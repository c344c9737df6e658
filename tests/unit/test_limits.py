"""Per-key rate limits and the per-tenant queue cap answer TooBusy with a retry delay."""

from __future__ import annotations

import pytest

from pressroom.core.errors import InvalidInput, TooBusy
from pressroom.core.models import NewJob
from pressroom.core.ratelimit import RateLimiter
from pressroom.security.limits import QueueCap, cap_from_env
from pressroom.store import open_store


class Ticks:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        """Start at 0."""
        self.t = 0.0

    def __call__(self) -> float:
        """The current tick."""
        return self.t


def test_bucket_allows_burst_then_refills() -> None:
    """A 2/s limiter with burst 2 allows two at once, then one per half second, per key."""
    ticks = Ticks()
    lim = RateLimiter(2, clock=ticks)
    assert lim.wait_s("a") == 0 and lim.wait_s("a") == 0
    assert lim.wait_s("a") == pytest.approx(0.5)
    assert lim.wait_s("b") == 0
    ticks.t = 0.5
    assert lim.wait_s("a") == 0
    with pytest.raises(TooBusy) as caught:
        lim.check("a")
    assert caught.value.retry_after_s == pytest.approx(0.5)


def test_parse_and_bounded_memory() -> None:
    """'600/m' means 10/s with a burst of 600; old keys are forgotten beyond max_keys."""
    lim = RateLimiter.parse("600/m")
    assert lim.rate == 10 and lim.burst == 600
    small = RateLimiter(1, max_keys=2, clock=Ticks())
    for key in ("a", "b", "c"):
        small.wait_s(key)
    assert small.wait_s("a") == 0  # "a" was forgotten, so it starts with a full bucket
    with pytest.raises(InvalidInput):
        RateLimiter(0)


def test_queue_cap_counts_waiting_jobs_per_tenant() -> None:
    """Over the cap a tenant gets TooBusy; other tenants do not; the count is cached a second."""
    store = open_store("memory://")
    ticks = Ticks()
    cap = QueueCap(store, 2, clock=ticks)
    store.job_insert(NewJob(task="t", tenant="acme"))
    cap.check("acme")
    store.job_insert(NewJob(task="t", tenant="acme"))
    cap.check("acme")  # cached: still one waiting
    ticks.t = 1.0
    with pytest.raises(TooBusy) as caught:
        cap.check("acme")
    assert caught.value.retry_after_s > 0
    cap.check("beta", adding=2)
    with pytest.raises(TooBusy):
        cap.check("beta", adding=3)
    QueueCap(store, 0).check("acme", adding=10**6)


def test_cap_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cap defaults to 10,000, reads PRESSROOM_TENANT_QUEUE_CAP, and refuses junk."""
    monkeypatch.delenv("PRESSROOM_TENANT_QUEUE_CAP", raising=False)
    assert cap_from_env() == 10_000
    monkeypatch.setenv("PRESSROOM_TENANT_QUEUE_CAP", "0")
    assert cap_from_env() == 0
    for bad in ("-1", "many"):
        monkeypatch.setenv("PRESSROOM_TENANT_QUEUE_CAP", bad)
        with pytest.raises(InvalidInput):
            cap_from_env()


def test_api_settings_from_env_names_a_bad_variable() -> None:
    """A PRESSROOM_API_* value that is not a number is refused with the variable's name."""
    from pressroom.api import ApiSettings

    assert (
        ApiSettings.from_env({"PRESSROOM_API_GC_GEN0_THRESHOLD": "5000"}).gc_gen0_threshold == 5000
    )
    with pytest.raises(InvalidInput, match="PRESSROOM_API_GC_GEN0_THRESHOLD must be an integer"):
        ApiSettings.from_env({"PRESSROOM_API_GC_GEN0_THRESHOLD": "abc"})
    with pytest.raises(InvalidInput, match="PRESSROOM_API_AUTH_CACHE_S must be a number"):
        ApiSettings.from_env({"PRESSROOM_API_AUTH_CACHE_S": "soon"})
