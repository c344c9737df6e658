"""Batch routes: many jobs in one request, their progress, and their documents as one zip."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from pressroom.api.auth import Principal, principal
from pressroom.api.limits import PressroomRoute
from pressroom.api.models import JobSubmit
from pressroom.api.problems import ProblemError
from pressroom.api.routes_common import PROBLEMS, state
from pressroom.api.routes_jobs import _plan
from pressroom.core.batches import Batch

router = APIRouter(route_class=PressroomRoute, tags=["batches"])

MAX_BATCH = 1000
BatchId = Path(min_length=1, max_length=100, description="The batch's id.")


class BatchSubmit(BaseModel):
    """Jobs to submit together: each is a ``POST /v1/jobs`` body (without webhooks)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "jobs": [
                        {"template": "invoice", "data": {"number": "1"}},
                        {"template": "invoice", "data": {"number": "2"}},
                    ]
                }
            ]
        },
    )
    jobs: list[JobSubmit] = Field(min_length=1, max_length=MAX_BATCH)


class BatchLinks(BaseModel):
    """Where to follow the batch."""

    model_config = ConfigDict(populate_by_name=True)
    self_: str = Field(alias="self")
    zip: str = Field(description="The succeeded jobs' documents as one zip, once all ended.")


class BatchOut(BaseModel):
    """A batch: its jobs counted by status, its progress, and its job ids in order."""

    model_config = ConfigDict(populate_by_name=True)
    id: str
    total: int
    created_at: datetime
    counts: dict[str, int] = Field(description="Jobs by status; `gone`: deleted or purged.")
    progress: float = Field(description="Percent of the jobs that have ended.")
    done: bool
    jobs: list[str] = Field(description="The jobs' ids, in submission order.")
    links: BatchLinks


def _out(batch: Batch, job_ids: list[str], request: Request) -> BatchOut:
    base = f"{request.scope.get('root_path', '')}/v1/batches/{batch.id}"
    return BatchOut(
        id=batch.id,
        total=batch.total,
        created_at=batch.created_at,
        counts=dict(batch.counts),
        progress=batch.progress,
        done=batch.done,
        jobs=job_ids,
        links=BatchLinks(self=base, zip=f"{base}/zip"),
    )


@router.post(
    "/v1/batches",
    status_code=202,
    response_model=BatchOut,
    summary="Submit a batch of jobs",
    responses=PROBLEMS(),
)
def submit_batch(
    body: BatchSubmit, request: Request, who: Annotated[Principal, Depends(principal)]
) -> BatchOut:
    """Check every job, then store them all in one transaction (all or nothing): 1–1000 jobs,
    each a ``POST /v1/jobs`` body. Webhooks are not taken per job in a batch."""
    service = state(request).service
    built = []
    for n, item in enumerate(body.jobs):
        if item.webhook is not None:
            raise ProblemError(422, f"jobs[{n}]: webhooks are not taken in a batch")
        task, args, options = _plan(item, who.tenant)
        try:
            built.append(service.build_job(task, args, **options))
        except ValueError as exc:  # InvalidInput: say which job
            raise ProblemError(422, f"jobs[{n}]: {exc}", slug="invalid-input") from None
    batch = service.batch_submit(who.tenant, built)
    members = service.store.batch_members(who.tenant, batch.id)
    return _out(batch, [m.job_id for m in members], request)


@router.get(
    "/v1/batches/{batch_id}",
    response_model=BatchOut,
    summary="Get a batch",
    responses=PROBLEMS(404),
)
def get_batch(
    request: Request,
    who: Annotated[Principal, Depends(principal)],
    batch_id: Annotated[str, BatchId],
) -> BatchOut:
    """The batch's counts by status, progress, and job ids."""
    service = state(request).service
    batch = service.batch_get(who.tenant, batch_id)
    members = service.store.batch_members(who.tenant, batch_id)
    return _out(batch, [m.job_id for m in members], request)


@router.get(
    "/v1/batches/{batch_id}/zip",
    summary="A finished batch's documents as one zip",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}},
        **PROBLEMS(404, 409),
    },
)
async def batch_zip(
    request: Request,
    who: Annotated[Principal, Depends(principal)],
    batch_id: Annotated[str, BatchId],
) -> StreamingResponse:
    """Every succeeded job's document in one zip (``409`` while jobs of the batch still run)."""
    service = state(request).service
    chunks = await run_in_threadpool(service.batch_zip, who.tenant, batch_id)
    first = await run_in_threadpool(next, chunks, b"")  # raises NotFound/Conflict before 200

    async def body() -> object:
        yield first
        while True:
            chunk = await run_in_threadpool(next, chunks, None)
            if chunk is None:
                return
            yield chunk

    return StreamingResponse(
        body(),  # type: ignore[arg-type]
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="batch-{batch_id}.zip"'},
    )
