"""Pressroom's exceptions.

::

    PressroomError
    ├── InvalidInput          a request that cannot be accepted (bad args, unknown task, bad cron…)
    │   └── IdempotencyMismatch   an Idempotency-Key reused with a different request
    ├── NotFound              no such job (or not the caller's tenant's)
    ├── Conflict              the job's state does not allow the operation
    ├── TooBusy               over a rate limit or a queue cap: try again after retry_after_s
    ├── StoreError            the database failed or is out of date
    │   └── SchemaOutOfDate   migrations are pending or the schema is newer than this code
    └── TaskFailure           raised inside a task to control how its attempt ends
        ├── Permanent         fail now, no retry (bad template, bad input)
        └── Cancelled         the job was cancelled while running
"""

from __future__ import annotations


class PressroomError(Exception):
    """Base of every error Pressroom raises on purpose."""


class InvalidInput(PressroomError, ValueError):
    """A request that cannot be accepted; the message says what to fix."""


class IdempotencyMismatch(InvalidInput):
    """An ``Idempotency-Key`` already used by this tenant for a different request."""


class NotFound(PressroomError, LookupError):
    """No such object, or not visible to the caller."""


class Conflict(PressroomError):
    """The object's current state does not allow the operation."""


class TooBusy(PressroomError):
    """Over a rate limit or a queue cap; the request may be repeated after ``retry_after_s``."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        """Say why, and after how many seconds to try again."""
        super().__init__(message)
        self.retry_after_s = retry_after_s


class StoreError(PressroomError):
    """The database failed in a way the caller cannot fix by changing its request."""


class SchemaOutOfDate(StoreError):
    """The database schema is not the one this code expects; run ``pressroom migrate``."""


class TaskFailure(PressroomError):
    """Raised by a task to end its attempt with a failure."""


class Permanent(TaskFailure):
    """A failure that retrying cannot fix: the job fails at once."""


class Cancelled(TaskFailure):
    """The job was cancelled while it ran."""
