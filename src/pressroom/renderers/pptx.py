"""The ``pptx`` engine: slide decks from a JSON spec with python-pptx.

The main file is ``*.pptx.json`` (Jinja values as in :mod:`pressroom.renderers.spec`)::

    {"template": "brand.pptx",
     "properties": {"title": "Q3 review", "author": "Finance"},
     "slides": [
       {"type": "title", "title": "Q3 {{ year }}", "subtitle": "{{ company }}"},
       {"type": "bullets", "title": "Highlights", "bullets": "{{ highlights }}",
        "notes": "Speak to the margin."},
       {"type": "table", "title": "Regions", "columns": ["Region", "Revenue"],
        "keys": ["name", "revenue"], "rows": "{{ regions }}"},
       {"type": "chart", "title": "Revenue", "chart": "column",
        "categories": ["Jul", "Aug", "Sep"], "series": {"2025": [1, 2, 3]}},
       {"type": "image", "title": "Plant", "image": "plant.png", "caption": "New line"}]}

``template`` optionally names a PPTX in the bundle whose slide layouts are used (after the zip
guard); a slide may pick a layout by name with ``"layout": "Title Only"``. Bullets are strings
or ``{"text": …, "level": 1}``. Every slide may carry ``notes``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
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
from pressroom.renderers.errors import LimitError, TemplateError
from pressroom.renderers.limits import check_output
from pressroom.renderers.settings import RendererSettings
from pressroom.renderers.spec import SpecResolver, load_spec
from pressroom.renderers.zipguard import check_office_file

PPTX_OPTIONS: dict[str, OptionSpec] = {
    "locale": OptionSpec(str, "en_US", "locale for the formatting helpers in templated strings"),
}

MAX_SLIDES = 500
MAX_TABLE_CELLS = 5000
SLIDE_TYPES = ("title", "section", "bullets", "table", "chart", "image", "blank")
_DEFAULT_LAYOUT = {
    "title": 0,
    "section": 2,
    "bullets": 1,
    "table": 5,
    "chart": 5,
    "image": 5,
    "blank": 6,
}
_CHARTS = {
    "column": "COLUMN_CLUSTERED",
    "bar": "BAR_CLUSTERED",
    "line": "LINE_MARKERS",
    "pie": "PIE",
    "area": "AREA",
    "doughnut": "DOUGHNUT",
    "stacked_column": "COLUMN_STACKED",
}


class _DeckBuilder:
    """Adds the spec's slides to a python-pptx presentation."""

    def __init__(self, prs: Any, resolver: SpecResolver, request: RenderRequest) -> None:
        self.prs = prs
        self.resolver = resolver
        self.request = request

    def layout(self, slide: Mapping[str, Any], kind: str) -> Any:
        layouts = self.prs.slide_layouts
        wanted = slide.get("layout")
        if isinstance(wanted, str):
            for layout in layouts:
                if layout.name == wanted:
                    return layout
            names = ", ".join(layout.name for layout in layouts)
            raise self.resolver.fail(f"no slide layout named {wanted!r}; the template has {names}")
        index = _DEFAULT_LAYOUT[kind]
        return layouts[index] if index < len(layouts) else layouts[len(layouts) - 1]

    def body_box(self) -> tuple[int, int, int, int]:
        width, height = int(self.prs.slide_width), int(self.prs.slide_height)
        return int(width * 0.06), int(height * 0.22), int(width * 0.88), int(height * 0.70)

    def add(self, slide_spec: Mapping[str, Any]) -> None:
        kind = slide_spec.get("type", "bullets")
        if kind not in SLIDE_TYPES:
            raise self.resolver.fail(f"slide type {kind!r} is not one of {', '.join(SLIDE_TYPES)}")
        slide = self.prs.slides.add_slide(self.layout(slide_spec, kind))
        placeholders = {ph.placeholder_format.idx: ph for ph in slide.placeholders}
        if slide.shapes.title is not None and slide_spec.get("title") is not None:
            slide.shapes.title.text = str(slide_spec["title"])
        if kind in ("title", "section") and slide_spec.get("subtitle") is not None:
            sub = placeholders.get(1)
            if sub is not None:
                sub.text = str(slide_spec["subtitle"])
        getattr(self, f"_{kind}", lambda s, p: None)(slide, slide_spec)
        if kind not in ("title", "section", "bullets"):
            for idx, ph in placeholders.items():
                if idx != 0 and ph.has_text_frame and not ph.text_frame.text:
                    ph._element.getparent().remove(ph._element)
        if slide_spec.get("notes"):
            slide.notes_slide.notes_text_frame.text = str(slide_spec["notes"])

    def _bullets(self, slide: Any, spec: Mapping[str, Any]) -> None:
        from pptx.util import Pt

        items = spec.get("bullets") or []
        if not isinstance(items, list):
            raise self.resolver.fail("'bullets' must be a list")
        body = next((ph for ph in slide.placeholders if ph.placeholder_format.idx == 1), None)
        if body is None:
            left, top, width, height = self.body_box()
            body = slide.shapes.add_textbox(left, top, width, height)
        frame = body.text_frame
        frame.clear()
        for number, item in enumerate(items):
            text, level = (
                (item.get("text", ""), int(item.get("level", 0)))
                if isinstance(item, Mapping)
                else (item, 0)
            )
            paragraph = frame.paragraphs[0] if number == 0 else frame.add_paragraph()
            paragraph.text = str(text)
            paragraph.level = max(0, min(level, 4))
            if spec.get("font_size"):
                paragraph.font.size = Pt(float(spec["font_size"]))

    def _table(self, slide: Any, spec: Mapping[str, Any]) -> None:
        from pptx.util import Pt

        columns = [str(c) for c in spec.get("columns") or []]
        rows = spec.get("rows") or []
        keys = spec.get("keys") or columns
        if not columns or not isinstance(rows, list):
            raise self.resolver.fail("a table slide needs 'columns' and a 'rows' list")
        if (len(rows) + 1) * len(columns) > MAX_TABLE_CELLS:
            raise LimitError(
                f"a table slide may hold at most {MAX_TABLE_CELLS} cells",
                engine="pptx",
                file=self.resolver.file,
            )
        left, top, width, height = self.body_box()
        row_height = min(int(height / (len(rows) + 1)), int(Pt(28)))
        shape = slide.shapes.add_table(
            len(rows) + 1, len(columns), left, top, width, row_height * (len(rows) + 1)
        )
        table = shape.table
        size = Pt(float(spec.get("font_size", 12 if len(rows) < 12 else 9)))
        for col, header in enumerate(columns):
            table.cell(0, col).text = header
        for number, row in enumerate(rows, start=1):
            for col, key in enumerate(keys):
                if isinstance(row, Mapping):
                    value = row.get(key, "")
                elif isinstance(row, list | tuple) and col < len(row):
                    value = row[col]
                else:
                    value = ""
                table.cell(number, col).text = "" if value is None else str(value)
        for cell_row in table.rows:
            for cell in cell_row.cells:
                for paragraph in cell.text_frame.paragraphs:
                    paragraph.font.size = size

    def _chart(self, slide: Any, spec: Mapping[str, Any]) -> None:
        from pptx.chart.data import CategoryChartData
        from pptx.enum.chart import XL_CHART_TYPE, XL_LEGEND_POSITION

        kind = spec.get("chart", "column")
        if kind not in _CHARTS:
            raise self.resolver.fail(f"chart {kind!r} is not one of {', '.join(_CHARTS)}")
        categories = [str(c) for c in spec.get("categories") or []]
        series = spec.get("series") or {}
        if not isinstance(series, Mapping) or not categories:
            raise self.resolver.fail("a chart slide needs 'categories' and a 'series' object")
        data: Any = CategoryChartData()  # type: ignore[no-untyped-call]
        data.categories = categories
        for name, values in series.items():
            try:
                data.add_series(str(name), [None if v is None else float(v) for v in values])
            except (TypeError, ValueError):
                raise self.resolver.fail(f"series {name!r} must be a list of numbers") from None
        left, top, width, height = self.body_box()
        frame = slide.shapes.add_chart(
            getattr(XL_CHART_TYPE, _CHARTS[kind]), left, top, width, height, data
        )
        chart = frame.chart
        chart.has_legend = len(series) > 1 or kind in ("pie", "doughnut")
        if chart.has_legend:
            chart.legend.position = XL_LEGEND_POSITION.BOTTOM
            chart.legend.include_in_layout = False

    def _image(self, slide: Any, spec: Mapping[str, Any]) -> None:
        from pptx.util import Pt

        name = str(spec.get("image", ""))
        content = self.request.bundle.files.get(name)
        if content is None:
            raise self.resolver.fail(f"image {name!r} is not in the template bundle")
        left, top, width, height = self.body_box()
        caption = spec.get("caption")
        if caption:
            height -= int(Pt(30))
        try:
            picture = slide.shapes.add_picture(io.BytesIO(content), left, top, height=height)
        except Exception as exc:  # noqa: BLE001 - an unreadable image is the template's fault
            raise self.resolver.fail(f"image {name!r} cannot be read: {exc}") from None
        if picture.width > width:
            ratio = width / picture.width
            picture.width, picture.height = int(width), int(picture.height * ratio)
        picture.left = int(left + (width - picture.width) / 2)
        if caption:
            box = slide.shapes.add_textbox(
                left, top + picture.height + int(Pt(6)), width, int(Pt(24))
            )
            box.text_frame.text = str(caption)


