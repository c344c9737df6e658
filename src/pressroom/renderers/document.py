"""What the HTML engines share: common options, the Jinja step, the markup guard, page CSS.

``html`` (WeasyPrint), ``chromium`` and ``markdown`` all fill their main file through the one
sandbox, then check the resulting HTML before any layout engine sees it: table cells spanning
more columns or rows than HTML allows (``colspan`` above 1000, ``rowspan`` above 65534) are
refused, since they make layout engines build enormous grids.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from html.parser import HTMLParser
from typing import Any

from pressroom.renderers.base import OptionSpec, RenderRequest, TemplateBundle
from pressroom.renderers.errors import (
    LimitError,
    OptionsError,
    RefusedResourceError,
    TemplateError,
)
from pressroom.renderers.fetcher import UrlPolicy
from pressroom.renderers.limits import RenderLimits
from pressroom.renderers.sandbox import cached_environment, render_template

MAX_COLSPAN = 1000
"""The largest ``colspan`` HTML allows; larger values are refused."""

MAX_ROWSPAN = 65534
"""The largest ``rowspan`` HTML allows; larger values are refused."""

_CSS_LENGTHS = re.compile(r"^[A-Za-z0-9. %-]{1,64}$")
_LOCALE = re.compile(r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$")

COMMON_OPTIONS: dict[str, OptionSpec] = {
    "page_size": OptionSpec(
        str,
        None,
        "CSS page size, e.g. 'A4', 'Letter', 'A4 landscape' or '210mm 297mm'; "
        "overrides the template's @page size",
    ),
    "margin": OptionSpec(str, None, "CSS page margin, e.g. '20mm' or '1in 0.75in'"),
    "locale": OptionSpec(str, "en_US", "locale for the number, currency and date helpers"),
    "title": OptionSpec(str, None, "document title (PDF metadata); default: the <title>"),
    "author": OptionSpec(str, None, "document author (PDF metadata)"),
    "subject": OptionSpec(str, None, "document subject (PDF metadata)"),
    "keywords": OptionSpec(str, None, "comma-separated keywords (PDF metadata)"),
    "lang": OptionSpec(str, None, "document language, e.g. 'en' (PDF metadata)"),
    "max_pages": OptionSpec(int, None, "lower the page cap for this render", minimum=1),
}
"""Options every HTML-based engine takes."""


def check_common(engine: str, options: Mapping[str, Any]) -> None:
    """Validate the values of :data:`COMMON_OPTIONS` that end up in CSS or Babel."""
    for name in ("page_size", "margin"):
        value = options.get(name)
        if value is not None and not _CSS_LENGTHS.match(value):
            raise OptionsError(f"option {name!r} has an invalid value {value!r}", engine=engine)
    locale = options.get("locale") or "en_US"
    if not _LOCALE.match(locale):
        raise OptionsError(f"option 'locale' has an invalid value {locale!r}", engine=engine)
    import babel

    try:
        babel.Locale.parse(locale.replace("-", "_"))
    except (ValueError, babel.UnknownLocaleError):
        raise OptionsError(f"unknown locale {locale!r}", engine=engine) from None


def page_css(options: Mapping[str, Any]) -> str | None:
    """An ``@page`` rule for the page size and margin options, or None when neither is set."""
    rules = []
    if options.get("page_size"):
        rules.append(f"size: {options['page_size']};")
    if options.get("margin"):
        rules.append(f"margin: {options['margin']};")
    return "@page { " + " ".join(rules) + " }" if rules else None


def fill_template(
    request: RenderRequest,
    engine: str,
    limits: RenderLimits,
    *,
    autoescape: bool,
    name: str | None = None,
) -> str:
    """Render the bundle's main file (or ``name``) through the sandbox with the request's data."""
    bundle: TemplateBundle = request.bundle
    env = cached_environment(bundle, autoescape=autoescape, limits=limits)
    locale = str(request.options.get("locale") or "en_US").replace("-", "_")
    return render_template(env, name or bundle.main, request.data, engine=engine, locale=locale)


_LOCAL_REF = re.compile(
    r"""(?:\b(?:src|href|data|poster|background|action|srcset|xlink:href)\s*=\s*["']?\s*"""
    r"""|url\(\s*["']?\s*|@import\s+["']\s*)((?:file|filesystem|chrome|view-source|ftp):[^"')\s>]*)""",
    re.IGNORECASE,
)
_REMOTE_REF = re.compile(
    r"""(?:\b(?:src|data|poster|background)\s*=\s*["']?\s*|url\(\s*["']?\s*"""
    r"""|@import\s+["']\s*|<link\b[^>]*?\bhref\s*=\s*["']?\s*)(https?://[^"'()\s>]+)""",
    re.IGNORECASE,
)
_BREAK_RULE = re.compile(
    r"([^{}]+)\{[^{}]*?(?:page-)?break-(?:before|after)\s*:\s*(?:page|always|left|right|recto|verso)",
    re.IGNORECASE,
)
_INLINE_BREAK = re.compile(
    r"(?:page-)?break-(?:before|after)\s*:\s*(?:page|always|left|right|recto|verso)",
    re.IGNORECASE,
)
_SIMPLE = re.compile(r"^([a-z][a-z0-9-]*|\*)?((?:[.#][\w-]+)*)$", re.IGNORECASE)


def _break_selectors(css: str) -> list[tuple[str | None, set[str], str | None]]:
    """Simplified selectors of rules that force page breaks: (tag, classes, id) of the last
    compound selector, pseudo-classes dropped. Over-approximates, never misses a simple rule."""
    found = []
    for match in _BREAK_RULE.finditer(re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)):
        for selector in match.group(1).split(","):
            last = re.split(r"[\s>+~]+", selector.strip())[-1] if selector.strip() else ""
            last = re.sub(r"::?[\w-]+(\([^)]*\))?", "", last)
            simple = _SIMPLE.match(last)
            if not simple or last.startswith("@"):
                continue
            tag = simple.group(1)
            parts = re.findall(r"([.#])([\w-]+)", simple.group(2) or "")
            classes = {name for kind, name in parts if kind == "."}
            ident = next((name for kind, name in parts if kind == "#"), None)
            found.append((None if tag in (None, "*") else tag.lower(), classes, ident))
    return found


