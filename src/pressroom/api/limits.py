"""Request limits: a body-size cap counted on the wire, and a JSON parser with depth and size caps.

- :class:`BodyLimitMiddleware` (pure ASGI) answers 413 when ``Content-Length`` is too large and
  stops a streamed (chunked) body as soon as it passes the cap.
- :class:`PressroomRoute` makes FastAPI parse JSON bodies with :func:`parse_json` (422 on bad
  JSON, NaN/Infinity, too deep or too many elements) and answers 415 to a body declared with a
  media type other than JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pressroom.api.problems import ProblemError


class BodyTooLarge(ProblemError):
    """The request body passed the cap."""

    def __init__(self, cap: int) -> None:
        """A 413 naming the cap."""
        super().__init__(413, f"request body is larger than {cap} bytes", slug="body-too-large")


class BodyLimitMiddleware:
    """Refuses request bodies larger than ``max_bytes`` (by header, and by counting chunks)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        """Wrap ``app``."""
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, then count what arrives."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    scope.setdefault("state", {})["body_too_large"] = True
        seen = 0
        cap = self.max_bytes

        async def counted() -> Message:
            nonlocal seen
            if scope.get("state", {}).get("body_too_large"):
                raise BodyTooLarge(cap)
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    raise BodyTooLarge(cap)
            return message

        await self.app(scope, counted, send)


def parse_json(body: bytes, *, max_depth: int, max_items: int) -> Any:
    """Parse a JSON body; a ProblemError (422) for anything that is not plain, bounded JSON."""
    try:
        value = json.loads(body, parse_constant=_refuse_constant)
    except RecursionError:
        raise _invalid(f"JSON is nested deeper than {max_depth} levels") from None
    except ValueError as exc:  # JSONDecodeError, bad UTF-8, a number too long to convert
        raise _invalid(f"request body is not valid JSON: {exc}") from None
    check_shape(value, max_depth=max_depth, max_items=max_items)
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _invalid(detail: str) -> ProblemError:
    return ProblemError(422, detail, slug="invalid-json")


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
"""NUL (PostgreSQL text and jsonb refuse it) and lone surrogates (not encodable as UTF-8)."""


def check_text(text: str, where: str) -> None:
    """Raise a 422 ProblemError if ``text`` holds a character no store can keep."""
    if _UNSTORABLE.search(text):
        raise _invalid(f"{where} contains NUL or an unpaired surrogate, which cannot be stored")


def check_shape(value: Any, *, max_depth: int, max_items: int) -> None:
    """Raise a 422 ProblemError if ``value`` nests deeper than ``max_depth``, holds more than
    ``max_items`` values, or has text no store can keep (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    items = 0
    while stack:
        node, depth = stack.pop()
        items += 1
        if items > max_items:
            raise _invalid(f"JSON holds more than {max_items} values")
        if isinstance(node, str):
            check_text(node, "a JSON string")
        elif isinstance(node, dict | list):
            if depth > max_depth:
                raise _invalid(f"JSON is nested deeper than {max_depth} levels")
            if isinstance(node, dict):
                for key in node:
                    check_text(key, "a JSON key")
                stack.extend((child, depth + 1) for child in node.values())
            else:
                stack.extend((child, depth + 1) for child in node)


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class _JSONRequest(Request):
    """A request whose ``json()`` is :func:`parse_json` under the app's caps."""

    async def json(self) -> Any:
        """The parsed body (cached)."""
        if not hasattr(self, "_json"):
            settings = self.app.state.api.settings
            body = await self.body()
            self._json = parse_json(
                body, max_depth=settings.max_json_depth, max_items=settings.max_json_items
            )
        return self._json


class PressroomRoute(APIRoute):
    """An APIRoute whose JSON bodies are parsed under caps, and that answers 415 to other
    media types where it expects JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap FastAPI's handler."""
        handler = super().get_route_handler()
        expects_json = self.body_field is not None

        async def route_handler(request: Request) -> Response:
            for value in (*request.path_params.values(), *request.query_params.values()):
                if isinstance(value, str):
                    check_text(value, "the URL")
            content_type = request.headers.get("content-type")
            if expects_json and content_type and not _is_json(content_type):
                raise ProblemError(
                    415,
                    f"send the body as application/json, not {content_type[:100]}",
                    slug="unsupported-media-type",
                )
            return await handler(_JSONRequest(request.scope, request.receive))

        return route_handler
