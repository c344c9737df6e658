"""What the synchronous and the asynchronous client share: configuration and request bodies."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pressroom.client._models import JobPage, Progress, RemoteJob

DEFAULT_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Config:
    """Where the server is and how to authenticate; read from ``PRESSROOM_URL``/``_API_KEY``."""

    base_url: str
    api_key: str | None

    @classmethod
    def resolve(cls, base_url: str | None, api_key: str | None) -> Config:
        """Fill what the caller left out from the environment, then the default local URL."""
        url = base_url or os.environ.get("PRESSROOM_URL") or DEFAULT_URL
        key = api_key if api_key is not None else os.environ.get("PRESSROOM_API_KEY") or None
        return cls(url.rstrip("/"), key)

    def headers(self) -> dict[str, str]:
        """The headers every request carries."""
        headers = {"accept": "application/json"}
        if self.api_key:
            headers["authorization"] = f"Bearer {self.api_key}"
        return headers


def submit_body(
    template: str | Mapping[str, Any] | None = None,
    *,
    data: Mapping[str, Any] | None = None,
    format: str | None = None,
    options: Mapping[str, Any] | None = None,
    task: str | None = None,
    args: Mapping[str, Any] | None = None,
    queue: str | None = None,
    priority: int | None = None,
    delay_s: float | None = None,
    run_at: datetime | None = None,
    max_attempts: int | None = None,
    timeout_s: float | None = None,
    webhook: str | Mapping[str, Any] | None = None,
    metadata: Mapping[str, str] | None = None,
    cache: bool | None = None,
) -> dict[str, Any]:
    """The JSON body of ``POST /v1/jobs``; fields left as None are left out."""
    if (template is None) == (task is None):
        raise ValueError("give either a template or a task")
    body: dict[str, Any] = {
        "template": dict(template) if isinstance(template, Mapping) else template,
        "data": dict(data) if data is not None else None,
        "format": format,
        "options": dict(options) if options is not None else None,
        "task": task,
        "args": dict(args) if args is not None else None,
        "queue": queue,
        "priority": priority,
        "delay_s": delay_s,
        "run_at": run_at.isoformat() if run_at else None,
        "max_attempts": max_attempts,
        "timeout_s": timeout_s,
        "webhook": {"url": webhook} if isinstance(webhook, str) else webhook,
        "metadata": dict(metadata) if metadata is not None else None,
        "cache": cache,
    }
    return {k: v for k, v in body.items() if v is not None}


def list_params(
    status: str | None, queue: str | None, template: str | None, cursor: str | None, limit: int
) -> dict[str, str | int]:
    """The query of ``GET /v1/jobs``."""
    params: dict[str, str | int] = {"limit": limit}
    for key, value in (("status", status), ("queue", queue), ("template", template)):
        if value:
            params[key] = value
    if cursor:
        params["cursor"] = cursor
    return params


def job_page(body: Mapping[str, Any]) -> JobPage:
    """Read one page of ``GET /v1/jobs``."""
    items = body.get("jobs", [])
    return JobPage([RemoteJob.from_json(j) for j in items], body.get("next_cursor"))


def is_terminal_event(event_type: str, data: Any) -> bool:
    """Whether an SSE event reports that the job reached a terminal status."""
    return (
        event_type == "status"
        and isinstance(data, Mapping)
        and data.get("status") in ("succeeded", "failed", "cancelled")
    )


def progress_of(data: Mapping[str, Any]) -> Progress:
    """The progress a ``progress`` event carries."""
    return Progress(float(data.get("percent") or 0.0), data.get("message"))
