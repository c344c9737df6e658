"""Write the benchmark's DOCX invoice template (docxtpl syntax) with python-docx.

The template reads the data of ``examples/invoice`` (see ``docdata.invoice``): header, parties,
one table row per line item (``{%tr for %}``), totals and payment terms. It is generated at
benchmark time rather than committed: ``write_template(folder)`` returns the bundle folder.
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Mm, Pt, RGBColor

NAVY = RGBColor(0x16, 0x32, 0x4F)
GREY = RGBColor(0x6B, 0x7A, 0x89)
SUBTOTAL = (
    "{% set ns = namespace(s=0) %}{% for i in items %}"
    "{% set ns.s = ns.s + i.quantity * i.unit_price %}{% endfor %}"
)


def write_template(folder: Path) -> Path:
    """Write ``folder/template.docx``; return ``folder``."""
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(18)
    doc.styles["Normal"].font.name = "DejaVu Sans"
    doc.styles["Normal"].font.size = Pt(9.5)

    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    run = title.add_run("Invoice {{ invoice.number }}")
    run.bold, run.font.size, run.font.color.rgb = True, Pt(22), NAVY
    dates = doc.add_paragraph(
        "Date {{ invoice.date | format_date('long', locale) }} · "
        "due {{ invoice.due | format_date('long', locale) }}"
    )
    dates.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    seller = doc.add_paragraph()
    seller.add_run("{{ seller.name }}").bold = True
    seller.add_run("\n{{ seller.address | join(', ') }}\nVAT {{ seller.vat_id }}")
    label = doc.add_paragraph().add_run("BILL TO")
    label.font.size, label.font.color.rgb = Pt(8.5), GREY
    customer = doc.add_paragraph()
    customer.add_run("{{ customer.name }}").bold = True
    customer.add_run("\n{{ customer.address | join(', ') }}")

    table = doc.add_table(rows=4, cols=4)
    table.style = "Light List Accent 1"
    for cell, text in zip(
        table.rows[0].cells, ("Description", "Qty", "Unit price", "Amount"), strict=True
    ):
        cell.text = text
    table.cell(1, 0).text = "{%tr for item in items %}"
    row = table.rows[2].cells
    row[0].text = "{{ item.description }}"
    row[1].text = "{{ item.quantity | format_number(locale) }}"
    row[2].text = "{{ item.unit_price | format_currency(currency, locale) }}"
    row[3].text = "{{ (item.quantity * item.unit_price) | format_currency(currency, locale) }}"
    table.cell(3, 0).text = "{%tr endfor %}"
    for cell in row[1:]:
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT

    totals = doc.add_paragraph()
    totals.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    totals.add_run(
        SUBTOTAL + "Subtotal {{ ns.s | format_currency(currency, locale) }}\n"
        "VAT {{ tax_rate | format_percent(locale) }}: "
        "{{ (ns.s * tax_rate) | format_currency(currency, locale) }}\n"
    )
    grand = totals.add_run(
        "Total due {{ (ns.s * (1 + tax_rate)) | format_currency(currency, locale) }}"
    )
    grand.bold, grand.font.size, grand.font.color.rgb = True, Pt(11), NAVY

    label = doc.add_paragraph().add_run("PAYMENT")
    label.font.size, label.font.color.rgb = Pt(8.5), GREY
    doc.add_paragraph(
        "Please transfer the total to IBAN {{ seller.iban }} by "
        "{{ invoice.due | format_date('medium', locale) }}, quoting {{ invoice.number }}."
    )
    note = doc.add_paragraph().add_run("{{ note }}")
    note.font.size, note.font.color.rgb = Pt(8.5), GREY
    footer = section.footer.paragraphs[0]
    footer.text = "{{ seller.name }} · {{ payment_url }}"
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER

    folder.mkdir(parents=True, exist_ok=True)
    doc.save(str(folder / "template.docx"))
    return folder


if __name__ == "__main__":
    print(write_template(Path(__file__).resolve().parent / "out" / "templates" / "invoice-docx"))
