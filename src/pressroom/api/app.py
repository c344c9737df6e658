"""The app factory: :func:`create_app` builds one FastAPI app over a service (no globals)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from pressroom._version import __version__
from pressroom.api import (
    routes_batches,
    routes_jobs,
    routes_ops,
    routes_templates,
    routes_webhooks,
    sse,
)
from pressroom.api.auth import Authenticator
from pressroom.api.batching import SubmitBatcher
from pressroom.api.hub import EventHub
from pressroom.api.limits import BodyLimitMiddleware
from pressroom.api.metrics import Metrics, MetricsMiddleware
from pressroom.api.preview import PreviewPool
from pressroom.api.problems import install_problem_handlers
from pressroom.api.routes_common import ApiState
from pressroom.api.settings import ApiSettings
from pressroom.service import Pressroom

DESCRIPTION = """\
Asynchronous document generation: submit a job (a template with data, or a task), answer your
own user at once, then follow the job by polling, Server-Sent Events or a webhook, and download
the document. Every error is `application/problem+json` (RFC 9457). See docs/api.md.
"""


def create_app(service: Pressroom, settings: ApiSettings | None = None) -> FastAPI:
    """An API app over ``service``; its event hub and preview processes start when first
    needed and stop with the app's lifespan (or :meth:`ApiState.close`)."""
    settings = settings or ApiSettings()
    hub = EventHub(service.store, backstop_s=settings.sse_backstop_s)
    writer = ThreadPoolExecutor(
        settings.write_threads or (1 if service.store.url.startswith("sqlite") else 8),
        thread_name_prefix="pressroom-writer",
    )
    api = ApiState(
        service=service,
        settings=settings,
        hub=hub,
        preview=PreviewPool(settings.preview_processes, settings.preview_timeout_s),
        auth=Authenticator(service, settings),
        writer=writer,
        batcher=SubmitBatcher(service, writer),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        api.close()

    app = FastAPI(
        title="Pressroom",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=[
            {"name": "jobs", "description": "Submit and follow jobs."},
            {"name": "templates", "description": "Versioned templates and previews."},
            {"name": "batches", "description": "Many jobs at once, and their documents as a zip."},
            {"name": "webhooks", "description": "Tenant webhook subscriptions and secrets."},
            {"name": "operations", "description": "Health, metrics, workers and stats."},
        ],
    )
    app.state.api = api
    app.state.metrics = Metrics(service, hub)
    install_problem_handlers(app)
    for module in (routes_jobs, sse, routes_batches, routes_templates, routes_webhooks, routes_ops):
        app.include_router(module.router)
    app.add_api_route(
        "/dashboard", _dashboard, include_in_schema=False, response_class=HTMLResponse
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    return app


async def _dashboard() -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><title>Pressroom</title><h1>Pressroom</h1>"
        "<p>The dashboard is not built yet. See <a href='/docs'>/docs</a> and "
        "<a href='/metrics'>/metrics</a>.</p>"
    )
