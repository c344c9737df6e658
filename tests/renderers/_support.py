"""Helpers for the renderer tests: example bundles, inline renders, PDF checks."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from pressroom.renderers.base import Rendered, RenderRequest, TemplateBundle
from pressroom.renderers.registry import get_renderer
from pressroom.renderers.settings import RendererSettings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load_example(name: str) -> tuple[TemplateBundle, dict[str, Any]]:
    """The bundle and sample data of one folder under ``examples/``."""
    folder = EXAMPLES / name
    bundle = TemplateBundle.from_path(folder)
    files = {k: v for k, v in bundle.files.items() if k != "data.json"}
    data = json.loads((folder / "data.json").read_text(encoding="utf-8"))
    return TemplateBundle(bundle.engine, bundle.main, files), data


def render(
    engine: str,
    source: str | bytes,
    data: dict[str, Any] | None = None,
    *,
    files: dict[str, str | bytes] | None = None,
    fmt: str | None = None,
    options: dict[str, Any] | None = None,
    settings: RendererSettings | None = None,
) -> Rendered:
    """Render an inline template with the process-wide renderer for ``engine``."""
    bundle = TemplateBundle.inline(engine, source, files)
    request = RenderRequest(bundle, data or {}, fmt, options or {})
    return get_renderer(engine, settings).render(request)


def pdf_text(content: bytes) -> str:
    """The text of a PDF, by pdftotext when installed, else by pypdf."""
    if shutil.which("pdftotext"):
        done = subprocess.run(
            ["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True
        )
        return done.stdout.decode("utf-8", "replace")
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages)


def assert_valid_pdf(content: bytes) -> None:
    """The bytes are a PDF that qpdf (when installed) finds no error in."""
    assert content.startswith(b"%PDF-")
    if shutil.which("qpdf"):
        with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
            handle.write(content)
            handle.flush()
            done = subprocess.run(["qpdf", "--check", handle.name], capture_output=True)
        if done.returncode not in (0, 3):  # 3: warnings only
            pytest.fail(f"qpdf --check failed: {done.stdout.decode()[-500:]}")


def chromium_available() -> bool:
    """Whether a Chromium binary and Playwright are present here."""
    return get_renderer("chromium").available()


requires_chromium = pytest.mark.skipif(
    not chromium_available(),
    reason="no Chromium binary (install Debian's chromium or set PRESSROOM_CHROMIUM_PATH)",
)
requires_soffice = pytest.mark.skipif(
    RendererSettings().find_soffice() is None, reason="LibreOffice (soffice) is not installed"
)
