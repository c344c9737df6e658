"""Time as a dependency: the real clock, and a fake one that tests move by hand."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from pressroom.core.models import utcnow


class Clock(Protocol):
    """Something that tells the time."""

    def now(self) -> datetime:
        """The current time, aware, in UTC."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        """The current time, aware, in UTC."""
        return utcnow()


class FakeClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        """Start at ``start`` (default: the real current time)."""
        self._now = start or utcnow()

    def now(self) -> datetime:
        """The fake current time."""
        return self._now

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward and return the new time."""
        self._now += timedelta(seconds=seconds)
        return self._now