class _MarkupGuard(HTMLParser):
    """One pass over the filled HTML: giant spans, element count, forced page breaks."""

    def __init__(
        self,
        engine: str,
        selectors: list[tuple[str | None, set[str], str | None]],
        max_elements: int,
    ) -> None:
        super().__init__(convert_charrefs=True)
        self.engine = engine
        self.selectors = selectors
        self.max_elements = max_elements
        self.elements = 0
        self.breaks = 0
        self.in_style = False
        self.styles: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements += 1
        if self.elements > self.max_elements:
            raise LimitError(
                f"the document has more than {self.max_elements:,} elements",
                engine=self.engine,
                line=self.getpos()[0],
            )
        values = dict(attrs)
        self.in_style = tag == "style"
        if tag in ("td", "th", "col", "colgroup"):
            self._check_spans(tag, attrs)
        if _INLINE_BREAK.search(values.get("style") or ""):
            self.breaks += 1
        elif self.selectors:
            classes = set((values.get("class") or "").split())
            ident = values.get("id")
            for sel_tag, sel_classes, sel_id in self.selectors:
                if (
                    (sel_tag is None or sel_tag == tag)
                    and sel_classes <= classes
                    and (sel_id is None or sel_id == ident)
                ):
                    self.breaks += 1
                    break

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self.in_style = False

    def handle_data(self, data: str) -> None:
        if self.in_style:
            self.styles.append(data)

    def _check_spans(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name not in ("colspan", "rowspan", "span") or value is None:
                continue
            match = re.match(r"\s*\+?(\d+)", value)
            if not match:
                continue
            number = int(match.group(1))
            cap = MAX_ROWSPAN if name == "rowspan" else MAX_COLSPAN
            if number > cap:
                raise LimitError(
                    f"<{tag} {name}={number}> exceeds the HTML maximum of {cap}",
                    engine=self.engine,
                    line=self.getpos()[0],
                )


def check_local_references(
    text: str, engine: str, file: str | None = None, policy: UrlPolicy | None = None
) -> None:
    """Refuse ``file:`` and other local-scheme references in markup or CSS, with the URL.

    With a ``policy``, absolute http(s) resources (not plain links) whose host the policy does
    not allow are refused too, so that every engine fails the same way whether or not its
    layout engine would have fetched them.
    """
    if policy is not None:
        for remote in _REMOTE_REF.finditer(text):
            try:
                policy.check(remote.group(1))
            except TemplateError as exc:
                exc.file = exc.file or file
                exc.line = text.count("\n", 0, remote.start()) + 1
                raise
    match = _LOCAL_REF.search(text)
    if match:
        url = match.group(1)
        line = text.count("\n", 0, match.start()) + 1
        raise RefusedResourceError(
            f"refused to load {url[:100]!r}: local files and browser-internal URLs are never "
            "served; templates may only use their own files and data: URLs",
            engine=engine,
            file=file,
            line=line,
        )


def guard_markup(
    html_text: str,
    engine: str,
    limits: RenderLimits | None = None,
    bundle: TemplateBundle | None = None,
    policy: UrlPolicy | None = None,
) -> None:
    """Refuse markup that would make a layout engine build absurd structures or pages.

    Checks giant ``colspan``/``rowspan``, the element count, ``file:`` references in the
    HTML and the bundle's CSS, and a lower bound on the page count from forced page breaks
    (inline styles and simple CSS rules), so that a 100,000-page document is refused before
    the layout engine spends minutes on it.
    """
    caps = limits or RenderLimits()
    check_local_references(html_text, engine, policy=policy)
    css_files = []
    if bundle is not None:
        for name, content in bundle.files.items():
            if name.lower().endswith(".css"):
                css = content.decode("utf-8", errors="replace")
                check_local_references(css, engine, name, policy=policy)
                css_files.append(css)
    inline_css = "".join(re.findall(r"<style[^>]*>(.*?)</style>", html_text, re.S | re.I))
    selectors = _break_selectors(inline_css + "\n".join(css_files))
    guard = _MarkupGuard(engine, selectors, caps.max_elements)
    guard.feed(html_text)
    guard.close()
    if guard.breaks + 1 > caps.max_pages:
        raise LimitError(
            f"the document forces at least {guard.breaks + 1:,} pages; the page cap is "
            f"{caps.max_pages:,}",
            engine=engine,
        )


def apply_metadata(options: Mapping[str, Any]) -> dict[str, str]:
    """The metadata options that are set, by name."""
    return {
        key: str(options[key])
        for key in ("title", "author", "subject", "keywords", "lang")
        if options.get(key)
    }
