"""The one Jinja2 environment every engine renders templates with.

:func:`make_environment` builds an :class:`~jinja2.sandbox.ImmutableSandboxedEnvironment` that

- reads templates (``{% include %}``, ``{% extends %}``, ``{% import %}``) only from the bundle;
- fails on any undefined name (``StrictUndefined``) and autoescapes HTML when asked;
- refuses attribute tricks (``__class__``, ``__globals__``, ``|attr``) and mutation of data;
- caps the size of what one expression can build: ``'x' * 10**9``, ``[0] * 10**9``, huge
  ``range()``, ``10 ** 10 ** 10``, ``'%999999999d' % 1``, ``'{:>999999999}'.format(1)``,
  ``'x'.ljust(10**9)``, ``center``/``indent``/``replace``/``join``/``slice`` beyond the cap;
- caps the total text a template produces.

:func:`render_template` renders a bundle file with data and turns every failure caused by the
template or its data into a :class:`~pressroom.renderers.errors.TemplateError` with file and line.
"""

from __future__ import annotations

import hashlib
import math
import re
import string
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from types import TracebackType
from typing import Any

from jinja2 import (
    BaseLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    TemplateSyntaxError,
    UndefinedError,
    nodes,
)
from jinja2.exceptions import SecurityError, TemplateRuntimeError
from jinja2.filters import do_center, do_indent, do_join, do_replace, do_slice
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import pass_eval_context
from markupsafe import Markup

from pressroom.renderers import charts, helpers
from pressroom.renderers.base import TemplateBundle
from pressroom.renderers.errors import LimitError, SandboxError, TemplateError
from pressroom.renderers.limits import RenderLimits

_FILE_PREFIX = "bundle:"
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_SPEC_NUMBERS = re.compile(r"\d+")
_COMPILED_PER_ENVIRONMENT = 64
"""Templates compiled from strings that one environment keeps (see ``from_string``)."""


class BundleLoader(BaseLoader):
    """A Jinja loader that serves the bundle's own files and nothing else."""

    def __init__(self, bundle: TemplateBundle) -> None:
        self.bundle = bundle

    def get_source(self, environment: Any, template: str) -> tuple[str, str, Callable[[], bool]]:
        """The named bundle file as text; a missing or binary file is ``TemplateNotFound``."""
        content = self.bundle.files.get(template)
        if content is None:
            raise TemplateNotFound(template)
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            raise TemplateNotFound(template, f"{template} is not UTF-8 text") from None
        return text, _FILE_PREFIX + template, lambda: True

    def list_templates(self) -> list[str]:
        """Every file name in the bundle."""
        return sorted(self.bundle.files)


