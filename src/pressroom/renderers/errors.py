"""Errors raised by renderers.

Every class here is a :class:`~pressroom.core.errors.Permanent` failure: retrying the same
template with the same data cannot succeed, so the job fails at once with the engine, the file,
the line and a message that says why. Any other exception escaping a renderer (a crash, a
timeout, a broken binary) is treated by the engine as retryable.

::

    Permanent
    └── TemplateError          a template or its data cannot be rendered (syntax, undefined name)
        ├── SandboxError   the template tried something the sandbox forbids
        ├── RefusedResourceError    a URL or file outside the template bundle was asked for
        ├── UnsafeUploadError       an uploaded Office file failed the zip or XML guard
        ├── LimitError      a page, size or range cap was hit
        ├── OptionsError       bad engine options or output format (also InvalidInput)
        └── EngineUnavailableError  the engine's binary or library is not installed here
"""

from __future__ import annotations

from pressroom.core.errors import InvalidInput, Permanent


class TemplateError(Permanent):
    """A template cannot be rendered; says which engine, file and line, and why."""

    kind = "template"

    def __init__(
        self,
        message: str,
        *,
        engine: str = "",
        file: str | None = None,
        line: int | None = None,
    ) -> None:
        self.message = message
        self.engine = engine
        self.file = file
        self.line = line
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "")
        elif self.line:
            where = f"line {self.line}"
        prefix = ": ".join(part for part in (self.engine, where) if part)
        return f"{prefix}: {self.message}" if prefix else self.message

    def as_dict(self) -> dict[str, object]:
        """The error as a JSON-ready mapping for a job's ``error`` field."""
        return {
            "type": type(self).__name__,
            "kind": self.kind,
            "engine": self.engine,
            "file": self.file,
            "line": self.line,
            "message": self.message,
        }


class SandboxError(TemplateError):
    """The template used an attribute, call or operation that the sandbox forbids."""

    kind = "sandbox"


class RefusedResourceError(TemplateError):
    """The template referenced a URL or path outside its bundle (file:, network, redirects)."""

    kind = "refused_url"


class UnsafeUploadError(TemplateError):
    """An uploaded archive or XML part failed the zip guard or carried a DOCTYPE."""

    kind = "unsafe_upload"


class LimitError(TemplateError):
    """A cap on pages, output size, string size or ranges was reached."""

    kind = "limit"


class OptionsError(TemplateError, InvalidInput):
    """Unknown or invalid engine options, or an output format the engine cannot make."""

    kind = "options"


class EngineUnavailableError(TemplateError):
    """The engine needs a program or library that is not installed on this worker."""

    kind = "unavailable"
