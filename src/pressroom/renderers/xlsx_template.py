"""Filling an uploaded XLSX template with openpyxl, for the ``xlsx`` engine.

Cells holding ``{{ … }}`` are filled through the sandbox; a row whose first templated cell starts
with ``{% for item in items %}`` is repeated once per item, keeping the template row's styles.
Values from data are always written as values: a string starting with ``=`` stays text.
"""

from __future__ import annotations

import copy
import io
import json
import re
from datetime import date, datetime, time
from typing import Any

from pressroom.renderers.base import Progress, TemplateBundle
from pressroom.renderers.errors import LimitError
from pressroom.renderers.limits import RenderLimits
from pressroom.renderers.spec import SpecResolver
from pressroom.renderers.zipguard import check_office_file

_FOR_ROW = re.compile(r"^\s*\{%-?\s*for\s+(\w+)\s+in\s+(.+?)\s*-?%\}", re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _assign(cell: Any, value: Any) -> None:
    """Write a value from data into a cell, never as a formula."""
    if isinstance(value, bool | int | float | datetime | date | time) or value is None:
        cell.value = value
        return
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    text = _CONTROL.sub("", text)[:32767]
    cell.value = text
    if text.startswith("="):
        cell.data_type = "s"


def _templated(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _fill_loop(sheet: Any, row_index: int, resolver: SpecResolver, budget: list[int]) -> None:
    cells = [c for c in sheet[row_index] if c.value is not None]
    first = next((c for c in cells if _templated(c.value)), None)
    match = _FOR_ROW.match(first.value) if first is not None else None
    if first is None or match is None:
        for cell in cells:
            if _templated(cell.value):
                _assign(cell, resolver.value(cell.value))
        return
    name, expression = match.group(1), match.group(2)
    items = resolver.value("{{ " + expression + " }}")
    if not isinstance(items, list | tuple):
        raise resolver.fail(f"row {row_index}: {expression!r} is not a list")
    budget[0] -= len(items)
    if budget[0] < 0:
        raise LimitError(
            "the template's loops produce more rows than the cap",
            engine=resolver.engine,
            file=resolver.file,
        )
    template = []
    for cell in cells:
        text = cell.value[match.end() :] if cell is first else cell.value
        template.append((cell.column, text, copy.copy(cell._style)))
    if not items:
        sheet.delete_rows(row_index)
        return
    if len(items) > 1:
        sheet.insert_rows(row_index + 1, len(items) - 1)
    for offset, item in enumerate(items):
        for column, text, style in template:
            target = sheet.cell(row=row_index + offset, column=column)
            target._style = copy.copy(style)
            if _templated(text):
                _assign(target, resolver.value(text, {name: item}))
            else:
                target.value = text


def fill_workbook(
    bundle: TemplateBundle, resolver: SpecResolver, limits: RenderLimits, progress: Progress
) -> bytes:
    """Check the uploaded workbook, fill its templated cells and loops, and return it."""
    import openpyxl  # type: ignore[import-untyped, unused-ignore]

    check_office_file(bundle.source, engine=resolver.engine, file=bundle.main)
    try:
        book = openpyxl.load_workbook(io.BytesIO(bundle.source), keep_vba=False, keep_links=False)
    except Exception as exc:  # noqa: BLE001 - any parse failure of an upload is permanent
        raise resolver.fail(f"not a readable XLSX file: {exc}") from None
    budget = [limits.max_rows]
    sheets = book.worksheets
    for number, sheet in enumerate(sheets):
        for row_index in range(sheet.max_row, 0, -1):
            _fill_loop(sheet, row_index, resolver, budget)
        progress(10 + 80 * (number + 1) / len(sheets), f"filled sheet {sheet.title}")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
