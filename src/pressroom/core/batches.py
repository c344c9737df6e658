"""Batches: many jobs submitted at once, followed as one."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pressroom.core.models import JobStatus

MAX_BATCH_JOBS = 1000


@dataclass(frozen=True, slots=True)
class BatchMember:
    """One job of a batch, as far as a batch view needs it."""

    position: int
    job_id: str
    status: JobStatus | None
    """None when the job has been deleted or purged."""
    progress_percent: float = 0.0
    result: Any = None


@dataclass(frozen=True, slots=True)
class Batch:
    """A batch and how far its jobs have got."""

    id: str
    tenant: str
    total: int
    created_at: datetime
    counts: dict[str, int] = field(default_factory=dict)
    """Jobs by status; ``gone`` counts jobs deleted or purged since."""

    @property
    def finished(self) -> int:
        """Jobs that have ended (or are gone)."""
        ended = ("succeeded", "failed", "cancelled", "gone")
        return sum(self.counts.get(s, 0) for s in ended)

    @property
    def done(self) -> bool:
        """Whether every job has ended."""
        return self.finished >= self.total

    @property
    def progress(self) -> float:
        """Percent of the batch's jobs that have ended (0-100)."""
        return 100.0 if self.total == 0 else round(100.0 * self.finished / self.total, 2)

    def to_dict(self) -> dict[str, Any]:
        """The batch as JSON."""
        return {
            "id": self.id,
            "total": self.total,
            "created_at": self.created_at.isoformat(),
            "counts": dict(self.counts),
            "progress": self.progress,
            "done": self.done,
        }
