"""The PostgreSQL driver's access-control tables: tenants, API keys, server settings and
Idempotency-Key records; mixed into :class:`~pressroom.store.postgres.PostgresStore`.

"Create unless present, then read" is one statement each (an ``INSERT … ON CONFLICT DO
NOTHING RETURNING`` CTE unioned with a read of the existing row). When a racing insert commits
after that statement took its snapshot, the conflict makes the insert do nothing and the read
cannot see the winner yet: the row is then read again by a second statement (a new snapshot).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import TupleRow

from pressroom.core.accounts import ApiKey, IdempotencyRecord, Tenant
from pressroom.core.errors import Conflict, NotFound, StoreError
from pressroom.store import _access as a
from pressroom.store import _common as c
from pressroom.store._postgres_mixin import Conn, Driver, query_rows, utc

_Q = c.load_queries("pressroom.store", "postgres_access.sql")
_Conn = Conn
_Driver = Driver
_dt = utc


def _rows(store: Driver, name: str, params: dict[str, Any], *, write: bool) -> list[TupleRow]:
    return query_rows(store, _Q[name], params, write=write)


def _first(rows: list[TupleRow]) -> TupleRow:
    if not rows:
        raise StoreError("PostgreSQL returned no row where one was expected")
    return rows[0]


def _put(store: _Driver, name: str, params: dict[str, Any], reread: str) -> TupleRow:
    """The row an insert-or-read statement returns, read again if a racer hid it."""
    rows = _rows(store, name, params, write=True)
    return rows[0] if rows else _first(_rows(store, reread, params, write=False))


class PostgresAccess:
    """Tenants, API keys, settings and idempotency records on PostgreSQL (see Store)."""

    def key_insert(self: _Driver, key: ApiKey) -> None:
        """Store a new key; Conflict if its id or prefix is taken."""
        try:
            _rows(self, "key_insert", asdict(key), write=True)
        except StoreError as exc:
            if isinstance(exc.__cause__, psycopg.errors.UniqueViolation):
                raise Conflict(f"an API key with prefix {key.prefix!r} exists") from exc
            raise

    def key_get_by_prefix(self: _Driver, prefix: str) -> ApiKey | None:
        """The key with this public prefix (revoked or not), or None."""
        rows = _rows(self, "key_get_by_prefix", {"prefix": prefix}, write=False)
        return a.row_to_key(rows[0], _dt) if rows else None

    def key_list(self: _Driver, tenant: str | None = None) -> list[ApiKey]:
        """Every key (of one tenant, if given), oldest first."""
        return [
            a.row_to_key(r, _dt) for r in _rows(self, "key_list", {"tenant": tenant}, write=False)
        ]

    def key_revoke(self: _Driver, key_id: str, *, now: datetime | None = None) -> ApiKey:
        """Revoke a key (keeping the first revocation time); NotFound if there is none."""
        rows = _rows(self, "key_revoke", {"id": key_id, "now": now}, write=True)
        if not rows:
            raise NotFound(f"no API key {key_id!r}")
        return a.row_to_key(rows[0], _dt)

    def key_touch(self: _Driver, key_id: str, *, now: datetime | None = None) -> None:
        """Record that a key was used."""
        _rows(self, "key_touch", {"id": key_id, "now": now}, write=True)

    def key_count_active(self: _Driver) -> int:
        """How many keys are not revoked."""
        return int(_first(_rows(self, "key_count_active", {}, write=False))[0])

    def tenant_ensure(
        self: _Driver, name: str, webhook_secret: str, *, now: datetime | None = None
    ) -> Tenant:
        """The tenant ``name``, created with ``webhook_secret`` if it did not exist."""
        params = {"name": name, "secret": webhook_secret, "now": now}
        return a.row_to_tenant(_put(self, "tenant_ensure", params, "tenant_get"), _dt)

    def tenant_get(self: _Driver, name: str) -> Tenant:
        """One tenant; NotFound if it has never been created."""
        rows = _rows(self, "tenant_get", {"name": name}, write=False)
        if not rows:
            raise NotFound(f"no tenant {name!r}")
        return a.row_to_tenant(rows[0], _dt)

    def tenant_list(self: _Driver) -> list[Tenant]:
        """Every tenant, by name."""
        return [a.row_to_tenant(r, _dt) for r in _rows(self, "tenant_list", {}, write=False)]

    def tenant_secret_set(self: _Driver, name: str, webhook_secret: str) -> Tenant:
        """Replace a tenant's webhook signing secret; NotFound if there is no such tenant."""
        rows = _rows(
            self, "tenant_secret_set", {"name": name, "secret": webhook_secret}, write=True
        )
        if not rows:
            raise NotFound(f"no tenant {name!r}")
        return a.row_to_tenant(rows[0], _dt)

    def setting_get_or_create(
        self: _Driver, name: str, value: str, *, now: datetime | None = None
    ) -> str:
        """The stored value of a setting; ``value`` is stored first if there was none."""
        params = {"name": name, "value": value, "now": now}
        return str(_put(self, "setting_get_or_create", params, "setting_get")[0])

    def idempotency_get(self: _Driver, tenant: str, key: str) -> IdempotencyRecord | None:
        """The record of a tenant's idempotency key, or None."""
        rows = _rows(self, "idempotency_get", {"tenant": tenant, "key": key}, write=False)
        return a.row_to_idempotency(rows[0], _dt) if rows else None

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
        params = {
            "tenant": tenant,
            "key": key,
            "request_hash": request_hash,
            "job_id": job_id,
            "now": now,
        }
        return a.row_to_idempotency(_put(self, "idempotency_put", params, "idempotency_get"), _dt)

    def idempotency_purge(self: _Driver, created_before: datetime) -> int:
        """Delete idempotency records older than the cut-off; return how many."""

        def op(conn: _Conn) -> int:
            return conn.execute(_Q["idempotency_purge"], {"before": created_before}).rowcount

        return self._run(op, write=True)

    def job_count_waiting(self: _Driver, tenant: str, limit: int) -> int:
        """How many of a tenant's jobs are queued or scheduled, counting at most ``limit``."""
        params = {"tenant": tenant, "limit": limit}
        return int(_first(_rows(self, "job_count_waiting", params, write=False))[0])
