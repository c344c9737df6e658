"""Sending webhook deliveries from the outbox.

:class:`Deliverer` claims due deliveries (a lease, so a crashed sender's deliveries come back),
checks each URL with the SSRF guard again (DNS may have changed since registration), and POSTs
the signed body to the pinned address with the original ``Host`` header and TLS server name.
No redirects are followed, proxies from the environment are ignored, connecting may take
5 s and the whole attempt 10 s, and at most 64 KiB of the response is read. A 2xx answer
delivers; anything else is retried after :data:`RETRY_DELAYS_S` (with ±20 % jitter) until
:data:`MAX_ATTEMPTS` attempts have failed. Each attempt's status code and error are recorded.

:class:`DeliveryThread` runs a deliverer on a daemon thread, woken by the worker's maintenance
(so slow receivers never delay heartbeats or claims).

The body is ``{"type": "job.succeeded", "timestamp": "<when the job ended>", "data": {…}}``:
``data`` holds the job's id, status, attempt, task, queue, result, metadata and error (type and
message only).
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from pressroom._version import __version__
from pressroom.core.clock import Clock, SystemClock
from pressroom.core.ports import Store
from pressroom.core.webhooks import DeliveryStatus, WebhookDelivery
from pressroom.security.access import Access
from pressroom.webhooks import signing
from pressroom.webhooks.guard import AllowList, Resolver, UnsafeUrl, check_url, system_resolver

log = logging.getLogger("pressroom.webhooks")

RETRY_DELAYS_S = (60.0, 300.0, 900.0, 3600.0, 3 * 3600.0, 6 * 3600.0, 12 * 3600.0)
"""Waits after failed attempts 1…7: about 22 hours from the first attempt to the eighth."""
MAX_ATTEMPTS = len(RETRY_DELAYS_S) + 1
CONNECT_TIMEOUT_S = 5.0
TOTAL_TIMEOUT_S = 10.0
MAX_RESPONSE_BYTES = 64 * 1024
LEASE_S = 60.0
"""A claimed delivery is not due again for this long (longer than one attempt can take)."""
_ERROR_CHARS = 500


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """How one attempt went: delivered or not, the HTTP status if one came, and why not."""

    ok: bool
    status_code: int | None = None
    error: str | None = None


def body_of(delivery: WebhookDelivery) -> bytes:
    """The JSON body sent for a delivery (the same bytes on every attempt)."""
    data = dict(delivery.payload)
    error = data.get("error")
    if isinstance(error, dict):
        data["error"] = {"type": error.get("type"), "message": error.get("message")}
    envelope = {
        "type": delivery.event,
        "timestamp": delivery.created_at.isoformat().replace("+00:00", "Z"),
        "data": data,
    }
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def retry_at(attempt: int, now: datetime) -> datetime | None:
    """When to try again after failed attempt ``attempt``, or None to give up."""
    if attempt >= MAX_ATTEMPTS:
        return None
    delay = RETRY_DELAYS_S[max(0, attempt - 1)] * random.uniform(0.8, 1.2)
    return now + timedelta(seconds=delay)


class Deliverer:
    """Claims due deliveries and sends them, one attempt each."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock | None = None,
        resolver: Resolver = system_resolver,
        allow: AllowList | None = None,
        transport: httpx.BaseTransport | None = None,
        batch: int = 32,
        concurrency: int = 8,
    ) -> None:
        """Send from ``store``'s outbox; ``resolver``/``allow`` configure the SSRF guard
        (default: the system resolver and ``PRESSROOM_WEBHOOK_ALLOW_HOSTS``)."""
        self.store = store
        self.clock = clock or SystemClock()
        self.access = Access(store, clock=self.clock)
        self.resolver = resolver
        self.allow = allow
        self.batch = batch
        self.concurrency = max(1, concurrency)
        self._client = httpx.Client(
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(TOTAL_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
            headers={"user-agent": f"Pressroom-Webhooks/{__version__}"},
            transport=transport,
        )

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()

    def run_once(self) -> int:
        """Claim due deliveries and attempt each once (a few at a time); return how many."""
        due = self.store.webhook_delivery_claim(self.batch, LEASE_S, now=self.clock.now())
        if not due:
            return 0
        if len(due) == 1 or self.concurrency == 1:
            for delivery in due:
                self._attempt(delivery)
        else:
            with ThreadPoolExecutor(min(self.concurrency, len(due))) as pool:
                list(pool.map(self._attempt, due))
        return len(due)

    def _attempt(self, delivery: WebhookDelivery) -> None:
        try:
            result = self.send(delivery)
        except Exception as exc:  # never let one delivery stop the loop
            log.exception("webhook delivery %s failed unexpectedly", delivery.id)
            result = AttemptResult(False, None, f"internal error: {type(exc).__name__}")
        self._record(delivery, result)

    def _record(self, delivery: WebhookDelivery, result: AttemptResult) -> None:
        if result.ok:
            status, next_at = DeliveryStatus.DELIVERED, None
        else:
            next_at = retry_at(delivery.attempt, self.clock.now())
            status = DeliveryStatus.PENDING if next_at else DeliveryStatus.FAILED
            log.warning(
                "webhook delivery %s to %s attempt %d failed: %s%s",
                delivery.id,
                delivery.url,
                delivery.attempt,
                result.error,
                "" if next_at else " (giving up)",
            )
        self.store.webhook_delivery_record(
            delivery.id,
            delivery.attempt,
            status=status,
            response_code=result.status_code,
            error=None if result.ok else (result.error or "")[:_ERROR_CHARS],
            next_attempt_at=next_at,
            now=self.clock.now(),
        )

    def send(self, delivery: WebhookDelivery) -> AttemptResult:
        """Make one attempt: guard, sign, POST to the pinned address, read a capped answer."""
        try:
            target = check_url(delivery.url, resolver=self.resolver, allow=self.allow)
        except UnsafeUrl as exc:
            return AttemptResult(False, None, f"refused by the SSRF guard: {exc}")
        body = body_of(delivery)
        secret = delivery.secret or self.access.tenant_webhook_secret(delivery.tenant)
        headers = {
            **signing.headers(delivery.id, body, secret),
            "content-type": "application/json",
            "host": target.host_header,
        }
        extensions: dict[str, Any] = {}
        if target.scheme == "https":
            extensions["sni_hostname"] = target.host
        deadline = time.monotonic() + TOTAL_TIMEOUT_S
        request = self._client.build_request(
            "POST", target.pinned_url, content=body, headers=headers, extensions=extensions
        )
        try:
            response = self._client.send(request, stream=True)
            try:
                read = 0
                for chunk in response.iter_raw():
                    read += len(chunk)
                    if read >= MAX_RESPONSE_BYTES or time.monotonic() > deadline:
                        break
            finally:
                response.close()
        except httpx.HTTPError as exc:
            return AttemptResult(False, None, f"{type(exc).__name__}: {exc}")
        if 200 <= response.status_code < 300:
            return AttemptResult(True, response.status_code)
        return AttemptResult(False, response.status_code, f"HTTP {response.status_code}")


class DeliveryThread:
    """Runs a :class:`Deliverer` on a daemon thread; :meth:`kick` asks for a pass."""

    def __init__(self, make: Callable[[], Deliverer], *, idle_s: float = 1.0) -> None:
        """``make`` builds the deliverer on first use; a pass also runs every ``idle_s``."""
        self._make = make
        self._idle_s = idle_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.passes = 0

    def kick(self) -> None:
        """Start the thread if needed and wake it for a pass."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="pressroom-webhooks", daemon=True
            )
            self._thread.start()
        self._wake.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Ask the thread to stop after its current pass and wait a little for it."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        deliverer = self._make()
        try:
            while not self._stop.is_set():
                self._wake.wait(self._idle_s)
                self._wake.clear()
                try:
                    while not self._stop.is_set() and deliverer.run_once():
                        pass
                except Exception:
                    log.warning("webhook delivery pass failed; will retry", exc_info=True)
                self.passes += 1
        finally:
            deliverer.close()
