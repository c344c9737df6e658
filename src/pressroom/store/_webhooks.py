"""Row mapping shared by the drivers for webhook subscriptions and deliveries."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from pressroom.core.webhooks import DeliveryStatus, WebhookDelivery, WebhookSubscription

DELIVERY_COLUMNS = (
    "id, tenant, job_id, url, event, payload, status, attempt, next_attempt_at, created_at, "
    "secret, subscription_id, last_attempt_at, last_error, response_code"
)
"""The column order every driver selects deliveries in; :func:`row_to_delivery` reads it."""

_Dt = Callable[[Any], datetime | None]


def _req(dt: _Dt, value: Any) -> datetime:
    out = dt(value)
    assert out is not None
    return out


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def row_to_delivery(row: Sequence[Any], dt: _Dt) -> WebhookDelivery:
    """A delivery from a row in :data:`DELIVERY_COLUMNS` order."""
    return WebhookDelivery(
        id=row[0],
        tenant=row[1],
        job_id=row[2],
        url=row[3],
        event=row[4],
        payload=_json(row[5]),
        status=DeliveryStatus(row[6]),
        attempt=int(row[7]),
        next_attempt_at=_req(dt, row[8]),
        created_at=_req(dt, row[9]),
        secret=row[10],
        subscription_id=row[11],
        last_attempt_at=dt(row[12]),
        last_error=row[13],
        response_code=row[14],
    )


def row_to_subscription(row: Sequence[Any], dt: _Dt) -> WebhookSubscription:
    """A subscription from an (id, tenant, url, events, created_at) row."""
    return WebhookSubscription(row[0], row[1], row[2], list(_json(row[3])), _req(dt, row[4]))


def payload_of(job: Any) -> dict[str, Any]:
    """The payload the database triggers build, from a Job (for the memory driver)."""
    from pressroom.store._common import error_json

    payload: dict[str, Any] = json.loads(
        json.dumps(
            {
                "id": job.id,
                "status": job.status.value,
                "attempt": job.attempt,
                "task": job.task,
                "queue": job.queue,
                "error": error_json(job.error),
                "result": job.result,
                "metadata": job.metadata,
            }
        )
    )
    return payload
