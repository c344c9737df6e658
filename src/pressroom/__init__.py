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

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pressroom.client import AsyncClient, Client


def __getattr__(name: str) -> object:
    """Import the HTTP client (and httpx) only when it is used, not in every worker."""
    if name in ("AsyncClient", "Client"):
        from pressroom import client

        return getattr(client, name)
    raise AttributeError(f"module 'pressroom' has no attribute {name!r}")


__all__ = [
    "AsyncClient",
    "Cancelled",
    "Client",
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
