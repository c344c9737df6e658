"""Small bar, line and pie charts as standalone SVG, drawn from plain data.

Templates call them as ``{{ bar_chart(sales, title="Sales") }}``. Data may be a mapping of
label to value, a list of ``[label, value]`` pairs, or a list of objects with ``label`` and
``value`` keys (other key names through ``label_key=`` / ``value_key=``). Line charts also take
several series: ``line_chart(labels=months, series={"2024": [...], "2025": [...]})``.
The output has no scripts, no external references and a fixed size.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape, quoteattr

PALETTE = (
    "#2f5d8a",
    "#e07b39",
    "#4b9b6e",
    "#c8473f",
    "#8063a8",
    "#b08d2c",
    "#3e9bb0",
    "#d46a9a",
    "#6b7a89",
    "#93b04a",
)
"""Default series colours, chosen to stay distinct in print and for common colour blindness."""

MAX_POINTS = 500
"""The most points or slices one chart draws; more is an error rather than a giant SVG."""

_FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"'


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise TypeError("chart values must be numbers, not booleans")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"chart value {value!r} is not a finite number")
    return number


def _pairs(data: Any, label_key: str, value_key: str) -> list[tuple[str, float]]:
    items: Iterable[Any]
    if isinstance(data, Mapping):
        items = data.items()
    elif isinstance(data, Sequence) and not isinstance(data, str | bytes):
        items = data
    else:
        raise TypeError("chart data must be a mapping or a list")
    pairs: list[tuple[str, float]] = []
    for item in items:
        if isinstance(item, Mapping):
            pairs.append((str(item.get(label_key, "")), _number(item.get(value_key, 0))))
        elif isinstance(item, Sequence) and not isinstance(item, str) and len(item) == 2:
            pairs.append((str(item[0]), _number(item[1])))
        else:
            raise TypeError(f"cannot read a chart point from {item!r}")
        if len(pairs) > MAX_POINTS:
            raise ValueError(f"a chart may have at most {MAX_POINTS} points")
    return pairs


def _fmt(value: float) -> str:
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if abs(value) >= 10_000:
        return f"{value / 1000:.0f}k"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    fraction = value / 10**exponent
    for step in (1, 2, 2.5, 5, 10):
        if fraction <= step:
            return float(step * 10**exponent)
    return float(10 ** (exponent + 1))  # pragma: no cover - fraction is always <= 10


def _open(width: int, height: int, title: str | None) -> list[str]:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" class="pressroom-chart">'
    ]
    if title:
        parts.append(f"<title>{escape(title)}</title>")
        parts.append(
            f'<text x="{width / 2:.1f}" y="16" text-anchor="middle" font-size="13" '
            f'font-weight="bold" {_FONT}>{escape(title)}</text>'
        )
    return parts


def _axes(parts: list[str], box: tuple[float, float, float, float], top_value: float) -> None:
    left, top, right, bottom = box
    for i in range(5):
        y = bottom - (bottom - top) * i / 4
        parts.append(
            f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{right:.1f}" y2="{y:.1f}" '
            f'stroke="#dddddd" stroke-width="0.8"/>'
        )
        parts.append(
            f'<text x="{left - 6:.1f}" y="{y + 4:.1f}" text-anchor="end" font-size="10" '
            f'fill="#555555" {_FONT}>{escape(_fmt(top_value * i / 4))}</text>'
        )
    parts.append(
        f'<line x1="{left:.1f}" y1="{bottom:.1f}" x2="{right:.1f}" y2="{bottom:.1f}" '
        f'stroke="#333333" stroke-width="1"/>'
    )


def _label(parts: list[str], x: float, y: float, text: str) -> None:
    parts.append(
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle" font-size="10" fill="#333333" '
        f"{_FONT}>{escape(text[:24])}</text>"
    )


def bar_chart(
    data: Any,
    *,
    title: str | None = None,
    width: int = 480,
    height: int = 260,
    color: str = PALETTE[0],
    label_key: str = "label",
    value_key: str = "value",
    show_values: bool = True,
) -> str:
    """A vertical bar chart as an SVG string."""
    pairs = _pairs(data, label_key, value_key)
    width, height = _clamp(width, height)
    parts = _open(width, height, title)
    box = (56.0, 30.0 if title else 12.0, width - 12.0, height - 28.0)
    top_value = _nice_max(max((v for _, v in pairs), default=0.0))
    _axes(parts, box, top_value)
    left, top, right, bottom = box
    slot = (right - left) / max(len(pairs), 1)
    for index, (label, value) in enumerate(pairs):
        bar_height = max(value, 0.0) / top_value * (bottom - top)
        x = left + slot * index + slot * 0.15
        parts.append(
            f'<rect x="{x:.1f}" y="{bottom - bar_height:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{bar_height:.1f}" fill={quoteattr(color)}/>'
        )
        if show_values:
            _label(parts, x + slot * 0.35, bottom - bar_height - 4, _fmt(value))
        _label(parts, x + slot * 0.35, bottom + 14, label)
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    data: Any = None,
    *,
    labels: Sequence[Any] | None = None,
    series: Mapping[str, Sequence[Any]] | None = None,
    title: str | None = None,
    width: int = 480,
    height: int = 260,
    label_key: str = "label",
    value_key: str = "value",
) -> str:
    """A line chart of one series (``data``) or several (``labels`` + ``series``) as SVG."""
    if series is None:
        pairs = _pairs(data if data is not None else [], label_key, value_key)
        point_labels = [label for label, _ in pairs]
        lines = {"": [value for _, value in pairs]}
    else:
        lines = {str(name): [_number(v) for v in values] for name, values in series.items()}
        count = max((len(v) for v in lines.values()), default=0)
        point_labels = [str(x) for x in (labels or range(1, count + 1))]
        if len(lines) > len(PALETTE) or count > MAX_POINTS:
            raise ValueError(
                f"a line chart takes at most {len(PALETTE)} series of {MAX_POINTS} points"
            )
    width, height = _clamp(width, height)
    parts = _open(width, height, title)
    legend = 16.0 if series is not None else 0.0
    box = (56.0, (30.0 if title else 12.0) + legend, width - 16.0, height - 28.0)
    every = [v for values in lines.values() for v in values]
    top_value = _nice_max(max(every, default=0.0))
    _axes(parts, box, top_value)
    left, top, right, bottom = box
    steps = max(len(point_labels) - 1, 1)
    for index, label in enumerate(point_labels):
        _label(parts, left + (right - left) * index / steps, bottom + 14, label)
    for number, (name, values) in enumerate(lines.items()):
        colour = PALETTE[number % len(PALETTE)]
        points = " ".join(
            f"{left + (right - left) * i / steps:.1f},"
            f"{bottom - max(v, 0.0) / top_value * (bottom - top):.1f}"
            for i, v in enumerate(values)
        )
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>'
        )
        if name:
            x = left + number * 90
            parts.append(
                f'<rect x="{x:.1f}" y="{top - legend:.1f}" width="10" height="10" '
                f'fill="{colour}"/><text x="{x + 14:.1f}" y="{top - legend + 9:.1f}" '
                f'font-size="10" {_FONT}>{escape(name[:14])}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def pie_chart(
    data: Any,
    *,
    title: str | None = None,
    width: int = 360,
    height: int = 240,
    label_key: str = "label",
    value_key: str = "value",
) -> str:
    """A pie chart with a legend as an SVG string; negative values are an error."""
    pairs = _pairs(data, label_key, value_key)
    if any(value < 0 for _, value in pairs):
        raise ValueError("pie chart values must not be negative")
    width, height = _clamp(width, height)
    parts = _open(width, height, title)
    top = 30.0 if title else 10.0
    radius = min(width * 0.55, height - top - 10) / 2
    cx, cy = 10 + radius, top + radius
    total = sum(value for _, value in pairs) or 1.0
    angle = -math.pi / 2
    for index, (label, value) in enumerate(pairs):
        colour = PALETTE[index % len(PALETTE)]
        sweep = value / total * 2 * math.pi
        if sweep >= 2 * math.pi - 1e-9:
            parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{radius:.1f}" fill="{colour}"/>')
        elif sweep > 0:
            x1, y1 = cx + radius * math.cos(angle), cy + radius * math.sin(angle)
            x2 = cx + radius * math.cos(angle + sweep)
            y2 = cy + radius * math.sin(angle + sweep)
            large = 1 if sweep > math.pi else 0
            parts.append(
                f'<path d="M{cx:.1f},{cy:.1f} L{x1:.1f},{y1:.1f} '
                f'A{radius:.1f},{radius:.1f} 0 {large} 1 {x2:.1f},{y2:.1f} Z" '
                f'fill="{colour}" stroke="#ffffff" stroke-width="1"/>'
            )
        angle += sweep
        legend_y = top + 6 + index * 16
        if legend_y < height - 6:
            parts.append(
                f'<rect x="{cx + radius + 16:.1f}" y="{legend_y:.1f}" width="10" height="10" '
                f'fill="{colour}"/><text x="{cx + radius + 30:.1f}" y="{legend_y + 9:.1f}" '
                f'font-size="10" {_FONT}>{escape(label[:20])} ({value / total:.0%})</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _clamp(width: int, height: int) -> tuple[int, int]:
    return max(120, min(int(width), 2000)), max(100, min(int(height), 2000))
