"""Webhook routes: the tenant's subscriptions, its signing secret, and a job's deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from pressroom.api.auth import Principal, principal
from pressroom.api.limits import PressroomRoute
from pressroom.api.routes_common import PROBLEMS, JobId, state

router = APIRouter(route_class=PressroomRoute, tags=["webhooks"])


class SubscriptionIn(BaseModel):
    """A tenant-level webhook: every matching event of the tenant's jobs is POSTed to ``url``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"url": "https://example.com/hooks/pressroom", "events": ["job.failed"]}]
        },
    )
    url: str = Field(min_length=1, max_length=2048)
    events: list[Annotated[str, Field(max_length=40)]] = Field(
        default_factory=lambda: ["*"],
        max_length=10,
        description="`*`, or any of job.succeeded, job.failed, job.cancelled.",
    )


class SubscriptionOut(BaseModel):
    """A stored subscription."""

    id: str
    url: str
    events: list[str]
    created_at: datetime


class SubscriptionList(BaseModel):
    """The tenant's subscriptions, oldest first."""

    subscriptions: list[SubscriptionOut]


class DeliveryOut(BaseModel):
    """One webhook message and the state of its attempts."""

    id: str
    job_id: str
    url: str
    event: str
    status: str
    attempt: int
    next_attempt_at: datetime | None = None
    last_attempt_at: datetime | None = None
    last_error: str | None = None
    response_code: int | None = None
    subscription_id: str | None = None
    created_at: datetime


class DeliveryList(BaseModel):
    """A job's deliveries, newest first."""

    deliveries: list[DeliveryOut]


class SigningSecret(BaseModel):
    """The secret that signs the tenant's deliveries (where a job gives no secret of its own)."""

    secret: str = Field(description="whsec_<base64>: verify with pressroom.webhooks.verify().")


def _sub(sub: Any) -> SubscriptionOut:
    return SubscriptionOut(id=sub.id, url=sub.url, events=sub.events, created_at=sub.created_at)


@router.post(
    "/v1/webhooks",
    status_code=201,
    response_model=SubscriptionOut,
    summary="Subscribe to the tenant's job events",
    responses=PROBLEMS(),
)
def subscribe(
    body: SubscriptionIn, request: Request, who: Annotated[Principal, Depends(principal)]
) -> SubscriptionOut:
    """Deliver every matching terminal event of the tenant's jobs to ``url`` (SSRF-checked)."""
    return _sub(state(request).service.webhooks.subscribe(who.tenant, body.url, body.events))


@router.get(
    "/v1/webhooks",
    response_model=SubscriptionList,
    summary="The tenant's subscriptions",
    responses=PROBLEMS(),
)
def subscriptions(
    request: Request, who: Annotated[Principal, Depends(principal)]
) -> SubscriptionList:
    """Every subscription of the caller's tenant."""
    found = state(request).service.webhooks.subscriptions(who.tenant)
    return SubscriptionList(subscriptions=[_sub(s) for s in found])


@router.delete(
    "/v1/webhooks/{subscription_id}",
    status_code=204,
    response_class=Response,
    summary="Unsubscribe",
    responses=PROBLEMS(404),
)
def unsubscribe(
    request: Request,
    who: Annotated[Principal, Depends(principal)],
    subscription_id: Annotated[str, Path(min_length=1, max_length=100)],
) -> Response:
    """Delete one of the tenant's subscriptions."""
    state(request).service.webhooks.unsubscribe(who.tenant, subscription_id)
    return Response(status_code=204)


@router.get(
    "/v1/webhooks/secret",
    response_model=SigningSecret,
    summary="The tenant's signing secret",
    responses=PROBLEMS(),
)
def signing_secret(
    request: Request, who: Annotated[Principal, Depends(principal)]
) -> SigningSecret:
    """The secret that signs deliveries of jobs without a ``webhook.secret`` of their own."""
    return SigningSecret(secret=state(request).service.access.tenant_webhook_secret(who.tenant))


@router.get(
    "/v1/jobs/{job_id}/deliveries",
    response_model=DeliveryList,
    summary="A job's webhook deliveries",
    responses=PROBLEMS(404),
    tags=["jobs"],
)
def deliveries(
    request: Request,
    who: Annotated[Principal, Depends(principal)],
    job_id: Annotated[str, JobId],
) -> DeliveryList:
    """The webhook messages of one of the caller's jobs and how their attempts went."""
    service = state(request).service
    service.get(job_id, tenant=who.tenant)
    found = service.webhooks.deliveries(who.tenant, job_id=job_id)
    return DeliveryList(deliveries=[DeliveryOut(**d.to_dict()) for d in found])
