"""Every example under examples/ renders to a valid document that holds its data."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from pressroom.renderers.base import RenderRequest
from pressroom.renderers.registry import get_renderer

from ._support import assert_valid_pdf, load_example, pdf_text, requires_chromium, requires_soffice


def _render(name: str, fmt: str | None = None, engine: str | None = None) -> tuple[bytes, dict]:
    bundle, data = load_example(name)
    progress: list[float] = []
    result = get_renderer(engine or bundle.engine).render(
        RenderRequest(bundle, data, fmt), lambda percent, message: progress.append(percent)
    )
    assert progress and progress[-1] == 100
    assert progress == sorted(progress)
    return result.content, data


def test_invoice_html_to_pdf() -> None:
    """The HTML invoice is a valid one-page PDF with the customer, items and total."""
    content, data = _render("invoice")
    assert_valid_pdf(content)
    text = pdf_text(content)
    assert data["customer"]["name"] in text
    assert data["invoice"]["number"] in text
    assert "Offset printing, 500 copies" in text
    assert "€9,784.80" in text


def test_invoice_html_output_is_filled_markup() -> None:
    """The html engine can return the filled HTML instead of a PDF."""
    content, data = _render("invoice", "html")
    assert data["seller"]["name"].encode() in content and b"<svg" in content


@requires_chromium
def test_invoice_through_chromium() -> None:
    """The same invoice renders through Chromium to a PDF with the same text."""
    content, data = _render("invoice", engine="chromium")
    assert_valid_pdf(content)
    text = pdf_text(content)
    assert data["customer"]["name"] in text and "€9,784.80" in text


@requires_chromium
def test_chromium_leaves_no_event_loop_in_the_rendering_thread() -> None:
    """After a Chromium render (and after closing the browser), the thread that rendered can
    still run asyncio code: a task in the same worker child may call ``asyncio.run``."""
    code = (
        "import asyncio\n"
        "from pressroom.renderers.base import RenderRequest, TemplateBundle\n"
        "from pressroom.renderers.registry import get_renderer\n"
        "engine = get_renderer('chromium')\n"
        "bundle = TemplateBundle('chromium', 'index.html', {'index.html': b'<p>{{ x }}</p>'})\n"
        "assert engine.render(RenderRequest(bundle, {'x': 'one'}, 'pdf')).content[:4] == b'%PDF'\n"
        "assert asyncio.run(asyncio.sleep(0, 'ran')) == 'ran'\n"
        "assert engine.render(RenderRequest(bundle, {'x': 'two'}, 'pdf')).content[:4] == b'%PDF'\n"
        "engine.close()\n"
        "assert asyncio.run(asyncio.sleep(0, 'ran')) == 'ran'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_report_typst_with_contents_and_chart() -> None:
    """The Typst report has a table of contents, a chart and every region's data."""
    content, data = _render("report")
    assert_valid_pdf(content)
    text = pdf_text(content)
    assert "Contents" in text and "Revenue by region" in text
    for region in data["regions"]:
        assert region["name"] in text
    assert data["orders"][-1]["id"] in text


def test_report_typst_to_png_and_svg() -> None:
    """Typst also makes PNG and SVG pages."""
    png, _ = _render("report", "png")
    svg, _ = _render("report", "svg")
    assert png.startswith(b"\x89PNG") and b"<svg" in svg[:200]


def test_letter_markdown_to_pdf() -> None:
    """The Markdown letter renders with its table and the formatted amounts."""
    content, data = _render("letter")
    assert_valid_pdf(content)
    text = pdf_text(content)
    assert data["subject"] in text and "$1,645.50" in text and "October 6, 2025" in text


def test_resume_docx() -> None:
    """The résumé DOCX reopens with python-docx and holds every job and the footer."""
    import docx

    content, data = _render("resume")
    document = docx.Document(io.BytesIO(content))
    text = "\n".join(p.text for p in document.paragraphs)
    assert data["name"] in text
    for job in data["experience"]:
        assert job["company"] in text
    assert "Mar 2021 – present" in text
    cells = [c.text for row in document.tables[0].rows for c in row.cells]
    assert "University of Edinburgh" in cells
    assert data["name"] in document.sections[0].footer.paragraphs[0].text
    assert "{{" not in text and "{%" not in text


@requires_soffice
def test_resume_docx_to_pdf() -> None:
    """With LibreOffice installed the résumé converts to a valid PDF."""
    content, data = _render("resume", "pdf")
    assert_valid_pdf(content)
    assert data["name"] in pdf_text(content)


def test_sales_workbook_xlsx() -> None:
    """The sales workbook reopens with openpyxl with typed cells, formulas, filter and charts."""
    import openpyxl

    content, data = _render("sales")
    book = openpyxl.load_workbook(io.BytesIO(content))
    orders = book["Orders"]
    assert [c.value for c in orders[1]][:3] == ["Order", "Date", "Customer"]
    assert orders["A2"].value == data["orders"][0]["id"]
    assert orders["B2"].is_date
    assert orders["F2"].value == data["orders"][0]["net"]
    assert orders["G2"].value == "=F2*0.2"
    assert orders.freeze_panes == "A2"
    assert orders.auto_filter.ref == f"A1:H{len(data['orders']) + 1}"
    assert orders.cell(len(data["orders"]) + 2, 5).value.startswith("=SUBTOTAL(109")
    assert len(book["By region"]._charts) == 2


def test_quarterly_deck_pptx() -> None:
    """The deck reopens with python-pptx with its title, chart, table, image and notes."""
    import pptx

    content, data = _render("deck")
    deck = pptx.Presentation(io.BytesIO(content))
    slides = list(deck.slides)
    assert slides[0].shapes.title.text == "Q3 2025 business review"
    kinds = {shape.shape_type for slide in slides for shape in slide.shapes}
    assert {3, 13, 19} <= {int(k) for k in kinds}  # chart, picture, table
    table = next(s.table for slide in slides for s in slide.shapes if s.has_table)
    assert table.cell(1, 0).text == data["regions"][0]["name"]
    assert "€2,012,000.00" in slides[2].notes_slide.notes_text_frame.text
    assert deck.core_properties.author == data["presenter"]


@pytest.mark.parametrize("name", ["invoice", "report", "letter", "resume", "sales", "deck"])
def test_examples_render_twice_with_different_data(name: str) -> None:
    """Rendering an example again with changed data shows the new data (no stale cache)."""
    bundle, data = load_example(name)
    renderer = get_renderer(bundle.engine)
    data = dict(data)
    marker = "Zyxwv Marker"
    key = {
        "invoice": "note",
        "report": "summary",
        "letter": "closing",
        "resume": "summary",
        "sales": "company",
        "deck": "company",
    }[name]
    data[key] = marker
    content = renderer.render(RenderRequest(bundle, data)).content
    if content.startswith(b"%PDF"):
        assert marker in pdf_text(content)
    else:
        import zipfile

        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            blob = b"".join(archive.read(n) for n in archive.namelist() if n.endswith(".xml"))
        assert marker.encode() in blob
