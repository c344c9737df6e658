"""What every route module shares: the per-app state, the job-id path parameter, and the
problem responses each route declares in the OpenAPI document."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from fastapi import Path, Request

from pressroom.api.auth import Authenticator
from pressroom.api.batching import SubmitBatcher
from pressroom.api.hub import EventHub
from pressroom.api.models import ProblemOut
from pressroom.api.preview import PreviewPool
from pressroom.api.settings import ApiSettings
from pressroom.service import Pressroom

T = TypeVar("T")

_PROBLEM_TEXT = {
    400: "Bad request",
    401: "No valid API key (or signed link)",
    403: "The API key may not do this",
    404: "No such object (or not the caller's)",
    405: "Method not allowed",
    409: "The object's state does not allow this",
    413: "Request body too large",
    415: "The body is not application/json",
    422: "Invalid request (validation, JSON limits, bad cursor…)",
    429: "Too many requests or streams",
    500: "Unexpected server error",
    503: "Not ready (database unreachable or schema not current)",
}


@dataclass
class ApiState:
    """What the routes of one app share: the service, the settings, the event hub and the
    preview pool (kept in ``app.state.api``; nothing is global)."""

    service: Pressroom
    settings: ApiSettings
    hub: EventHub
    preview: PreviewPool
    auth: Authenticator
    writer: ThreadPoolExecutor
    batcher: SubmitBatcher

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a store write on the writer threads (one for SQLite: writers in one process then
        queue here instead of sleeping in SQLite's busy handler)."""
        return await asyncio.get_running_loop().run_in_executor(self.writer, partial(fn, *args))

    def close(self) -> None:
        """Stop the hub, the preview pool and the writer threads."""
        self.hub.close()
        self.preview.close()
        self.writer.shutdown(wait=False)


def state(request: Request) -> ApiState:
    """The app's shared state."""
    api: ApiState = request.app.state.api
    return api


def PROBLEMS(*statuses: int) -> dict[int | str, dict[str, Any]]:  # noqa: N802 - reads like a constant
    """OpenAPI ``responses`` entries declaring problem documents for ``statuses`` (plus the
    ones any route may give: 401, 413, 422, 429, 500, 503)."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in sorted({*statuses, 401, 413, 422, 429, 500, 503}):
        out[status] = {
            "model": ProblemOut,
            "description": _PROBLEM_TEXT.get(status, "Error"),
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemOut"}}
            },
        }
    return out


JobId = Path(min_length=1, max_length=100, description="The job's id.")
