"""The Typst engine: data through sys.inputs, a sealed root, no packages, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pressroom.renderers.base import RenderRequest, TemplateBundle
from pressroom.renderers.errors import LimitError, RefusedResourceError, TemplateError
from pressroom.renderers.registry import get_renderer
from pressroom.renderers.settings import RendererSettings
from pressroom.renderers.typst import ROOTS_PREFIX, TypstRenderer, remove_stale_roots

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


TABLE = HEAD + (
    "#set text(8pt)\n"
    "#table(columns: 3, ..data.rows.map(r => (r.at(0), r.at(1), str(r.at(2)))).flatten())\n"
)


def _table_data(seed: int, rows: int) -> dict[str, Any]:
    """A table of ``rows`` rows that differs for every ``seed``."""
    return {
        "rows": [[f"row {seed}-{i}", f"customer {i * seed}", i * 7 + seed] for i in range(rows)]
    }


def test_cache_is_cleared_once_renders_grow_the_process() -> None:
    """Distinct documents that grow the process past ``typst_cache_mb`` clear Typst's cache;
    small ones under the default limit never do."""
    bundle = TemplateBundle.inline("typst", TABLE)
    small = TypstRenderer(RendererSettings())
    for seed in range(4):
        small.render(RenderRequest(bundle, _table_data(seed, 5)))
    assert small.cache_clears == 0
    tight = TypstRenderer(RendererSettings(typst_cache_mb=1))
    for seed in range(3):
        result = tight.render(RenderRequest(bundle, _table_data(seed, 400)))
        assert f"row {seed}-399" in pdf_text(result.content)
    assert tight.cache_clears >= 1


MEMORY_PROBE = """
import json, sys
import psutil
from pressroom.renderers.base import RenderRequest, TemplateBundle
from pressroom.renderers.settings import RendererSettings
from pressroom.renderers.typst import ROOTS_PREFIX, TypstRenderer, remove_stale_roots
source, limit = sys.argv[1], float(sys.argv[2])
renderer = TypstRenderer(RendererSettings(typst_cache_mb=limit))
bundle = TemplateBundle.inline("typst", source)
def data(seed):
    return {"rows": [[f"row {seed}-{i}", f"customer {i * seed}", i * 7 + seed] for i in range(600)]}
renderer.render(RenderRequest(bundle, data(0)))
start = psutil.Process().memory_info().rss
for seed in range(1, 9):
    renderer.render(RenderRequest(bundle, data(seed)))
grown = psutil.Process().memory_info().rss - start
print(json.dumps({"grown_mb": grown / 2**20, "clears": renderer.cache_clears}))
"""


def test_clearing_the_cache_bounds_memory_across_distinct_documents() -> None:
    """Across eight distinct 600-row documents the process grows several times less with the
    cache cleared (limit 32 MB) than with clearing off, in fresh processes."""

    def grown(limit: float) -> dict[str, float]:
        out = subprocess.run(
            [sys.executable, "-c", MEMORY_PROBE, TABLE, str(limit)],
            check=True,
            capture_output=True,
            text=True,
            timeout=100,
        )
        return dict(json.loads(out.stdout))

    cleared, kept = grown(32), grown(0)
    assert cleared["clears"] >= 2 and kept["clears"] == 0
    assert kept["grown_mb"] > 100, kept
    assert cleared["grown_mb"] < kept["grown_mb"] / 2, (cleared, kept)


def test_a_root_holds_only_its_own_bundles_files() -> None:
    """Roots are reused per bundle content, yet a bundle never sees another bundle's files."""
    reader = HEAD + '#read("secret.txt")'
    with_secret = TemplateBundle.inline("typst", reader, {"secret.txt": "s3cr3t-value"})
    without = TemplateBundle.inline("typst", reader)
    renderer = get_renderer("typst")
    for _ in range(2):
        shown = renderer.render(RenderRequest(with_secret, {})).content
        assert "s3cr3t-value" in pdf_text(shown)
        with pytest.raises(TemplateError, match="file not found"):
            renderer.render(RenderRequest(without, {}))


def test_page_count_is_not_fooled_by_text_in_the_pdf() -> None:
    """A title spelling out a page-tree count neither lowers the page count nor the cap."""
    source = '#set document(title: "/Type/Pages/Count 1")\nA #pagebreak() B #pagebreak() C'
    assert render("typst", source).page_count == 3
    with pytest.raises(LimitError):
        render("typst", source, options={"max_pages": 2})


def test_roots_of_processes_that_are_gone_are_removed(tmp_path: Path) -> None:
    """Root folders of a dead process are removed; a live process's are kept."""
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    stale = tmp_path / f"{ROOTS_PREFIX}{dead.stdout.strip()}-abc"
    live = tmp_path / f"{ROOTS_PREFIX}{os.getpid()}-def"
    for folder in (stale, live):
        (folder / "root").mkdir(parents=True)
    remove_stale_roots(str(tmp_path))
    assert not stale.exists() and live.exists()
