"""Errors the client raises.

::

    ApiError              the server answered 4xx/5xx with a problem document
    ├── RateLimited       429: slow down for ``retry_after`` seconds
    JobFailed             wait(): the job ended failed or cancelled
"""

from __future__ import annotations

from typing import Any

import httpx

from pressroom.client._models import RemoteJob


class ApiError(Exception):
    """The server refused a request; ``problem`` holds its RFC 9457 problem document."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        """Keep the status and the problem document."""
        self.status = status
        self.problem = problem
        self.title = str(problem.get("title") or "")
        self.detail = str(problem.get("detail") or "")
        super().__init__(f"{status} {self.title}: {self.detail}".rstrip(": "))


class RateLimited(ApiError):
    """The server answered 429; ``retry_after`` says how many seconds to wait."""

    def __init__(self, status: int, problem: dict[str, Any], retry_after: float) -> None:
        """Keep the wait the server asked for."""
        super().__init__(status, problem)
        self.retry_after = retry_after


class JobFailed(Exception):
    """A job the client waited for ended ``failed`` or ``cancelled``."""

    def __init__(self, job: RemoteJob) -> None:
        """Keep the job."""
        self.job = job
        reason = f": {job.error.type}: {job.error.message}" if job.error else ""
        super().__init__(f"job {job.id} {job.status}{reason}")


def raise_for_problem(response: httpx.Response) -> None:
    """Raise ApiError (or RateLimited) when ``response`` is an error; read its body first."""
    if response.status_code < 400:
        return
    try:
        body = response.json()
        problem = body if isinstance(body, dict) else {"detail": str(body)}
    except ValueError:
        problem = {"title": response.reason_phrase, "detail": response.text[:500]}
    if response.status_code == 429:
        try:
            retry_after = float(response.headers.get("retry-after", "1"))
        except ValueError:
            retry_after = 1.0
        raise RateLimited(response.status_code, problem, retry_after)
    raise ApiError(response.status_code, problem)
