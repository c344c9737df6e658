"""Per-render limits: process resource limits for the worker child, page and size caps.

The worker's child process calls :func:`apply_process_limits` once before it renders, so that a
template that loops forever or allocates without end is stopped by the kernel (``SIGXCPU`` /
``MemoryError``) instead of taking the machine down. Page and output caps are checked by the
renderers themselves, as early as each engine allows, and raise
:class:`~pressroom.renderers.errors.LimitError`.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass, replace
from typing import Any

from pressroom.renderers.errors import LimitError

_MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class RenderLimits:
    """Caps that apply to one render. Engine options may lower them, never raise them."""

    max_pages: int = 1000
    """The most pages a paged document may have."""
    max_output_bytes: int = 200 * _MIB
    """The largest document a render may return."""
    max_text_chars: int = 20_000_000
    """The longest text a Jinja template may produce (HTML, Markdown, cell text…)."""
    max_sequence: int = 1_000_000
    """The longest string or list one template expression may build (``'x' * n``, ranges)."""
    max_elements: int = 200_000
    """The most HTML elements a document may have (style and box building grow with it)."""
    max_rows: int = 1_000_000
    """The most rows one spreadsheet sheet or table may hold."""
    memory_bytes: int | None = 2048 * _MIB
    """Address-space limit for the render process (``RLIMIT_AS``); None leaves it alone."""
    cpu_seconds: int | None = 300
    """CPU-time limit for the render process (``RLIMIT_CPU``); None leaves it alone."""

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> RenderLimits:
        """Limits from ``PRESSROOM_RENDER_*`` variables (MAX_PAGES, MAX_OUTPUT_MB, MEMORY_MB…)."""
        env = os.environ if environ is None else environ
        base = cls()
        values: dict[str, Any] = {}
        for key, attr, scale in (
            ("PRESSROOM_RENDER_MAX_PAGES", "max_pages", 1),
            ("PRESSROOM_RENDER_MAX_OUTPUT_MB", "max_output_bytes", _MIB),
            ("PRESSROOM_RENDER_MAX_TEXT_CHARS", "max_text_chars", 1),
            ("PRESSROOM_RENDER_MAX_ROWS", "max_rows", 1),
            ("PRESSROOM_RENDER_MEMORY_MB", "memory_bytes", _MIB),
            ("PRESSROOM_RENDER_CPU_S", "cpu_seconds", 1),
        ):
            raw = env.get(key, "").strip()
            if raw:
                number = int(raw)
                values[attr] = (
                    None
                    if number <= 0 and attr in ("memory_bytes", "cpu_seconds")
                    else number * scale
                )
        return replace(base, **values)

    def with_page_cap(self, requested: int | None) -> RenderLimits:
        """These limits with ``max_pages`` lowered to ``requested`` when that is smaller."""
        if requested is None or requested >= self.max_pages:
            return self
        return replace(self, max_pages=max(1, requested))


def apply_process_limits(
    memory_bytes: int | None = None, cpu_seconds: int | None = None
) -> dict[str, tuple[int, int]]:
    """Lower this process's RLIMIT_AS and RLIMIT_CPU; return the previous (soft, hard) pairs.

    Call it in the worker's child process before rendering, never in a long-lived parent: the
    limits cannot be raised again by an unprivileged process. A limit is only ever lowered, and
    the soft CPU limit gets a hard limit a few seconds later so that ``SIGXCPU`` arrives first.
    """
    previous: dict[str, tuple[int, int]] = {}
    if memory_bytes is not None:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        previous["as"] = (soft, hard)
        new_hard = memory_bytes if hard == resource.RLIM_INFINITY else min(hard, memory_bytes)
        resource.setrlimit(resource.RLIMIT_AS, (min(memory_bytes, new_hard), new_hard))
    if cpu_seconds is not None:
        soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
        previous["cpu"] = (soft, hard)
        new_hard = cpu_seconds + 5
        if hard != resource.RLIM_INFINITY:
            new_hard = min(hard, new_hard)
        resource.setrlimit(resource.RLIMIT_CPU, (min(cpu_seconds, new_hard), new_hard))
    return previous


def check_pages(engine: str, pages: int | None, limits: RenderLimits) -> None:
    """Raise :class:`LimitError` if a document has more pages than allowed."""
    if pages is not None and pages > limits.max_pages:
        raise LimitError(
            f"document has more than {limits.max_pages} pages (the page cap); "
            "lower the amount of data or raise PRESSROOM_RENDER_MAX_PAGES",
            engine=engine,
        )


def check_output(engine: str, content: bytes, limits: RenderLimits) -> bytes:
    """Return ``content`` if it fits the output size cap, else raise :class:`LimitError`."""
    if len(content) > limits.max_output_bytes:
        raise LimitError(
            f"output is {len(content)} bytes; the cap is {limits.max_output_bytes} bytes",
            engine=engine,
        )
    return content
