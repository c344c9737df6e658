"""Job routes: submit, read, list, download, cancel, retry, delete."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from pressroom.api.auth import Principal, principal
from pressroom.api.limits import PressroomRoute
from pressroom.api.models import JobOut, JobPage, JobStatusName, JobSubmit
from pressroom.api.problems import ProblemError
from pressroom.api.routes_common import PROBLEMS, JobId, state
from pressroom.api.views import (
    RESERVED_METADATA_PREFIX,
    decode_cursor,
    encode_cursor,
    job_out,
    webhook_metadata,
)
from pressroom.core.models import Job, JobFilter, JobStatus
from pressroom.documents.task import RENDER_TASK
from pressroom.security.idempotency import request_hash
from pressroom.service import Pressroom

router = APIRouter(tags=["jobs"], route_class=PressroomRoute)

_SCAN_LIMIT = 5000
"""Rows a ``template=`` listing examines per page at most (the filter runs on job arguments)."""
_CHUNK = 256 * 1024


def _plan(body: JobSubmit, tenant: str) -> tuple[str, dict[str, Any] | None, dict[str, Any]]:
    """(task, args, job options) of a submission; a 422 problem for contradictory fields."""
    if (body.template is None) == (body.task is None):
        raise ProblemError(422, 'give either "template" (a document) or "task" (with "args")')
    metadata = dict(body.metadata or {})
    if any(k.startswith(RESERVED_METADATA_PREFIX) for k in metadata):
        raise ProblemError(
            422, f'metadata keys starting with "{RESERVED_METADATA_PREFIX}" are reserved'
        )
    if body.webhook is not None:
        metadata |= webhook_metadata(body.webhook.url)
    options: dict[str, Any] = {
        "queue": body.queue,
        "priority": body.priority,
        "run_at": body.run_at,
        "delay_s": body.delay_s,
        "max_attempts": body.max_attempts,
        "timeout_s": body.timeout_s,
        "metadata": metadata,
        "tenant": tenant,
    }
    if body.task is not None:
        stray = [
            k
            for k in ("data", "format", "options", "engine", "cache")
            if getattr(body, k) is not None
        ]
        if stray:
            raise ProblemError(422, f"{', '.join(stray)} only apply to template jobs")
        return body.task, body.args, options
    if body.args is not None:
        raise ProblemError(422, '"args" only apply to task jobs; template jobs take "data"')
    template: Any = body.template
    if not isinstance(template, str):
        template = template.model_dump(exclude_none=True)
    args = {"template": template, "data": body.data, "format": body.format}
    args |= {"options": body.options, "engine": body.engine, "cache": body.cache}
    return RENDER_TASK, {k: v for k, v in args.items() if v is not None}, options


@router.post(
    "/v1/jobs",
    status_code=202,
    response_model=JobOut,
    summary="Submit a job",
    responses={
        202: {"description": "Accepted; `Location` is the job's URL."},
        **PROBLEMS(415, 429),
    },
)
async def submit_job(
    body: JobSubmit,
    request: Request,
    who: Annotated[Principal, Depends(principal)],
) -> Response:
    """Submit a document job (``template`` + ``data`` → ``format``) or a task job (``task`` +
    ``args``). Everything is checked before the job is stored."""
    api = state(request)
    service = api.service
    task, args, options = _plan(body, who.tenant)
    service.check_queue_cap(who.tenant)  # a cached count: read at most once a second
    webhook = body.webhook.model_dump(exclude_none=True) if body.webhook else None
    idem_key = request.headers.get("idempotency-key")
    headers: dict[str, str] = {}
    if idem_key is not None:
        digest = request_hash(body.model_dump(mode="json", exclude_none=True))

        def once(unique: str) -> tuple[Job, bool]:
            return service.submit(task, args, webhook=webhook, unique_key=unique, **options)

        job, created = await api.write(
            lambda: service.submit_idempotent(who.tenant, idem_key, digest, once)
        )
        if not created:
            headers["Idempotent-Replayed"] = "true"
    elif webhook is not None or body.cache or service.webhooks.has_subscriptions(who.tenant):
        # The service's own path: it checks and flags webhooks, and may reuse a cached result.
        job, _ = await api.write(lambda: service.submit(task, args, webhook=webhook, **options))
    elif task != RENDER_TASK:
        job = await api.batcher.submit(service.build_job(task, args, **options))
    else:  # checking a render reads its template: off the event loop
        built = await run_in_threadpool(lambda: service.build_job(task, args, **options))
        job = await api.batcher.submit(built)
    out = job_out(job, request)
    # Serialised here (the model was built from trusted values): FastAPI would validate it again.
    return Response(
        out.model_dump_json(by_alias=True),
        status_code=202,
        media_type="application/json",
        headers={"Location": out.links.self_, **headers},
    )


@router.get(
    "/v1/jobs/{job_id}",
    response_model=JobOut,
    summary="Get a job",
    responses=PROBLEMS(404),
)
def get_job(
    job_id: Annotated[str, JobId], request: Request, who: Annotated[Principal, Depends(principal)]
) -> JobOut:
    """The job's current state."""
    return job_out(state(request).service.get(job_id, tenant=who.tenant), request)


