"""Template routes: store a version, list, show with versions, and preview a render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from pressroom.api.auth import Principal, principal
from pressroom.api.limits import PressroomRoute
from pressroom.api.models import (
    PreviewRequest,
    TemplateDetail,
    TemplateList,
    TemplateOut,
    TemplatePut,
    TemplateStored,
)
from pressroom.api.preview import PreviewBusy, PreviewTimeout
from pressroom.api.problems import ProblemError
from pressroom.api.routes_common import PROBLEMS, state
from pressroom.api.routes_jobs import content_disposition
from pressroom.core.errors import NotFound
from pressroom.core.models import Template
from pressroom.documents import templates as tpl

router = APIRouter(tags=["templates"], route_class=PressroomRoute)

MAX_VERSIONS_SHOWN = 100
TemplateName = Path(min_length=1, max_length=100, description="Letters, digits, '.', '_', '-'.")


def _out(t: Template) -> TemplateOut:
    return TemplateOut(**t.to_dict())


@router.put(
    "/v1/templates/{name}",
    response_model=TemplateStored,
    summary="Store a new template version",
    responses={
        200: {"description": "Same content as the latest version: nothing stored."},
        201: {"description": "A new version was stored.", "model": TemplateStored},
        **PROBLEMS(415),
    },
)
def put_template(
    name: Annotated[str, TemplateName],
    body: TemplatePut,
    request: Request,
    response: Response,
    who: Annotated[Principal, Depends(principal)],
) -> TemplateStored:
    """Store the body as the next version of template ``name``: ``engine``, the main file's
    ``source``, other ``files`` (text, or ``{"base64": …}`` for binary files such as a DOCX
    template or an image) and optionally the ``main`` file's name."""
    bundle = tpl.from_inline(body.model_dump(exclude_none=True))
    stored, created = state(request).service.template_push(name, bundle, tenant=who.tenant)
    response.status_code = 201 if created else 200
    if created:
        response.headers["Location"] = f"/v1/templates/{stored.name}"
    return TemplateStored(**stored.to_dict(), created=created)


@router.get(
    "/v1/templates", response_model=TemplateList, summary="List templates", responses=PROBLEMS()
)
def list_templates(request: Request, who: Annotated[Principal, Depends(principal)]) -> TemplateList:
    """The latest version of each of the caller's templates, by name."""
    return TemplateList(
        templates=[_out(t) for t in state(request).service.templates(tenant=who.tenant)]
    )


@router.get(
    "/v1/templates/{name}",
    response_model=TemplateDetail,
    summary="Show a template and its versions",
    responses=PROBLEMS(404),
)
def get_template(
    name: Annotated[str, TemplateName],
    request: Request,
    who: Annotated[Principal, Depends(principal)],
) -> TemplateDetail:
    """The latest version of ``name`` (or ``name@N``), with its versions, newest first (at most
    the 100 newest)."""
    service = state(request).service
    latest = service.template_get(name.partition("@")[0], tenant=who.tenant)
    shown = service.template_get(name, tenant=who.tenant) if "@" in name else latest
    versions = []
    for version in range(latest.version, max(0, latest.version - MAX_VERSIONS_SHOWN), -1):
        try:
            versions.append(
                _out(service.template_get(f"{latest.name}@{version}", tenant=who.tenant))
            )
        except NotFound:
            continue
    return TemplateDetail(**shown.to_dict(), versions=versions)


@router.post(
    "/v1/preview",
    summary="Render a document now (for template authors)",
    response_class=Response,
    responses={
        200: {
            "description": "The document, inline.",
            "content": {
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                "text/html": {"schema": {"type": "string"}},
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            },
        },
        **PROBLEMS(415, 429),
    },
    tags=["templates"],
)
async def preview(
    body: PreviewRequest, request: Request, who: Annotated[Principal, Depends(principal)]
) -> Response:
    """Render ``template`` with ``data`` at once, in a separate process, within a short time
    budget (``PRESSROOM_API_PREVIEW_TIMEOUT_S``, 10 s by default): 422 with the template's error
    when it fails or runs too long. Submit a job for real documents."""
    api = state(request)
    template: Any = body.template
    if not isinstance(template, str):
        template = template.model_dump(exclude_none=True)
    bundle, args = await run_in_threadpool(
        api.service.prepare_render,
        template,
        body.data,
        format=body.format,
        options=body.options,
        engine=body.engine,
        tenant=who.tenant,
    )
    try:
        doc = await api.preview.render(bundle, args["data"], args["format"], args["options"])
    except PreviewBusy:
        raise ProblemError(
            429,
            "every preview process is busy; try again",
            slug="preview-busy",
            headers={"Retry-After": "1"},
        ) from None
    except PreviewTimeout:
        raise ProblemError(
            422,
            f"the preview took longer than {api.preview.timeout_s:g} s; submit a job instead",
            slug="preview-timeout",
        ) from None
    headers = {"Content-Disposition": content_disposition(f"preview.{doc.extension}", "inline")}
    return Response(doc.content, media_type=doc.content_type, headers=headers)
