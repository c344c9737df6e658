"""What the client returns: jobs, pages of jobs and templates, as typed read-only values.

Each value keeps the server's JSON in ``raw``, so fields added by a newer server stay reachable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

TERMINAL = frozenset({"succeeded", "failed", "cancelled"})


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Progress:
    """How far a job is: ``percent`` (0–100) and an optional message."""

    percent: float = 0.0
    message: str | None = None


@dataclass(frozen=True)
class JobError:
    """Why a job failed: the error's type and message."""

    type: str
    message: str


@dataclass(frozen=True)
class Artifact:
    """The document a render job produced."""

    filename: str | None
    content_type: str | None
    size: int | None
    sha256: str | None
    download_url: str | None = None
    page_count: int | None = None


@dataclass(frozen=True)
class RemoteJob:
    """A job as the server reports it."""

    id: str
    task: str
    template: str | None
    format: str | None
    status: str
    progress: Progress
    attempt: int
    max_attempts: int
    queue: str
    priority: int
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    error: JobError | None
    result: Artifact | None
    output: Any
    metadata: dict[str, str]
    links: dict[str, str]
    raw: dict[str, Any] = field(repr=False)

    @property
    def done(self) -> bool:
        """Whether the job has reached a terminal status (succeeded, failed or cancelled)."""
        return self.status in TERMINAL

    @property
    def succeeded(self) -> bool:
        """Whether the job succeeded."""
        return self.status == "succeeded"

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> RemoteJob:
        """Build a job from the server's JSON."""
        progress = body.get("progress") or {}
        error = body.get("error")
        result = body.get("result")
        artifact = None
        if isinstance(result, Mapping):
            artifact = Artifact(
                filename=result.get("filename"),
                content_type=result.get("content_type"),
                size=result.get("size"),
                sha256=result.get("sha256"),
                download_url=result.get("download_url"),
                page_count=result.get("page_count"),
            )
        return cls(
            id=str(body["id"]),
            task=str(body.get("task", "")),
            template=body.get("template"),
            format=body.get("format"),
            status=str(body["status"]),
            progress=Progress(
                percent=float(progress.get("percent") or 0.0), message=progress.get("message")
            ),
            attempt=int(body.get("attempt", 0)),
            max_attempts=int(body.get("max_attempts", 0)),
            queue=str(body.get("queue", "default")),
            priority=int(body.get("priority", 0)),
            created_at=_time(body.get("created_at")),
            started_at=_time(body.get("started_at")),
            finished_at=_time(body.get("finished_at")),
            error=JobError(str(error.get("type", "")), str(error.get("message", "")))
            if isinstance(error, Mapping)
            else None,
            result=artifact,
            output=body.get("output"),
            metadata=dict(body.get("metadata") or {}),
            links=dict(body.get("links") or {}),
            raw=dict(body),
        )


@dataclass(frozen=True)
class JobPage:
    """One page of a job listing, and the cursor of the next page (None on the last)."""

    jobs: list[RemoteJob]
    next_cursor: str | None


@dataclass(frozen=True)
class RemoteTemplate:
    """A stored template version: its name, version, engine and content hash."""

    name: str
    version: int
    engine: str
    sha256: str
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> RemoteTemplate:
        """Build a template from the server's JSON."""
        return cls(
            name=str(body["name"]),
            version=int(body.get("version") or 0),
            engine=str(body.get("engine", "")),
            sha256=str(body.get("sha256", "")),
            raw=dict(body),
        )
