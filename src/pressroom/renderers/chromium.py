"""The ``chromium`` engine: Jinja-filled HTML to PDF through a warm headless Chromium.

It takes the same templates and options as ``html`` and is much faster on long documents. The
browser (Debian's ``/usr/bin/chromium`` or ``PRESSROOM_CHROMIUM_PATH``; Playwright's own browser
downloads are not used) is started once per process, driven through Playwright's sync API from a
thread of its own (so the rendering thread keeps no Playwright event loop), and recycled after
``chromium_recycle_after`` renders or when it dies.

Isolation: JavaScript is off unless the ``javascript`` option turns it on; each render gets a new
browser context; the document is served from the bundle origin and every request is intercepted
(``page.route("**/*")``) and answered only by the same
:class:`~pressroom.renderers.fetcher.UrlPolicy` as the ``html`` engine, so only ``data:`` URLs and
the bundle's files load. As a second wall, the browser resolves no host names and sends anything
that escapes interception to a closed loopback proxy port.

The page cap: Chromium prints at most ``max_pages + 1`` pages, and a document that reaches the
extra page is refused.
"""

from __future__ import annotations

import contextlib
import io
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

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
from pressroom.renderers.errors import EngineUnavailableError, TemplateError
from pressroom.renderers.fetcher import BUNDLE_ORIGIN, UrlPolicy
from pressroom.renderers.limits import check_output, check_pages
from pressroom.renderers.settings import RendererSettings

CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=http://127.0.0.1:1",
    "--proxy-bypass-list=<-loopback>",
)
"""Command-line switches for the headless browser."""

CHROMIUM_OPTIONS: dict[str, OptionSpec] = {
    **COMMON_OPTIONS,
    "javascript": OptionSpec(bool, False, "run the page's JavaScript (off by default)"),
    "print_background": OptionSpec(bool, True, "print background colours and images"),
    "tagged": OptionSpec(bool, False, "write a tagged (accessible) PDF"),
    "timeout_s": OptionSpec(float, 60.0, "time allowed to load the page", minimum=1, maximum=600),
}

T = TypeVar("T")
_MAIN_DOCUMENT = "__pressroom_main__.html"
_HEAD = re.compile(r"<head[^>]*>", re.IGNORECASE)


def _with_style(html_text: str, css: str | None) -> str:
    if not css:
        return html_text
    tag = f"<style>{css}</style>"
    match = _HEAD.search(html_text)
    if match:
        return html_text[: match.end()] + tag + html_text[match.end() :]
    return tag + html_text


class _Browser:
    """The process's one warm browser, shared by every ChromiumRenderer in it.

    Playwright's sync API runs an asyncio event loop in the thread that starts it and must be
    driven from that thread, so the driver and the browser live on a thread of their own: every
    call goes through :meth:`call`. The thread that renders stays free of Playwright's loop, so
    a task that calls ``asyncio.run`` after a Chromium render in the same worker child works.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.playwright: Any = None
        self.browser: Any = None
        self.executable: str | None = None
        self.renders = 0
        self._thread: ThreadPoolExecutor | None = None

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the browser's thread (started on first use) and return its result."""
        with self.lock:
            if self._thread is None:
                self._thread = ThreadPoolExecutor(1, thread_name_prefix="pressroom-chromium")
            future = self._thread.submit(fn)
        return future.result()

    def get(self, executable: str, recycle_after: int) -> Any:
        """A connected browser, started or recycled as needed; on the browser's thread only."""
        if self.browser is not None and (
            not self.browser.is_connected()
            or self.renders >= max(1, recycle_after)
            or self.executable != executable
        ):
            self.close_browser()
        if self.browser is None:
            if self.playwright is None:
                from playwright.sync_api import sync_playwright

                self.playwright = sync_playwright().start()
            self.browser = self.playwright.chromium.launch(
                executable_path=executable,
                headless=True,
                args=list(CHROMIUM_ARGS),
                chromium_sandbox=False,
            )
            self.executable = executable
            self.renders = 0
        self.renders += 1
        return self.browser

    def close_browser(self) -> None:
        """Close the browser; the driver stays for the next launch (on the browser's thread)."""
        browser, self.browser = self.browser, None
        if browser is not None:
            with contextlib.suppress(Exception):  # a dead browser cannot be closed twice
                browser.close()

    def close(self) -> None:
        """Close the browser, stop the Playwright driver and end the browser's thread."""

        def stop() -> None:
            self.close_browser()
            playwright, self.playwright = self.playwright, None
            if playwright is not None:
                with contextlib.suppress(Exception):  # stopping a dead driver may fail
                    playwright.stop()

        with self.lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.submit(stop).result()
            thread.shutdown(wait=True)


_BROWSER = _Browser()