class PptxRenderer:
    """Slide decks from a JSON spec, optionally on an uploaded template's layouts."""

    name = "pptx"
    formats = ("pptx",)
    default_format = "pptx"
    accepts = (".pptx.json",)
    options = PPTX_OPTIONS

    def __init__(self, settings: RendererSettings | None = None) -> None:
        self.settings = settings or RendererSettings()

    def available(self) -> bool:
        """Whether python-pptx can be imported."""
        try:
            import pptx  # noqa: F401
        except ImportError:
            return False
        return True

    def render(self, request: RenderRequest, progress: Progress = null_progress) -> Rendered:
        """Build the deck slide by slide."""
        from pptx import Presentation

        resolve_format(self, request.format)
        options = validate_options(self.name, self.options, request.options)
        limits = self.settings.limits
        resolver = SpecResolver(
            request.bundle, request.data, engine=self.name, limits=limits, locale=options["locale"]
        )
        progress(5, "reading spec")
        spec = resolver.resolve(load_spec(request.bundle, self.name))
        if not isinstance(spec, dict) or not isinstance(spec.get("slides"), list):
            raise resolver.fail("the spec must be an object with a 'slides' list")
        slides = spec["slides"]
        if len(slides) > MAX_SLIDES:
            raise LimitError(f"a deck may have at most {MAX_SLIDES} slides", engine=self.name)
        template_name = spec.get("template")
        if template_name:
            content = request.bundle.files.get(str(template_name))
            if content is None:
                raise resolver.fail(f"template {template_name!r} is not in the bundle")
            check_office_file(content, engine=self.name, file=str(template_name))
            try:
                prs = Presentation(io.BytesIO(content))
            except Exception as exc:  # noqa: BLE001 - an unreadable upload is permanent
                raise TemplateError(
                    f"not a readable PPTX file: {exc}", engine=self.name, file=str(template_name)
                ) from None
        else:
            prs = Presentation()
        props = spec.get("properties") or {}
        for key in ("title", "author", "subject", "keywords", "category", "comments"):
            if props.get(key) is not None:
                setattr(prs.core_properties, key, str(props[key])[:255])
        builder = _DeckBuilder(prs, resolver, request)
        for number, slide in enumerate(slides, start=1):
            if not isinstance(slide, Mapping):
                raise resolver.fail(f"slide {number} must be an object")
            builder.add(slide)
            progress(10 + 80 * number / max(len(slides), 1), f"slide {number}")
        out = io.BytesIO()
        prs.save(out)
        progress(100, "done")
        return Rendered.of(check_output(self.name, out.getvalue(), limits), "pptx")
