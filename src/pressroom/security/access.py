"""Tenants, API keys and server secrets as the service offers them (the API's auth seam calls
:meth:`Access.authenticate`).

Keys are created by the CLI and shown once; the store keeps the prefix and a hash. A tenant
exists once a key was created for it (or its webhook secret was asked for); it then has a
webhook signing secret, which ``pressroom tenants secret NAME [--rotate]`` shows or replaces.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta

from pressroom.core.accounts import ApiKey, Tenant, validate_tenant
from pressroom.core.clock import Clock, SystemClock
from pressroom.core.errors import InvalidInput, NotFound
from pressroom.core.ids import new_id
from pressroom.core.ports import Store
from pressroom.security import keys as k
from pressroom.security.links import RESULT_LINK_TTL_S, signed_path, verify_link

LINK_SECRET_SETTING = "link_secret"  # noqa: S105 - a setting name, not a secret
TOUCH_EVERY_S = 60.0
"""A key's ``last_used_at`` is written at most this often (not on every request)."""
_DUMMY_HASH = k.hash_key("pr_00000000_" + "0" * 43)


class Access:
    """Key management, authentication and secrets over one store."""

    def __init__(self, store: Store, *, clock: Clock | None = None) -> None:
        """Work on ``store``; ``clock`` stamps creations and revocations."""
        self.store = store
        self.clock = clock or SystemClock()
        self._link_secret: bytes | None = None

    # --- keys -----------------------------------------------------------------------------------
    def key_create(
        self, tenant: str, *, admin: bool = False, name: str | None = None
    ) -> tuple[ApiKey, str]:
        """Create a key for ``tenant`` (creating the tenant and its webhook secret if new);
        return the stored key and the secret, which is never available again."""
        validate_tenant(tenant)
        if name is not None and not 1 <= len(name) <= 100:
            raise InvalidInput("a key's name must be 1-100 characters")
        now = self.clock.now()
        self.store.tenant_ensure(tenant, k.new_webhook_secret(), now=now)
        secret, prefix = k.new_api_key()
        key = ApiKey(new_id(), prefix, tenant, admin, now, k.hash_key(secret), name)
        self.store.key_insert(key)
        return key, secret

    def key_list(self, tenant: str | None = None) -> list[ApiKey]:
        """Every key (of one tenant, if given), oldest first."""
        return self.store.key_list(tenant)

    def key_revoke(self, key_id: str) -> ApiKey:
        """Revoke a key at once; NotFound if there is none."""
        return self.store.key_revoke(key_id, now=self.clock.now())

    def keys_configured(self) -> bool:
        """Whether any key is active (the API then requires one on every request)."""
        return self.store.key_count_active() > 0

    def authenticate(self, secret: str) -> ApiKey | None:
        """The active key ``secret`` is, or None (malformed, unknown, wrong or revoked).

        The hash comparison is constant-time and also runs for unknown prefixes.
        """
        prefix = k.key_prefix(secret)
        key = None if prefix is None else self.store.key_get_by_prefix(prefix)
        matches = k.same_hash(secret if prefix else "", key.secret_hash if key else _DUMMY_HASH)
        if key is None or not matches or not key.active:
            return None
        now = self.clock.now()
        if key.last_used_at is None or now - key.last_used_at > timedelta(seconds=TOUCH_EVERY_S):
            self.store.key_touch(key.id, now=now)
        return key

    # --- tenants and secrets --------------------------------------------------------------------
    def tenant_webhook_secret(self, tenant: str) -> str:
        """The tenant's webhook signing secret (created on first use)."""
        validate_tenant(tenant)
        try:
            return self.store.tenant_get(tenant).webhook_secret
        except NotFound:
            made = self.store.tenant_ensure(tenant, k.new_webhook_secret(), now=self.clock.now())
            return made.webhook_secret

    def tenant_rotate_secret(self, tenant: str) -> Tenant:
        """Give the tenant a new webhook signing secret; deliveries not yet sent use it."""
        self.tenant_webhook_secret(tenant)
        return self.store.tenant_secret_set(tenant, k.new_webhook_secret())

    def tenants(self) -> list[Tenant]:
        """Every tenant, by name."""
        return self.store.tenant_list()

    def link_secret(self) -> bytes:
        """The server secret that signs links: ``PRESSROOM_SECRET_KEY`` if set, else one made
        once and kept in the database, so every API node agrees."""
        if self._link_secret is None:
            configured = os.environ.get("PRESSROOM_SECRET_KEY")
            if configured:
                if len(configured) < 16:
                    raise InvalidInput("PRESSROOM_SECRET_KEY must be at least 16 characters")
                self._link_secret = configured.encode("utf-8")
            else:
                value = self.store.setting_get_or_create(
                    LINK_SECRET_SETTING, secrets.token_urlsafe(32), now=self.clock.now()
                )
                self._link_secret = value.encode("utf-8")
        return self._link_secret

    def sign_path(self, path: str, tenant: str, *, ttl_s: float = RESULT_LINK_TTL_S) -> str:
        """``path`` with a signature letting it be read as ``tenant`` for ``ttl_s`` seconds."""
        return signed_path(path, tenant, self.clock.now(), self.link_secret(), ttl_s=ttl_s)

    def verify_path(self, path: str, params: Mapping[str, str]) -> str | None:
        """The tenant a signed ``path`` (with its query ``params``) grants, or None."""
        return verify_link(path, params, self.link_secret(), now=self.clock.now())
