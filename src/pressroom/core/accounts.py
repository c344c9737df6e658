"""Tenants, API keys and idempotency records: the values the store keeps for access control.

Nothing here touches a database or HTTP; :mod:`pressroom.security.keys` makes and checks keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from pressroom.core.errors import InvalidInput

TENANT_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,38}[a-z0-9])?$")
"""A tenant name: 1-40 lower-case letters, digits, ``-`` or ``_``, starting and ending with a
letter or digit (it appears in artifact keys and URLs)."""


def validate_tenant(name: str) -> str:
    """Return ``name`` if it is a valid tenant name; raise InvalidInput otherwise."""
    if not isinstance(name, str) or not TENANT_PATTERN.match(name):
        raise InvalidInput(
            f"tenant name {name!r} is not valid: use 1-40 lower-case letters, digits, '-' or '_',"
            " starting and ending with a letter or digit"
        )
    return name


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored API key: its public prefix and the hash of the whole secret, never the secret."""

    id: str
    prefix: str
    tenant: str
    admin: bool
    created_at: datetime
    secret_hash: str = ""
    name: str | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        """Whether the key may still authenticate."""
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class Tenant:
    """A tenant and the secret that signs its webhook deliveries."""

    name: str
    webhook_secret: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """The job an ``Idempotency-Key`` of a tenant was first used for, and that request's hash."""

    tenant: str
    key: str
    request_hash: str
    job_id: str
    created_at: datetime
