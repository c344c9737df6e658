"""The ``xlsx`` engine: workbooks from a JSON spec (xlsxwriter) or from an XLSX template (openpyxl).

**Spec** (main file ``*.xlsx.json``, see :mod:`pressroom.renderers.spec` for its Jinja values)::

    {"properties": {"title": "Sales"},
     "sheets": [{"name": "Orders", "rows": "{{ orders }}",
                 "columns": [{"header": "Date", "key": "date", "type": "date"},
                             {"header": "Amount", "key": "amount", "type": "number",
                              "format": "#,##0.00", "total": "sum"},
                             {"header": "VAT", "formula": "=C{row}*0.2", "format": "#,##0.00"}],
                 "freeze": true, "autofilter": true,
                 "header_style": {"bold": true, "bg_color": "#16324F", "font_color": "#FFFFFF"},
                 "charts": [{"type": "column", "title": "Amount by date",
                             "categories": "date", "values": ["amount"], "anchor": "F2"}]}]}

Column types: ``string``, ``number``, ``integer``, ``percent``, ``currency``, ``date``,
``datetime``, ``boolean``, ``url``. Rows are objects (read by ``key``) or lists (by position).
Data is always written as values, never as formulas: a string starting with ``=`` stays text.
Formulas come only from the spec, with ``{row}`` standing for the current Excel row.
The workbook is written in xlsxwriter's constant-memory mode, row by row.

**Template** (main file ``*.xlsx``): the upload passes the zip guard, then openpyxl fills every
cell holding ``{{ … }}`` (a cell that is exactly one expression keeps the value's type). A row
whose first templated cell starts with ``{% for item in orders %}`` is repeated once per item.
Rows inserted this way shift the cells below; formulas, merged cells and charts referring to
those cells are not rewritten.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from datetime import date, datetime
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
from pressroom.renderers.limits import RenderLimits, check_output
from pressroom.renderers.settings import RendererSettings
from pressroom.renderers.spec import SpecResolver, load_spec

XLSX_OPTIONS: dict[str, OptionSpec] = {
    "locale": OptionSpec(str, "en_US", "locale for the formatting helpers in templated strings"),
}

EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLS = 16_384
MAX_SHEETS = 200
MAX_CHARTS = 50
CHART_TYPES = ("area", "bar", "column", "line", "pie", "doughnut", "scatter", "radar")
DEFAULT_FORMATS = {
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm",
    "percent": "0.0%",
    "currency": "#,##0.00",
    "integer": "0",
    "number": "General",
}
_SHEET_NAME = re.compile(r"^[^\[\]:*?/\\]{1,31}$")
_CELL = re.compile(r"^[A-Z]{1,3}[1-9][0-9]{0,6}$")
_STYLE_KEYS = (
    "bold",
    "italic",
    "font_color",
    "bg_color",
    "font_size",
    "align",
    "border",
    "text_wrap",
    "num_format",
    "valign",
    "underline",
)


def _parse_date(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed.replace(tzinfo=None)
    return None


class _SheetWriter:
    """Writes one spec sheet with xlsxwriter."""

    def __init__(
        self, book: Any, spec: Mapping[str, Any], resolver: SpecResolver, limits: RenderLimits
    ) -> None:
        self.book = book
        self.spec = spec
        self.resolver = resolver
        self.limits = limits
        self.formats: dict[tuple[tuple[str, Any], ...], Any] = {}

    def fmt(self, props: Mapping[str, Any]) -> Any:
        clean = tuple(
            sorted((k, v) for k, v in props.items() if k in _STYLE_KEYS and v is not None)
        )
        if not clean:
            return None
        if clean not in self.formats:
            self.formats[clean] = self.book.add_format(dict(clean))
        return self.formats[clean]

    def write(self) -> None:
        spec = self.spec
        name = str(spec.get("name") or f"Sheet{len(self.book.worksheets()) + 1}")
        if not _SHEET_NAME.match(name):
            raise self.resolver.fail(f"invalid sheet name {name!r}")
        sheet = self.book.add_worksheet(name)
        columns = spec.get("columns") or []
        rows = spec.get("rows") or []
        if not isinstance(columns, list) or not isinstance(rows, list):
            raise self.resolver.fail(f"sheet {name!r}: 'columns' and 'rows' must be lists")
        if len(columns) > EXCEL_MAX_COLS:
            raise LimitError(f"sheet {name!r} has more than {EXCEL_MAX_COLS} columns")
        cap = min(self.limits.max_rows, EXCEL_MAX_ROWS - 2)
        if len(rows) > cap:
            raise LimitError(
                f"sheet {name!r} has {len(rows):,} rows; the cap is {cap:,}", engine="xlsx"
            )
        if not columns and rows:
            first = rows[0]
            keys = list(first) if isinstance(first, Mapping) else range(len(first))
            columns = [{"header": str(k), "key": k} for k in keys]
        header_fmt = self.fmt({"bold": True, "bottom": 1, **(spec.get("header_style") or {})})
        col_fmts = []
        for index, column in enumerate(columns):
            kind = column.get("type", "formula" if column.get("formula") else "string")
            num = column.get("format") or DEFAULT_FORMATS.get(kind)
            col_fmts.append(self.fmt({"num_format": num, **(column.get("style") or {})}))
            width = column.get("width")
            if width is not None:
                sheet.set_column(index, index, float(width))
            elif kind in ("date", "datetime"):
                sheet.set_column(index, index, 12 if kind == "date" else 17)
        for index, column in enumerate(columns):
            sheet.write_string(0, index, str(column.get("header", "")), header_fmt)
        for number, row in enumerate(rows, start=1):
            self._write_row(sheet, number, row, columns, col_fmts)
        self._totals(sheet, len(rows), columns, col_fmts)
        if spec.get("freeze"):
            freeze = spec["freeze"]
            if isinstance(freeze, str) and _CELL.match(freeze):
                sheet.freeze_panes(freeze)
            else:
                sheet.freeze_panes(1, 0)
        if spec.get("autofilter") and columns:
            sheet.autofilter(0, 0, max(len(rows), 1), len(columns) - 1)
        charts = spec.get("charts") or []
        if len(charts) > MAX_CHARTS:
            raise LimitError(f"sheet {name!r} has more than {MAX_CHARTS} charts")
        for chart in charts:
            self._chart(sheet, name, chart, columns, len(rows))

    def _write_row(
        self, sheet: Any, number: int, row: Any, columns: list[Any], fmts: list[Any]
    ) -> None:
        for index, column in enumerate(columns):
            kind = column.get("type", "formula" if column.get("formula") else "string")
            fmt = fmts[index]
            if column.get("formula"):
                formula = str(column["formula"]).replace("{row}", str(number + 1))
                sheet.write_formula(number, index, formula, fmt)
                continue
            key = column.get("key", index)
            if isinstance(row, Mapping):
                value = row.get(key)
            elif isinstance(row, list | tuple):
                value = row[key] if isinstance(key, int) and key < len(row) else None
            else:
                raise self.resolver.fail(f"row {number} is neither an object nor a list")
            self._write_value(sheet, number, index, kind, value, fmt)

    def _write_value(self, sheet: Any, row: int, col: int, kind: str, value: Any, fmt: Any) -> None:
        if value is None or value == "":
            sheet.write_blank(row, col, None, fmt)
        elif (
            kind in ("number", "integer", "percent", "currency")
            and isinstance(value, int | float)
            and not isinstance(value, bool)
        ):
            sheet.write_number(row, col, value, fmt)
        elif kind in ("number", "integer", "percent", "currency") and isinstance(value, str):
            try:
                sheet.write_number(row, col, float(value), fmt)
            except ValueError:
                sheet.write_string(row, col, value, fmt)
        elif kind in ("date", "datetime") and (moment := _parse_date(value)) is not None:
            sheet.write_datetime(row, col, moment, fmt)
        elif kind == "boolean":
            sheet.write_boolean(row, col, bool(value), fmt)
        elif kind == "url" and isinstance(value, str) and re.match(r"^(https?://|mailto:)", value):
            sheet.write_url(row, col, value, fmt)
        else:
            sheet.write_string(row, col, str(value)[:32767], fmt)

    def _totals(self, sheet: Any, count: int, columns: list[Any], fmts: list[Any]) -> None:
        functions = {"sum": 109, "average": 101, "count": 103, "min": 105, "max": 104}
        if not any(c.get("total") for c in columns):
            return
        from xlsxwriter.utility import xl_rowcol_to_cell  # type: ignore[import-untyped, unused-ignore]

        row = count + 1
        bold = self.fmt({"bold": True, "top": 1})
        for index, column in enumerate(columns):
            total = column.get("total")
            if total in functions and count:
                first = xl_rowcol_to_cell(1, index)
                last = xl_rowcol_to_cell(count, index)
                fmt = self.fmt(
                    {
                        "bold": True,
                        "num_format": column.get("format")
                        or DEFAULT_FORMATS.get(column.get("type", "")),
                    }
                )
                sheet.write_formula(
                    row, index, f"=SUBTOTAL({functions[total]},{first}:{last})", fmt
                )
            elif isinstance(total, str) and total and total not in functions:
                sheet.write_string(row, index, total, bold)

    def _chart(
        self, sheet: Any, name: str, chart: Mapping[str, Any], columns: list[Any], count: int
    ) -> None:
        kind = chart.get("type", "column")
        if kind not in CHART_TYPES:
            raise self.resolver.fail(f"chart type {kind!r} is not one of {', '.join(CHART_TYPES)}")
        keys = [c.get("key", i) for i, c in enumerate(columns)]

        def col_of(key: Any) -> int:
            if key in keys:
                return keys.index(key)
            raise self.resolver.fail(f"chart refers to unknown column {key!r}")

        made = self.book.add_chart({"type": kind})
        cat = col_of(chart.get("categories", keys[0] if keys else 0))
        values = chart.get("values") or []
        for position, key in enumerate(values if isinstance(values, list) else [values]):
            col = col_of(key)
            made.add_series(
                {
                    "name": [name, 0, col],
                    "categories": [name, 1, cat, max(count, 1), cat],
                    "values": [name, 1, col, max(count, 1), col],
                    **({"marker": {"type": "circle"}} if kind == "line" else {}),
                    **(
                        {"data_labels": {"percentage": True}}
                        if kind in ("pie", "doughnut") and position == 0
                        else {}
                    ),
                }
            )
        if chart.get("title"):
            made.set_title({"name": str(chart["title"])})
        if kind not in ("pie", "doughnut"):
            made.set_legend({"position": "bottom" if len(values) > 1 else "none"})
        made.set_size(
            {"width": int(chart.get("width", 520)), "height": int(chart.get("height", 300))}
        )
        anchor = str(chart.get("anchor", "")) or None
        if anchor is None or not _CELL.match(anchor):
            from xlsxwriter.utility import xl_rowcol_to_cell

            anchor = xl_rowcol_to_cell(1, len(columns) + 1)
        sheet.insert_chart(anchor, made)


class XlsxRenderer:
    """Workbooks from a JSON spec (xlsxwriter, constant memory) or an XLSX template (openpyxl)."""

    name = "xlsx"
    formats = ("xlsx",)
    default_format = "xlsx"
    accepts = (".xlsx.json", ".xlsx")
    options = XLSX_OPTIONS

    def __init__(self, settings: RendererSettings | None = None) -> None:
        self.settings = settings or RendererSettings()

    def available(self) -> bool:
        """Whether xlsxwriter and openpyxl can be imported."""
        try:
            import openpyxl  # type: ignore[import-untyped, unused-ignore]  # noqa: F401
            import xlsxwriter  # type: ignore[import-untyped, unused-ignore]  # noqa: F401
        except ImportError:
            return False
        return True

    def render(self, request: RenderRequest, progress: Progress = null_progress) -> Rendered:
        """Build the workbook from the spec, or fill the uploaded template."""
        resolve_format(self, request.format)
        options = validate_options(self.name, self.options, request.options)
        limits = self.settings.limits
        resolver = SpecResolver(
            request.bundle, request.data, engine=self.name, limits=limits, locale=options["locale"]
        )
        if request.bundle.main.lower().endswith(".xlsx"):
            from pressroom.renderers.xlsx_template import fill_workbook

            progress(5, "checking template")
            content = fill_workbook(request.bundle, resolver, limits, progress)
        else:
            progress(5, "reading spec")
            content = self._from_spec(request, resolver, limits, progress)
        progress(100, "done")
        return Rendered.of(check_output(self.name, content, limits), "xlsx")

    def _from_spec(
        self,
        request: RenderRequest,
        resolver: SpecResolver,
        limits: RenderLimits,
        progress: Progress,
    ) -> bytes:
        import xlsxwriter

        spec = resolver.resolve(load_spec(request.bundle, self.name))
        if not isinstance(spec, dict) or not isinstance(spec.get("sheets"), list):
            raise resolver.fail("the spec must be an object with a 'sheets' list")
        sheets = spec["sheets"]
        if not sheets or len(sheets) > MAX_SHEETS:
            raise resolver.fail(f"a workbook needs 1 to {MAX_SHEETS} sheets")
        out = io.BytesIO()
        book = xlsxwriter.Workbook(
            out,
            {
                "constant_memory": True,
                "in_memory": False,
                "strings_to_formulas": False,
                "strings_to_urls": False,
            },
        )
        props = spec.get("properties") or {}
        book.set_properties(
            {
                k: str(v)
                for k, v in props.items()
                if k
                in (
                    "title",
                    "subject",
                    "author",
                    "company",
                    "comments",
                    "keywords",
                    "category",
                    "manager",
                )
            }
        )
        for number, sheet in enumerate(sheets):
            if not isinstance(sheet, Mapping):
                raise resolver.fail(f"sheet {number + 1} must be an object")
            _SheetWriter(book, sheet, resolver, limits).write()
            progress(10 + 80 * (number + 1) / len(sheets), f"wrote sheet {number + 1}")
        try:
            book.close()
        except (ValueError, TypeError, KeyError) as exc:
            raise TemplateError(f"could not write workbook: {exc}", engine=self.name) from None
        return out.getvalue()
