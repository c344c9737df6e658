"""The store conformance suite for access control: tenants, API keys, settings, idempotency."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from pressroom.core.accounts import ApiKey
from pressroom.core.errors import Conflict, NotFound
from pressroom.core.models import ClaimParams, NewJob
from pressroom.core.ports import Store
from pressroom.store import open_store

T0 = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """T0 plus some seconds."""
    return T0 + timedelta(seconds=seconds)


def key(key_id: str, prefix: str, tenant: str = "acme", *, when: datetime = T0) -> ApiKey:
    """A stored-key value with a fake hash."""
    return ApiKey(key_id, prefix, tenant, False, when, "h" * 64, name=f"key {key_id}")


def test_key_insert_get_list(store: Store) -> None:
    """A key is found by its prefix with every field; listing is per tenant, oldest first."""
    store.key_insert(key("k1", "aaaaaaaa"))
    store.key_insert(key("k2", "bbbbbbbb", "other", when=at(1)))
    store.key_insert(ApiKey("k3", "cccccccc", "acme", True, at(2), "x" * 64))
    found = store.key_get_by_prefix("aaaaaaaa")
    assert found == key("k1", "aaaaaaaa")
    assert found is not None and found.active and found.last_used_at is None
    assert store.key_get_by_prefix("zzzzzzzz") is None
    assert [k.id for k in store.key_list("acme")] == ["k1", "k3"]
    assert [k.id for k in store.key_list()] == ["k1", "k2", "k3"]
    assert store.key_list("acme")[1].admin is True
    assert store.key_count_active() == 3


def test_key_prefix_is_unique(store: Store) -> None:
    """A second key with a taken prefix is a Conflict and changes nothing."""
    store.key_insert(key("k1", "aaaaaaaa"))
    with pytest.raises(Conflict):
        store.key_insert(key("k2", "aaaaaaaa", "other"))
    assert [k.id for k in store.key_list()] == ["k1"]


def test_key_revoke_and_touch(store: Store) -> None:
    """Revoking keeps the first revocation time and stops counting the key; touching stamps it."""
    store.key_insert(key("k1", "aaaaaaaa"))
    store.key_insert(key("k2", "bbbbbbbb"))
    store.key_touch("k1", now=at(5))
    assert store.key_list()[0].last_used_at == at(5)
    revoked = store.key_revoke("k1", now=at(10))
    assert revoked.revoked_at == at(10) and not revoked.active
    assert store.key_revoke("k1", now=at(20)).revoked_at == at(10)
    assert store.key_count_active() == 1
    with pytest.raises(NotFound):
        store.key_revoke("nope", now=at(30))


def test_tenant_ensure_keeps_first_secret(store: Store) -> None:
    """Ensuring a tenant twice keeps its first secret; setting a secret replaces it."""
    first = store.tenant_ensure("acme", "whsec_one", now=T0)
    again = store.tenant_ensure("acme", "whsec_two", now=at(5))
    assert first == again and again.webhook_secret == "whsec_one" and again.created_at == T0
    store.tenant_ensure("beta", "whsec_b", now=T0)
    assert [t.name for t in store.tenant_list()] == ["acme", "beta"]
    assert store.tenant_secret_set("acme", "whsec_new").webhook_secret == "whsec_new"
    assert store.tenant_get("acme").webhook_secret == "whsec_new"
    with pytest.raises(NotFound):
        store.tenant_get("ghost")
    with pytest.raises(NotFound):
        store.tenant_secret_set("ghost", "whsec_x")


def test_setting_first_writer_wins(store: Store) -> None:
    """A setting is stored once; later calls get the stored value, not theirs."""
    assert store.setting_get_or_create("link_secret", "one", now=T0) == "one"
    assert store.setting_get_or_create("link_secret", "two", now=at(1)) == "one"


def test_idempotency_put_returns_winner(store: Store) -> None:
    """The first record of a (tenant, key) wins; other tenants have their own keys."""
    assert store.idempotency_get("acme", "k") is None
    won = store.idempotency_put("acme", "k", "hash1", "job1", now=T0)
    assert (won.job_id, won.request_hash, won.created_at) == ("job1", "hash1", T0)
    lost = store.idempotency_put("acme", "k", "hash2", "job2", now=at(1))
    assert (lost.job_id, lost.request_hash) == ("job1", "hash1")
    other = store.idempotency_put("beta", "k", "hash2", "job2", now=at(1))
    assert other.job_id == "job2"
    assert store.idempotency_get("acme", "k") == won


def test_idempotency_purge(store: Store) -> None:
    """Purging removes records created before the cut-off only."""
    store.idempotency_put("acme", "old", "h", "j1", now=T0)
    store.idempotency_put("acme", "new", "h", "j2", now=at(100))
    assert store.idempotency_purge(at(50)) == 1
    assert store.idempotency_get("acme", "old") is None
    assert store.idempotency_get("acme", "new") is not None


def test_idempotency_put_races_to_one_winner(store_url: str) -> None:
    """Eight threads (each with its own store) putting one key all get the same record."""
    if store_url == "memory://":
        pytest.skip("one memory store cannot be shared between store objects")
    stores = [open_store(store_url) for _ in range(8)]
    results: list[str] = []
    barrier = threading.Barrier(len(stores))

    def put(i: int) -> None:
        barrier.wait()
        results.append(stores[i].idempotency_put("acme", "race", f"h{i}", f"job{i}").job_id)

    threads = [threading.Thread(target=put, args=(i,)) for i in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert len(results) == 8 and len(set(results)) == 1


def test_job_count_waiting_per_tenant_and_capped(store: Store) -> None:
    """Queued and scheduled jobs of one tenant are counted, up to the limit asked for."""
    for _ in range(3):
        store.job_insert(NewJob(task="t", tenant="acme"), now=T0)
    store.job_insert(NewJob(task="t", tenant="acme", run_at=at(3600)), now=T0)
    store.job_insert(NewJob(task="t", tenant="beta"), now=T0)
    store.job_claim(ClaimParams("w", ("default",), 1, 30, now=T0))
    assert store.job_count_waiting("acme", 100) == 3
    assert store.job_count_waiting("beta", 100) == 1
    assert store.job_count_waiting("acme", 2) == 2
    assert store.job_count_waiting("ghost", 100) == 0
