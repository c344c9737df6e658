"""The ``markdown`` engine: Jinja-filled Markdown to HTML (markdown-it-py) and on to PDF.

The Markdown is rendered as CommonMark with tables, strikethrough, footnotes, task lists and
heading anchors, wrapped in a document with a clean default stylesheet (A4, page numbers,
readable type), plus the bundle's ``style.css`` when it has one. Raw HTML inside the Markdown is
escaped unless the ``allow_html`` option is set; even then every resource goes through the same
URL policy as the ``html`` engine. PDF output is laid out by WeasyPrint.
"""

from __future__ import annotations

import html as html_lib
import re
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
from pressroom.renderers.document import COMMON_OPTIONS, check_common, fill_template, guard_markup
from pressroom.renderers.fetcher import UrlPolicy
from pressroom.renderers.html import PDF_VARIANTS, write_pdf
from pressroom.renderers.limits import check_output
from pressroom.renderers.settings import RendererSettings

DEFAULT_CSS = """
@page {
  size: A4; margin: 22mm 20mm 24mm 20mm;
  @bottom-right { content: "Page " counter(page) " of " counter(pages);
                  font: 8.5pt "DejaVu Sans", sans-serif; color: #777; }
}
html { font: 10.5pt/1.55 "DejaVu Serif", Georgia, "Times New Roman", serif; color: #1d1d1f; }
body { margin: 0; hyphens: auto; }
h1, h2, h3, h4 { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #16324f;
                 line-height: 1.25; break-after: avoid; }
h1 { font-size: 21pt; margin: 0 0 10pt; padding-bottom: 5pt; border-bottom: 2px solid #16324f; }
h2 { font-size: 14.5pt; margin: 18pt 0 6pt; }
h3 { font-size: 12pt; margin: 14pt 0 4pt; }
p { margin: 0 0 8pt; orphans: 3; widows: 3; }
a { color: #1f5f99; text-decoration: none; }
ul, ol { margin: 0 0 8pt; padding-left: 18pt; }
li { margin-bottom: 2pt; }
blockquote { margin: 10pt 0; padding: 4pt 12pt; border-left: 3px solid #9fb3c8;
             color: #3c4a58; background: #f4f7fa; }
code { font: 9pt "DejaVu Sans Mono", Menlo, monospace; background: #f1f3f5;
       padding: 0 2pt; border-radius: 2pt; }
pre { background: #f1f3f5; padding: 8pt 10pt; border-radius: 3pt; white-space: pre-wrap;
      break-inside: avoid; }
pre code { padding: 0; background: none; }
table { border-collapse: collapse; width: 100%; margin: 8pt 0 12pt; font-size: 9.5pt; }
th { text-align: left; font-family: "DejaVu Sans", sans-serif; font-weight: bold;
     border-bottom: 1.5px solid #16324f; padding: 4pt 6pt; }
td { border-bottom: 0.5px solid #d0d7de; padding: 4pt 6pt; vertical-align: top; }
tr:nth-child(even) td { background: #f8fafc; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
hr { border: 0; border-top: 1px solid #d0d7de; margin: 14pt 0; }
img { max-width: 100%; }
.footnotes { font-size: 8.5pt; color: #444; }
nav.toc { margin: 0 0 16pt; padding: 8pt 12pt; background: #f4f7fa; }
nav.toc ol { margin: 0; }
nav.toc a::after { content: leader(".") target-counter(attr(href), page); }
"""
"""The default stylesheet: A4, page numbers, serif body text, sans-serif headings."""

MARKDOWN_OPTIONS: dict[str, OptionSpec] = {
    **COMMON_OPTIONS,
    "pdf_variant": OptionSpec(
        str, None, "PDF standard to follow, e.g. 'pdf/a-3b'", choices=PDF_VARIANTS
    ),
    "pdf_ua": OptionSpec(bool, False, "tagged, accessible PDF (PDF/UA-1 unless pdf_variant)"),
    "allow_html": OptionSpec(bool, False, "pass raw HTML in the Markdown through unescaped"),
    "default_style": OptionSpec(bool, True, "use the built-in stylesheet"),
    "toc": OptionSpec(bool, False, "insert a table of contents of the h1-h3 headings"),
}

_SLUG = re.compile(r"[^\w\- ]+")


