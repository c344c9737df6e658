"""Webhook values the store keeps: tenant subscriptions and the delivery outbox.

A delivery is enqueued by the database itself when a job reaches a terminal status (see
``docs/security.md``, "Webhooks"), once per job webhook and once per matching subscription.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pressroom.core.errors import InvalidInput
from pressroom.core.models import TERMINAL_STATUSES

EVENT_TYPES = tuple(sorted(f"job.{status.value}" for status in TERMINAL_STATUSES))
"""The events a delivery can carry: ``job.cancelled``, ``job.failed``, ``job.succeeded``."""


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def check_events(events: list[str]) -> list[str]:
    """Return a subscription's event filter if valid (``["*"]`` means every event)."""
    if not events or not all(e == "*" or e in EVENT_TYPES for e in events):
        raise InvalidInput(f"events must be a non-empty list of '*' or {', '.join(EVENT_TYPES)}")
    return sorted(set(events))


class DeliveryStatus(enum.StrEnum):
    """Where a delivery stands."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    """Given up after the last attempt."""


@dataclass(frozen=True, slots=True)
class WebhookSubscription:
    """A tenant-level webhook: every job of the tenant whose event matches is delivered."""

    id: str
    tenant: str
    url: str
    events: list[str]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One message in the outbox and the state of its attempts."""

    id: str
    tenant: str
    job_id: str
    url: str
    event: str
    payload: dict[str, Any]
    status: DeliveryStatus
    attempt: int
    next_attempt_at: datetime
    created_at: datetime
    secret: str | None = None
    """The job's own ``webhook.secret``; None signs with the tenant's secret."""
    subscription_id: str | None = None
    last_attempt_at: datetime | None = None
    last_error: str | None = None
    response_code: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly view without the secret."""
        return {
            "id": self.id,
            "job_id": self.job_id,
            "url": self.url,
            "event": self.event,
            "status": self.status.value,
            "attempt": self.attempt,
            "next_attempt_at": _iso(self.next_attempt_at),
            "created_at": _iso(self.created_at),
            "last_attempt_at": _iso(self.last_attempt_at),
            "last_error": self.last_error,
            "response_code": self.response_code,
        }


@dataclass(frozen=True, slots=True)
class WebhookAttempt:
    """One recorded attempt of a delivery."""

    attempt: int
    at: datetime
    response_code: int | None
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly view."""
        return {
            "attempt": self.attempt,
            "at": self.at.isoformat(),
            "response_code": self.response_code,
            "error": self.error,
        }
