"""A worker node's settings, validated once."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from pressroom.core.errors import InvalidInput

_QUEUE_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def validate_queue_name(name: str) -> str:
    """A queue name: 1–64 letters, digits, ``_``, ``.`` or ``-``."""
    if not 1 <= len(name) <= 64 or not set(name) <= _QUEUE_CHARS:
        raise InvalidInput(
            f"invalid queue name {name!r}: use 1-64 letters, digits, '_', '.' or '-'"
        )
    return name


@dataclass(frozen=True)
class WorkerConfig:
    """How a worker node runs.

    ``lease_s`` is how long a claimed job stays reserved without a heartbeat; heartbeats come
    every ``lease_s / 3``, so a dead node's jobs are rescued within about ``lease_s +
    rescue_every_s`` (20 s by default). ``prefetch`` is how many claimed jobs may wait locally
    beyond the idle children; ``None`` means automatic: about 200 ms of expected work per child
    (from the recent average run time, at most 64 jobs), so no job is held back from other
    nodes for long, and jobs of 200 ms or more are never prefetched.
    """

    database_url: str
    concurrency: int = field(default_factory=lambda: os.cpu_count() or 1)
    queues: tuple[str, ...] = ("default",)
    task_modules: tuple[str, ...] = ()
    lease_s: float = 15.0
    poll_s: float = 1.0
    cancel_poll_s: float = 0.5
    cancel_grace_s: float = 1.0
    grace_s: float = 30.0
    max_jobs_per_child: int = 0
    max_memory_mb: float | None = 512.0
    prefetch: int | None = None
    retention_s: float = 30 * 86400.0
    rescue_every_s: float = 5.0
    promote_every_s: float = 0.25
    maintenance: bool = True

    def __post_init__(self) -> None:
        """Refuse settings that cannot work, with a message that says why."""
        if self.concurrency < 1:
            raise InvalidInput("concurrency must be at least 1")
        if not self.queues:
            raise InvalidInput("a worker needs at least one queue")
        for q in self.queues:
            validate_queue_name(q)
        if self.lease_s < 1:
            raise InvalidInput("lease must be at least 1 second")
        if self.grace_s < 0 or self.cancel_grace_s < 0:
            raise InvalidInput("grace periods cannot be negative")
        if self.max_jobs_per_child < 0:
            raise InvalidInput("max jobs per child cannot be negative (0 means no limit)")
        if self.max_memory_mb is not None and self.max_memory_mb <= 0:
            raise InvalidInput("max memory must be positive")
        if self.prefetch is not None and self.prefetch < 0:
            raise InvalidInput("prefetch cannot be negative")
        if self.retention_s <= 0:
            raise InvalidInput("retention must be positive")

    @property
    def heartbeat_s(self) -> float:
        """How often leases are extended."""
        return self.lease_s / 3