def _slug(text: str) -> str:
    return _SLUG.sub("", text).strip().lower().replace(" ", "-") or "section"


def markdown_to_html(text: str, *, allow_html: bool, toc: bool) -> tuple[str, str | None]:
    """Convert Markdown to an HTML fragment; return it and the first level-1 heading's text."""
    from markdown_it import MarkdownIt
    from mdit_py_plugins.anchors import anchors_plugin
    from mdit_py_plugins.footnote import footnote_plugin
    from mdit_py_plugins.tasklists import tasklists_plugin

    parser = (
        MarkdownIt("commonmark", {"html": allow_html, "linkify": False, "typographer": True})
        .enable(["table", "strikethrough", "replacements", "smartquotes"])
        .use(footnote_plugin)
        .use(tasklists_plugin)
        .use(anchors_plugin, min_level=1, max_level=3, slug_func=_slug)
    )
    tokens = parser.parse(text)
    title = None
    entries: list[tuple[int, str, str]] = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and index + 1 < len(tokens):
            level = int(token.tag[1])
            content = tokens[index + 1].content
            if level == 1 and title is None:
                title = content
            if level <= 3:
                entries.append((level, str(token.attrs.get("id", _slug(content))), content))
    body = parser.renderer.render(tokens, parser.options, {})
    if toc and entries:
        items = "".join(
            f'<li class="toc-{level}"><a href="#{html_lib.escape(anchor)}">'
            f"{html_lib.escape(label)}</a></li>"
            for level, anchor, label in entries
        )
        body = f'<nav class="toc"><ol>{items}</ol></nav>\n{body}'
    return body, title


class MarkdownRenderer:
    """Markdown (Jinja-filled) to a styled HTML document and to PDF."""

    name = "markdown"
    formats = ("pdf", "html")
    default_format = "pdf"
    accepts = (".md", ".markdown")
    options = MARKDOWN_OPTIONS

    def __init__(self, settings: RendererSettings | None = None) -> None:
        self.settings = settings or RendererSettings()

    def available(self) -> bool:
        """Whether markdown-it-py and WeasyPrint can be loaded."""
        try:
            import markdown_it  # noqa: F401
            import weasyprint  # type: ignore[import-untyped, unused-ignore]  # noqa: F401
        except (ImportError, OSError):
            return False
        return True

    def render(self, request: RenderRequest, progress: Progress = null_progress) -> Rendered:
        """Fill the Markdown, convert it to HTML, then lay it out as PDF (or return the HTML)."""
        fmt = resolve_format(self, request.format)
        options = validate_options(self.name, self.options, request.options)
        check_common(self.name, options)
        limits = self.settings.limits.with_page_cap(options["max_pages"])
        progress(5, "filling template")
        text = fill_template(request, self.name, limits, autoescape=False)
        progress(12, "converting Markdown")
        body, heading = markdown_to_html(text, allow_html=options["allow_html"], toc=options["toc"])
        document = self._document(request, options, body, heading)
        guard_markup(
            document,
            self.name,
            limits,
            request.bundle,
            UrlPolicy(request.bundle, self.settings, self.name),
        )
        if fmt == "html":
            progress(100, "done")
            return Rendered.of(check_output(self.name, document.encode("utf-8"), limits), "html")
        result = write_pdf(document, request, options, self.settings, limits, progress, self.name)
        progress(100, "done")
        return result

    def _document(
        self, request: RenderRequest, options: dict[str, Any], body: str, heading: str | None
    ) -> str:
        title = options.get("title") or heading or "Document"
        lang = options.get("lang") or str(options.get("locale") or "en").split("_")[0]
        styles = f"<style>{DEFAULT_CSS}</style>" if options["default_style"] else ""
        if "style.css" in request.bundle.files:
            styles += '<link rel="stylesheet" href="style.css">'
        meta = "".join(
            f'<meta name="{key}" content="{html_lib.escape(str(options[key]))}">'
            for key in ("author", "keywords")
            if options.get(key)
        )
        return (
            f'<!DOCTYPE html><html lang="{html_lib.escape(lang)}"><head><meta charset="utf-8">'
            f"<title>{html_lib.escape(title)}</title>{meta}{styles}</head>"
            f'<body><main class="markdown">{body}</main></body></html>'
        )
