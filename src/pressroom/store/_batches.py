"""Building batch views from member rows, shared by the drivers."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from pressroom.core.batches import Batch, BatchMember
from pressroom.core.models import JobStatus


def member(row: Sequence[Any]) -> BatchMember:
    """A member from a (position, job_id, status, progress_percent, result) row."""
    result = json.loads(row[4]) if isinstance(row[4], str) else row[4]
    status = None if row[2] is None else JobStatus(row[2])
    return BatchMember(int(row[0]), row[1], status, float(row[3] or 0.0), result)


def batch(
    batch_id: str, tenant: str, total: int, created_at: datetime, members: Iterable[BatchMember]
) -> Batch:
    """A batch with its counts by status (``gone`` for deleted jobs)."""
    counts = Counter("gone" if m.status is None else m.status.value for m in members)
    return Batch(batch_id, tenant, total, created_at, dict(sorted(counts.items())))
