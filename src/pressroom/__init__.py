"""Pressroom: asynchronous document generation on a durable job queue.

The public API is re-exported here; everything else is internal.
"""

from pressroom._version import __version__
from pressroom.core.errors import (
    Cancelled,
    Conflict,
    InvalidInput,
    NotFound,
    Permanent,
    PressroomError,
    SchemaOutOfDate,
    StoreError,
)
from pressroom.core.models import Job, JobEvent, JobStatus, NewJob
from pressroom.core.tasks import JobContext, task

__all__ = [
    "Cancelled",
    "Conflict",
    "InvalidInput",
    "Job",
    "JobContext",
    "JobEvent",
    "JobStatus",
    "NewJob",
    "NotFound",
    "Permanent",
    "PressroomError",
    "SchemaOutOfDate",
    "StoreError",
    "__version__",
    "task",
]
