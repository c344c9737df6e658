"""``GET /v1/jobs/{id}/events``: a job's event log as Server-Sent Events.

Each event is ``id: <seq>``, ``event: <kind>`` (``status``, ``progress``, ``error``,
``cancel_requested``) and ``data: <JSON>``; ``Last-Event-ID`` (or ``?last_event_id=``) resumes
after that seq. An idle stream gets a ``: heartbeat`` comment every ``sse_heartbeat_s``. The
stream ends after the terminal status event, whose data carries the whole job.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from pressroom.api.auth import Principal, principal
from pressroom.api.hub import END, TooManyStreams, is_terminal
from pressroom.api.limits import PressroomRoute
from pressroom.api.problems import ProblemError
from pressroom.api.routes_common import PROBLEMS, JobId, state
from pressroom.api.views import job_out
from pressroom.core.errors import PressroomError
from pressroom.core.models import Job, JobEvent
from pressroom.service import Pressroom

_PAGE = 1000
"""Events the store returns per call (its default limit)."""

router = APIRouter(tags=["jobs"], route_class=PressroomRoute)

SSE_EXAMPLE = (
    'id: 41\nevent: status\ndata: {"status":"running","attempt":1}\n\n'
    'id: 42\nevent: progress\ndata: {"percent":50.0,"message":"rendering"}\n\n'
    ": heartbeat\n\n"
    'id: 43\nevent: status\ndata: {"status":"succeeded","attempt":1,"job":{…}}\n\n'
)


def _resume_point(header: str | None, query: int | None) -> int:
    raw: Any = query if query is not None else header
    if raw is None or raw == "":
        return 0
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ProblemError(422, "Last-Event-ID must be an event id (an integer)") from None
    if not 0 <= value < 2**63:
        raise ProblemError(422, "Last-Event-ID is out of range")
    return value


def format_event(event: JobEvent, extra: dict[str, Any] | None = None) -> str:
    """One SSE message for ``event``."""
    data = {**event.data, "at": event.to_dict()["at"], **(extra or {})}
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)
    return f"id: {event.seq}\nevent: {event.kind.value}\ndata: {body}\n\n"


@router.get(
    "/v1/jobs/{job_id}/events",
    summary="Follow a job's events (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "An event stream; it ends after the terminal status.",
            "content": {"text/event-stream": {"example": SSE_EXAMPLE}},
        },
        **PROBLEMS(404, 422, 429),
    },
)
async def job_events(
    request: Request,
    job_id: Annotated[str, JobId],
    who: Annotated[Principal, Depends(principal)],
    last_event_id: Annotated[
        str | None, Header(alias="Last-Event-ID", pattern="^[0-9]{1,19}$")
    ] = None,
    resume: Annotated[
        int | None,
        Query(alias="last_event_id", ge=0, le=2**63 - 1, description="Resume after this event id."),
    ] = None,
) -> StreamingResponse:
    """Stream the job's events from its log, starting after ``Last-Event-ID``."""
    api = state(request)
    after = _resume_point(last_event_id, resume)
    job, events = await run_in_threadpool(_open, api.service, job_id, after, who.tenant)
    heartbeat = api.settings.sse_heartbeat_s
    if events is not None:
        final = job_out(job, request).model_dump(mode="json", by_alias=True)

        async def replay() -> AsyncIterator[str]:
            for event in events:
                yield format_event(event, {"job": final} if is_terminal(event) else None)

        return _stream(replay())
    try:
        sub = api.hub.subscribe(
            job_id, after, owner=who.stream_owner, cap=api.settings.sse_max_streams
        )
    except TooManyStreams:
        raise ProblemError(
            429,
            f"at most {api.settings.sse_max_streams} event streams may be open at once",
            slug="too-many-streams",
            headers={"Retry-After": "5"},
        ) from None

    async def follow() -> AsyncIterator[str]:
        try:
            yield ": connected\n\n"
            while True:
                try:
                    item = await asyncio.wait_for(sub.queue.get(), timeout=heartbeat)
                except TimeoutError:
                    yield ": heartbeat\n\n"
                    continue
                if item is END:
                    return
                if not is_terminal(item):
                    yield format_event(item)
                    continue
                yield format_event(item, await _final_job(request, job_id, who))
                return
        finally:
            api.hub.unsubscribe(sub)

    return _stream(follow())


def _open(
    service: Pressroom, job_id: str, after: int, tenant: str
) -> tuple[Job, list[JobEvent] | None]:
    """The job, and its events after ``after`` if it has finished (one trip to a thread)."""
    job = service.get(job_id, tenant=tenant)
    return job, (_whole_log(service, job_id, after, tenant) if job.status.terminal else None)


def _whole_log(service: Pressroom, job_id: str, after: int, tenant: str) -> list[JobEvent]:
    """Every event of the job after ``after`` (the store answers in pages)."""
    out: list[JobEvent] = []
    while True:
        page = service.events(job_id, after_seq=after, tenant=tenant)
        out += page
        if len(page) < _PAGE:
            return out
        after = page[-1].seq


async def _final_job(request: Request, job_id: str, who: Principal) -> dict[str, Any] | None:
    """The finished job's JSON for the terminal event (None if it was deleted meanwhile)."""
    try:
        done = await run_in_threadpool(state(request).service.get, job_id, tenant=who.tenant)
    except PressroomError:
        return None
    return {"job": job_out(done, request).model_dump(mode="json", by_alias=True)}


def _stream(body: AsyncIterator[str]) -> StreamingResponse:
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(body, media_type="text/event-stream", headers=headers)
