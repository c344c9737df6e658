"""The SQLite driver's access-control tables: tenants, API keys, server settings and
Idempotency-Key records; mixed into :class:`~pressroom.store.sqlite.SQLiteStore`."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, Protocol

from pressroom.core.accounts import ApiKey, IdempotencyRecord, Tenant
from pressroom.core.errors import Conflict, NotFound
from pressroom.core.models import utcnow
from pressroom.store import _access as a
from pressroom.store import _common as c

_Q = c.load_queries("pressroom.store", "sqlite_access.sql")


def _dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


class _Driver(Protocol):
    def _conn(self) -> sqlite3.Connection: ...

    def _write(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def _write_one(self, sql: str, params: Sequence[Any]) -> None: ...


class SQLiteAccess:
    """Tenants, API keys, settings and idempotency records on SQLite (see the Store protocol)."""

    def key_insert(self: _Driver, key: ApiKey) -> None:
        """Store a new key; Conflict if its id or prefix is taken."""
        row = (key.id, key.prefix, key.secret_hash, key.tenant, int(key.admin), key.name)
        try:
            self._write_one(_Q["key_insert"], (*row, key.created_at.timestamp()))
        except sqlite3.IntegrityError as exc:
            raise Conflict(f"an API key with prefix {key.prefix!r} exists") from exc

    def key_get_by_prefix(self: _Driver, prefix: str) -> ApiKey | None:
        """The key with this public prefix (revoked or not), or None."""
        row = self._conn().execute(_Q["key_get_by_prefix"], (prefix,)).fetchone()
        return None if row is None else a.row_to_key(row, _dt)

    def key_list(self: _Driver, tenant: str | None = None) -> list[ApiKey]:
        """Every key (of one tenant, if given), oldest first."""
        rows = self._conn().execute(_Q["key_list"], (tenant, tenant))
        return [a.row_to_key(r, _dt) for r in rows]

    def key_revoke(self: _Driver, key_id: str, *, now: datetime | None = None) -> ApiKey:
        """Revoke a key (keeping the first revocation time); NotFound if there is none."""
        with self._write() as conn:
            conn.execute(_Q["key_revoke"], ((now or utcnow()).timestamp(), key_id))
            row = conn.execute(_Q["key_get"], (key_id,)).fetchone()
        if row is None:
            raise NotFound(f"no API key {key_id!r}")
        return a.row_to_key(row, _dt)

    def key_touch(self: _Driver, key_id: str, *, now: datetime | None = None) -> None:
        """Record that a key was used."""
        self._write_one(_Q["key_touch"], ((now or utcnow()).timestamp(), key_id))

    def key_count_active(self: _Driver) -> int:
        """How many keys are not revoked."""
        return int(self._conn().execute(_Q["key_count_active"]).fetchone()[0])

    def tenant_ensure(
        self: _Driver, name: str, webhook_secret: str, *, now: datetime | None = None
    ) -> Tenant:
        """The tenant ``name``, created with ``webhook_secret`` if it did not exist."""
        with self._write() as conn:
            conn.execute(_Q["tenant_insert"], (name, webhook_secret, (now or utcnow()).timestamp()))
            row = conn.execute(_Q["tenant_get"], (name,)).fetchone()
        return a.row_to_tenant(row, _dt)

    def tenant_get(self: _Driver, name: str) -> Tenant:
        """One tenant; NotFound if it has never been created."""
        row = self._conn().execute(_Q["tenant_get"], (name,)).fetchone()
        if row is None:
            raise NotFound(f"no tenant {name!r}")
        return a.row_to_tenant(row, _dt)

    def tenant_list(self: _Driver) -> list[Tenant]:
        """Every tenant, by name."""
        return [a.row_to_tenant(r, _dt) for r in self._conn().execute(_Q["tenant_list"])]

    def tenant_secret_set(self: _Driver, name: str, webhook_secret: str) -> Tenant:
        """Replace a tenant's webhook signing secret; NotFound if there is no such tenant."""
        with self._write() as conn:
            conn.execute(_Q["tenant_secret_set"], (webhook_secret, name))
            row = conn.execute(_Q["tenant_get"], (name,)).fetchone()
        if row is None:
            raise NotFound(f"no tenant {name!r}")
        return a.row_to_tenant(row, _dt)

    def setting_get_or_create(
        self: _Driver, name: str, value: str, *, now: datetime | None = None
    ) -> str:
        """The stored value of a setting; ``value`` is stored first if there was none."""
        with self._write() as conn:
            conn.execute(_Q["setting_insert"], (name, value, (now or utcnow()).timestamp()))
            row = conn.execute(_Q["setting_get"], (name,)).fetchone()
        return str(row[0])

    def idempotency_get(self: _Driver, tenant: str, key: str) -> IdempotencyRecord | None:
        """The record of a tenant's idempotency key, or None."""
        row = self._conn().execute(_Q["idempotency_get"], (tenant, key)).fetchone()
        return None if row is None else a.row_to_idempotency(row, _dt)

    def idempotency_put(
        self: _Driver,
        tenant: str,
        key: str,
        request_hash: str,
        job_id: str,
        *,
        now: datetime | None = None,
    ) -> IdempotencyRecord:
        """Record the key unless it is held; return the record that holds it (the winner)."""
        at = (now or utcnow()).timestamp()
        with self._write() as conn:
            conn.execute(_Q["idempotency_insert"], (tenant, key, request_hash, job_id, at))
            row = conn.execute(_Q["idempotency_get"], (tenant, key)).fetchone()
        return a.row_to_idempotency(row, _dt)

    def idempotency_purge(self: _Driver, created_before: datetime) -> int:
        """Delete idempotency records older than the cut-off; return how many."""
        with self._write() as conn:
            cur = conn.execute(_Q["idempotency_purge"], (created_before.timestamp(),))
        return int(cur.rowcount)

    def job_count_waiting(self: _Driver, tenant: str, limit: int) -> int:
        """How many of a tenant's jobs are queued or scheduled, counting at most ``limit``."""
        return int(self._conn().execute(_Q["job_count_waiting"], (tenant, limit)).fetchone()[0])
