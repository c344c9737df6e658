"""Webhook signatures: Standard Webhooks headers, checked against vectors computed here."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from pressroom.webhooks.signing import WebhookVerificationError, headers, sign, verify

KEY = bytes(range(24))
SECRET = "whsec_" + base64.b64encode(KEY).decode()
BODY = b'{"type":"job.succeeded","data":{"id":"j1"}}'


def expected(msg_id: str, ts: int, body: bytes, key: bytes = KEY) -> str:
    """The signature computed from the scheme's definition, independently of the code."""
    mac = hmac.new(key, msg_id.encode() + b"." + str(ts).encode() + b"." + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def test_headers_match_independent_vector() -> None:
    """The three headers carry the id, the timestamp and v1,<base64 HMAC of id.ts.body>."""
    h = headers("msg_1", BODY, SECRET, timestamp=1_700_000_000)
    assert h == {
        "webhook-id": "msg_1",
        "webhook-timestamp": "1700000000",
        "webhook-signature": expected("msg_1", 1_700_000_000, BODY),
    }


def test_fixed_vector() -> None:
    """A fixed key, id, time and body give one known signature (guards against drift)."""
    mac = hmac.new(b"\x00" * 32, b"msg_x.1.{}", hashlib.sha256).digest()
    assert sign("msg_x", 1, b"{}", "whsec_" + base64.b64encode(b"\x00" * 32).decode()) == (
        "v1," + base64.b64encode(mac).decode()
    )


def test_verify_accepts_authentic_and_rotated() -> None:
    """verify passes for the exact body (str or bytes), any header case, and among several sigs."""
    h = headers("msg_1", BODY, SECRET, timestamp=1000)
    verify(BODY, h, SECRET, now=1000)
    verify(BODY.decode(), {k.upper(): v for k, v in h.items()}, SECRET, now=1200)
    both = {**h, "webhook-signature": "v1,bm90IGl0 " + h["webhook-signature"]}
    verify(BODY, both, SECRET, now=1000)


@pytest.mark.parametrize(
    "change",
    [
        {"body": BODY + b" "},
        {"webhook-id": "msg_2"},
        {"webhook-timestamp": "1001"},
        {"webhook-signature": "v1," + base64.b64encode(b"x" * 32).decode()},
        {"webhook-signature": ""},
        {"webhook-timestamp": "soon"},
        {"secret": "whsec_" + base64.b64encode(b"other key 24 bytes long!").decode()},
        {"now": 1000 + 301},
        {"now": 1000 - 301},
    ],
)
def test_verify_refuses_tampering_and_stale(change: dict[str, object]) -> None:
    """Changing the body, id, timestamp, signature or secret, or being late, fails."""
    h = headers("msg_1", BODY, SECRET, timestamp=1000)
    body = change.pop("body", BODY)
    secret = change.pop("secret", SECRET)
    now = change.pop("now", 1000)
    h.update({k: str(v) for k, v in change.items()})
    with pytest.raises(WebhookVerificationError):
        verify(body, h, str(secret), now=float(str(now)))  # type: ignore[arg-type]


def test_retry_schedule_gives_up_after_eight_attempts() -> None:
    """Failed attempts 1-7 are retried after growing delays (±20 %); the eighth gives up."""
    from datetime import UTC, datetime

    from pressroom.webhooks.delivery import MAX_ATTEMPTS, RETRY_DELAYS_S, retry_at

    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert MAX_ATTEMPTS == 8 and list(RETRY_DELAYS_S) == sorted(RETRY_DELAYS_S)
    for attempt, delay in enumerate(RETRY_DELAYS_S, start=1):
        when = retry_at(attempt, now)
        assert when is not None
        assert 0.8 * delay <= (when - now).total_seconds() <= 1.2 * delay
    assert retry_at(MAX_ATTEMPTS, now) is None
    assert 20 * 3600 < sum(RETRY_DELAYS_S) < 26 * 3600
