"""Row mapping shared by the drivers for tenants, API keys and idempotency records."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from pressroom.core.accounts import ApiKey, IdempotencyRecord, Tenant

KEY_COLUMNS = "id, prefix, tenant, admin, created_at, secret_hash, name, last_used_at, revoked_at"
"""The column order every driver selects keys in; :func:`row_to_key` reads that order."""

_Dt = Callable[[Any], datetime | None]


def _req(dt: _Dt, value: Any) -> datetime:
    out = dt(value)
    assert out is not None
    return out


def row_to_key(row: Sequence[Any], dt: _Dt) -> ApiKey:
    """An API key from a row in :data:`KEY_COLUMNS` order."""
    return ApiKey(
        id=row[0],
        prefix=row[1],
        tenant=row[2],
        admin=bool(row[3]),
        created_at=_req(dt, row[4]),
        secret_hash=row[5],
        name=row[6],
        last_used_at=dt(row[7]),
        revoked_at=dt(row[8]),
    )


def row_to_tenant(row: Sequence[Any], dt: _Dt) -> Tenant:
    """A tenant from a (name, webhook_secret, created_at) row."""
    return Tenant(row[0], row[1], _req(dt, row[2]))


def row_to_idempotency(row: Sequence[Any], dt: _Dt) -> IdempotencyRecord:
    """An idempotency record from a (tenant, key, request_hash, job_id, created_at) row."""
    return IdempotencyRecord(row[0], row[1], row[2], row[3], _req(dt, row[4]))
