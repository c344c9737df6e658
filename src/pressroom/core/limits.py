"""Parsing of rate limits (``"10/m"``) and cron expressions, with errors a person can act on."""

from __future__ import annotations

import re
from datetime import datetime

from croniter import croniter

from pressroom.core.errors import InvalidInput

_PERIODS = {
    "s": 1.0,
    "sec": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*$")


def parse_rate(text: str) -> tuple[int, float]:
    """Parse ``"10/m"``, ``"5/30s"`` or ``"100/h"`` into (count, period in seconds)."""
    match = _RATE.match(text.lower())
    if not match or match.group(3) not in _PERIODS:
        raise InvalidInput(
            f"invalid rate limit {text!r}: expected COUNT/PERIOD such as '10/m', '5/30s', '100/h'"
        )
    count = int(match.group(1))
    multiple = int(match.group(2) or 1)
    if count < 1 or multiple < 1:
        raise InvalidInput(f"invalid rate limit {text!r}: count and period must be positive")
    return count, multiple * _PERIODS[match.group(3)]


def validate_cron(expression: str) -> str:
    """Return a cron expression unchanged if it is valid (5 fields, or 6 with seconds)."""
    fields = expression.split()
    if len(fields) not in (5, 6) or not croniter.is_valid(expression):
        raise InvalidInput(
            f"invalid cron expression {expression!r}: expected 5 fields "
            "'minute hour day-of-month month day-of-week', e.g. '0 2 * * *'"
        )
    return expression


def cron_previous_tick(expression: str, now: datetime) -> datetime:
    """The most recent tick of ``expression`` at or before ``now``."""
    prev: datetime = croniter(expression, now).get_prev(datetime)
    following: datetime = croniter(expression, prev).get_next(datetime)
    tick = following if following <= now else prev
    return tick.replace(fold=0)


def cron_next_tick(expression: str, after: datetime) -> datetime:
    """The first tick of ``expression`` strictly after ``after``."""
    nxt: datetime = croniter(expression, after).get_next(datetime)
    return nxt.replace(fold=0)


def claim_allowance(
    wanted: int,
    *,
    concurrency: int | None,
    running: int,
    rate_count: int | None,
    rate_period_s: float | None,
    tokens: float | None,
    elapsed_s: float,
) -> tuple[int, float | None]:
    """How many jobs a limited queue may start now, and its token count after refilling.

    The rate limit is a token bucket holding up to ``rate_count`` tokens, refilled at
    ``rate_count / rate_period_s`` per second; each start takes one token.
    """
    allowed = wanted
    if concurrency is not None:
        allowed = min(allowed, max(0, concurrency - running))
    if rate_count is None or rate_period_s is None:
        return allowed, None
    level = rate_count if tokens is None else tokens
    level = min(float(rate_count), level + max(0.0, elapsed_s) * rate_count / rate_period_s)
    allowed = min(allowed, int(level))
    return allowed, level
