"""The memory driver's access-control tables: tenants, API keys, server settings and
Idempotency-Key records; mixed into :class:`~pressroom.store.memory.MemoryStore`."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime

from pressroom.core.accounts import ApiKey, IdempotencyRecord, Tenant
from pressroom.core.errors import Conflict, NotFound
from pressroom.core.models import Job, JobStatus, utcnow


class MemoryAccess:
    """Tenants, API keys, settings and idempotency records in memory (see the Store protocol)."""

    _lock: threading.Lock
    _jobs: dict[str, Job]

    def _init_access(self) -> None:
        """Create the empty tables (called by the store's constructor)."""
        self._keys: dict[str, ApiKey] = {}
        self._tenants: dict[str, Tenant] = {}
        self._settings: dict[str, str] = {}
        self._idempotency: dict[tuple[str, str], IdempotencyRecord] = {}

    def key_insert(self, key: ApiKey) -> None:
        """Store a new key; Conflict if its id or prefix is taken."""
        with self._lock:
            if key.id in self._keys or any(k.prefix == key.prefix for k in self._keys.values()):
                raise Conflict(f"an API key with prefix {key.prefix!r} exists")
            self._keys[key.id] = replace(key, last_used_at=None, revoked_at=None)

    def key_get_by_prefix(self, prefix: str) -> ApiKey | None:
        """The key with this public prefix (revoked or not), or None."""
        with self._lock:
            return next((k for k in self._keys.values() if k.prefix == prefix), None)

    def key_list(self, tenant: str | None = None) -> list[ApiKey]:
        """Every key (of one tenant, if given), oldest first."""
        with self._lock:
            keys = [k for k in self._keys.values() if tenant is None or k.tenant == tenant]
        return sorted(keys, key=lambda k: (k.created_at, k.id))

    def key_revoke(self, key_id: str, *, now: datetime | None = None) -> ApiKey:
        """Revoke a key (keeping the first revocation time); NotFound if there is none."""
        with self._lock:
            key = self._keys.get(key_id)
            if key is None:
                raise NotFound(f"no API key {key_id!r}")
            if key.revoked_at is None:
                key = self._keys[key_id] = replace(key, revoked_at=now or utcnow())
            return key

    def key_touch(self, key_id: str, *, now: datetime | None = None) -> None:
        """Record that a key was used."""
        with self._lock:
            if key_id in self._keys:
                self._keys[key_id] = replace(self._keys[key_id], last_used_at=now or utcnow())

    def key_count_active(self) -> int:
        """How many keys are not revoked."""
        with self._lock:
            return sum(1 for k in self._keys.values() if k.revoked_at is None)

    def tenant_ensure(
        self, name: str, webhook_secret: str, *, now: datetime | None = None
    ) -> Tenant:
        """The tenant ``name``, created with ``webhook_secret`` if it did not exist."""
        with self._lock:
            return self._tenants.setdefault(name, Tenant(name, webhook_secret, now or utcnow()))

    def tenant_get(self, name: str) -> Tenant:
        """One tenant; NotFound if it has never been created."""
        with self._lock:
            if name not in self._tenants:
                raise NotFound(f"no tenant {name!r}")
            return self._tenants[name]

    def tenant_list(self) -> list[Tenant]:
        """Every tenant, by name."""
        with self._lock:
            return sorted(self._tenants.values(), key=lambda t: t.name)

    def tenant_secret_set(self, name: str, webhook_secret: str) -> Tenant:
        """Replace a tenant's webhook signing secret; NotFound if there is no such tenant."""
        with self._lock:
            if name not in self._tenants:
                raise NotFound(f"no tenant {name!r}")
            tenant = replace(self._tenants[name], webhook_secret=webhook_secret)
            self._tenants[name] = tenant
            return tenant

    def setting_get_or_create(self, name: str, value: str, *, now: datetime | None = None) -> str:
        """The stored value of a setting; ``value`` is stored first if there was none."""
        with self._lock:
            return self._settings.setdefault(name, value)

    def idempotency_get(self, tenant: str, key: str) -> IdempotencyRecord | None:
        """The record of a tenant's idempotency key, or None."""
        with self._lock:
            return self._idempotency.get((tenant, key))

    def idempotency_put(
        self,
        tenant: str,
        key: str,
        request_hash: str,
        job_id: str,
        *,
        now: datetime | None = None,
    ) -> IdempotencyRecord:
        """Record the key unless it is held; return the record that holds it (the winner)."""
        record = IdempotencyRecord(tenant, key, request_hash, job_id, now or utcnow())
        with self._lock:
            return self._idempotency.setdefault((tenant, key), record)

    def idempotency_purge(self, created_before: datetime) -> int:
        """Delete idempotency records older than the cut-off; return how many."""
        with self._lock:
            old = [k for k, r in self._idempotency.items() if r.created_at < created_before]
            for k in old:
                del self._idempotency[k]
        return len(old)

    def job_count_waiting(self, tenant: str, limit: int) -> int:
        """How many of a tenant's jobs are queued or scheduled, counting at most ``limit``."""
        waiting = (JobStatus.QUEUED, JobStatus.SCHEDULED)
        with self._lock:
            n = sum(1 for j in self._jobs.values() if j.tenant == tenant and j.status in waiting)
        return min(n, limit)
