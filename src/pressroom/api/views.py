"""How jobs look over HTTP: the job JSON, its links, list cursors and the webhook field.

:func:`job_links` is the one place links are made (signed links will be added there).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import Request

from pressroom.api.models import JobLinks, JobOut, JobResult, WebhookOut
from pressroom.api.problems import ProblemError
from pressroom.core.models import Job
from pressroom.documents.task import RENDER_TASK
from pressroom.security.links import signed_path

RESERVED_METADATA_PREFIX = "pressroom:"
"""Metadata keys starting with this are the server's; a client cannot set them."""
WEBHOOK_URL_KEY = "pressroom:webhook.url"


def job_links(job: Job, request: Request) -> JobLinks:
    """The job's ``self``, ``events`` and ``result`` links (relative to the API's root).

    Where API keys are in force, ``events`` and ``result`` carry a signature valid for an hour
    (:mod:`pressroom.security.links`), so a browser can follow them without the key.
    """
    base = f"{request.scope.get('root_path', '')}/v1/jobs/{job.id}"
    events, result = f"{base}/events", f"{base}/result"
    secret = request.app.state.api.auth.signing_secret()
    if secret is not None:
        now = request.app.state.api.service.clock.now()
        events = signed_path(events, job.tenant, now, secret)
        result = signed_path(result, job.tenant, now, secret)
    return JobLinks(self=base, events=events, result=result)


def job_out(job: Job, request: Request) -> JobOut:
    """A job as the API shows it."""
    links = job_links(job, request)
    result: JobResult | None = None
    output: Any = None
    if isinstance(job.result, dict) and isinstance(job.result.get("key"), str):
        r = job.result
        result = JobResult(
            filename=_str(r.get("filename")),
            content_type=_str(r.get("content_type")),
            size=r.get("size") if isinstance(r.get("size"), int) else None,
            sha256=_str(r.get("sha256")),
            page_count=r.get("page_count") if isinstance(r.get("page_count"), int) else None,
            download_url=links.result,
        )
    else:
        output = job.result
    template: str | None = None
    fmt: str | None = None
    if job.task == RENDER_TASK:
        ref = job.args.get("template")
        template = ref if isinstance(ref, str) else "inline"
        fmt = _str(job.args.get("format"))
    hook = job.metadata.get(WEBHOOK_URL_KEY)
    return JobOut(
        id=job.id,
        task=job.task,
        template=template,
        format=fmt,
        status=job.status.value,
        progress={
            "percent": min(100.0, max(0.0, job.progress_percent)),
            "message": job.progress_message,
        },  # type: ignore[arg-type]
        attempt=job.attempt,
        max_attempts=job.max_attempts,
        queue=job.queue,
        priority=job.priority,
        timeout_s=job.timeout_s,
        run_at=job.run_at,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        cancel_requested=job.cancel_requested,
        error=job.error.to_dict() if job.error else None,  # type: ignore[arg-type]
        result=result,
        output=output,
        metadata={
            k: v for k, v in job.metadata.items() if not k.startswith(RESERVED_METADATA_PREFIX)
        },
        webhook=WebhookOut(url=hook) if hook else None,
        links=links,
    )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def webhook_metadata(url: str) -> dict[str, str]:
    """The job's webhook URL, kept in a reserved metadata key so the job JSON can show it
    (deliveries and the secret live in the webhook outbox: :mod:`pressroom.webhooks`)."""
    return {WEBHOOK_URL_KEY: url}


def encode_cursor(job_id: str) -> str:
    """An opaque cursor continuing a listing after ``job_id``."""
    return base64.urlsafe_b64encode(f"v1:{job_id}".encode()).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The job id inside a cursor; a 422 problem if it is not one of ours."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
    except (binascii.Error, ValueError):
        text = ""
    version, _, job_id = text.partition(":")
    if version != "v1" or not job_id or len(job_id) > 100:
        raise ProblemError(422, "invalid cursor: pass next_cursor unchanged", slug="invalid-cursor")
    return job_id
