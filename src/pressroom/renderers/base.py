"""The renderer interface: template bundles, render requests, results and option schemas.

A renderer is a pure function from a :class:`RenderRequest` (a template bundle, JSON data, an
output format and engine options) to a :class:`Rendered` document. It knows nothing of jobs,
queues or HTTP. It reports progress through a callback taking a percentage (0-100) and an
optional message, and raises a :class:`~pressroom.renderers.errors.TemplateError` for anything
that retrying cannot fix.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

from pressroom.renderers.errors import OptionsError, RefusedResourceError, TemplateError

Progress = Callable[[float, str | None], None]
"""A progress callback: ``progress(percent, message)`` with ``percent`` from 0 to 100."""

MAX_BUNDLE_FILES = 2000
"""The most files one template bundle may hold."""

MAX_BUNDLE_BYTES = 64 * 1024 * 1024
"""The most bytes one template bundle may hold, all files together."""

CONTENT_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "pdf": "application/pdf",
        "html": "text/html; charset=utf-8",
        "png": "image/png",
        "svg": "image/svg+xml",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "md": "text/markdown; charset=utf-8",
    }
)
"""The media type of each output format."""


def null_progress(percent: float, message: str | None = None) -> None:
    """A progress callback that ignores what it is told."""


def check_relative_path(name: str) -> str:
    """Return ``name`` if it is a safe relative POSIX path inside a bundle, else raise.

    Refused: empty names, absolute paths, backslashes, drive letters, ``.`` or ``..`` parts,
    empty parts and control characters.
    """
    bad = (
        not name
        or len(name) > 1024
        or name.startswith("/")
        or "\\" in name
        or any(ord(ch) < 32 or ord(ch) == 127 for ch in name)
        or (len(name) > 1 and name[1] == ":")
    )
    parts = name.split("/")
    if bad or any(part in ("", ".", "..") for part in parts):
        raise RefusedResourceError(
            f"invalid file name {name!r} in template bundle: names must be relative POSIX paths "
            "without '..', '.', empty parts, backslashes or a leading '/'"
        )
    return name


@dataclass(frozen=True, slots=True)
class TemplateBundle:
    """A template: its engine, the name of its main file, and every file it may use.

    File names are relative POSIX paths (``css/site.css``); renderers read nothing else.
    """

    engine: str
    main: str
    files: Mapping[str, bytes]

    def __post_init__(self) -> None:
        total = 0
        for name, content in self.files.items():
            check_relative_path(name)
            if not isinstance(content, bytes):
                raise TemplateError(f"file {name!r} must be bytes", engine=self.engine)
            total += len(content)
        if len(self.files) > MAX_BUNDLE_FILES:
            raise TemplateError(
                f"template bundle has {len(self.files)} files; the limit is {MAX_BUNDLE_FILES}",
                engine=self.engine,
            )
        if total > MAX_BUNDLE_BYTES:
            raise TemplateError(
                f"template bundle holds {total} bytes; the limit is {MAX_BUNDLE_BYTES}",
                engine=self.engine,
            )
        if self.main not in self.files:
            raise TemplateError(
                "main file is not in the template bundle", engine=self.engine, file=self.main
            )
        object.__setattr__(self, "files", MappingProxyType(dict(self.files)))

    @property
    def source(self) -> bytes:
        """The main file's content."""
        return self.files[self.main]

    def text(self, name: str) -> str:
        """A bundle file decoded as UTF-8, with a template error if it is missing or binary."""
        try:
            return self.files[name].decode("utf-8")
        except KeyError:
            raise TemplateError(
                "file not found in template bundle", engine=self.engine, file=name
            ) from None
        except UnicodeDecodeError as exc:
            raise TemplateError(
                f"file is not UTF-8 text ({exc.reason} at byte {exc.start})",
                engine=self.engine,
                file=name,
            ) from None

    @classmethod
    def inline(
        cls,
        engine: str,
        source: str | bytes,
        files: Mapping[str, str | bytes] | None = None,
        *,
        main: str | None = None,
    ) -> TemplateBundle:
        """A bundle from an inline job template: the main source plus optional extra files."""
        from pressroom.renderers.registry import default_main

        main_name = main or default_main(engine)
        encoded = {
            name: value.encode("utf-8") if isinstance(value, str) else value
            for name, value in (files or {}).items()
        }
        encoded[main_name] = source.encode("utf-8") if isinstance(source, str) else source
        return cls(engine=engine, main=main_name, files=encoded)

    @classmethod
    def from_path(
        cls, path: str | os.PathLike[str], *, engine: str | None = None, main: str | None = None
    ) -> TemplateBundle:
        """Load a bundle from one file or a folder, refusing symlinks and special files.

        For a folder, ``main`` names the main file; without it the main file is found by the
        engine's conventional names (``index.html``, ``main.typ``…) or as the only file with a
        suffix some engine accepts. The engine is inferred from the main file's name if not given.
        """
        from pressroom.renderers.registry import find_main, infer_engine

        root = Path(path)
        info = os.lstat(root)
        if stat.S_ISLNK(info.st_mode):
            raise RefusedResourceError(f"template path {str(root)!r} is a symlink; refused")
        if stat.S_ISREG(info.st_mode):
            files = {root.name: root.read_bytes()}
            main_name = main or root.name
        elif stat.S_ISDIR(info.st_mode):
            files = _read_tree(root)
            main_name = main or find_main(files, engine)
        else:
            raise RefusedResourceError(f"template path {str(root)!r} is not a file or folder")
        return cls(engine=engine or infer_engine(main_name), main=main_name, files=files)


