"""Who is calling: the :func:`principal` dependency every route depends on.

Today there are no API keys: every request acts for tenant ``default`` with operator rights
(the server then listens on loopback only; see :func:`pressroom.api.bind.check_bind`). API keys
replace the body of :func:`principal` with a lookup of ``Authorization: Bearer <key>``; routes
only ever see a :class:`Principal`.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

DEFAULT_TENANT = "default"


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: its tenant (every query is scoped to it), whether it may act on operations
    (workers, metrics), and the id of the API key it used, if any."""

    tenant: str
    admin: bool
    key_id: str | None = None

    @property
    def stream_owner(self) -> str:
        """What per-caller limits count by: the key, or the tenant without keys."""
        return f"key:{self.key_id}" if self.key_id else f"tenant:{self.tenant}"


async def principal(request: Request) -> Principal:
    """The principal of a request (without keys: tenant ``default``, admin)."""
    del request
    return Principal(tenant=DEFAULT_TENANT, admin=True, key_id=None)