class ChromiumRenderer:
    """HTML and CSS (Jinja-filled) to PDF through a warm headless Chromium."""

    name = "chromium"
    formats = ("pdf", "html")
    default_format = "pdf"
    accepts = (".html", ".htm")
    options = CHROMIUM_OPTIONS

    def __init__(self, settings: RendererSettings | None = None) -> None:
        self.settings = settings or RendererSettings()

    def available(self) -> bool:
        """Whether a Chromium binary and the Playwright package are present."""
        if self.settings.find_chromium() is None:
            return False
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            return False
        return True

    def close(self) -> None:
        """Close the process's browser; the next render starts a new one."""
        _BROWSER.close()

    # --- rendering ---------------------------------------------------------------------------
    def render(self, request: RenderRequest, progress: Progress = null_progress) -> Rendered:
        """Fill the template, load it in a fresh browser context and print it to PDF."""
        fmt = resolve_format(self, request.format)
        options = validate_options(self.name, self.options, request.options)
        check_common(self.name, options)
        limits = self.settings.limits.with_page_cap(options["max_pages"])
        progress(5, "filling template")
        html_text = fill_template(request, self.name, limits, autoescape=True)
        guard_markup(
            html_text,
            self.name,
            limits,
            request.bundle,
            UrlPolicy(request.bundle, self.settings, self.name),
        )
        if fmt == "html":
            progress(100, "done")
            return Rendered.of(check_output(self.name, html_text.encode(), limits), "html")
        document = _with_style(html_text, page_css(options))
        policy = UrlPolicy(request.bundle, self.settings, self.name)
        executable = self.settings.find_chromium()
        if executable is None:
            raise EngineUnavailableError(
                "no Chromium binary found (set PRESSROOM_CHROMIUM_PATH or install Debian's "
                "chromium); use the 'html' engine instead",
                engine=self.name,
            )
        progress(20, "loading page")
        recycle_after = self.settings.chromium_recycle_after

        def print_pdf() -> bytes:
            browser = _BROWSER.get(executable, recycle_after)
            return self._print(browser, document, policy, options, limits.max_pages, progress)

        pdf = _BROWSER.call(print_pdf)
        pages = _count_pages(pdf)
        check_pages(self.name, pages, limits)
        metadata = apply_metadata(options)
        if metadata:
            pdf = _set_metadata(pdf, metadata)
        progress(100, "done")
        return Rendered.of(check_output(self.name, pdf, limits), "pdf", pages)

    def _print(
        self,
        browser: Any,
        document: str,
        policy: UrlPolicy,
        options: dict[str, Any],
        max_pages: int,
        progress: Progress,
    ) -> bytes:
        errors: list[TemplateError] = []
        main_url = BUNDLE_ORIGIN + _MAIN_DOCUMENT
        body = document.encode("utf-8")

        def handle(route: Any) -> None:
            url = route.request.url
            if url == main_url:
                route.fulfill(status=200, body=body, content_type="text/html; charset=utf-8")
                return
            try:
                resource = policy.fetch(url)
            except TemplateError as exc:
                errors.append(exc)
                route.abort("blockedbyclient")
                return
            route.fulfill(status=200, body=resource.content, content_type=resource.media_type)

        context = browser.new_context(
            java_script_enabled=options["javascript"],
            service_workers="block",
            accept_downloads=False,
            bypass_csp=False,
        )
        try:
            context.route("**/*", handle)
            page = context.new_page()

            def on_console(message: Any) -> None:
                text = str(message.text)
                if "Not allowed to load local resource" in text:
                    url = text.rsplit(": ", 1)[-1]
                    errors.append(policy_refusal(url))

            def policy_refusal(url: str) -> TemplateError:
                try:
                    policy.fetch(url)
                except TemplateError as exc:
                    return exc
                return TemplateError(f"Chromium refused to load {url!r}", engine=self.name)

            page.on("console", on_console)
            timeout_ms = options["timeout_s"] * 1000
            page.goto(main_url, wait_until="load", timeout=timeout_ms)
            if errors:
                raise errors[0]
            progress(60, "printing")
            try:
                pdf: bytes = page.pdf(
                    prefer_css_page_size=True,
                    print_background=options["print_background"],
                    tagged=options["tagged"],
                    outline=options["tagged"],
                    page_ranges=f"1-{max_pages + 1}",
                )
            except Exception as exc:
                if "page range" in str(exc).lower():
                    pdf = page.pdf(
                        prefer_css_page_size=True, print_background=options["print_background"]
                    )
                else:
                    raise
            if errors:
                raise errors[0]
            return pdf
        finally:
            context.close()


def _count_pages(pdf: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def _set_metadata(pdf: bytes, metadata: dict[str, str]) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    names = {"title": "/Title", "author": "/Author", "subject": "/Subject", "keywords": "/Keywords"}
    writer.add_metadata({names[k]: v for k, v in metadata.items() if k in names})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
