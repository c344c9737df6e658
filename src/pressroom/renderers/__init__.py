"""Sandboxed document renderers: pure functions from a template bundle and data to a document.

Engines: ``html`` (WeasyPrint), ``chromium`` (headless Chromium), ``markdown``, ``typst``,
``docx``, ``xlsx`` and ``pptx``; more through the ``pressroom.renderers`` entry-point group.
See ``docs/renderers.md``.
"""

from __future__ import annotations

from pressroom.renderers.base import (
    OptionSpec,
    Progress,
    Rendered,
    Renderer,
    RenderRequest,
    TemplateBundle,
)
from pressroom.renderers.errors import (
    EngineUnavailableError,
    LimitError,
    OptionsError,
    RefusedResourceError,
    SandboxError,
    TemplateError,
    UnsafeUploadError,
)
from pressroom.renderers.limits import RenderLimits, apply_process_limits
from pressroom.renderers.registry import available, engine_names, get_renderer, infer_engine
from pressroom.renderers.settings import RendererSettings

__all__ = [
    "EngineUnavailableError",
    "LimitError",
    "OptionSpec",
    "OptionsError",
    "Progress",
    "RefusedResourceError",
    "RenderLimits",
    "RenderRequest",
    "Rendered",
    "Renderer",
    "RendererSettings",
    "SandboxError",
    "TemplateBundle",
    "TemplateError",
    "UnsafeUploadError",
    "apply_process_limits",
    "available",
    "engine_names",
    "get_renderer",
    "infer_engine",
]