class PressroomSandbox(ImmutableSandboxedEnvironment):
    """An immutable sandbox that also caps what one expression may allocate."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, *, limits: RenderLimits, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.limits = limits
        self._compiled: OrderedDict[str, Template] = OrderedDict()
        self._compiled_lock = threading.Lock()

    def from_string(
        self,
        source: str | nodes.Template,
        globals: MutableMapping[str, Any] | None = None,
        template_class: type[Template] | None = None,
    ) -> Template:
        """Compile ``source`` once per environment: later calls with the same text reuse the
        compiled template (a bounded LRU). docxtpl compiles every XML part of a DOCX from a
        string on each render, which was two fifths of a DOCX render; a compiled template keeps
        no state between renders, and its sandbox checks run when it renders."""
        if globals or template_class is not None or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        with self._compiled_lock:
            template = self._compiled.get(source)
            if template is not None:
                self._compiled.move_to_end(source)
                return template
        template = super().from_string(source)
        with self._compiled_lock:
            self._compiled[source] = template
            while len(self._compiled) > _COMPILED_PER_ENVIRONMENT:
                self._compiled.popitem(last=False)
        return template

    # --- size checks ------------------------------------------------------------------------
    def check_size(self, size: float, what: str) -> None:
        """Refuse to build a string or list longer than ``limits.max_sequence``."""
        if size > self.limits.max_sequence:
            raise LimitError(
                f"{what} would hold {int(size):,} items; the sandbox allows "
                f"{self.limits.max_sequence:,} in one expression"
            )

    def check_width(self, width: Any, what: str) -> None:
        """Refuse a padding or field width beyond the cap."""
        if isinstance(width, int) and not isinstance(width, bool):
            self.check_size(width, what)

    def check_format(self, fmt: str) -> None:
        """Refuse ``str.format`` specs with giant widths or nested fields."""
        try:
            parsed = list(string.Formatter().parse(fmt))
        except ValueError as exc:
            raise TemplateError(f"invalid format string: {exc}") from None
        for _, _, spec, _ in parsed:
            if spec and "{" in spec:
                raise SandboxError("nested fields in format specs are not allowed")
            for number in _SPEC_NUMBERS.findall(spec or ""):
                self.check_width(int(number), f"format spec {spec!r}")

    def check_percent(self, fmt: str) -> None:
        """Refuse ``%``-format strings with ``*`` or giant widths or precisions."""
        for match in _PERCENT_SPEC.finditer(fmt):
            for part in match.groups():
                if part == "*":
                    raise SandboxError("'*' widths in %-format strings are not allowed")
                if part:
                    self.check_width(int(part), f"%-format {match.group(0)!r}")

    # --- intercepted operations -------------------------------------------------------------
    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """Apply ``*``, ``**``, ``+`` and ``%`` after checking the size of the result."""
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(count, int):
                    self.check_size(len(seq) * max(count, 0), "repetition")
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0:
                bits = right * math.log2(abs(left))
                if bits > 64 * 1024:
                    raise LimitError(f"{left} ** {right} is too large a number")
        elif operator == "+":
            if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
                self.check_size(len(left) + len(right), "concatenation")
        elif operator == "%" and isinstance(left, str):
            self.check_percent(left)
        return super().call_binop(context, operator, left, right)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """Sandbox ``str.format``/``format_map`` after checking the format string's specs."""
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            self.check_format(value.__self__)
        return wrapped

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        """Call ``__obj`` from template code, capping string methods that grow their input."""
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            __self._check_str_method(owner, getattr(__obj, "__name__", ""), args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def _check_str_method(
        self, owner: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        values = [*args, *kwargs.values()]
        if name in ("ljust", "rjust", "center", "zfill") and values:
            self.check_width(values[0], f"str.{name}")
        elif name == "expandtabs":
            size = values[0] if values else 8
            if isinstance(size, int):
                self.check_size(owner.count("\t") * size + len(owner), "str.expandtabs")
        elif name == "replace" and len(values) >= 2:
            self.check_size(_replace_size(owner, values[0], values[1]), "str.replace")
        elif name == "join" and values:
            self.check_size(_join_size(owner, values[0]), "str.join")


def _replace_size(text: Any, old: Any, new: Any) -> int:
    if not isinstance(text, str) or not isinstance(old, str) or not isinstance(new, str):
        return 0
    hits = text.count(old) if old else len(text) + 1
    return len(text) + hits * (len(new) - len(old))


def _join_size(separator: str, items: Any) -> int:
    if not isinstance(items, list | tuple):
        return 0
    return sum(len(x) if isinstance(x, str) else 24 for x in items) + len(separator) * len(items)


def _make_filters(env: PressroomSandbox) -> dict[str, Callable[..., Any]]:
    def center(value: Any, width: int = 80) -> str:
        env.check_width(width, "center")
        return do_center(value, width)

    def indent(value: str, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
        size = len(width) if isinstance(width, str) else width
        env.check_size(str(value).count("\n") * size + len(str(value)), "indent")
        return do_indent(value, width, first, blank)

    def format_filter(value: str, *args: Any, **kwargs: Any) -> str:
        if args and kwargs:
            raise TemplateRuntimeError("format takes positional or keyword arguments, not both")
        env.check_percent(value)
        return value % (kwargs or args)

    @pass_eval_context
    def replace(
        eval_ctx: EvalContext, value: str, old: str, new: str, count: int | None = None
    ) -> str:
        env.check_size(_replace_size(str(value), str(old), str(new)), "replace")
        return do_replace(eval_ctx, value, old, new, count)

    @pass_eval_context
    def join(
        eval_ctx: EvalContext, value: Iterable[Any], d: str = "", attribute: str | None = None
    ) -> str:
        items = list(value)
        if attribute is not None:
            items = [env.getattr(item, attribute) for item in items]
        env.check_size(_join_size(str(d), [str(x) for x in items]), "join")
        return str(do_join(eval_ctx, items, d))

    def slice_filter(value: Any, slices: int, fill_with: Any = None) -> Any:
        env.check_size(slices, "slice")
        return do_slice(value, slices, fill_with)

    return {
        "center": center,
        "indent": indent,
        "format": format_filter,
        "replace": replace,
        "join": join,
        "slice": slice_filter,
    }


def _svg(fn: Callable[..., str]) -> Callable[..., Markup]:
    def wrapper(*args: Any, **kwargs: Any) -> Markup:
        return Markup(fn(*args, **kwargs))  # noqa: S704 (our own generated, escaped SVG)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def make_environment(
    bundle: TemplateBundle, *, autoescape: bool, limits: RenderLimits | None = None
) -> PressroomSandbox:
    """A new sandboxed environment whose loader reads only ``bundle``'s files."""
    env = PressroomSandbox(
        limits=limits or RenderLimits(),
        loader=BundleLoader(bundle),
        autoescape=autoescape,
        undefined=StrictUndefined,
        auto_reload=False,
        cache_size=64,
        keep_trailing_newline=True,
        extensions=[],
    )
    env.globals.pop("lipsum", None)

    def safe_range(*args: int) -> range:
        result = range(*args)
        env.check_size(len(result), "range")
        return result

    env.globals["range"] = safe_range
    env.filters.update(_make_filters(env))
    for name, formatter in helpers.FORMATTERS.items():
        env.filters[name] = formatter
        env.globals[name] = formatter
    drawers: dict[str, Callable[..., str]] = {
        **helpers.CODES,
        "bar_chart": charts.bar_chart,
        "line_chart": charts.line_chart,
        "pie_chart": charts.pie_chart,
    }
    for name, drawer in drawers.items():
        env.globals[name] = _svg(drawer)
    return env


_CACHE: OrderedDict[tuple[str, bool, RenderLimits], PressroomSandbox] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 32


def bundle_fingerprint(bundle: TemplateBundle) -> str:
    """A digest of the bundle's names and contents, for caching compiled templates."""
    digest = hashlib.blake2b(digest_size=20)
    for name in sorted(bundle.files):
        content = bundle.files[name]
        digest.update(f"{name}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()


def cached_environment(
    bundle: TemplateBundle, *, autoescape: bool, limits: RenderLimits
) -> PressroomSandbox:
    """An environment for ``bundle``, reused while the same bundle keeps being rendered."""
    key = (bundle_fingerprint(bundle), autoescape, limits)
    with _CACHE_LOCK:
        env = _CACHE.get(key)
        if env is not None:
            _CACHE.move_to_end(key)
            return env
    env = make_environment(bundle, autoescape=autoescape, limits=limits)
    with _CACHE_LOCK:
        _CACHE[key] = env
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return env


def template_context(data: Mapping[str, Any]) -> dict[str, Any]:
    """Template variables: the data's top-level keys, plus ``data`` for the whole object."""
    return {"data": data, **data}


def _template_location(tb: TracebackType | None) -> tuple[str | None, int | None]:
    file, line = None, None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith(_FILE_PREFIX):
            file, line = filename[len(_FILE_PREFIX) :], tb.tb_lineno
        tb = tb.tb_next
    return file, line


def _translate(exc: BaseException, engine: str, name: str) -> TemplateError | None:
    file, line = _template_location(exc.__traceback__)
    if isinstance(exc, TemplateError):
        exc.engine = exc.engine or engine
        exc.file, exc.line = exc.file or file or name, exc.line or line
        return exc
    if isinstance(exc, TemplateSyntaxError):
        where = (exc.filename or "").removeprefix(_FILE_PREFIX) or exc.name or name
        return TemplateError(
            f"syntax error: {exc.message}", engine=engine, file=where, line=exc.lineno
        )
    if isinstance(exc, TemplateNotFound):
        return TemplateError(
            f"template file {exc.name!r} is not in the bundle",
            engine=engine,
            file=file or name,
            line=line,
        )
    if isinstance(exc, SecurityError):
        return SandboxError(
            f"sandbox violation: {exc}", engine=engine, file=file or name, line=line
        )
    if isinstance(exc, UndefinedError):
        return TemplateError(
            f"undefined: {exc.message}", engine=engine, file=file or name, line=line
        )
    if isinstance(exc, MemoryError | RecursionError):
        what = "too much memory" if isinstance(exc, MemoryError) else "too deep a recursion"
        return LimitError(f"the template used {what}", engine=engine, file=file or name, line=line)
    if file is not None and isinstance(exc, Exception):
        return TemplateError(f"{type(exc).__name__}: {exc}", engine=engine, file=file, line=line)
    return None


def render_template(
    env: PressroomSandbox,
    name: str,
    data: Mapping[str, Any],
    *,
    engine: str,
    locale: str = "en_US",
    extra: Mapping[str, Any] | None = None,
) -> str:
    """Render bundle file ``name`` with ``data``; template failures become ``TemplateError``."""
    token = helpers.CURRENT_LOCALE.set(locale)
    try:
        template = env.get_template(name)
        context = template_context(data)
        if extra:
            context.update(extra)
        chunks: list[str] = []
        total = 0
        cap = env.limits.max_text_chars
        for chunk in template.generate(context):
            total += len(chunk)
            if total > cap:
                raise LimitError(f"the template produced more than {cap:,} characters")
            chunks.append(chunk)
        return "".join(chunks)
    except BaseException as exc:
        translated = _translate(exc, engine, name)
        if translated is None:
            raise
        if translated is exc:
            raise
        raise translated from None
    finally:
        helpers.CURRENT_LOCALE.reset(token)


def render_expression(
    env: PressroomSandbox, source: str, data: Mapping[str, Any], *, engine: str, file: str
) -> Any:
    """Evaluate a single Jinja expression (``orders``, ``total * 1.2``) against ``data``."""
    try:
        return env.compile_expression(source, undefined_to_none=False)(**template_context(data))
    except BaseException as exc:
        translated = _translate(exc, engine, file)
        if translated is None:
            raise
        if translated.file is None or translated.file == file:
            translated.file = file
        if translated is exc:
            raise
        raise translated from None
