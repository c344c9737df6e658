"""Request and response bodies of the HTTP API (pydantic), as ``/openapi.json`` describes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

JobStatusName = Literal["scheduled", "queued", "running", "succeeded", "failed", "cancelled"]


class Base64File(BaseModel):
    """Binary file content, base64-encoded."""

    model_config = ConfigDict(extra="forbid")
    base64: str = Field(max_length=32 * 1024 * 1024)


FileContent = str | Base64File
"""A template file: text, or ``{"base64": "…"}`` for binary content."""


class InlineTemplate(BaseModel):
    """A template given in the request instead of by name."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"engine": "html", "source": "<h1>Hello {{ name }}</h1>", "files": {}}]
        },
    )
    engine: str = Field(max_length=50, description="html, markdown, typst, docx, xlsx, pptx, …")
    source: FileContent = Field(description="The main file's content.")
    files: dict[str, FileContent] = Field(default_factory=dict, description="Other files.")
    main: str | None = Field(default=None, max_length=255, description="The main file's name.")


class Webhook(BaseModel):
    """Where to POST the job's terminal status (delivery: see docs/api.md)."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(
        min_length=1, max_length=2048, examples=["https://example.com/hooks/pressroom"]
    )
    secret: str | None = Field(default=None, min_length=1, max_length=200)


class JobSubmit(BaseModel):
    """A job to run: a document (``template`` + ``data`` → ``format``) or a task with ``args``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"template": "invoice", "data": {"number": "2026-001"}, "format": "pdf"},
                {"task": "pressroom.sleep", "args": {"seconds": 2}, "priority": 5},
            ],
            "anyOf": [{"required": ["template"]}, {"required": ["task"]}],
        },
    )
    template: str | InlineTemplate | None = Field(
        default=None, description="A stored template's name, name@version, or an inline template."
    )
    data: dict[str, Any] | None = Field(default=None, description="The template's data.")
    format: str | None = Field(default=None, max_length=20, description="pdf, docx, html, png, …")
    options: dict[str, Any] | None = Field(default=None, description="Engine options.")
    engine: str | None = Field(default=None, max_length=50)
    task: str | None = Field(default=None, max_length=200, description="A registered task.")
    args: dict[str, Any] | None = Field(default=None, description="The task's keyword arguments.")
    queue: str | None = Field(default=None, max_length=100)
    priority: int | None = Field(default=None, description="Higher runs first.")
    run_at: datetime | None = Field(default=None, description="Run no earlier than this.")
    delay_s: float | None = Field(default=None, description="Run no earlier than in N seconds.")
    max_attempts: int | None = Field(default=None)
    timeout_s: float | None = Field(default=None)
    metadata: dict[str, str] | None = Field(default=None, description="Your own labels.")
    cache: bool | float | None = Field(
        default=None, description="Reuse an identical recent result: true (a day) or seconds."
    )
    webhook: Webhook | None = None


class Progress(BaseModel):
    """How far a running job is."""

    percent: float = Field(ge=0, le=100)
    message: str | None = None


class JobErrorOut(BaseModel):
    """Why the last attempt failed."""

    type: str
    message: str
    traceback: str | None = None


class JobResult(BaseModel):
    """The document a render job made."""

    filename: str | None = None
    content_type: str | None = None
    size: int | None = None
    sha256: str | None = None
    page_count: int | None = None
    download_url: str = Field(description="GET it for the document.")


class JobLinks(BaseModel):
    """Where to follow the job."""

    model_config = ConfigDict(populate_by_name=True)
    self_: str = Field(alias="self")
    events: str
    result: str


class WebhookOut(BaseModel):
    """The job's webhook (its secret is never shown)."""

    url: str


