"""Signed links: a URL path that works without the API key until it expires.

A browser's ``EventSource`` cannot send an ``Authorization`` header, and a plain download link
should work when pasted; so where keys are in force, a job's ``events`` and ``result`` links
carry ``?expires=<unix seconds>&tenant=<name>&sig=<signature>``. The signature is
HMAC-SHA256, keyed with the server secret, over ``path + "\\n" + tenant + "\\n" + expires``
(base64url, no padding). The HTTP method and other query parameters are not covered: a link
grants reading that one path as that tenant until it expires, nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta
from urllib.parse import urlencode

RESULT_LINK_TTL_S = 3600.0
"""How long a signed result or events link stays valid (an SSE stream outlives its link:
the signature is checked when the stream opens)."""

_MAX_FIELD = 200


def _signature(path: str, tenant: str, expires: int, secret: bytes) -> str:
    message = f"{path}\n{tenant}\n{expires}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def sign_link(path: str, tenant: str, expires_at: datetime, secret: bytes) -> str:
    """The query string (without ``?``) that lets ``path`` be read as ``tenant`` until
    ``expires_at``."""
    expires = int(expires_at.timestamp())
    sig = _signature(path, tenant, expires, secret)
    return urlencode({"expires": expires, "tenant": tenant, "sig": sig})


def signed_path(
    path: str, tenant: str, now: datetime, secret: bytes, *, ttl_s: float = RESULT_LINK_TTL_S
) -> str:
    """``path`` with a signature valid for ``ttl_s`` seconds from ``now``."""
    return f"{path}?{sign_link(path, tenant, now + timedelta(seconds=ttl_s), secret)}"


def verify_link(
    path: str, params: Mapping[str, str], secret: bytes, *, now: datetime
) -> str | None:
    """The tenant a signed link grants ``path`` to, or None if the signature is missing,
    malformed, wrong (tampered path, tenant or expiry) or expired at ``now``."""
    sig, tenant, expires_text = params.get("sig"), params.get("tenant"), params.get("expires")
    if not sig or not tenant or not expires_text:
        return None
    if len(sig) > _MAX_FIELD or len(tenant) > _MAX_FIELD or len(expires_text) > 20:
        return None
    if not expires_text.isascii() or not expires_text.isdigit():
        return None
    expires = int(expires_text)
    expected = _signature(path, tenant, expires, secret)
    if not hmac.compare_digest(expected.encode(), sig.encode("utf-8", "replace")):
        return None
    return tenant if now.timestamp() < expires else None
