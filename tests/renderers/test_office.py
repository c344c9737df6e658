"""DOCX, XLSX and PPTX engines: sandboxed filling, upload guards, data never becomes code."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest

from pressroom.renderers.base import RenderRequest, TemplateBundle
from pressroom.renderers.errors import (
    EngineUnavailableError,
    LimitError,
    RefusedResourceError,
    SandboxError,
    TemplateError,
    UnsafeUploadError,
)
from pressroom.renderers.registry import get_renderer
from pressroom.renderers.settings import RendererSettings

from ._support import load_example, render

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
<w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>"""


def docx_with(*paragraphs: str) -> bytes:
    """A DOCX file whose body holds the given paragraphs."""
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def replace_part(content: bytes, name: str, data: bytes) -> bytes:
    """A copy of an Office zip with one part replaced (or added)."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename != name:
                target.writestr(item, source.read(item))
        target.writestr(name, data)
    return out.getvalue()


def fill_docx(content: bytes, data: dict[str, Any], fmt: str | None = None) -> bytes:
    """Render a DOCX template with data through the docx engine."""
    bundle = TemplateBundle("docx", "template.docx", {"template.docx": content})
    return get_renderer("docx").render(RenderRequest(bundle, data, fmt)).content


def docx_text(content: bytes) -> str:
    """All paragraph text of a DOCX."""
    import docx

    return "\n".join(p.text for p in docx.Document(io.BytesIO(content)).paragraphs)


# --- docx -------------------------------------------------------------------------------------
def test_docx_fills_values_loops_and_helpers() -> None:
    """Values, loops and the formatting helpers work inside a DOCX template."""
    template = docx_with(
        "Dear {{ name }},",
        "{%p for i in items %}",
        "- {{ i }}",
        "{%p endfor %}",
        "Total {{ total|format_currency('EUR', 'de_DE') }}",
    )
    text = docx_text(fill_docx(template, {"name": "Ada", "items": ["a", "b"], "total": 12.5}))
    assert "Dear Ada," in text and "- b" in text and "12,50" in text


@pytest.mark.parametrize(
    "payload",
    [
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ ''|attr('__class__') }}",
    ],
)
def test_docx_ssti_payload_is_refused(payload: str) -> None:
    """A DOCX template carrying an SSTI payload fails in the sandbox, naming the file."""
    with pytest.raises(SandboxError) as info:
        fill_docx(docx_with("Hello", payload), {})
    assert info.value.file == "template.docx"


def test_docx_huge_string_is_refused() -> None:
    """``'x' * 10**9`` in a DOCX template is a limit error, not an out-of-memory crash."""
    with pytest.raises(LimitError, match="allows"):
        fill_docx(docx_with("{{ 'x' * 10**9 }}"), {})


def test_docx_undefined_variable_is_a_template_error() -> None:
    """A missing data field fails permanently with its name."""
    with pytest.raises(TemplateError, match="customer"):
        fill_docx(docx_with("{{ customer.name }}"), {})


def test_docx_data_cannot_inject_xml() -> None:
    """Markup in the data is escaped into the document text."""
    text = docx_text(fill_docx(docx_with("{{ v }}"), {"v": "</w:t><w:t>&injected<"}))
    assert "</w:t><w:t>&injected<" in text


def test_docx_billion_laughs_is_refused() -> None:
    """A DOCX whose document part declares entities is refused before parsing."""
    bomb = replace_part(docx_with("x"), "word/document.xml", BILLION_LAUGHS)
    with pytest.raises(UnsafeUploadError, match="DOCTYPE"):
        fill_docx(bomb, {})


def test_docx_zip_bomb_is_refused() -> None:
    """A DOCX holding a part that inflates enormously is refused by the zip guard."""
    bomb = replace_part(docx_with("x"), "word/media/bomb.bin", b"\0" * 40_000_000)
    with pytest.raises(UnsafeUploadError, match="zip bomb"):
        fill_docx(bomb, {})


@pytest.mark.parametrize("name", ["../evil.xml", "/abs.xml", "word\\x.xml"])
def test_office_zip_entry_names_are_checked(name: str) -> None:
    """Archive entries with traversal or absolute names are refused."""
    with pytest.raises(UnsafeUploadError, match="not allowed"):
        fill_docx(replace_part(docx_with("x"), name, b"<x/>"), {})


def test_docx_external_relationship_is_refused() -> None:
    """A template linking an external image (fetched by converters) is refused."""
    content = docx_with("x")
    rels = zipfile.ZipFile(io.BytesIO(content)).read("word/_rels/document.xml.rels")
    evil = rels.replace(
        b"</Relationships>",
        b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        b'relationships/image" Target="file:///etc/passwd" TargetMode="External"/>'
        b"</Relationships>",
    )
    with pytest.raises(RefusedResourceError, match="external resource"):
        fill_docx(replace_part(content, "word/_rels/document.xml.rels", evil), {})


def test_docx_template_checks_run_once_per_content(monkeypatch: pytest.MonkeyPatch) -> None:
    """A template's upload checks run on its first render only; an unsafe template is refused
    on every render, never remembered as checked."""
    import pressroom.renderers.docx as docx_engine

    calls: list[int] = []
    real = docx_engine.check_office_file

    def counting(content: bytes, **kwargs: Any) -> None:
        calls.append(len(content))
        real(content, **kwargs)

    monkeypatch.setattr(docx_engine, "check_office_file", counting)
    template = docx_with("Hello {{ name }}", "unique 5b1d")
    for name in ("Ada", "Grace", "Edsger"):
        assert f"Hello {name}" in docx_text(fill_docx(template, {"name": name}))
    assert len(calls) == 1
    bomb = replace_part(docx_with("unique 9c2e"), "word/document.xml", BILLION_LAUGHS)
    for _ in range(2):
        with pytest.raises(UnsafeUploadError):
            fill_docx(bomb, {})
    assert len(calls) == 3


def test_docx_pdf_without_libreoffice_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """Asking for PDF where LibreOffice is missing fails with a clear, permanent error."""
    monkeypatch.setattr(RendererSettings, "find_soffice", lambda self: None)
    with pytest.raises(EngineUnavailableError, match="LibreOffice"):
        fill_docx(docx_with("x"), {}, "pdf")


# --- xlsx -------------------------------------------------------------------------------------
def xlsx_spec(spec: dict[str, Any], data: dict[str, Any]) -> Any:
    """Render an xlsx spec and reopen the workbook with openpyxl."""
    import openpyxl

    result = render("xlsx", json.dumps(spec), data)
    return openpyxl.load_workbook(io.BytesIO(result.content))


def test_xlsx_data_never_becomes_a_formula() -> None:
    """A string from data that starts with '=' is stored as text, not as a formula."""
    book = xlsx_spec(
        {"sheets": [{"name": "S", "rows": "{{ rows }}", "columns": [{"header": "A", "key": "a"}]}]},
        {"rows": [{"a": '=HYPERLINK("http://evil","x")'}, {"a": "=1+1"}]},
    )
    sheet = book["S"]
    assert sheet["A2"].data_type == "s" and sheet["A3"].data_type == "s"


def test_xlsx_spec_errors_are_template_errors() -> None:
    """Invalid JSON and a bad spec are reported with the file and line."""
    with pytest.raises(TemplateError) as info:
        render("xlsx", '{\n "sheets": [\n }')
    assert info.value.line == 3
    with pytest.raises(TemplateError, match="sheets"):
        render("xlsx", "{}")


def test_xlsx_row_cap() -> None:
    """A sheet with more rows than the cap is refused before writing."""
    from pressroom.renderers.limits import RenderLimits

    settings = RendererSettings(limits=RenderLimits(max_rows=10))
    with pytest.raises(LimitError, match="cap"):
        render(
            "xlsx",
            json.dumps({"sheets": [{"rows": "{{ rows }}"}]}),
            {"rows": [[i] for i in range(11)]},
            settings=settings,
        )


def _xlsx_template() -> bytes:
    import openpyxl
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Report"
    sheet["A1"] = "Customer: {{ customer }}"
    sheet["A1"].font = Font(bold=True)
    sheet["A3"], sheet["B3"] = "Item", "Amount"
    sheet["A4"] = "{% for row in rows %}{{ row.name }}"
    sheet["B4"] = "{{ row.amount }}"
    sheet["A5"] = "Total"
    sheet["B5"] = "{{ rows | sum(attribute='amount') }}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_template_is_filled() -> None:
    """An uploaded XLSX template gets its placeholders filled and its loop rows repeated."""
    import openpyxl

    bundle = TemplateBundle("xlsx", "report.xlsx", {"report.xlsx": _xlsx_template()})
    data = {
        "customer": "Acme",
        "rows": [
            {"name": "a", "amount": 1.5},
            {"name": "=b", "amount": 2},
            {"name": "c", "amount": 3},
        ],
    }
    result = get_renderer("xlsx").render(RenderRequest(bundle, data))
    sheet = openpyxl.load_workbook(io.BytesIO(result.content))["Report"]
    assert sheet["A1"].value == "Customer: Acme" and sheet["A1"].font.bold
    assert [sheet.cell(r, 1).value for r in range(4, 8)] == ["a", "=b", "c", "Total"]
    assert sheet["A5"].data_type == "s"
    assert sheet["B4"].value == 1.5 and sheet["B7"].value == 6.5


def test_xlsx_template_billion_laughs_is_refused() -> None:
    """An uploaded XLSX with an entity declaration in a part is refused."""
    bomb = replace_part(_xlsx_template(), "xl/sharedStrings.xml", BILLION_LAUGHS)
    bundle = TemplateBundle("xlsx", "report.xlsx", {"report.xlsx": bomb})
    with pytest.raises(UnsafeUploadError, match="DOCTYPE"):
        get_renderer("xlsx").render(RenderRequest(bundle, {}))


def test_xlsx_template_zip_bomb_is_refused() -> None:
    """An uploaded XLSX that inflates enormously is refused."""
    bomb = replace_part(_xlsx_template(), "xl/worksheets/sheet2.xml", b" " * 40_000_000)
    bundle = TemplateBundle("xlsx", "report.xlsx", {"report.xlsx": bomb})
    with pytest.raises(UnsafeUploadError, match="zip bomb"):
        get_renderer("xlsx").render(RenderRequest(bundle, {}))


def test_xlsx_template_ssti_is_refused() -> None:
    """Template cells are rendered in the sandbox too."""
    import openpyxl

    book = openpyxl.Workbook()
    book.active["A1"] = "{{ cycler.__init__.__globals__ }}"
    out = io.BytesIO()
    book.save(out)
    bundle = TemplateBundle("xlsx", "t.xlsx", {"t.xlsx": out.getvalue()})
    with pytest.raises(SandboxError):
        get_renderer("xlsx").render(RenderRequest(bundle, {}))


# --- pptx -------------------------------------------------------------------------------------
def test_pptx_uses_layouts_from_a_template() -> None:
    """A deck built on an uploaded template uses its layouts, chosen by name."""
    import pptx

    base = io.BytesIO()
    pptx.Presentation().save(base)
    spec = {
        "template": "brand.pptx",
        "slides": [{"type": "bullets", "layout": "Title Only", "title": "{{ t }}"}],
    }
    bundle = TemplateBundle(
        "pptx",
        "deck.pptx.json",
        {"deck.pptx.json": json.dumps(spec).encode(), "brand.pptx": base.getvalue()},
    )
    result = get_renderer("pptx").render(RenderRequest(bundle, {"t": "Hi"}))
    deck = pptx.Presentation(io.BytesIO(result.content))
    slide = deck.slides[0]
    assert slide.slide_layout.name == "Title Only" and slide.shapes.title.text == "Hi"
    spec["slides"][0]["layout"] = "Nope"
    bad = TemplateBundle(
        "pptx",
        "deck.pptx.json",
        {"deck.pptx.json": json.dumps(spec).encode(), "brand.pptx": base.getvalue()},
    )
    with pytest.raises(TemplateError, match="no slide layout named"):
        get_renderer("pptx").render(RenderRequest(bad, {"t": "Hi"}))


def test_pptx_template_billion_laughs_is_refused() -> None:
    """An uploaded PPTX template with an entity declaration is refused."""
    import pptx

    base = io.BytesIO()
    pptx.Presentation().save(base)
    bomb = replace_part(base.getvalue(), "ppt/presentation.xml", BILLION_LAUGHS)
    bundle = TemplateBundle(
        "pptx",
        "deck.pptx.json",
        {"deck.pptx.json": b'{"template": "b.pptx", "slides": []}', "b.pptx": bomb},
    )
    with pytest.raises(UnsafeUploadError, match="DOCTYPE"):
        get_renderer("pptx").render(RenderRequest(bundle, {}))


def test_pptx_ssti_in_spec_is_refused() -> None:
    """Jinja values in a deck spec are sandboxed."""
    spec = {"slides": [{"type": "title", "title": "{{ ''.__class__.__mro__ }}"}]}
    with pytest.raises(SandboxError):
        render("pptx", json.dumps(spec))


def test_pptx_missing_image_is_a_template_error() -> None:
    """An image slide naming a file the bundle lacks fails with the name."""
    bundle, data = load_example("deck")
    files = {k: v for k, v in bundle.files.items() if k != "press.png"}
    with pytest.raises(TemplateError, match=r"press\.png"):
        get_renderer("pptx").render(RenderRequest(TemplateBundle("pptx", bundle.main, files), data))
