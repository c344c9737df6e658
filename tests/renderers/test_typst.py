"""The Typst engine: data through sys.inputs, a sealed root, no packages, clear errors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from pressroom.renderers.base import RenderRequest, TemplateBundle
from pressroom.renderers.errors import LimitError, RefusedResourceError, TemplateError
from pressroom.renderers.registry import get_renderer

from ._support import pdf_text, render

HEAD = "#let data = json(bytes(sys.inputs.data))\n"


def test_data_arrives_as_json() -> None:
    """Values from the job's data appear in the document."""
    result = render(
        "typst",
        HEAD + "= Hello #data.name\n#for n in data.items [- #n\n]",
        {"name": "Ada", "items": ["one", "two"]},
    )
    assert result.page_count == 1
    text = pdf_text(result.content)
    assert "Hello Ada" in text and "two" in text


def test_reading_outside_the_root_fails() -> None:
    """``#read("/etc/passwd")`` resolves inside the fresh root and fails as file not found."""
    with pytest.raises(TemplateError, match="file not found") as info:
        render("typst", '#read("/etc/passwd")')
    assert "/tmp" not in str(info.value)
    assert (info.value.file, info.value.line) == ("main.typ", 1)


def test_relative_escape_from_the_root_fails() -> None:
    """``#read("../../etc/passwd")`` cannot leave the root either."""
    with pytest.raises(TemplateError):
        render("typst", '#read("../../../../../../etc/passwd")')


def test_preview_package_import_is_refused() -> None:
    """An ``@preview`` import is refused with the reason, before anything is downloaded."""
    with pytest.raises(RefusedResourceError, match="not downloaded") as info:
        render("typst", '#import "@preview/cetz:0.3.1": canvas\n#canvas({})')
    assert info.value.line == 1


def test_computed_package_import_cannot_reach_the_network() -> None:
    """A package name built at run time still fails: Typst's downloader has no way out."""
    with pytest.raises(RefusedResourceError, match="never downloaded"):
        render("typst", '#let ns = "pre" + "view"\n#import ("@" + ns + "/cetz:0.3.1"): *')


def test_symlink_in_a_template_folder_is_refused(tmp_path: Path) -> None:
    """A template folder holding a symlink to a secret cannot be loaded."""
    (tmp_path / "main.typ").write_text('#read("secret.txt")')
    os.symlink("/etc/passwd", tmp_path / "secret.txt")
    with pytest.raises(RefusedResourceError, match="symlink"):
        TemplateBundle.from_path(tmp_path)


def test_bundle_files_are_readable() -> None:
    """The template reads its own files and images."""
    result = render(
        "typst", '#let t = read("notes/a.txt")\nNote: #t', files={"notes/a.txt": "from the bundle"}
    )
    assert "from the bundle" in pdf_text(result.content)


def test_errors_name_file_and_line() -> None:
    """An unknown variable fails with the file, line and Typst's message."""
    with pytest.raises(TemplateError, match="unknown variable") as info:
        render("typst", "ok\n\n#nosuchthing")
    assert (info.value.file, info.value.line) == ("main.typ", 3)


def test_page_cap() -> None:
    """A document longer than the page cap is refused."""
    source = "#for i in range(30) [Page #i #pagebreak()]"
    with pytest.raises(LimitError, match="more than 10 pages"):
        render("typst", source, options={"max_pages": 10})


def test_pdf_standard_and_formats() -> None:
    """PDF/A output and PNG/SVG page selection work."""
    pdf = render("typst", "Archive", options={"pdf_standard": "a-2b"})
    assert b"pdfaid" in pdf.content or pdf.content.startswith(b"%PDF")
    pages = "One #pagebreak() Two"
    png = render("typst", pages, fmt="png", options={"page": 2, "ppi": 36})
    assert png.content.startswith(b"\x89PNG") and png.page_count == 2
    with pytest.raises(TemplateError, match="has 2 pages"):
        render("typst", pages, fmt="svg", options={"page": 3})


def test_fresh_data_each_render() -> None:
    """Typst's memoization never serves an earlier render's data."""
    renderer = get_renderer("typst")
    bundle = TemplateBundle.inline("typst", HEAD + "Value: #data.v")
    texts: list[Any] = [
        pdf_text(renderer.render(RenderRequest(bundle, {"v": f"run{i}"})).content) for i in range(3)
    ]
    assert all(f"run{i}" in text for i, text in enumerate(texts))
