"""The ``html`` engine: Jinja-filled HTML and CSS to PDF with WeasyPrint, or to HTML.

The template's own files (CSS, images, fonts) resolve from the bundle through
:class:`~pressroom.renderers.fetcher.UrlPolicy`; everything else is refused and fails the render
with the URL and the reason. One :class:`weasyprint.text.fonts.FontConfiguration` is shared by
every render in the process (memory stays flat), except for templates that declare their own
``@font-face`` rules, which get a private one so fonts never leak between templates.
The page cap is enforced during layout, page by page, through WeasyPrint's progress logger.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from pressroom.renderers.base import (
    OptionSpec,
    Progress,
    Rendered,
    RenderRequest,
    null_progress,
    resolve_format,
    validate_options,
)
from pressroom.renderers.document import (
    COMMON_OPTIONS,
    apply_metadata,
    check_common,
    fill_template,
    guard_markup,
    page_css,
)
from pressroom.renderers.errors import LimitError, TemplateError
from pressroom.renderers.fetcher import BUNDLE_ORIGIN, UrlPolicy, weasyprint_fetcher
from pressroom.renderers.limits import RenderLimits, check_output, check_pages
from pressroom.renderers.settings import RendererSettings

PDF_VARIANTS = (
    "pdf/a-1b",
    "pdf/a-2b",
    "pdf/a-3b",
    "pdf/a-2u",
    "pdf/a-3u",
    "pdf/a-4u",
    "pdf/a-1a",
    "pdf/a-2a",
    "pdf/a-3a",
    "pdf/ua-1",
    "pdf/ua-2",
)
"""PDF standards the ``pdf_variant`` option accepts."""

HTML_OPTIONS: dict[str, OptionSpec] = {
    **COMMON_OPTIONS,
    "pdf_variant": OptionSpec(
        str, None, "PDF standard to follow, e.g. 'pdf/a-3b'", choices=PDF_VARIANTS
    ),
    "pdf_ua": OptionSpec(bool, False, "tagged, accessible PDF (PDF/UA-1 unless pdf_variant)"),
    "presentational_hints": OptionSpec(bool, True, "honour HTML attributes such as width="),
    "optimize_images": OptionSpec(bool, False, "recompress images to make the PDF smaller"),
}


@dataclass
class _LayoutWatch:
    limits: RenderLimits
    progress: Progress
    engine: str
    pages: int = 0
    last_reported: int = 0


_WATCH: ContextVar[_LayoutWatch | None] = ContextVar("pressroom_weasyprint_watch", default=None)
_INSTALL_LOCK = threading.Lock()
_INSTALLED: list[bool] = []


class _ProgressFilter(logging.Filter):
    """Reads WeasyPrint's progress log to report progress and to stop at the page cap."""

    def __init__(self, passthrough: bool) -> None:
        super().__init__()
        self.passthrough = passthrough

    def filter(self, record: logging.LogRecord) -> bool:
        watch = _WATCH.get()
        if watch is None:
            return self.passthrough
        message = str(record.msg)
        if message.startswith("Step 5 - Creating layout - Page") and record.args:
            args: Any = record.args
            page = int(args[0])
            watch.pages = max(watch.pages, page)
            if page > watch.limits.max_pages:
                check_pages(watch.engine, page, watch.limits)
            if page - watch.last_reported >= 5 or page == 1:
                watch.last_reported = page
                watch.progress(35 + 50 * (1 - 1 / (1 + page / 20)), f"laying out page {page}")
        elif message.startswith(("Step 3", "Step 4")):
            watch.progress(30, "applying styles")
        elif message.startswith("Step 6"):
            watch.progress(90, "writing PDF")
        return False


def _install_progress_filter() -> None:
    with _INSTALL_LOCK:
        if _INSTALLED:
            return
        from weasyprint import PROGRESS_LOGGER  # type: ignore[import-untyped, unused-ignore]

        passthrough = PROGRESS_LOGGER.isEnabledFor(logging.INFO)
        PROGRESS_LOGGER.setLevel(logging.INFO)
        PROGRESS_LOGGER.addFilter(_ProgressFilter(passthrough))
        _INSTALLED.append(True)


@contextlib.contextmanager
def _watch_layout(watch: _LayoutWatch) -> Iterator[None]:
    _install_progress_filter()
    token = _WATCH.set(watch)
    try:
        yield
    finally:
        _WATCH.reset(token)


_FONT_CONFIG: list[Any] = []


def shared_font_config() -> Any:
    """The process-wide WeasyPrint ``FontConfiguration``."""
    if not _FONT_CONFIG:
        from weasyprint.text.fonts import FontConfiguration  # type: ignore[import-untyped, unused-ignore]

        _FONT_CONFIG.append(FontConfiguration())
    return _FONT_CONFIG[0]


