"""Webhooks as the service offers them (``Pressroom.webhooks``): checking URLs at
registration, giving a job its webhook, and tenant-level subscriptions."""

from __future__ import annotations

from pressroom.core.accounts import validate_tenant
from pressroom.core.clock import Clock, SystemClock
from pressroom.core.errors import InvalidInput
from pressroom.core.ids import new_id
from pressroom.core.models import Job
from pressroom.core.ports import Store
from pressroom.core.webhooks import WebhookDelivery, WebhookSubscription, check_events
from pressroom.webhooks.guard import AllowList, Resolver, Target, check_url, system_resolver

MAX_SUBSCRIPTIONS = 20
"""Subscriptions per tenant (each ended job is delivered to every matching one)."""


def check_secret(secret: str | None) -> str | None:
    """A job's own webhook secret, if valid: 16-200 printable ASCII characters
    (``whsec_<base64>`` is the recommended form)."""
    if secret is None:
        return None
    if not isinstance(secret, str) or not 16 <= len(secret) <= 200 or not secret.isprintable():
        raise InvalidInput("webhook.secret must be 16-200 printable characters (e.g. whsec_…)")
    if not secret.isascii():
        raise InvalidInput("webhook.secret must be ASCII")
    return secret


class Webhooks:
    """Webhook registration over one store (sending: :mod:`pressroom.webhooks.delivery`)."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock | None = None,
        resolver: Resolver = system_resolver,
        allow: AllowList | None = None,
    ) -> None:
        """Register on ``store``; ``resolver`` and ``allow`` configure the SSRF guard."""
        self.store = store
        self.clock = clock or SystemClock()
        self.resolver = resolver
        self.allow = allow

    def check(self, url: str) -> Target:
        """Check a webhook URL with the SSRF guard (resolving its host); UnsafeUrl if refused."""
        return check_url(url, resolver=self.resolver, allow=self.allow)

    def attach(self, job: Job, url: str, secret: str | None = None) -> int:
        """Give a submitted job its webhook (``url`` checked by :meth:`check` first); a job
        that has already ended (a result-cache hit) is delivered at once. Return how many
        deliveries were enqueued now."""
        self.check(url)
        return self.store.webhook_attach(
            job.id, job.tenant, url, check_secret(secret), now=self.clock.now()
        )

    def subscribe(
        self, tenant: str, url: str, events: list[str] | None = None
    ) -> WebhookSubscription:
        """Deliver every matching event of the tenant's jobs to ``url`` (``["*"]``: all)."""
        validate_tenant(tenant)
        self.check(url)
        wanted = check_events(events or ["*"])
        if len(self.store.webhook_subscription_list(tenant)) >= MAX_SUBSCRIPTIONS:
            raise InvalidInput(f"a tenant can have at most {MAX_SUBSCRIPTIONS} subscriptions")
        sub = WebhookSubscription(new_id(), tenant, url, wanted, self.clock.now())
        self.store.webhook_subscription_add(sub)
        return sub

    def subscriptions(self, tenant: str) -> list[WebhookSubscription]:
        """A tenant's subscriptions, oldest first."""
        return self.store.webhook_subscription_list(tenant)

    def unsubscribe(self, tenant: str, sub_id: str) -> None:
        """Delete one of the tenant's subscriptions; NotFound otherwise."""
        self.store.webhook_subscription_delete(tenant, sub_id)

    def deliveries(
        self, tenant: str, *, job_id: str | None = None, limit: int = 100
    ) -> list[WebhookDelivery]:
        """A tenant's deliveries (of one job, if given), newest first."""
        return self.store.webhook_delivery_list(tenant, job_id=job_id, limit=limit)
