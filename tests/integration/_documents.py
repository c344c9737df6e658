"""Helpers for the render-job tests: the examples, and checks that a document holds its data."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.renderers._support import assert_valid_pdf, pdf_text

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = ROOT / "examples"
EXAMPLES = ("invoice", "report", "letter", "resume", "sales", "deck")


def example_data(name: str) -> dict[str, Any]:
    """The sample data beside an example template."""
    data: dict[str, Any] = json.loads((EXAMPLES_DIR / name / "data.json").read_text("utf-8"))
    return data


def _office_text(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return "".join(
            archive.read(n).decode("utf-8", "replace")
            for n in archive.namelist()
            if n.endswith(".xml")
        )


def expected_texts(name: str, data: dict[str, Any]) -> list[str]:
    """Strings from the data that the rendered example must contain."""
    picks: dict[str, Callable[[dict[str, Any]], list[str]]] = {
        "invoice": lambda d: [d["customer"]["name"], d["invoice"]["number"]],
        "report": lambda d: [r["name"] for r in d["regions"]],
        "letter": lambda d: [d["subject"]],
        "resume": lambda d: [d["name"], d["experience"][0]["company"]],
        "sales": lambda d: [d["orders"][0]["id"], d["company"]],
        "deck": lambda d: [d["company"], d["regions"][0]["name"]],
    }
    return picks[name](data)


def check_document(name: str, content: bytes, data: dict[str, Any]) -> None:
    """The document is valid for its format (PDFs pass qpdf; Office files reopen with their
    library) and holds the data's text."""
    if content.startswith(b"%PDF-"):
        assert_valid_pdf(content)
        text = pdf_text(content)
    else:
        if name == "resume":
            import docx

            docx.Document(io.BytesIO(content))
        elif name == "sales":
            import openpyxl

            openpyxl.load_workbook(io.BytesIO(content))
        elif name == "deck":
            import pptx

            pptx.Presentation(io.BytesIO(content))
        text = _office_text(content)
    for expected in expected_texts(name, data):
        assert expected in text, f"{name}: {expected!r} not in the document"