@router.get("/v1/jobs", response_model=JobPage, summary="List jobs", responses=PROBLEMS())
def list_jobs(
    request: Request,
    response: Response,
    who: Annotated[Principal, Depends(principal)],
    status: Annotated[JobStatusName | None, Query()] = None,
    queue: Annotated[str | None, Query(max_length=100)] = None,
    task: Annotated[str | None, Query(max_length=200)] = None,
    template: Annotated[
        str | None, Query(max_length=200, description="A template name, or name@version.")
    ] = None,
    cursor: Annotated[
        str | None,
        Query(max_length=300, pattern="^[A-Za-z0-9_-]+$", description="next_cursor of a page."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> JobPage:
    """The caller's jobs, newest first, filtered; follow ``next_cursor`` (or the ``Link``
    header) for the next page."""
    api = state(request)
    limit = min(limit, api.settings.list_max_limit)
    before = decode_cursor(cursor) if cursor else None
    flt = JobFilter(
        status=JobStatus(status) if status else None,
        queue=queue,
        task=RENDER_TASK if template else task,
        tenant=who.tenant,
        before=before,
        limit=limit,
    )
    if template is not None and task not in (None, RENDER_TASK):
        jobs, last, more = [], None, False
    elif template is None:
        jobs = api.service.list_jobs(flt)
        more = len(jobs) == limit
        last = jobs[-1].id if jobs else None
    else:
        jobs, last, more = _scan_by_template(api.service, flt, template)
    next_cursor = encode_cursor(last) if more and last else None
    if next_cursor:
        params = dict(request.query_params) | {"cursor": next_cursor}
        response.headers["Link"] = f'<{request.url.path}?{urlencode(params)}>; rel="next"'
    return JobPage(jobs=[job_out(j, request) for j in jobs], next_cursor=next_cursor)


def _scan_by_template(
    service: Pressroom, flt: JobFilter, template: str
) -> tuple[list[Job], str | None, bool]:
    """Render jobs of ``template`` (a name: any version; name@N: that one), reading at most
    ``_SCAN_LIMIT`` rows; (jobs, last id examined, whether more may follow)."""
    found: list[Job] = []
    scanned = 0
    before = flt.before
    while scanned < _SCAN_LIMIT:
        page = service.list_jobs(JobFilter(**{**_fields(flt), "before": before, "limit": 200}))
        for job in page:
            scanned += 1
            before = job.id
            if _uses_template(job, template):
                found.append(job)
                if len(found) == flt.limit:
                    return found, before, True
        if len(page) < 200:
            return found, before, False
    return found, before, True


def _fields(flt: JobFilter) -> dict[str, Any]:
    return {"status": flt.status, "queue": flt.queue, "task": flt.task, "tenant": flt.tenant}


def _uses_template(job: Job, template: str) -> bool:
    ref = job.args.get("template")
    if not isinstance(ref, str):
        return False
    return ref == template or ("@" not in template and ref.startswith(template + "@"))


@router.get(
    "/v1/jobs/{job_id}/result",
    summary="Download a job's document",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The document, with its media type and file name.",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        },
        **PROBLEMS(404, 409),
    },
)
async def job_result(
    job_id: Annotated[str, JobId], request: Request, who: Annotated[Principal, Depends(principal)]
) -> StreamingResponse:
    """The document of a succeeded job; 409 while the job has not succeeded."""
    job, stream = await run_in_threadpool(
        state(request).service.open_result, job_id, tenant=who.tenant
    )
    result = job.result if isinstance(job.result, dict) else {}
    filename = str(result.get("filename") or "document")
    headers = {"Content-Disposition": content_disposition(filename)}
    if isinstance(result.get("size"), int):
        headers["Content-Length"] = str(result["size"])
    if isinstance(result.get("sha256"), str):
        headers["ETag"] = f'"{result["sha256"]}"'

    def chunks() -> Any:
        with stream:
            while block := stream.read(_CHUNK):
                yield block

    media = str(result.get("content_type") or "application/octet-stream")
    return StreamingResponse(chunks(), media_type=media, headers=headers)


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """A ``Content-Disposition`` value with an ASCII fallback and the UTF-8 name (RFC 6266)."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename)
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@router.post(
    "/v1/jobs/{job_id}/cancel",
    response_model=JobOut,
    summary="Cancel a job",
    responses=PROBLEMS(404, 409),
)
def cancel_job(
    job_id: Annotated[str, JobId], request: Request, who: Annotated[Principal, Depends(principal)]
) -> JobOut:
    """Cancel a waiting job at once, or ask a running one to stop (it stops within seconds)."""
    return job_out(state(request).service.cancel(job_id, tenant=who.tenant), request)


@router.post(
    "/v1/jobs/{job_id}/retry",
    response_model=JobOut,
    summary="Retry a job",
    responses=PROBLEMS(404, 409),
)
def retry_job(
    job_id: Annotated[str, JobId], request: Request, who: Annotated[Principal, Depends(principal)]
) -> JobOut:
    """Queue a failed or cancelled job again, with one more attempt allowed."""
    return job_out(state(request).service.retry(job_id, tenant=who.tenant), request)


@router.delete(
    "/v1/jobs/{job_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a finished job",
    responses={204: {"description": "Deleted with its events and document."}, **PROBLEMS(404, 409)},
)
def delete_job(
    job_id: Annotated[str, JobId], request: Request, who: Annotated[Principal, Depends(principal)]
) -> Response:
    """Delete a finished job, its events and its document; 409 while it has not finished."""
    state(request).service.delete(job_id, tenant=who.tenant)
    return Response(status_code=204)