def _declares_fonts(request: RenderRequest, html_text: str) -> bool:
    if "@font-face" in html_text:
        return True
    return any(
        name.endswith(".css") and b"@font-face" in content
        for name, content in request.bundle.files.items()
    )


def write_pdf(
    html_text: str,
    request: RenderRequest,
    options: dict[str, Any],
    settings: RendererSettings,
    limits: RenderLimits,
    progress: Progress,
    engine: str,
) -> Rendered:
    """Lay out ``html_text`` with WeasyPrint and return the PDF (shared with ``markdown``)."""
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import FatalURLFetchingError  # type: ignore[import-untyped, unused-ignore]

    policy = UrlPolicy(request.bundle, settings, engine)
    fetcher = weasyprint_fetcher(policy)
    font_config = (
        FontConfiguration() if _declares_fonts(request, html_text) else shared_font_config()
    )
    css = page_css(options)
    watch = _LayoutWatch(limits=limits, progress=progress, engine=engine)
    variant = options.get("pdf_variant")
    if options.get("pdf_ua") and variant is None:
        variant = "pdf/ua-1"
    try:
        with _watch_layout(watch):
            progress(20, "parsing HTML and CSS")
            document = HTML(string=html_text, base_url=BUNDLE_ORIGIN, url_fetcher=fetcher)
            stylesheets = (
                [CSS(string=css, url_fetcher=fetcher, font_config=font_config)] if css else None
            )
            rendered = document.render(
                font_config=font_config,
                stylesheets=stylesheets,
                presentational_hints=options.get("presentational_hints", True),
                pdf_tags=bool(options.get("pdf_ua")),
            )
            check_pages(engine, len(rendered.pages), limits)
            _set_metadata(rendered.metadata, options)
            pdf = rendered.write_pdf(
                pdf_variant=variant,
                pdf_tags=bool(options.get("pdf_ua")),
                optimize_images=options.get("optimize_images", False),
            )
    except FatalURLFetchingError as exc:
        cause = exc.__cause__
        if isinstance(cause, TemplateError):
            raise cause from None
        raise TemplateError(f"could not load a resource: {exc}", engine=engine) from None
    except RecursionError:
        raise LimitError("the document is nested too deeply to lay out", engine=engine) from None
    if not isinstance(pdf, bytes):  # pragma: no cover - write_pdf(None) returns bytes
        raise TypeError("WeasyPrint returned no PDF bytes")
    check_output(engine, pdf, limits)
    return Rendered.of(pdf, "pdf", page_count=len(rendered.pages))


def _set_metadata(metadata: Any, options: dict[str, Any]) -> None:
    values = apply_metadata(options)
    if "title" in values:
        metadata.title = values["title"]
    if "author" in values:
        metadata.authors = [values["author"]]
    if "subject" in values:
        metadata.description = values["subject"]
    if "keywords" in values:
        metadata.keywords = [k.strip() for k in values["keywords"].split(",") if k.strip()]
    if "lang" in values:
        metadata.lang = values["lang"]


class HtmlRenderer:
    """HTML and CSS (Jinja-filled) to PDF through WeasyPrint, or to filled HTML."""

    name = "html"
    formats = ("pdf", "html")
    default_format = "pdf"
    accepts = (".html", ".htm")
    options = HTML_OPTIONS

    def __init__(self, settings: RendererSettings | None = None) -> None:
        self.settings = settings or RendererSettings()

    def available(self) -> bool:
        """Whether WeasyPrint and its Pango libraries can be loaded."""
        try:
            import weasyprint  # noqa: F401
        except (ImportError, OSError):
            return False
        return True

    def render(self, request: RenderRequest, progress: Progress = null_progress) -> Rendered:
        """Fill the template, guard the markup, then lay it out as PDF (or return the HTML)."""
        fmt = resolve_format(self, request.format)
        options = validate_options(self.name, self.options, request.options)
        check_common(self.name, options)
        limits = self.settings.limits.with_page_cap(options["max_pages"])
        progress(5, "filling template")
        html_text = fill_template(request, self.name, limits, autoescape=True)
        progress(15, "checking markup")
        guard_markup(
            html_text,
            self.name,
            limits,
            request.bundle,
            UrlPolicy(request.bundle, self.settings, self.name),
        )
        if fmt == "html":
            content = check_output(self.name, html_text.encode("utf-8"), limits)
            progress(100, "done")
            return Rendered.of(content, "html")
        result = write_pdf(html_text, request, options, self.settings, limits, progress, self.name)
        progress(100, "done")
        return result