def _read_tree(root: Path) -> dict[str, bytes]:
    """Every regular file under ``root`` by relative POSIX name; symlinks are an error."""
    files: dict[str, bytes] = {}
    total = 0
    for folder, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for entry in [*dirnames, *sorted(filenames)]:
            full = Path(folder) / entry
            rel = PurePosixPath(full.relative_to(root).as_posix())
            info = os.lstat(full)
            if stat.S_ISLNK(info.st_mode):
                raise RefusedResourceError(f"{rel} is a symlink; bundles may not hold symlinks")
            if stat.S_ISDIR(info.st_mode) or entry.startswith("."):
                continue
            if not stat.S_ISREG(info.st_mode):
                raise RefusedResourceError(f"{rel} is not a regular file")
            total += info.st_size
            if total > MAX_BUNDLE_BYTES or len(files) >= MAX_BUNDLE_FILES:
                raise TemplateError(f"template folder {str(root)!r} is too large")
            files[check_relative_path(str(rel))] = full.read_bytes()
    return files


@dataclass(frozen=True, slots=True)
class RenderRequest:
    """What to render: a bundle, the data (a JSON object), a format (None: the default), options."""

    bundle: TemplateBundle
    data: Mapping[str, Any] = field(default_factory=dict)
    format: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Rendered:
    """A rendered document: its bytes, media type, file extension and page count if known."""

    content: bytes
    content_type: str
    extension: str
    page_count: int | None = None

    @classmethod
    def of(cls, content: bytes, fmt: str, page_count: int | None = None) -> Rendered:
        """A result in format ``fmt``, with the media type and extension that go with it."""
        return cls(content, CONTENT_TYPES.get(fmt, "application/octet-stream"), fmt, page_count)


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """One engine option: its type, default, meaning and allowed values or range."""

    type: type
    default: Any
    description: str
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None

    def check(self, engine: str, name: str, value: Any) -> Any:
        """Return ``value`` converted to this option's type, or raise :class:`OptionsError`."""
        if value is None:
            return self.default
        expected = self.type
        ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            raise OptionsError(
                f"option {name!r} must be {expected.__name__}, not {type(value).__name__}",
                engine=engine,
            )
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(repr(c) for c in self.choices)
            raise OptionsError(f"option {name!r} must be one of {allowed}", engine=engine)
        if self.minimum is not None and value < self.minimum:
            raise OptionsError(f"option {name!r} must be at least {self.minimum}", engine=engine)
        if self.maximum is not None and value > self.maximum:
            raise OptionsError(f"option {name!r} must be at most {self.maximum}", engine=engine)
        return value


OptionsSchema = Mapping[str, OptionSpec]
"""An engine's options by name."""


def validate_options(
    engine: str, schema: OptionsSchema, options: Mapping[str, Any]
) -> dict[str, Any]:
    """Options checked against ``schema`` with defaults filled in; unknown names are an error."""
    unknown = sorted(set(options) - set(schema))
    if unknown:
        known = ", ".join(sorted(schema)) or "none"
        raise OptionsError(
            f"unknown option(s) {', '.join(unknown)}; this engine takes: {known}", engine=engine
        )
    return {name: spec.check(engine, name, options.get(name)) for name, spec in schema.items()}


def describe_options(schema: OptionsSchema) -> dict[str, dict[str, Any]]:
    """A JSON-ready description of an options schema, for the API and the docs."""
    return {
        name: {
            "type": spec.type.__name__,
            "default": spec.default,
            "description": spec.description,
            **({"choices": list(spec.choices)} if spec.choices else {}),
            **({"minimum": spec.minimum} if spec.minimum is not None else {}),
            **({"maximum": spec.maximum} if spec.maximum is not None else {}),
        }
        for name, spec in schema.items()
    }


@runtime_checkable
class Renderer(Protocol):
    """An engine that turns a template bundle and data into a document."""

    @property
    def name(self) -> str:
        """The engine's name, as used in ``template.engine``."""
        ...

    @property
    def formats(self) -> tuple[str, ...]:
        """Output formats this engine makes."""
        ...

    @property
    def default_format(self) -> str:
        """The format used when a request names none."""
        ...

    @property
    def accepts(self) -> tuple[str, ...]:
        """Main-file name suffixes this engine takes (``.html``, ``.pptx.json``…)."""
        ...

    @property
    def options(self) -> OptionsSchema:
        """The engine's options."""
        ...

    def available(self) -> bool:
        """Whether the programs and libraries this engine needs are installed here."""
        ...

    def render(self, request: RenderRequest, progress: Progress = null_progress) -> Rendered:
        """Render ``request``; raise a ``TemplateError`` for anything retrying cannot fix."""
        ...


def resolve_format(renderer: Renderer, fmt: str | None) -> str:
    """The requested format, or the engine's default, checked against what it can make."""
    chosen = (fmt or renderer.default_format).lower()
    if chosen not in renderer.formats:
        raise OptionsError(
            f"cannot make {chosen!r}; this engine makes {', '.join(renderer.formats)}",
            engine=renderer.name,
        )
    return chosen
