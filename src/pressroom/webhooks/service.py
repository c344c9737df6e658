"""Webhooks as the service offers them (``Pressroom.webhooks``): checking URLs at
registration, giving a job its webhook, and tenant-level subscriptions.

A job is delivered when it ends only if it was *flagged* at submission: it has its own
``webhook``, or its tenant had a subscription then (known to this service within
:data:`SUBSCRIPTIONS_CACHE_S`). :meth:`Pressroom.submit` does this through
:meth:`Webhooks.after_submit`; other ways of inserting jobs (bulk inserts, cron) are not
flagged. The flag lets the database skip every job without webhooks at no cost on the finish
path (see ``docs/security.md``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from pressroom.core.accounts import validate_tenant
from pressroom.core.clock import Clock, SystemClock
from pressroom.core.errors import InvalidInput
from pressroom.core.ids import new_id
from pressroom.core.models import Job
from pressroom.core.ports import Store
from pressroom.core.webhooks import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
    check_events,
)
from pressroom.webhooks.guard import AllowList, Resolver, Target, check_url, system_resolver

MAX_SUBSCRIPTIONS = 20
"""Subscriptions per tenant (each ended job is delivered to every matching one)."""
SUBSCRIPTIONS_CACHE_S = 5.0
"""How long this service trusts what it knows of a tenant having subscriptions."""


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
        self._subscribed: dict[str, tuple[float, bool]] = {}

    def check(self, url: str) -> Target:
        """Check a webhook URL with the SSRF guard (resolving its host); UnsafeUrl if refused."""
        return check_url(url, resolver=self.resolver, allow=self.allow)

    def check_spec(self, webhook: Mapping[str, Any] | None) -> tuple[str, str | None] | None:
        """Check a job's ``webhook`` (``{"url": …, "secret": …}``) before submitting it:
        (url, secret), or None without one; UnsafeUrl/InvalidInput if it is refused."""
        if webhook is None:
            return None
        if not isinstance(webhook, Mapping) or set(webhook) - {"url", "secret"}:
            raise InvalidInput("webhook must be an object with 'url' and optional 'secret'")
        url = webhook.get("url")
        if not isinstance(url, str):
            raise InvalidInput("webhook.url must be a string")
        self.check(url)
        return url, check_secret(webhook.get("secret"))

    def has_subscriptions(self, tenant: str) -> bool:
        """Whether the tenant has subscriptions (cached for a few seconds)."""
        now = time.monotonic()
        seen = self._subscribed.get(tenant)
        if seen is None or now - seen[0] > SUBSCRIPTIONS_CACHE_S:
            seen = (now, bool(self.store.webhook_subscription_list(tenant)))
            self._subscribed[tenant] = seen
        return seen[1]

    def after_submit(self, job: Job, spec: tuple[str, str | None] | None) -> int:
        """Flag a just-submitted job when it has a webhook (``spec`` from :meth:`check_spec`)
        or its tenant has subscriptions; a job that has already ended (a result-cache hit) is
        delivered at once. Return how many deliveries were enqueued now."""
        if spec is None and not self.has_subscriptions(job.tenant):
            return 0
        url, secret = spec if spec is not None else (None, None)
        return self.store.webhook_attach(job.id, job.tenant, url, secret, now=self.clock.now())

    def attach(self, job: Job, url: str, secret: str | None = None) -> int:
        """Give a job its own webhook after the fact (the URL is checked first)."""
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
        self._subscribed.pop(tenant, None)
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

    def attempts(self, tenant: str, delivery_id: str) -> list[WebhookAttempt]:
        """The logged attempts of one of the tenant's deliveries, oldest first."""
        return self.store.webhook_attempt_list(tenant, delivery_id)
