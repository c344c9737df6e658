"""Who is calling: the :func:`principal` dependency every route depends on.

- ``Authorization: Bearer <key>``: the key's tenant (and its admin flag); a malformed, unknown or
  revoked key answers 401. Requests with a key are rate limited per key (429, ``Retry-After``).
- A signed link (``?expires=…&tenant=…&sig=…``, made by :func:`pressroom.api.views.job_links`):
  read access to that one path as that tenant until it expires — what a browser's
  ``EventSource`` or a pasted download link needs, since neither can send a header.
- Neither, and no API key exists: tenant ``default`` with operator rights (the server then
  listens on loopback only; see :func:`pressroom.api.bind.check_bind`). Once a key exists,
  such a request answers 401.

Key look-ups and the "are keys configured" answer are cached for a couple of seconds per
process, so the accept path does not pay a database read per request; a revoked key stops
working within that time.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from pressroom.api.problems import ProblemError
from pressroom.api.settings import ApiSettings
from pressroom.core.accounts import ApiKey
from pressroom.core.ratelimit import RateLimiter
from pressroom.security.links import verify_link
from pressroom.service import Pressroom

DEFAULT_TENANT = "default"
_CACHE_KEYS = 4096


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: its tenant (every query is scoped to it), whether it may act on operations
    (workers, metrics), the id of the API key it used, if any, and the path of the signed link
    it came with, if that is how it got in."""

    tenant: str
    admin: bool
    key_id: str | None = None
    link: str | None = None

    @property
    def stream_owner(self) -> str:
        """What per-caller limits count by: the key; else the signed link (each job's link is a
        caller of its own, so a web app that hands one link to each of its users' browsers is
        not capped as one caller); else the tenant (no keys in force)."""
        if self.key_id:
            return f"key:{self.key_id}"
        if self.link:
            return f"link:{self.link}"
        return f"tenant:{self.tenant}"


class Authenticator:
    """Resolves keys and signed links for one API process, with a short cache."""

    def __init__(self, service: Pressroom, settings: ApiSettings) -> None:
        """Authenticate against ``service``; limits and cache times come from ``settings``."""
        self.service = service
        self.ttl_s = settings.auth_cache_s
        self.limiter = (
            RateLimiter(settings.rate_limit_per_s, burst=settings.rate_limit_burst)
            if settings.rate_limit_per_s > 0
            else None
        )
        self._lock = threading.Lock()
        self._configured: tuple[float, bool] | None = None
        self._keys: OrderedDict[str, tuple[float, ApiKey | None]] = OrderedDict()

    def keys_configured_cached(self) -> bool | None:
        """The cached answer of :meth:`keys_configured`, or None when it must be asked again
        (so the event loop only hops to a thread when the database is read)."""
        cached = self._configured
        if cached is not None and time.monotonic() - cached[0] < self.ttl_s:
            return cached[1]
        return None

    def keys_configured(self) -> bool:
        """Whether any API key is active (cached for ``auth_cache_s``)."""
        cached = self.keys_configured_cached()
        if cached is not None:
            return cached
        answer = self.service.keys_configured()
        self._configured = (time.monotonic(), answer)
        return answer

    def key(self, secret: str) -> ApiKey | None:
        """The active key ``secret`` is, or None (answers cached for ``auth_cache_s``)."""
        digest = hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()
        now = time.monotonic()
        with self._lock:
            hit = self._keys.get(digest)
            if hit is not None and now - hit[0] < self.ttl_s:
                return hit[1]
        found = self.service.authenticate(secret)
        with self._lock:
            self._keys[digest] = (now, found)
            self._keys.move_to_end(digest)
            while len(self._keys) > _CACHE_KEYS:
                self._keys.popitem(last=False)
        return found

    def link_tenant(self, path: str, params: dict[str, str]) -> str | None:
        """The tenant a signed link grants ``path`` to, or None."""
        secret = self.service.access.link_secret()
        return verify_link(path, params, secret, now=self.service.clock.now())

    def signing_secret(self) -> bytes | None:
        """The secret to sign links with, or None when keys are not in force (links unsigned)."""
        return self.service.access.link_secret() if self.keys_configured() else None

    def throttle(self, who: Principal) -> None:
        """Take one request from the key's budget; 429 with ``Retry-After`` when it is spent."""
        if self.limiter is None or who.key_id is None:
            return
        wait = self.limiter.wait_s(who.key_id)
        if wait > 0:
            raise ProblemError(
                429,
                f"rate limit of this API key exceeded; retry in {wait:.1f} s",
                slug="rate-limited",
                headers={"Retry-After": str(max(1, int(wait + 0.999)))},
            )


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(
        401, detail, slug="unauthorized", headers={"WWW-Authenticate": 'Bearer realm="pressroom"'}
    )


async def principal(request: Request) -> Principal:
    """The principal of a request (see the module's docstring); 401 when it has none."""
    auth: Authenticator = request.app.state.api.auth
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or len(token) > 200:
            raise _unauthorized("use Authorization: Bearer <API key>")
        key = await run_in_threadpool(auth.key, token)
        if key is None:
            raise _unauthorized("the API key is not valid (unknown, malformed or revoked)")
        who = Principal(tenant=key.tenant, admin=key.admin, key_id=key.id)
        auth.throttle(who)
        return who
    if "sig" in request.query_params:
        params = dict(request.query_params)
        tenant = await run_in_threadpool(auth.link_tenant, request.url.path, params)
        if tenant is None:
            raise _unauthorized("the link's signature is not valid or has expired")
        return Principal(tenant=tenant, admin=False, key_id=None, link=request.url.path)
    configured = auth.keys_configured_cached()
    if configured is None:
        configured = await run_in_threadpool(auth.keys_configured)
    if configured:
        raise _unauthorized("an API key is required: Authorization: Bearer <API key>")
    return Principal(tenant=DEFAULT_TENANT, admin=True, key_id=None)


def require_admin(who: Principal) -> None:
    """403 unless the caller may act on operations (an admin key, or no keys at all)."""
    if not who.admin:
        raise ProblemError(403, "this needs an admin API key", slug="forbidden")
