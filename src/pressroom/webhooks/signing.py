"""Signing webhook deliveries, Standard Webhooks style.

Each delivery carries three headers:

- ``webhook-id``: the delivery's id (the same on every retry, so receivers can deduplicate);
- ``webhook-timestamp``: Unix seconds when this attempt was signed;
- ``webhook-signature``: ``v1,<base64 of HMAC-SHA256(key, "{id}.{timestamp}.{body}")>``,
  where ``key`` is the base64-decoded part of the ``whsec_…`` secret. Several space-separated
  signatures may appear (during a secret rotation); one valid signature is enough.

:func:`verify` is the receiver's check; the Python client re-exports it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping

from pressroom.core.errors import PressroomError
from pressroom.security.keys import webhook_secret_bytes

DEFAULT_TOLERANCE_S = 300


class WebhookVerificationError(PressroomError):
    """A webhook delivery whose signature, timestamp or headers do not check out."""


def sign(msg_id: str, timestamp: int, body: bytes, secret: str) -> str:
    """The ``webhook-signature`` value for one delivery attempt."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(webhook_secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(
    msg_id: str, body: bytes, secret: str, *, timestamp: int | None = None
) -> dict[str, str]:
    """The three signature headers for ``body`` (timestamp: now unless given)."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(msg_id, ts, body, secret),
    }


def verify(
    payload: bytes | str,
    headers: Mapping[str, str],
    secret: str,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> None:
    """Check a received delivery; raise WebhookVerificationError unless it is authentic and
    its timestamp is within ``tolerance_s`` of ``now`` (default: the current time).

    ``headers`` may be any mapping (header names are matched case-insensitively);
    ``payload`` must be the raw request body, before any JSON parsing.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id, stamp, signatures = (
        lower.get("webhook-id"),
        lower.get("webhook-timestamp"),
        lower.get("webhook-signature"),
    )
    if not msg_id or not stamp or not signatures:
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not an integer") from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        raise WebhookVerificationError("webhook-timestamp is too old or in the future")
    body = payload.encode("utf-8") if isinstance(payload, str) else payload
    expected = sign(msg_id, timestamp, body, secret).encode()
    for candidate in signatures.split():
        if hmac.compare_digest(candidate.encode("utf-8", "replace"), expected):
            return
    raise WebhookVerificationError("no webhook-signature matches")
