"""The renderer interface: bundles, options, formats, registry and entry points."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from pressroom.core.errors import InvalidInput, Permanent
from pressroom.renderers import registry
from pressroom.renderers.base import (
    OptionSpec,
    Rendered,
    Renderer,
    RenderRequest,
    TemplateBundle,
    describe_options,
    validate_options,
)
from pressroom.renderers.errors import OptionsError, RefusedResourceError, TemplateError
from pressroom.renderers.settings import RendererSettings

from ._support import render


@pytest.mark.parametrize(
    "name", ["/etc/passwd", "../secret", "a/../../b", "a//b", "./a", "c:\\x", "a\\b", "", "a\x00b"]
)
def test_bundle_refuses_unsafe_file_names(name: str) -> None:
    """A bundle file name that is absolute, escapes upward or is malformed is refused."""
    with pytest.raises(RefusedResourceError, match="invalid file name"):
        TemplateBundle("html", "index.html", {"index.html": b"", name: b"x"})


def test_bundle_requires_its_main_file() -> None:
    """A bundle whose main file is missing is a template error naming the file."""
    with pytest.raises(TemplateError, match="main file") as info:
        TemplateBundle("html", "index.html", {"other.html": b""})
    assert info.value.file == "index.html"


def test_bundle_from_folder_refuses_symlinks(tmp_path: Path) -> None:
    """Loading a template folder that holds a symlink fails instead of following it."""
    (tmp_path / "main.typ").write_text("hi")
    os.symlink("/etc/passwd", tmp_path / "passwd.txt")
    with pytest.raises(RefusedResourceError, match="symlink"):
        TemplateBundle.from_path(tmp_path)


def test_bundle_from_folder_finds_main_and_engine(tmp_path: Path) -> None:
    """A folder's main file and engine are inferred from conventional names and suffixes."""
    (tmp_path / "css").mkdir()
    (tmp_path / "index.html").write_text("<p>hi</p>")
    (tmp_path / "css" / "site.css").write_text("p{}")
    bundle = TemplateBundle.from_path(tmp_path)
    assert (bundle.engine, bundle.main) == ("html", "index.html")
    assert set(bundle.files) == {"index.html", "css/site.css"}


@pytest.mark.parametrize(
    ("main", "engine"),
    [
        ("a.html", "html"),
        ("a.md", "markdown"),
        ("a.typ", "typst"),
        ("a.docx", "docx"),
        ("a.xlsx", "xlsx"),
        ("a.xlsx.json", "xlsx"),
        ("a.pptx.json", "pptx"),
    ],
)
def test_engine_is_inferred_from_the_main_file_suffix(main: str, engine: str) -> None:
    """Each built-in suffix maps to its engine."""
    assert registry.infer_engine(main) == engine


def test_options_are_validated_with_clear_errors() -> None:
    """Unknown options, wrong types and values outside the choices are refused by name."""
    schema = {
        "size": OptionSpec(int, 1, "a size", minimum=1, maximum=5),
        "mode": OptionSpec(str, "a", "a mode", choices=("a", "b")),
    }
    assert validate_options("x", schema, {"size": 3}) == {"size": 3, "mode": "a"}
    with pytest.raises(OptionsError, match="unknown option"):
        validate_options("x", schema, {"colour": 1})
    with pytest.raises(OptionsError, match="must be int"):
        validate_options("x", schema, {"size": "3"})
    with pytest.raises(OptionsError, match="at most 5"):
        validate_options("x", schema, {"size": 9})
    with pytest.raises(OptionsError, match="one of"):
        validate_options("x", schema, {"mode": "c"})
    assert describe_options(schema)["mode"]["choices"] == ["a", "b"]


def test_options_error_is_permanent_and_invalid_input() -> None:
    """A bad option fails a job at once and maps to a 4xx at submission."""
    assert issubclass(OptionsError, Permanent)
    assert issubclass(OptionsError, InvalidInput)


def test_unknown_format_is_refused() -> None:
    """Asking an engine for a format it cannot make names the formats it can."""
    with pytest.raises(OptionsError, match="makes pdf, html"):
        render("html", "<p>x</p>", fmt="docx")


def test_every_builtin_engine_satisfies_the_protocol() -> None:
    """Each built-in engine is a Renderer with a name, formats, a default and options."""
    for name in registry.BUILTIN:
        renderer = registry.get_renderer(name)
        assert isinstance(renderer, Renderer)
        assert renderer.name == name
        assert renderer.default_format in renderer.formats
        assert all(isinstance(spec, OptionSpec) for spec in renderer.options.values())


def test_available_lists_installed_engines() -> None:
    """Engines whose libraries are importable are listed as available."""
    names = registry.available()
    assert {"html", "markdown", "typst", "docx", "xlsx", "pptx"} <= set(names)
    assert ("chromium" in names) == registry.get_renderer("chromium").available()


def test_chromium_is_unavailable_without_a_binary(tmp_path: Path) -> None:
    """With no Chromium binary at the configured path or elsewhere, chromium is not offered."""
    settings = RendererSettings(chromium_path=str(tmp_path / "nope"))
    renderer = registry.get_renderer("chromium", settings)
    if settings.find_chromium() is None:
        assert not renderer.available()
    else:
        assert settings.find_chromium() != str(tmp_path / "nope")


class _EchoRenderer:
    """A minimal third-party engine for the entry-point test."""

    name = "echo"
    formats = ("txt",)
    default_format = "txt"
    accepts = (".txt",)
    options: dict[str, OptionSpec] = {}

    def __init__(self, settings: RendererSettings) -> None:
        self.settings = settings

    def available(self) -> bool:
        return True

    def render(self, request: RenderRequest, progress: Any = None) -> Rendered:
        return Rendered(request.bundle.source, "text/plain", "txt", None)


def test_third_party_engines_load_from_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    """An engine published under the pressroom.renderers entry point is found and used."""

    class Point:
        name = "echo"

        def load(self) -> Any:
            return _EchoRenderer

    monkeypatch.setattr(registry, "entry_points", lambda group: [Point()])
    assert "echo" in registry.engine_names()
    renderer = registry.get_renderer("echo")
    bundle = TemplateBundle("echo", "a.txt", {"a.txt": b"hello"})
    assert renderer.render(RenderRequest(bundle)).content == b"hello"


def test_unknown_engine_is_refused() -> None:
    """Asking for an engine nobody registered lists the known ones."""
    with pytest.raises(OptionsError, match="unknown engine 'nope'"):
        registry.get_renderer("nope")


def test_template_error_carries_engine_file_and_line() -> None:
    """A template error says which engine, file and line failed, and serialises for the job."""
    error = TemplateError("boom", engine="html", file="index.html", line=3)
    assert str(error) == "html: index.html:3: boom"
    assert error.as_dict()["line"] == 3
