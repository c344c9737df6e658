"""Token buckets per key, in one process: the API's per-key request rate limit.

Each API node keeps its own buckets (no database round trip per request), so with N nodes
behind a load balancer a key can make up to N times its rate; set the rate per node.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from pressroom.core.errors import InvalidInput, TooBusy
from pressroom.core.limits import parse_rate


class RateLimiter:
    """``rate`` requests per second per key, with bursts of up to ``burst``."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Refill ``rate`` tokens a second up to ``burst`` (default: one second's worth, at
        least 1); forget the least recently seen keys beyond ``max_keys``."""
        if not math.isfinite(rate) or rate <= 0:
            raise InvalidInput("a rate limit must be a positive number of requests per second")
        self.rate = rate
        self.burst = max(1.0, burst if burst is not None else rate)
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def parse(cls, text: str, *, clock: Callable[[], float] = time.monotonic) -> RateLimiter:
        """A limiter from ``"20/s"``, ``"600/m"``… (the burst is one period's count)."""
        count, period_s = parse_rate(text)
        return cls(count / period_s, burst=float(count), clock=clock)

    def wait_s(self, key: str) -> float:
        """Take a token for ``key``: 0 if allowed, else seconds until one is available."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                wait = 0.0
            else:
                self._buckets[key] = (tokens, now)
                wait = (1.0 - tokens) / self.rate
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        return wait

    def check(self, key: str) -> None:
        """Take a token for ``key`` or raise TooBusy with the seconds to wait."""
        wait = self.wait_s(key)
        if wait > 0:
            raise TooBusy(f"rate limit of {self.rate:g} requests/s exceeded", wait)
