"""The renderer registry: built-in engines plus third-party ones from entry points.

A third-party engine is published under the entry-point group ``pressroom.renderers``::

    [project.entry-points."pressroom.renderers"]
    latex = "my_package.latex:LatexRenderer"

The object named there is called with one argument, the worker's
:class:`~pressroom.renderers.settings.RendererSettings`, and must return an object that satisfies
the :class:`~pressroom.renderers.base.Renderer` protocol. A built-in name cannot be replaced.
Renderers are created once per process and settings, so warm state (a browser, a font
configuration) is shared by the renders of one worker child.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from typing import Any, cast

from pressroom.renderers.base import Renderer
from pressroom.renderers.errors import OptionsError, TemplateError
from pressroom.renderers.settings import RendererSettings

ENTRY_POINT_GROUP = "pressroom.renderers"
"""The entry-point group third-party engines register under."""

BUILTIN: Mapping[str, str] = {
    "html": "pressroom.renderers.html:HtmlRenderer",
    "chromium": "pressroom.renderers.chromium:ChromiumRenderer",
    "markdown": "pressroom.renderers.markdown:MarkdownRenderer",
    "typst": "pressroom.renderers.typst:TypstRenderer",
    "docx": "pressroom.renderers.docx:DocxRenderer",
    "xlsx": "pressroom.renderers.xlsx:XlsxRenderer",
    "pptx": "pressroom.renderers.pptx:PptxRenderer",
}
"""Built-in engines by name, as ``module:class``; imported on first use."""

SUFFIXES: tuple[tuple[str, str], ...] = (
    (".xlsx.json", "xlsx"),
    (".pptx.json", "pptx"),
    (".html", "html"),
    (".htm", "html"),
    (".md", "markdown"),
    (".markdown", "markdown"),
    (".typ", "typst"),
    (".docx", "docx"),
    (".xlsx", "xlsx"),
)
"""Main-file suffixes and the built-in engine each implies, longest first."""

DEFAULT_MAIN: Mapping[str, str] = {
    "html": "index.html",
    "chromium": "index.html",
    "markdown": "main.md",
    "typst": "main.typ",
    "docx": "template.docx",
    "xlsx": "workbook.xlsx.json",
    "pptx": "deck.pptx.json",
}
"""The conventional main-file name of each built-in engine."""

_INSTANCES: dict[tuple[str, RendererSettings], Renderer] = {}
_LOCK = threading.Lock()


def infer_engine(main: str) -> str:
    """The built-in engine implied by a main file's name (``report.typ`` → ``typst``)."""
    lowered = main.lower()
    for suffix, engine in SUFFIXES:
        if lowered.endswith(suffix):
            return engine
    known = ", ".join(suffix for suffix, _ in SUFFIXES)
    raise OptionsError(f"cannot tell the engine of {main!r}; name it or use one of: {known}")


def default_main(engine: str) -> str:
    """The main-file name an inline template of ``engine`` gets (``main.typ`` for typst)."""
    return DEFAULT_MAIN.get(engine, "main")


def find_main(files: Mapping[str, bytes], engine: str | None) -> str:
    """The main file of a template folder: a conventional name, or the only candidate."""
    names = (
        [DEFAULT_MAIN[engine]] if engine and engine in DEFAULT_MAIN else list(DEFAULT_MAIN.values())
    )
    for name in names:
        if name in files:
            return name
    candidates = []
    for name in files:
        if "/" in name:
            continue
        try:
            found = infer_engine(name)
        except OptionsError:
            continue
        if engine is None or found == engine or (engine == "chromium" and found == "html"):
            candidates.append(name)
    if len(candidates) == 1:
        return candidates[0]
    raise TemplateError(
        "cannot tell which file is the template's main file "
        f"({len(candidates)} candidates); name it explicitly",
        engine=engine or "",
    )


def _third_party() -> dict[str, Callable[[RendererSettings], Renderer]]:
    found: dict[str, Callable[[RendererSettings], Renderer]] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        if point.name not in BUILTIN:
            found[point.name] = cast("Callable[[RendererSettings], Renderer]", point)
    return found


def engine_names() -> list[str]:
    """Every engine name known in this process, built-in and installed third-party ones."""
    return sorted({*BUILTIN, *_third_party()})


def _factory(name: str) -> Callable[[RendererSettings], Renderer]:
    target = BUILTIN.get(name)
    if target is not None:
        module_name, _, attr = target.partition(":")
        factory: Any = getattr(importlib.import_module(module_name), attr)
        return cast("Callable[[RendererSettings], Renderer]", factory)
    point = _third_party().get(name)
    if point is None:
        raise OptionsError(f"unknown engine {name!r}; known engines: {', '.join(engine_names())}")
    loaded: Any = cast(Any, point).load()
    return cast("Callable[[RendererSettings], Renderer]", loaded)


def get_renderer(name: str, settings: RendererSettings | None = None) -> Renderer:
    """The process-wide renderer for engine ``name`` with these settings (created on first use)."""
    chosen = settings or default_settings()
    key = (name, chosen)
    with _LOCK:
        renderer = _INSTANCES.get(key)
        if renderer is None:
            renderer = _factory(name)(chosen)
            if not isinstance(renderer, Renderer):
                raise TypeError(f"engine {name!r} does not implement the Renderer protocol")
            _INSTANCES[key] = renderer
        return renderer


def available(settings: RendererSettings | None = None) -> list[str]:
    """Names of the engines whose programs and libraries are present on this machine."""
    names = []
    for name in engine_names():
        try:
            if get_renderer(name, settings).available():
                names.append(name)
        except (ImportError, OSError, TypeError):
            continue
    return names


_DEFAULT: list[RendererSettings] = []


def default_settings() -> RendererSettings:
    """Settings read once from the environment (``RendererSettings.from_env``)."""
    if not _DEFAULT:
        _DEFAULT.append(RendererSettings.from_env())
    return _DEFAULT[0]


def close_all() -> None:
    """Release warm resources (browsers) of every renderer created in this process."""
    with _LOCK:
        renderers = list(_INSTANCES.values())
        _INSTANCES.clear()
    for renderer in renderers:
        close = getattr(renderer, "close", None)
        if callable(close):
            close()
