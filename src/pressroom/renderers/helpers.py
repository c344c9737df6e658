"""Template helpers: locale-aware formatting (Babel), QR codes and barcodes as inline SVG.

Every helper is available to Jinja templates as a filter and as a global function, e.g.
``{{ total | format_currency("EUR") }}`` or ``{{ qr_svg(invoice.url) }}``. The locale defaults to
the render's ``locale`` option; each helper also takes ``locale=`` explicitly.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from contextvars import ContextVar
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

import babel.dates
import babel.numbers

CURRENT_LOCALE: ContextVar[str] = ContextVar("pressroom_render_locale", default="en_US")
"""The locale of the render in progress; set by the sandbox around each render."""

MAX_CODE_TEXT = 4000
"""The longest text a QR code or barcode may encode."""


def _locale(locale: str | None) -> str:
    return locale or CURRENT_LOCALE.get()


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise TypeError(f"expected a number, got {value!r}")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None


def _date(value: Any) -> date:
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        if len(text) <= 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 date") from None


def format_number(value: Any, locale: str | None = None) -> str:
    """A number with the locale's grouping and decimal signs: ``1234.5`` → ``1,234.5``."""
    return babel.numbers.format_decimal(_decimal(value), locale=_locale(locale))


def format_decimal(value: Any, format: str | None = None, locale: str | None = None) -> str:
    """A number in a Babel/CLDR pattern such as ``#,##0.00``."""
    return babel.numbers.format_decimal(_decimal(value), format=format, locale=_locale(locale))


def format_currency(
    value: Any, currency: str = "EUR", locale: str | None = None, format: str | None = None
) -> str:
    """An amount of money: ``1234.5 | format_currency("EUR", "de_DE")`` → ``1.234,50 €``."""
    return babel.numbers.format_currency(
        _decimal(value), currency, format=format, locale=_locale(locale)
    )


def format_percent(value: Any, locale: str | None = None, format: str | None = None) -> str:
    """A ratio as a percentage: ``0.25`` → ``25%``."""
    return babel.numbers.format_percent(_decimal(value), format=format, locale=_locale(locale))


def format_date(value: Any, format: str = "medium", locale: str | None = None) -> str:
    """A date (``date``, ``datetime`` or ISO string) as ``short``/``medium``/``long``/``full``."""
    return babel.dates.format_date(_date(value), format=format, locale=_locale(locale))


def format_datetime(
    value: Any, format: str = "medium", tzinfo: str | None = None, locale: str | None = None
) -> str:
    """A date and time, optionally converted to the time zone ``tzinfo`` (``Europe/Paris``)."""
    moment = _date(value)
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, time())
    zone = babel.dates.get_timezone(tzinfo) if tzinfo else None
    return babel.dates.format_datetime(moment, format=format, tzinfo=zone, locale=_locale(locale))


def _check_code_text(value: Any) -> str:
    text = str(value)
    if len(text) > MAX_CODE_TEXT:
        raise ValueError(f"code content is longer than {MAX_CODE_TEXT} characters")
    return text


_COLOUR = re.compile(r"^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20})$")


def qr_svg(
    value: Any, *, scale: float = 3, border: int = 2, dark: str = "#000000", error: str = "m"
) -> str:
    """A QR code of ``value`` as an inline SVG element (no XML declaration)."""
    import segno

    if not _COLOUR.match(dark):
        raise ValueError(f"invalid colour {dark!r}")
    code = segno.make(_check_code_text(value), error=error)
    out = io.BytesIO()
    code.save(
        out,
        kind="svg",
        xmldecl=False,
        svgns=True,
        nl=False,
        scale=max(0.5, min(float(scale), 40.0)),
        border=max(0, min(int(border), 10)),
        dark=dark,
    )
    return out.getvalue().decode("utf-8")


def barcode_svg(
    value: Any, kind: str = "code128", *, text: bool = True, height_mm: float = 12.0
) -> str:
    """A 1-D barcode (``code128``, ``ean13``, ``upca``, ``isbn13``…) as an inline SVG element."""
    import barcode  # type: ignore[import-untyped, unused-ignore]
    from barcode.writer import SVGWriter  # type: ignore[import-untyped, unused-ignore]

    if kind not in barcode.PROVIDED_BARCODES:
        raise ValueError(
            f"unknown barcode kind {kind!r}; use one of {', '.join(barcode.PROVIDED_BARCODES)}"
        )
    code = barcode.get(kind, _check_code_text(value), writer=SVGWriter())
    out = io.BytesIO()
    code.write(
        out,
        options={"module_height": max(2.0, min(float(height_mm), 100.0)), "write_text": text},
    )
    svg = out.getvalue().decode("utf-8")
    start = svg.find("<svg")
    return re.sub(r"<!--.*?-->", "", svg[start:], flags=re.S)


FORMATTERS: dict[str, Callable[..., str]] = {
    "format_number": format_number,
    "format_decimal": format_decimal,
    "format_currency": format_currency,
    "format_percent": format_percent,
    "format_date": format_date,
    "format_datetime": format_datetime,
}
"""Formatting helpers by name; installed as filters and as global functions."""

CODES: dict[str, Callable[..., str]] = {"qr_svg": qr_svg, "barcode_svg": barcode_svg}
"""QR and barcode helpers by name; their output is SVG markup."""
