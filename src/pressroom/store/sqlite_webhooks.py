"""The SQLite driver's webhook tables: job webhooks, tenant subscriptions and the delivery
outbox; mixed into :class:`~pressroom.store.sqlite.SQLiteStore`.

Deliveries are enqueued by the ``jobs_webhook_outbox`` trigger (migration 0004) when a flagged
job ends; :meth:`SQLiteWebhooks.webhook_attach` flags a job and covers one that had ended
before it was flagged. SQLite serialises writers, so one of the two always sees the other.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, Protocol

from pressroom.core.errors import NotFound
from pressroom.core.models import TERMINAL_STATUSES, utcnow
from pressroom.core.webhooks import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from pressroom.store import _common as c
from pressroom.store import _webhooks as w

_Q = {
    name: sql.replace("{delivery_columns}", w.DELIVERY_COLUMNS)
    for name, sql in c.load_queries("pressroom.store", "sqlite_webhooks.sql").items()
}
_TERMINAL = {s.value for s in TERMINAL_STATUSES}


def _dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


class _Driver(Protocol):
    def _conn(self) -> sqlite3.Connection: ...

    def _write(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def _write_one(self, sql: str, params: Sequence[Any]) -> None: ...


class SQLiteWebhooks:
    """Job webhooks, subscriptions and the delivery outbox on SQLite (see the Store protocol)."""

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
        at = (now or utcnow()).timestamp()
        with self._write() as conn:
            row = conn.execute(_Q["job_status"], (job_id, tenant)).fetchone()
            if row is None:
                raise NotFound(f"no job {job_id!r}")
            status, flagged = row
            if url is not None:
                conn.execute(_Q["job_webhook_upsert"], (job_id, tenant, url, secret))
            if not flagged:
                conn.execute(_Q["job_flag"], (job_id,))
            if status not in _TERMINAL:
                return 0
            n = 0
            if url is not None:
                n += conn.execute(_Q["delivery_enqueue_job"], (at, at, job_id)).rowcount
            if not flagged:
                n += conn.execute(_Q["delivery_enqueue_subscriptions"], (at, at, job_id)).rowcount
            return int(n)

    def webhook_subscription_add(self: _Driver, sub: WebhookSubscription) -> None:
        """Store a tenant-level subscription."""
        params = (sub.id, sub.tenant, sub.url, json.dumps(sub.events), sub.created_at.timestamp())
        self._write_one(_Q["subscription_insert"], params)

    def webhook_subscription_list(self: _Driver, tenant: str) -> list[WebhookSubscription]:
        """A tenant's subscriptions, oldest first."""
        rows = self._conn().execute(_Q["subscription_list"], (tenant,))
        return [w.row_to_subscription(r, _dt) for r in rows]

    def webhook_subscription_delete(self: _Driver, tenant: str, sub_id: str) -> None:
        """Delete a subscription; NotFound if the tenant has none with this id."""
        with self._write() as conn:
            if conn.execute(_Q["subscription_delete"], (tenant, sub_id)).rowcount == 0:
                raise NotFound(f"no webhook subscription {sub_id!r}")

    def webhook_delivery_claim(
        self: _Driver, limit: int, lease_s: float, *, now: datetime | None = None
    ) -> list[WebhookDelivery]:
        """Take up to ``limit`` due deliveries for one attempt each: their attempt counts up
        and they are not due again for ``lease_s`` (if the sender dies, they come back)."""
        at = (now or utcnow()).timestamp()
        if self._conn().execute(_Q["delivery_due"], (at, 1)).fetchone() is None:
            return []
        with self._write() as conn:
            ids = [r[0] for r in conn.execute(_Q["delivery_due"], (at, limit))]
            rows = conn.execute(_Q["delivery_claim"], (at + lease_s, at, json.dumps(ids)))
            found = [w.row_to_delivery(r, _dt) for r in rows.fetchall()]
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
        """Record an attempt's outcome, fenced by attempt: delivered, failed for good, or
        pending again at ``next_attempt_at``; log it. False if the attempt is stale."""
        at = (now or utcnow()).timestamp()
        params = (
            status.value,
            None if next_attempt_at is None else next_attempt_at.timestamp(),
            response_code,
            error,
            delivery_id,
            attempt,
        )
        with self._write() as conn:
            if not conn.execute(_Q["delivery_record"], params).rowcount:
                return False
            log = (delivery_id, attempt, at, response_code, error)
            conn.execute(_Q["attempt_insert"], log)
            return True

    def webhook_attempt_list(self: _Driver, tenant: str, delivery_id: str) -> list[WebhookAttempt]:
        """The recorded attempts of a tenant's delivery, oldest first."""
        rows = self._conn().execute(_Q["attempt_list"], (tenant, delivery_id))
        return [WebhookAttempt(r[0], _dt(r[1]) or utcnow(), r[2], r[3]) for r in rows]

    def webhook_delivery_list(
        self: _Driver, tenant: str, *, job_id: str | None = None, limit: int = 100
    ) -> list[WebhookDelivery]:
        """A tenant's deliveries (of one job, if given), newest first."""
        rows = self._conn().execute(_Q["delivery_list"], (tenant, job_id, job_id, limit))
        return [w.row_to_delivery(r, _dt) for r in rows]

    def webhook_delivery_purge(self: _Driver, created_before: datetime) -> int:
        """Delete finished deliveries created before the cut-off, and the webhooks of jobs that
        no longer exist; return how many deliveries were deleted."""
        with self._write() as conn:
            conn.execute(_Q["attempt_purge"], (created_before.timestamp(),))
            n = conn.execute(_Q["delivery_purge"], (created_before.timestamp(),)).rowcount
            conn.execute(_Q["job_webhook_prune"])
        return int(n)
