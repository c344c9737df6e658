"""The CLI over HTTP: when ``PRESSROOM_URL`` is set, commands talk to that server.

:class:`RemoteService` answers the subset of :class:`~pressroom.service.Pressroom` that the
``jobs`` and ``templates`` commands use, through :class:`pressroom.client.Client`, and returns the
same core values, so every command prints the same thing locally and remotely.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, BinaryIO

from pressroom.client import ApiError, Client, RemoteJob
from pressroom.core.errors import Conflict, InvalidInput, NotFound, PressroomError
from pressroom.core.models import (
    Job,
    JobError,
    JobEvent,
    JobFilter,
    JobStatus,
    Stats,
    Template,
    WorkerInfo,
)
from pressroom.documents.templates import to_inline
from pressroom.renderers.base import TemplateBundle


def _time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return datetime.fromtimestamp(0, UTC)


def core_job(remote: RemoteJob) -> Job:
    """A job from the server's JSON, as the CLI's printers take it."""
    raw = remote.raw
    result: Any = raw.get("output")
    if remote.result is not None:
        r = remote.result
        result = {
            "filename": r.filename,
            "content_type": r.content_type,
            "size": r.size,
            "sha256": r.sha256,
            "page_count": r.page_count,
        }
    return Job(
        id=remote.id,
        task=remote.task,
        args={},
        queue=remote.queue,
        priority=remote.priority,
        status=JobStatus(remote.status),
        attempt=remote.attempt,
        max_attempts=remote.max_attempts,
        run_at=_time(raw.get("run_at")),
        created_at=_time(raw.get("created_at")),
        timeout_s=raw.get("timeout_s"),
        started_at=remote.started_at,
        finished_at=remote.finished_at,
        progress_percent=remote.progress.percent,
        progress_message=remote.progress.message,
        error=JobError(remote.error.type, remote.error.message) if remote.error else None,
        result=result,
        metadata=remote.metadata,
        cancel_requested=bool(raw.get("cancel_requested")),
    )


def _template(body: Mapping[str, Any]) -> Template:
    return Template(
        name=str(body["name"]),
        version=int(body["version"]),
        engine=str(body["engine"]),
        main=str(body.get("main", "")),
        sha256=str(body.get("sha256", "")),
        size=int(body.get("size", 0)),
        created_at=_time(body.get("created_at")),
    )


def translate(exc: ApiError) -> PressroomError:
    """The CLI's own error for a problem the server answered (one line on stderr, exit 1)."""
    message = exc.detail or exc.title or str(exc)
    if exc.status == 404:
        return NotFound(message)
    if exc.status == 409:
        return Conflict(message)
    if exc.status in (400, 413, 422):
        return InvalidInput(message)
    return PressroomError(f"server answered {exc.status}: {message}")


class RemoteService:
    """The jobs and templates operations of the service, over the HTTP API."""

    def __init__(self, client: Client) -> None:
        """Use ``client`` for every call."""
        self.client = client

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()

    def _run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ApiError as exc:
            raise translate(exc) from None

    def get(self, job_id: str) -> Job:
        """The job."""
        return core_job(self._run(self.client.get, job_id))

    def events(self, job_id: str, *, after_seq: int = 0) -> list[JobEvent]:
        """A finished job's event log (the API streams the log only as SSE)."""
        raise InvalidInput("--events is not available over HTTP; follow GET /v1/jobs/ID/events")

    def list_jobs(self, flt: JobFilter) -> list[Job]:
        """One page of jobs, newest first."""
        if flt.before or flt.task:
            raise InvalidInput("--before and --task are not available over HTTP")
        status = flt.status.value if flt.status else None
        page = self._run(self.client.list, status=status, queue=flt.queue, limit=flt.limit)
        return [core_job(j) for j in page.jobs]

    def stats(self) -> Stats:
        """Job counts by queue and status."""
        body = self._run(self.client.stats)
        return Stats(counts={q: dict(c) for q, c in body.get("by_queue", {}).items()})

    def workers(self) -> list[WorkerInfo]:
        """The worker nodes."""
        return [
            WorkerInfo(
                id=w["id"],
                host=w["host"],
                pid=int(w["pid"]),
                queues=tuple(w.get("queues", ())),
                concurrency=int(w.get("concurrency", 0)),
                started_at=_time(w.get("started_at")),
                last_heartbeat_at=_time(w.get("last_heartbeat_at")),
                running=tuple(w.get("running", ())),
            )
            for w in self._run(self.client.workers)
        ]

    def cancel(self, job_id: str) -> Job:
        """Cancel the job."""
        return core_job(self._run(self.client.cancel, job_id))

    def retry(self, job_id: str) -> Job:
        """Retry the job."""
        return core_job(self._run(self.client.retry, job_id))

    def wait(self, job_id: str, *, timeout_s: float | None = None) -> Job:
        """Wait until the job ends (raise TimeoutError after ``timeout_s``)."""
        return core_job(self._run(self.client.wait, job_id, timeout=timeout_s))

    def submit(
        self, task: str, args: Mapping[str, Any] | None = None, **options: Any
    ) -> tuple[Job, bool]:
        """Submit a task job."""
        if options.pop("unique_key", None):
            raise InvalidInput("--unique-key is not available over HTTP; use an Idempotency-Key")
        fields = {k: v for k, v in options.items() if v is not None}
        job = self._run(self.client.submit, task=task, args=dict(args or {}), **fields)
        return core_job(job), True

    def submit_render(
        self,
        template: str | Mapping[str, Any],
        data: Mapping[str, Any] | None = None,
        *,
        format: str | None = None,
        options: Mapping[str, Any] | None = None,
        filename: str | None = None,
        engine: str | None = None,
        cache: float | None = None,
        **job_options: Any,
    ) -> tuple[Job, bool]:
        """Submit a render job; an inline template (a bundle dict) is sent with the job."""
        if job_options.pop("unique_key", None):
            raise InvalidInput("--unique-key is not available over HTTP; use an Idempotency-Key")
        opts = dict(options or {})
        if filename:
            opts["filename"] = filename
        if engine is not None:
            raise InvalidInput("--engine with a stored template is not available over HTTP")
        fields = {k: v for k, v in job_options.items() if v is not None}
        job = self._run(
            self.client.submit,
            template,
            data=dict(data or {}),
            format=format,
            options=opts or None,
            cache=bool(cache) or None,
            **fields,
        )
        return core_job(job), True

    def open_result(self, job_id: str) -> tuple[Job, BinaryIO]:
        """The job and its document."""
        job = self.get(job_id)
        content = self._run(self.client.download, job_id)
        return job, io.BytesIO(content)

    def template_push(self, name: str, bundle: TemplateBundle) -> tuple[Template, bool]:
        """Store a new version of a template."""
        response = self._run(self.client.put_template, name, to_inline(bundle))
        return _template(response.raw), bool(response.raw.get("created", True))

    def templates(self) -> list[Template]:
        """The latest version of each template."""
        return [_template(t.raw) for t in self._run(self.client.templates)]

    def template_get(self, ref: str, *, with_bundle: bool = False) -> Template:
        """A template version (without its files: the API does not serve bundles)."""
        name, _, version = ref.partition("@")
        body = self._run(self.client.template, name)
        if version:
            for v in body.get("versions", []):
                if str(v.get("version")) == version:
                    return _template(v)
            raise NotFound(f"template {ref} not found")
        return _template(body)
