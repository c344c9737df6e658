"""``Idempotency-Key``: the same key from the same tenant returns the same job.

A submission with a key runs as:

1. a record for (tenant, key) exists → the same request hash returns its job (not created);
   a different hash is :class:`~pressroom.core.errors.IdempotencyMismatch`;
2. otherwise the job is submitted with the unique key ``idem:<key>``, so two racing requests
   meet on the store's live-job dedupe and get ONE job (the second gets it with
   ``created=False``), on SQLite and PostgreSQL alike;
3. then the record is put; if another request's record won, that record decides (a job this
   request created in the meantime, possible only when the first job already ended and freed
   the unique key, is cancelled).

Records are kept :data:`IDEMPOTENCY_TTL_S` (a day) and purged by the worker's maintenance.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pressroom.core.errors import Conflict, IdempotencyMismatch, InvalidInput, NotFound
from pressroom.core.models import Job
from pressroom.core.ports import Store

IDEMPOTENCY_TTL_S = 86400.0
MAX_KEY_LENGTH = 200


def request_hash(payload: Any) -> str:
    """A stable hash of a request body (JSON-like), independent of key order and spacing."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def unique_key_for(key: str) -> str:
    """The job unique key an idempotent submission uses."""
    return f"idem:{key}"


def check_key(key: str) -> str:
    """Return ``key`` if it is a usable Idempotency-Key (1-200 visible ASCII characters)."""
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not all(33 <= ord(ch) <= 126 for ch in key):
        raise InvalidInput("Idempotency-Key must be 1-200 visible ASCII characters")
    return key


def submit_idempotent(
    store: Store,
    tenant: str,
    key: str,
    request_hash: str,
    submit: Callable[[str], tuple[Job, bool]],
    *,
    now: datetime | None = None,
) -> tuple[Job, bool]:
    """Submit once per (tenant, key); return (job, created). ``submit(unique_key)`` submits
    the job with that unique key and returns the store's (job, created)."""
    check_key(key)
    record = store.idempotency_get(tenant, key)
    if record is None:
        job, created = submit(unique_key_for(key))
        record = store.idempotency_put(tenant, key, request_hash, job.id, now=now)
        if record.job_id == job.id and record.request_hash == request_hash:
            return job, created
        if created:
            _withdraw(store, job)
    if record.request_hash != request_hash:
        raise IdempotencyMismatch(
            f"Idempotency-Key {key!r} was already used with a different request"
        )
    try:
        return store.job_get(record.job_id, tenant=tenant), False
    except NotFound:
        raise NotFound(
            f"the job first submitted with Idempotency-Key {key!r} has been deleted"
        ) from None


def _withdraw(store: Store, job: Job) -> None:
    """Cancel a job that lost an idempotency race (it should not run twice)."""
    with contextlib.suppress(Conflict, NotFound):
        store.job_cancel(job.id, tenant=job.tenant)
