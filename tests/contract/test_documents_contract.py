"""The store conformance suite for documents: templates, the result cache and batch purges."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from pressroom.core.errors import NotFound
from pressroom.core.models import ClaimParams, EventKind, JobStatus, NewJob, NewTemplate
from pressroom.core.ports import Store
from pressroom.core.retry import success
from pressroom.store import open_store

T0 = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """T0 plus some seconds."""
    return T0 + timedelta(seconds=seconds)


def version(
    name: str, digest: str, *, tenant: str = "default", engine: str = "html"
) -> NewTemplate:
    """A template version with a fake bundle."""
    blob = f"zip of {name} {digest}".encode()
    return NewTemplate(name, engine, "index.html", blob, digest, len(blob), tenant)


def finished(store: Store, key: str | None, when: datetime, *, tenant: str = "default") -> str:
    """Insert, claim and succeed a job with a cache key at ``when``; return its id."""
    job, _ = store.job_insert(NewJob(task="r", tenant=tenant, cache_key=key), now=when)
    store.job_claim(ClaimParams("w", ("default",), 1, 30, now=when))
    store.job_finish([success(job.id, 1, {"key": f"k/{job.id}"})], now=when)
    return job.id


def test_template_versions_and_latest(store: Store) -> None:
    """Each new digest of a name is the next version; the latest is returned by default."""
    first, created = store.template_put(version("invoice", "a" * 64), now=T0)
    assert created and first.version == 1 and first.ref == "invoice@1"
    assert first.created_at == T0 and first.bundle is None
    second, created = store.template_put(version("invoice", "b" * 64), now=at(1))
    assert created and second.version == 2
    latest = store.template_get("invoice")
    assert latest.version == 2 and latest.bundle == b"zip of invoice " + b"b" * 64
    old = store.template_get("invoice", 1)
    assert old.sha256 == "a" * 64 and old.bundle == b"zip of invoice " + b"a" * 64
    info = store.template_get("invoice", with_bundle=False)
    assert info.bundle is None and info.size == len(b"zip of invoice " + b"b" * 64)


def test_template_same_digest_adds_no_version(store: Store) -> None:
    """Storing the latest version's content again returns it unchanged."""
    store.template_put(version("letter", "a" * 64), now=T0)
    again, created = store.template_put(version("letter", "a" * 64), now=at(5))
    assert not created and again.version == 1 and again.created_at == T0
    other_engine, created = store.template_put(
        version("letter", "a" * 64, engine="chromium"), now=at(6)
    )
    assert created and other_engine.version == 2


def test_template_missing_and_tenants(store: Store) -> None:
    """Unknown names and versions are NotFound; another tenant's templates are invisible."""
    store.template_put(version("deck", "a" * 64, tenant="acme"), now=T0)
    with pytest.raises(NotFound):
        store.template_get("deck")
    with pytest.raises(NotFound):
        store.template_get("deck", 2, tenant="acme")
    assert store.template_get("deck", tenant="acme").version == 1
    assert store.template_list() == []


def test_template_list_latest_per_name(store: Store) -> None:
    """Listing gives each name once, at its latest version, sorted by name."""
    store.template_put(version("b", "1" * 64), now=T0)
    store.template_put(version("a", "2" * 64), now=T0)
    store.template_put(version("b", "3" * 64), now=at(1))
    listed = store.template_list()
    assert [(t.name, t.version) for t in listed] == [("a", 1), ("b", 2)]
    assert all(t.bundle is None for t in listed)


def test_concurrent_template_puts_get_distinct_versions(store_url: str) -> None:
    """Two connections storing new versions at once never clash or share a version."""
    if store_url.startswith("memory"):
        pytest.skip("the memory store lives in one process; one lock covers it")
    stores = [open_store(store_url) for _ in range(4)]
    got: list[int] = []
    errors: list[BaseException] = []

    def push(s: Store, n: int) -> None:
        try:
            for i in range(5):
                stored, _ = s.template_put(version("race", f"{n}-{i}".ljust(64, "x")))
                got.append(stored.version)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=push, args=(s, n)) for n, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert not errors
    assert sorted(got) == list(range(1, 21))


def test_cache_lookup_finds_newest_recent_success(store: Store) -> None:
    """The lookup returns the newest succeeded job with the key finished after the cut-off."""
    key = "c" * 64
    old = finished(store, key, at(0))
    new = finished(store, key, at(10))
    finished(store, "other", at(20))
    finished(store, key, at(30), tenant="acme")
    hit = store.job_get_cached(key, at(5))
    assert hit is not None and hit.id == new and hit.cache_key == key
    assert store.job_get_cached(key, at(10)) is None
    assert store.job_get_cached("missing", at(0)) is None
    assert store.job_get(old).cache_key == key
    failed, _ = store.job_insert(NewJob(task="r", cache_key="f" * 64), now=at(40))
    assert store.job_get_cached("f" * 64, at(0)) is None and failed.cache_key == "f" * 64


def test_insert_cached_job_is_succeeded_with_result(store: Store) -> None:
    """A cache hit is inserted succeeded under the caller's id, with its result and one event."""
    source = finished(store, "k" * 64, at(0))
    result = {"filename": "a.pdf", "key": "t/x/0/a.pdf", "cached_from": source}
    job, created = store.job_insert_cached(
        "0" * 32, NewJob(task="r", cache_key="k" * 64, unique_key="u1"), result, now=at(1)
    )
    assert created and job.id == "0" * 32
    assert job.status == JobStatus.SUCCEEDED and job.attempt == 0
    assert job.result == result and job.progress_percent == 100
    assert job.finished_at == at(1) and job.started_at == at(1)
    events = store.job_events(job.id)
    assert [(e.kind, e.data["status"]) for e in events] == [(EventKind.STATUS, "succeeded")]
    assert events[0].data["cached_from"] == source
    again, created = store.job_insert_cached(
        "1" * 32, NewJob(task="r", unique_key="u1"), result, now=at(2)
    )
    assert not created and again.id == job.id
    with pytest.raises(NotFound):
        store.job_get("1" * 32)


def test_insert_many_keeps_cache_keys(store: Store) -> None:
    """Bulk inserts store each job's cache key."""
    ids = store.job_insert_many([NewJob(task="r", cache_key="a" * 64), NewJob(task="r")], now=T0)
    assert [store.job_get(i).cache_key for i in ids] == ["a" * 64, None]


def test_purge_batch_returns_tenants_and_ids(store: Store) -> None:
    """A batch purge deletes at most ``limit`` old finished jobs and names each one."""
    a = finished(store, None, at(0), tenant="acme")
    b = finished(store, None, at(1))
    c = finished(store, None, at(100))
    first = store.job_purge_batch(at(50), limit=1)
    assert first == [("acme", a)]
    assert store.job_purge_batch(at(50), limit=10) == [("default", b)]
    assert store.job_purge_batch(at(50)) == []
    assert store.job_events(a) == []
    assert store.job_get(c).status == JobStatus.SUCCEEDED