class JobOut(BaseModel):
    """A job."""

    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "01JDQ0X5Z1R3TQ6M9V2C4B8N7K",
                    "task": "pressroom.render",
                    "template": "invoice@3",
                    "status": "succeeded",
                    "progress": {"percent": 100, "message": "done"},
                    "attempt": 1,
                    "max_attempts": 3,
                    "queue": "default",
                    "priority": 0,
                    "created_at": "2026-11-29T21:00:00Z",
                    "started_at": "2026-11-29T21:00:00.010Z",
                    "finished_at": "2026-11-29T21:00:00.300Z",
                    "error": None,
                    "result": {
                        "filename": "invoice.pdf",
                        "content_type": "application/pdf",
                        "size": 18342,
                        "sha256": "9f2c…",
                        "download_url": "/v1/jobs/01JDQ0X5Z1R3TQ6M9V2C4B8N7K/result",
                    },
                    "metadata": {"order": "A-17"},
                    "links": {
                        "self": "/v1/jobs/01JDQ0X5Z1R3TQ6M9V2C4B8N7K",
                        "events": "/v1/jobs/01JDQ0X5Z1R3TQ6M9V2C4B8N7K/events",
                        "result": "/v1/jobs/01JDQ0X5Z1R3TQ6M9V2C4B8N7K/result",
                    },
                }
            ]
        },
    )
    id: str
    task: str
    template: str | None = Field(default=None, description="name@version, or 'inline'.")
    format: str | None = None
    status: JobStatusName
    progress: Progress
    attempt: int
    max_attempts: int
    queue: str
    priority: int
    timeout_s: float | None = None
    run_at: datetime
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    cancel_requested: bool = False
    error: JobErrorOut | None = None
    result: JobResult | None = Field(default=None, description="Set when a document was made.")
    output: Any = Field(default=None, description="A task's return value (non-document jobs).")
    metadata: dict[str, str] = Field(default_factory=dict)
    webhook: WebhookOut | None = None
    links: JobLinks


class JobPage(BaseModel):
    """One page of jobs, newest first."""

    jobs: list[JobOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null: end.")


class TemplatePut(BaseModel):
    """A new template version: the engine, its main file and other files."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "engine": "html",
                    "main": "template.html",
                    "source": "<h1>Invoice {{ number }}</h1>",
                    "files": {"style.css": "h1 { color: navy }"},
                }
            ]
        },
    )
    engine: str = Field(max_length=50)
    source: FileContent
    files: dict[str, FileContent] = Field(default_factory=dict)
    main: str | None = Field(default=None, max_length=255)


class TemplateOut(BaseModel):
    """A stored template version."""

    name: str
    version: int
    ref: str = Field(description="name@version")
    engine: str
    main: str
    sha256: str
    size: int
    created_at: datetime


class TemplateStored(TemplateOut):
    """The answer to a push: the version, and whether it is new."""

    created: bool = Field(description="False when the content equals the latest version.")


class TemplateDetail(TemplateOut):
    """A template's latest version, with its versions (newest first, at most 100)."""

    versions: list[TemplateOut]


class TemplateList(BaseModel):
    """The latest version of each template."""

    templates: list[TemplateOut]


class PreviewRequest(BaseModel):
    """A synchronous render for template authors."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"template": "invoice", "data": {"number": "1"}, "format": "html"}]
        },
    )
    template: str | InlineTemplate
    data: dict[str, Any] | None = None
    format: str | None = Field(default=None, max_length=20)
    options: dict[str, Any] | None = None
    engine: str | None = Field(default=None, max_length=50)


class WorkerOut(BaseModel):
    """A worker node."""

    id: str
    host: str
    pid: int
    queues: list[str]
    concurrency: int
    started_at: datetime
    last_heartbeat_at: datetime
    running: list[str]


class WorkerList(BaseModel):
    """Registered worker nodes."""

    workers: list[WorkerOut]


class StatsOut(BaseModel):
    """Job counts of the caller's tenant."""

    by_status: dict[str, int]
    by_queue: dict[str, dict[str, int]]


class Health(BaseModel):
    """Liveness or readiness."""

    status: str = Field(examples=["ok"])
    schema_version: int | None = None


class ProblemOut(BaseModel):
    """An RFC 9457 problem document (``application/problem+json``)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:pressroom:problem:not-found",
                    "title": "Not Found",
                    "status": 404,
                    "detail": "no job 01JDQ0X5Z1R3TQ6M9V2C4B8N7K",
                }
            ]
        },
    )
    type: str
    title: str
    status: int
    detail: str
