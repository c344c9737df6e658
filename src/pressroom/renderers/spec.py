"""JSON document specs with Jinja values, used by the ``xlsx`` and ``pptx`` engines.

A spec is a JSON file in the bundle. Any string in it that contains ``{{`` or ``{%`` is a Jinja
template rendered in the sandbox against the job's data; a string that is exactly one expression,
``"{{ orders }}"``, evaluates to the native value (a list stays a list, a number a number), so a
spec can say ``"rows": "{{ orders }}"``. Everything else is taken literally.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from pressroom.renderers.base import TemplateBundle
from pressroom.renderers.errors import LimitError, TemplateError
from pressroom.renderers.helpers import CURRENT_LOCALE
from pressroom.renderers.limits import RenderLimits
from pressroom.renderers.sandbox import (
    PressroomSandbox,
    _translate,
    cached_environment,
    render_expression,
    template_context,
)

_SINGLE = re.compile(r"^\s*\{\{((?:(?!\}\}|\{\{).)*)\}\}\s*$", re.DOTALL)
MAX_SPEC_NODES = 200_000
"""The most JSON values a spec may hold before its data is filled in."""


def load_spec(bundle: TemplateBundle, engine: str, name: str | None = None) -> Any:
    """Parse a bundle file as JSON, with the line of any syntax error."""
    file = name or bundle.main
    text = bundle.text(file)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise TemplateError(
            f"invalid JSON: {exc.msg}", engine=engine, file=file, line=exc.lineno
        ) from None


class SpecResolver:
    """Fills a parsed spec's Jinja strings with data, through the sandbox."""

    def __init__(
        self,
        bundle: TemplateBundle,
        data: Mapping[str, Any],
        *,
        engine: str,
        limits: RenderLimits,
        locale: str = "en_US",
        file: str | None = None,
    ) -> None:
        self.env: PressroomSandbox = cached_environment(bundle, autoescape=False, limits=limits)
        self.data = data
        self.context = template_context(data)
        self.engine = engine
        self.file = file or bundle.main
        self.locale = locale.replace("-", "_")
        self._compiled: dict[str, Any] = {}
        self._nodes = 0

    def value(self, text: str, extra: Mapping[str, Any] | None = None) -> Any:
        """One string: a native value for ``{{ expr }}``, rendered text for other templates.

        ``extra`` adds variables (a loop item) to the data for this one value.
        """
        if "{{" not in text and "{%" not in text:
            return text
        token = CURRENT_LOCALE.set(self.locale)
        try:
            single = _SINGLE.match(text)
            if single:
                scope = {**self.data, **extra} if extra else self.data
                return render_expression(
                    self.env, single.group(1), scope, engine=self.engine, file=self.file
                )
            template = self._compiled.get(text)
            try:
                if template is None:
                    template = self.env.from_string(text)
                    self._compiled[text] = template
                rendered = template.render({**self.context, **extra} if extra else self.context)
            except BaseException as exc:
                translated = _translate(exc, self.engine, self.file)
                if translated is None:
                    if isinstance(exc, Exception):
                        raise TemplateError(
                            f"{type(exc).__name__}: {exc}", engine=self.engine, file=self.file
                        ) from None
                    raise
                translated.file = self.file
                translated.message += f" (in {text[:80]!r})"
                raise translated from None
            if len(rendered) > self.env.limits.max_sequence:
                raise LimitError(
                    f"a spec value rendered to {len(rendered):,} characters",
                    engine=self.engine,
                    file=self.file,
                )
            return str(rendered)
        finally:
            CURRENT_LOCALE.reset(token)

    def resolve(self, node: Any) -> Any:
        """The spec (or part of it) with every Jinja string filled in."""
        self._nodes += 1
        if self._nodes > MAX_SPEC_NODES:
            raise LimitError("the spec has too many values", engine=self.engine, file=self.file)
        if isinstance(node, str):
            return self.value(node)
        if isinstance(node, list):
            return [self.resolve(item) for item in node]
        if isinstance(node, dict):
            return {str(key): self.resolve(value) for key, value in node.items()}
        return node

    def fail(self, message: str) -> TemplateError:
        """A template error about the spec itself."""
        return TemplateError(message, engine=self.engine, file=self.file)
