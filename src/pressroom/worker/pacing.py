"""How a worker node paces itself from the average run time of its recent jobs: how many jobs
go to a child at once, how many it claims ahead, whether a child gets its next job before it
needs it, and how long a finished job's outcome waits to be written together with others."""

from __future__ import annotations

PREFETCH_BUDGET_MS = 200.0
"""Automatic prefetch holds at most about this much expected work per child."""
PREFETCH_MAX_PER_CHILD = 64
AHEAD_MS = 50.0
"""Jobs shorter than this on average are sent to a child one ahead of need."""
CHUNK_BUDGET_MS = 2.0
"""Jobs faster than this on average are sent to children several at a time."""
CHUNK_MAX = 32
FLUSH_DELAY_S = 0.005
FLUSH_DELAY_MAX_S = 0.05
"""While other jobs run, an outcome waits to be written together with others for about as long
as a job takes on average, within these bounds (with nothing else in flight, not at all)."""


class JobPace:
    """A moving average of job run times (as the children measure them) and what follows."""

    def __init__(self, prior_ms: float = 1000.0) -> None:
        """Start from ``prior_ms``: cautious (slow jobs) until the first jobs are timed."""
        self.average_ms = prior_ms

    def observe(self, elapsed_ms: float) -> None:
        """Fold one job's run time into the average."""
        self.average_ms = max(0.01, 0.9 * self.average_ms + 0.1 * elapsed_ms)

    def chunk(self) -> int:
        """Jobs sent to a child at once: one, unless jobs are so fast that IPC would dominate."""
        if self.average_ms >= CHUNK_BUDGET_MS:
            return 1
        return max(1, min(CHUNK_MAX, int(CHUNK_BUDGET_MS / self.average_ms)))

    def prefetch_per_child(self) -> int:
        """Jobs to hold claimed beyond the running ones, per child (0 for jobs of 200 ms+)."""
        return min(PREFETCH_MAX_PER_CHILD, int(PREFETCH_BUDGET_MS / self.average_ms))

    def sends_ahead(self) -> bool:
        """Whether jobs are short enough for a child to get its next job while it runs one."""
        return self.average_ms < AHEAD_MS

    def flush_delay_s(self) -> float:
        """How long an outcome may wait for others while jobs are in flight."""
        return min(FLUSH_DELAY_MAX_S, max(FLUSH_DELAY_S, self.average_ms / 1000))
