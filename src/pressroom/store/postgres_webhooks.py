"""The PostgreSQL driver's webhook tables: job webhooks, tenant subscriptions and the delivery
outbox; mixed into :class:`~pressroom.store.postgres.PostgresStore`.

Deliveries are enqueued by the ``pressroom_jobs_webhook_outbox`` row trigger (migration 0003)
when a flagged job ends. :meth:`PostgresWebhooks.webhook_attach` flags the job with its row
locked, so a finish racing with it either waits and then sees the flag (the trigger fires), or
has committed and is seen as ended (the attach enqueues). Claims use ``FOR UPDATE SKIP
LOCKED``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from psycopg.rows import TupleRow

from pressroom.core.errors import NotFound
from pressroom.core.models import TERMINAL_STATUSES
from pressroom.core.webhooks import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from pressroom.store import _common as c
from pressroom.store import _webhooks as w
from pressroom.store._postgres_mixin import Conn, Driver, query_rows, utc

_D_COLUMNS = ", ".join(f"d.{col.strip()}" for col in w.DELIVERY_COLUMNS.split(","))
_Q = {
    name: sql.replace("{d_delivery_columns}", _D_COLUMNS).replace(
        "{delivery_columns}", w.DELIVERY_COLUMNS
    )
    for name, sql in c.load_queries("pressroom.store", "postgres_webhooks.sql").items()
}
_TERMINAL = {s.value for s in TERMINAL_STATUSES}
_Conn = Conn
_Driver = Driver
_dt = utc


def _rows(store: Driver, name: str, params: dict[str, Any], *, write: bool) -> list[TupleRow]:
    return query_rows(store, _Q[name], params, write=write)


class PostgresWebhooks:
    """Job webhooks, subscriptions and the delivery outbox on PostgreSQL (see Store)."""

    def webhook_attach(
        self: _Driver,
        job_id: str,
        tenant: str,
        url: str | None,
        secret: str | None,
        *,
        now: datetime | None = None,
    ) -> int:
        """Flag a job for webhooks (giving it its own webhook if ``url``); if it has already
        ended, enqueue its deliveries at once. Return how many were enqueued now."""
        params = {"job_id": job_id, "tenant": tenant, "url": url, "secret": secret, "now": now}

        def op(conn: _Conn) -> int:
            row = conn.execute(_Q["job_lock"], params).fetchone()
            if row is None:
                raise NotFound(f"no job {job_id!r}")
            status, flagged = row
            if url is not None:
                conn.execute(_Q["job_webhook_upsert"], params)
            if not flagged:
                conn.execute(_Q["job_flag"], params)
            if status not in _TERMINAL:
                return 0
            n = 0
            if url is not None:
                n += conn.execute(_Q["delivery_enqueue_job"], params).rowcount
            if not flagged:
                n += conn.execute(_Q["delivery_enqueue_subscriptions"], params).rowcount
            return n

        return self._run(op, write=True, tx=True)

    def webhook_subscription_add(self: _Driver, sub: WebhookSubscription) -> None:
        """Store a tenant-level subscription."""
        params = {
            "id": sub.id,
            "tenant": sub.tenant,
            "url": sub.url,
            "events": json.dumps(sub.events),
            "created_at": sub.created_at,
        }
        _rows(self, "subscription_insert", params, write=True)

    def webhook_subscription_list(self: _Driver, tenant: str) -> list[WebhookSubscription]:
        """A tenant's subscriptions, oldest first."""
        rows = _rows(self, "subscription_list", {"tenant": tenant}, write=False)
        return [w.row_to_subscription(r, _dt) for r in rows]

    def webhook_subscription_delete(self: _Driver, tenant: str, sub_id: str) -> None:
        """Delete a subscription; NotFound if the tenant has none with this id."""
        if not _rows(self, "subscription_delete", {"tenant": tenant, "id": sub_id}, write=True):
            raise NotFound(f"no webhook subscription {sub_id!r}")

    def webhook_delivery_claim(
        self: _Driver, limit: int, lease_s: float, *, now: datetime | None = None
    ) -> list[WebhookDelivery]:
        """Take up to ``limit`` due deliveries for one attempt each (SKIP LOCKED)."""
        params = {"limit": limit, "lease_s": lease_s, "now": now}
        found = [
            w.row_to_delivery(r, _dt) for r in _rows(self, "delivery_claim", params, write=True)
        ]
        return sorted(found, key=lambda d: (d.next_attempt_at, d.id))

    def webhook_delivery_record(
        self: _Driver,
        delivery_id: str,
        attempt: int,
        *,
        status: DeliveryStatus,
        response_code: int | None = None,
        error: str | None = None,
        next_attempt_at: datetime | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Record an attempt's outcome, fenced by attempt, and log it; False if stale."""
        params = {
            "id": delivery_id,
            "attempt": attempt,
            "status": status.value,
            "response_code": response_code,
            "error": error,
            "next_attempt_at": next_attempt_at,
            "now": now,
        }

        def op(conn: _Conn) -> bool:
            if conn.execute(_Q["delivery_record"], params).fetchone() is None:
                return False
            conn.execute(_Q["attempt_insert"], params)
            return True

        return self._run(op, write=True, tx=True)

    def webhook_attempt_list(self: _Driver, tenant: str, delivery_id: str) -> list[WebhookAttempt]:
        """The recorded attempts of a tenant's delivery, oldest first."""
        rows = _rows(self, "attempt_list", {"tenant": tenant, "id": delivery_id}, write=False)
        return [WebhookAttempt(r[0], r[1].astimezone(UTC), r[2], r[3]) for r in rows]

    def webhook_delivery_list(
        self: _Driver, tenant: str, *, job_id: str | None = None, limit: int = 100
    ) -> list[WebhookDelivery]:
        """A tenant's deliveries (of one job, if given), newest first."""
        params = {"tenant": tenant, "job_id": job_id, "limit": limit}
        return [
            w.row_to_delivery(r, _dt) for r in _rows(self, "delivery_list", params, write=False)
        ]

    def webhook_delivery_purge(self: _Driver, created_before: datetime) -> int:
        """Delete finished deliveries created before the cut-off, and the webhooks of jobs that
        no longer exist; return how many deliveries were deleted."""

        def op(conn: _Conn) -> int:
            conn.execute(_Q["attempt_purge"], {"before": created_before})
            n = conn.execute(_Q["delivery_purge"], {"before": created_before}).rowcount
            conn.execute(_Q["job_webhook_prune"])
            return n

        return self._run(op, write=True, tx=True)
