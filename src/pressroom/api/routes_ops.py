"""Operations routes: liveness, readiness, Prometheus metrics, workers and stats."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from pressroom.api.auth import Principal, principal, require_admin
from pressroom.api.limits import PressroomRoute
from pressroom.api.models import Health, StatsOut, WorkerList, WorkerOut
from pressroom.api.problems import ProblemError
from pressroom.api.routes_common import PROBLEMS, state

router = APIRouter(tags=["operations"], route_class=PressroomRoute)


@router.get("/healthz", response_model=Health, summary="Liveness", responses=PROBLEMS())
async def healthz() -> Health:
    """The process is alive (it does not touch the database)."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, summary="Readiness", responses=PROBLEMS())
def readyz(request: Request) -> Health:
    """The database answers and its schema is the one this code needs; 503 otherwise."""
    try:
        current, latest = state(request).service.store.schema_version()
    except Exception as exc:  # noqa: BLE001 - any driver failure means "not ready"
        raise ProblemError(
            503, f"database unreachable: {type(exc).__name__}", slug="not-ready"
        ) from None
    if current != latest:
        raise ProblemError(
            503,
            f"database schema is at version {current}, this Pressroom needs {latest}: "
            "run pressroom migrate",
            slug="not-ready",
        )
    return Health(status="ready", schema_version=current)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}}},
        **PROBLEMS(403),
    },
)
def metrics(request: Request, who: Annotated[Principal, Depends(principal)]) -> Response:
    """Job counts by status and queue, queue depth, workers, open streams, HTTP requests
    (an admin key where keys are in force)."""
    require_admin(who)
    body = generate_latest(request.app.state.metrics.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


@router.get(
    "/v1/workers", response_model=WorkerList, summary="Worker nodes", responses=PROBLEMS(403)
)
def workers(request: Request, who: Annotated[Principal, Depends(principal)]) -> WorkerList:
    """Registered worker nodes, newest first (an admin key where keys are in force)."""
    require_admin(who)
    found = state(request).service.workers()
    return WorkerList(workers=[WorkerOut(**w.to_dict()) for w in found])


@router.get("/v1/stats", response_model=StatsOut, summary="Job counts", responses=PROBLEMS())
def stats(request: Request, who: Annotated[Principal, Depends(principal)]) -> StatsOut:
    """The caller's jobs counted by status and by queue and status."""
    s = state(request).service.stats(tenant=who.tenant)
    return StatsOut(by_status=s.totals(), by_queue=s.counts)
