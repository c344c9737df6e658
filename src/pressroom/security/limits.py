"""The per-tenant queue cap: a tenant with too many waiting jobs is told to come back later.

``PRESSROOM_TENANT_QUEUE_CAP`` (default 10,000; ``0`` turns it off) bounds a tenant's queued
plus scheduled jobs. The count is bounded by the cap and cached for a second per tenant, so a
burst of submissions costs one count query a second, however deep the queue.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from pressroom.core.errors import InvalidInput, TooBusy
from pressroom.core.ports import Store

DEFAULT_QUEUE_CAP = 10_000
QUEUE_CAP_ENV = "PRESSROOM_TENANT_QUEUE_CAP"
RETRY_AFTER_S = 5.0
_CACHE_S = 1.0


def cap_from_env() -> int:
    """The cap ``PRESSROOM_TENANT_QUEUE_CAP`` sets (0: no cap)."""
    text = os.environ.get(QUEUE_CAP_ENV, "").strip()
    try:
        cap = int(text) if text else DEFAULT_QUEUE_CAP
    except ValueError:
        raise InvalidInput(f"{QUEUE_CAP_ENV} must be a whole number, not {text!r}") from None
    if cap < 0:
        raise InvalidInput(f"{QUEUE_CAP_ENV} cannot be negative")
    return cap


class QueueCap:
    """Checks a tenant's waiting jobs against the cap."""

    def __init__(
        self,
        store: Store,
        cap: int | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Check against ``cap`` (default: from the environment, read at the first check)."""
        self.store = store
        self._cap = cap
        self._clock = clock
        self._seen: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    @property
    def cap(self) -> int:
        """The cap in force (0: none)."""
        if self._cap is None:
            self._cap = cap_from_env()
        return self._cap

    @cap.setter
    def cap(self, value: int) -> None:
        self._cap = value

    def waiting(self, tenant: str) -> int:
        """The tenant's waiting jobs (at most the cap), at most a second old."""
        now = self._clock()
        with self._lock:
            cached = self._seen.get(tenant)
        if cached is not None and now - cached[0] < _CACHE_S:
            return cached[1]
        n = self.store.job_count_waiting(tenant, self.cap)
        with self._lock:
            self._seen[tenant] = (now, n)
        return n

    def check(self, tenant: str, adding: int = 1) -> None:
        """Raise TooBusy if ``adding`` more jobs would put the tenant over the cap."""
        if self.cap and self.waiting(tenant) + adding > self.cap:
            raise TooBusy(
                f"tenant {tenant!r} has {self.cap} or more jobs waiting; try again later",
                RETRY_AFTER_S,
            )
