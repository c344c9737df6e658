"""Build examples/resume/template.docx, the résumé template for the ``docx`` engine.

Run it with ``python examples/make_docx_template.py``; the output is committed, so this is only
needed after changing the layout. The template uses docxtpl's syntax: ``{{ … }}`` for values,
``{%p for … %}`` / ``{%p endfor %}`` paragraphs for loops and ``{%tr … %}`` rows in tables.
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

NAVY = RGBColor(0x16, 0x32, 0x4F)
GREY = RGBColor(0x6B, 0x7A, 0x89)
OUT = Path(__file__).parent / "resume" / "template.docx"


def rule(paragraph) -> None:  # type: ignore[no-untyped-def]
    """Draw a thin line under a paragraph."""
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("val", "single"), ("sz", "6"), ("space", "1"), ("color", "16324F")):
        bottom.set(qn(f"w:{key}"), value)
    borders.append(bottom)
    paragraph._p.get_or_add_pPr().append(borders)


def heading(doc, text: str):  # type: ignore[no-untyped-def]
    """A section heading in small capitals with a rule."""
    p = doc.add_paragraph()
    p.paragraph_format.space_before = Pt(12)
    p.paragraph_format.space_after = Pt(4)
    run = p.add_run(text.upper())
    run.bold, run.font.size, run.font.color.rgb = True, Pt(10), NAVY
    rule(p)
    return p


def main() -> None:
    """Write the template."""
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(20)
    section.top_margin, section.bottom_margin = Mm(18), Mm(18)
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = "DejaVu Sans", Pt(9.5)

    name = doc.add_paragraph()
    run = name.add_run("{{ name }}")
    run.bold, run.font.size, run.font.color.rgb = True, Pt(24), NAVY
    name.paragraph_format.space_after = Pt(0)
    role = doc.add_paragraph()
    run = role.add_run("{{ headline }}")
    run.font.size, run.font.color.rgb = Pt(12), GREY
    contact = doc.add_paragraph("{{ email }}  ·  {{ phone }}  ·  {{ city }}  ·  {{ website }}")
    contact.runs[0].font.size = Pt(9)

    heading(doc, "Profile")
    doc.add_paragraph("{{ summary }}")

    heading(doc, "Experience")
    doc.add_paragraph("{%p for job in experience %}")
    title = doc.add_paragraph()
    title.paragraph_format.space_before = Pt(6)
    title.paragraph_format.space_after = Pt(0)
    run = title.add_run("{{ job.title }}")
    run.bold = True
    title.add_run(" — {{ job.company }}")
    dates = doc.add_paragraph()
    run = dates.add_run(
        "{{ job.start | format_date('MMM yyyy', locale) }} – "
        "{% if job.end %}{{ job.end | format_date('MMM yyyy', locale) }}"
        "{% else %}present{% endif %}  ·  {{ job.location }}"
    )
    run.font.size, run.font.color.rgb = Pt(8.5), GREY
    dates.paragraph_format.space_after = Pt(2)
    doc.add_paragraph("{%p for point in job.highlights %}")
    doc.add_paragraph("{{ point }}", style="List Bullet")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{%p endfor %}")

    heading(doc, "Education")
    table = doc.add_table(rows=3, cols=3)
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    table.cell(0, 0).text = "{%tr for school in education %}"
    table.cell(1, 0).text = "{{ school.degree }}"
    table.cell(1, 1).text = "{{ school.institution }}"
    table.cell(1, 2).text = "{{ school.year }}"
    table.cell(1, 2).paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    table.cell(2, 0).text = "{%tr endfor %}"
    for row in table.rows:
        row.cells[0].width, row.cells[1].width, row.cells[2].width = Mm(75), Mm(75), Mm(20)

    heading(doc, "Skills")
    doc.add_paragraph("{{ skills | join('  ·  ') }}")
    heading(doc, "Languages")
    doc.add_paragraph(
        "{% for lang in languages %}{{ lang.name }} ({{ lang.level }})"
        "{% if not loop.last %}, {% endif %}{% endfor %}"
    )

    footer = section.footer.paragraphs[0]
    footer.text = "{{ name }} — curriculum vitae"
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.runs[0].font.size, footer.runs[0].font.color.rgb = Pt(8), GREY

    doc.core_properties.title = "Curriculum vitae"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(OUT))


if __name__ == "__main__":
    main()
