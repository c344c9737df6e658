"""RFC 9457 problem details: every 4xx/5xx answer of the API is ``application/problem+json``.

Routes raise :class:`ProblemError` (or Pressroom's own errors, mapped here); FastAPI's
validation errors, unknown routes, wrong methods and unexpected failures are turned into
problems by the handlers :func:`install_problem_handlers` registers.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse
from starlette.routing import compile_path

from pressroom.core.errors import (
    Conflict,
    IdempotencyMismatch,
    InvalidInput,
    NotFound,
    PressroomError,
    StoreError,
    TaskFailure,
    TooBusy,
)

log = logging.getLogger("pressroom.api")

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:pressroom:problem:"
"""Problem ``type`` URIs are ``urn:pressroom:problem:<slug>``; docs/api.md lists the slugs."""


class ProblemError(StarletteHTTPException):
    """An HTTP error to answer as a problem document (a Starlette HTTPException, so FastAPI's
    own body parsing lets it through unchanged)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """A problem with ``status`` and ``detail``; ``slug`` names its type."""
        super().__init__(status_code=status, detail=detail, headers=headers)
        self.slug = slug or _default_slug(status)
        self.title = title or _phrase(status)
        self.extra = extra or {}


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _default_slug(status: int) -> str:
    return _phrase(status).lower().replace(" ", "-").replace("'", "")


def problem_response(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    """A ``application/problem+json`` response."""
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + (slug or _default_slug(status)),
        "title": title or _phrase(status),
        "status": status,
        "detail": detail,
    }
    body.update(extra or {})
    return JSONResponse(
        body, status_code=status, headers=dict(headers or {}), media_type=PROBLEM_MEDIA_TYPE
    )


def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc, ProblemError):
        return problem_response(
            exc.status_code,
            str(exc.detail),
            slug=exc.slug,
            title=exc.title,
            headers=exc.headers,
            extra=exc.extra,
        )
    detail = exc.detail if isinstance(exc.detail, str) else _phrase(exc.status_code)
    headers = dict(exc.headers or {})
    if exc.status_code == 404 and detail == "Not Found":
        detail = "no such route"
    if exc.status_code == 405:
        allowed = allowed_methods(request)
        headers["Allow"] = ", ".join(allowed)
        detail = f"{request.method} is not allowed here; use {' or '.join(allowed)}"
    return problem_response(exc.status_code, detail, headers=headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method the OpenAPI document gives this path (Starlette names only the methods of
    the first route whose path matches)."""
    app = request.app
    table: list[tuple[re.Pattern[str], list[str]]] | None = getattr(app.state, "allow_table", None)
    if table is None:
        table = [
            (compile_path(path)[0], sorted(m.upper() for m in item))
            for path, item in app.openapi().get("paths", {}).items()
        ]
        app.state.allow_table = table
    path = request.url.path
    return sorted({m for regex, methods in table if regex.match(path) for m in methods})


def _on_validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [_clean_error(e) for e in exc.errors()][:50]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"])
    detail = f"{where}: {first['msg']}" if where else str(first["msg"])
    return problem_response(422, detail, slug="invalid-request", extra={"errors": errors})


def _clean_error(error: Any) -> dict[str, Any]:
    """A validation error without its input or context (which may not be JSON)."""
    loc = [p if isinstance(p, int) else str(p) for p in error.get("loc", ())]
    return {"loc": loc, "msg": str(error.get("msg", "")), "type": str(error.get("type", ""))}


def _on_pressroom_error(_request: Request, exc: Exception) -> JSONResponse:
    status, slug = status_for(exc)
    if isinstance(exc, TooBusy):
        retry = str(max(1, math.ceil(exc.retry_after_s)))
        return problem_response(status, str(exc), slug=slug, headers={"Retry-After": retry})
    if status >= 500:
        log.error("store failure: %s", exc)
        return problem_response(status, "the database is unavailable; try again", slug=slug)
    return problem_response(status, str(exc), slug=slug)


def status_for(exc: BaseException) -> tuple[int, str]:
    """The HTTP status and problem slug of one of Pressroom's errors."""
    if isinstance(exc, NotFound):
        return 404, "not-found"
    if isinstance(exc, Conflict):
        return 409, "conflict"
    if isinstance(exc, TooBusy):
        return 429, "too-busy"
    if isinstance(exc, IdempotencyMismatch):
        return 422, "idempotency-key-reused"
    if isinstance(exc, InvalidInput | TaskFailure):
        return 422, "invalid-input"
    if isinstance(exc, StoreError):
        return 503, "unavailable"
    return 500, "internal-error"


def _on_unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    return problem_response(500, "an unexpected error occurred", slug="internal-error")


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` as a problem document."""
    app.add_exception_handler(StarletteHTTPException, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(PressroomError, _on_pressroom_error)
    app.add_exception_handler(Exception, _on_unexpected)
