"""The memory driver's webhook tables: job webhooks, tenant subscriptions and the delivery
outbox; mixed into :class:`~pressroom.store.memory.MemoryStore`, whose status changes call
:meth:`MemoryWebhooks._job_ended` as the SQL drivers' triggers do."""

from __future__ import annotations

import secrets
import threading
from dataclasses import replace
from datetime import datetime, timedelta

from pressroom.core.errors import NotFound
from pressroom.core.models import Job, utcnow
from pressroom.core.webhooks import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from pressroom.store._webhooks import payload_of


class MemoryWebhooks:
    """Job webhooks, subscriptions and the delivery outbox in memory (see the Store protocol)."""

    _lock: threading.Lock
    _jobs: dict[str, Job]

    def _init_webhooks(self) -> None:
        """Create the empty tables (called by the store's constructor)."""
        self._job_webhooks: dict[str, tuple[str, str | None]] = {}
        self._flagged: set[str] = set()
        self._attempts: dict[str, list[WebhookAttempt]] = {}
        self._subscriptions: dict[str, WebhookSubscription] = {}
        self._deliveries: dict[str, WebhookDelivery] = {}

    def _enqueue(
        self, job: Job, url: str, secret: str | None, sub: str | None, at: datetime
    ) -> None:
        msg_id = "msg_" + secrets.token_hex(16)
        self._deliveries[msg_id] = WebhookDelivery(
            id=msg_id,
            tenant=job.tenant,
            job_id=job.id,
            url=url,
            event=f"job.{job.status.value}",
            payload=payload_of(job),
            status=DeliveryStatus.PENDING,
            attempt=0,
            next_attempt_at=at,
            created_at=at,
            secret=secret,
            subscription_id=sub,
        )

    def _job_ended(self, job: Job, at: datetime) -> None:
        """Enqueue the deliveries of a job that just reached a terminal status (lock held)."""
        if job.id not in self._flagged:
            return
        when = job.finished_at or at
        if job.id in self._job_webhooks:
            url, secret = self._job_webhooks[job.id]
            self._enqueue(job, url, secret, None, when)
        self._enqueue_subscriptions(job, when)

    def _enqueue_subscriptions(self, job: Job, at: datetime) -> None:
        event = f"job.{job.status.value}"
        for sub in self._subscriptions.values():
            if sub.tenant == job.tenant and ("*" in sub.events or event in sub.events):
                self._enqueue(job, sub.url, None, sub.id, at)

    def webhook_attach(
        self,
        job_id: str,
        tenant: str,
        url: str | None,
        secret: str | None,
        *,
        now: datetime | None = None,
    ) -> int:
        """Flag a job for webhooks (its own if ``url``); enqueue at once if it has ended."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.tenant != tenant:
                raise NotFound(f"no job {job_id!r}")
            flagged = job_id in self._flagged
            self._flagged.add(job_id)
            if url is not None:
                self._job_webhooks[job_id] = (url, secret)
            if not job.status.terminal:
                return 0
            before = len(self._deliveries)
            at = now or utcnow()
            if url is not None:
                self._enqueue(job, url, secret, None, at)
            if not flagged:
                self._enqueue_subscriptions(job, at)
            return len(self._deliveries) - before

    def webhook_subscription_add(self, sub: WebhookSubscription) -> None:
        """Store a tenant-level subscription."""
        with self._lock:
            self._subscriptions[sub.id] = replace(sub, events=list(sub.events))

    def webhook_subscription_list(self, tenant: str) -> list[WebhookSubscription]:
        """A tenant's subscriptions, oldest first."""
        with self._lock:
            subs = [s for s in self._subscriptions.values() if s.tenant == tenant]
        return sorted(subs, key=lambda s: (s.created_at, s.id))

    def webhook_subscription_delete(self, tenant: str, sub_id: str) -> None:
        """Delete a subscription; NotFound if the tenant has none with this id."""
        with self._lock:
            sub = self._subscriptions.get(sub_id)
            if sub is None or sub.tenant != tenant:
                raise NotFound(f"no webhook subscription {sub_id!r}")
            del self._subscriptions[sub_id]

    def webhook_delivery_claim(
        self, limit: int, lease_s: float, *, now: datetime | None = None
    ) -> list[WebhookDelivery]:
        """Take up to ``limit`` due deliveries for one attempt each."""
        at = now or utcnow()
        with self._lock:
            due = sorted(
                (
                    d
                    for d in self._deliveries.values()
                    if d.status == DeliveryStatus.PENDING and d.next_attempt_at <= at
                ),
                key=lambda d: (d.next_attempt_at, d.id),
            )[:limit]
            claimed = []
            for d in due:
                d = replace(
                    d,
                    attempt=d.attempt + 1,
                    next_attempt_at=at + timedelta(seconds=lease_s),
                    last_attempt_at=at,
                )
                self._deliveries[d.id] = d
                claimed.append(d)
        return claimed

    def webhook_delivery_record(
        self,
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
        with self._lock:
            d = self._deliveries.get(delivery_id)
            if d is None or d.attempt != attempt or d.status != DeliveryStatus.PENDING:
                return False
            self._deliveries[delivery_id] = replace(
                d,
                status=status,
                response_code=response_code,
                last_error=error,
                next_attempt_at=next_attempt_at or d.next_attempt_at,
            )
            entry = WebhookAttempt(attempt, now or utcnow(), response_code, error)
            self._attempts.setdefault(delivery_id, []).append(entry)
            return True

    def webhook_attempt_list(self, tenant: str, delivery_id: str) -> list[WebhookAttempt]:
        """The recorded attempts of a tenant's delivery, oldest first."""
        with self._lock:
            d = self._deliveries.get(delivery_id)
            if d is None or d.tenant != tenant:
                return []
            return list(self._attempts.get(delivery_id, []))

    def webhook_delivery_list(
        self, tenant: str, *, job_id: str | None = None, limit: int = 100
    ) -> list[WebhookDelivery]:
        """A tenant's deliveries (of one job, if given), newest first."""
        with self._lock:
            found = [
                d
                for d in self._deliveries.values()
                if d.tenant == tenant and (job_id is None or d.job_id == job_id)
            ]
        return sorted(found, key=lambda d: (d.created_at, d.id), reverse=True)[:limit]

    def webhook_delivery_purge(self, created_before: datetime) -> int:
        """Delete finished deliveries created before the cut-off, and webhooks of gone jobs."""
        with self._lock:
            old = [
                d.id
                for d in self._deliveries.values()
                if d.status != DeliveryStatus.PENDING and d.created_at < created_before
            ]
            for msg_id in old:
                del self._deliveries[msg_id]
                self._attempts.pop(msg_id, None)
            for job_id in [j for j in self._job_webhooks if j not in self._jobs]:
                del self._job_webhooks[job_id]
            self._flagged &= set(self._jobs)
        return len(old)
