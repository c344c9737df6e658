"""Subprocess side of the documents benchmark (``bench/documents.py`` starts these).

* ``bare``: the bare loop. One of N processes renders its share of a JSON-lines file of data
  sets by calling the library directly (Jinja2 + WeasyPrint, typst-py, docxtpl), writes each
  document to a file, and records each completion time. No queue, no sandbox, no checks.
* ``speed``: one warm process renders invoices and the 20-page report through Pressroom's
  renderers (``render_bundle``, as a worker child does), engines interleaved, a different data
  set every render; prints per-render seconds as JSON.
* ``xlsx``: a fresh process renders a 100,000 x 10 workbook through the ``xlsx`` engine and
  prints its peak RSS (``VmHWM``) before and after.

Every command prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docdata

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


def _maxrss_mb() -> float:
    """This process's peak RSS in MB: ``VmHWM``, which starts afresh at exec, whereas
    ``ru_maxrss`` keeps the peak of the process that forked us (the benchmark runner)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------------------------
# The bare loop


def bare_html(template: Path) -> Callable[[dict[str, Any], Path], None]:
    """Jinja2 (autoescape, the same formatting helpers) then WeasyPrint, one font config."""
    import jinja2
    from markupsafe import Markup
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    from pressroom.renderers import charts, helpers

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template)), autoescape=True, trim_blocks=False
    )
    for name, fn in helpers.FORMATTERS.items():
        env.filters[name] = fn
        env.globals[name] = fn
    drawers = {**helpers.CODES, "bar_chart": charts.bar_chart}
    for name, fn in drawers.items():
        env.globals[name] = lambda *a, _fn=fn, **k: Markup(_fn(*a, **k))
    page = env.get_template("index.html")
    fonts = FontConfiguration()
    base = template.resolve().as_uri() + "/"

    def render(data: dict[str, Any], out: Path) -> None:
        html = page.render(**data, data=data)
        HTML(string=html, base_url=base).write_pdf(str(out), font_config=fonts)

    return render


def bare_typst(template: Path) -> Callable[[dict[str, Any], Path], None]:
    """One typst-py Compiler on the template folder, data through sys_inputs."""
    import typst

    fonts = typst.Fonts(include_system_fonts=True, include_embedded_fonts=True)
    compiler = typst.Compiler(root=str(template), font_paths=fonts)
    main = str(template / "main.typ")

    def render(data: dict[str, Any], out: Path) -> None:
        compiler.compile(input=main, output=str(out), sys_inputs={"data": json.dumps(data)})

    return render


def bare_docx(template: Path) -> Callable[[dict[str, Any], Path], None]:
    """docxtpl with a Jinja2 environment holding the same formatting helpers."""
    import jinja2
    from docxtpl import DocxTemplate

    from pressroom.renderers import helpers

    env = jinja2.Environment(autoescape=True)
    for name, fn in helpers.FORMATTERS.items():
        env.filters[name] = fn
        env.globals[name] = fn
    path = str(template / "template.docx")

    def render(data: dict[str, Any], out: Path) -> None:
        doc = DocxTemplate(path)
        doc.render(data, jinja_env=env)
        doc.save(str(out))

    return render


BARE = {"html": bare_html, "typst": bare_typst, "docx": bare_docx}
SUFFIX = {"html": "pdf", "typst": "pdf", "docx": "docx"}


def cmd_bare(args: argparse.Namespace) -> dict[str, Any]:
    """Without ``--shard``: start ``shards`` processes (in this process's session, so the
    scheduler treats them as one group, as it does a worker and its children) and merge what
    they return. With it: render every ``shards``-th data set from ``shard`` on and return
    the completion times and the process's CPU time after each document."""
    if args.shard is None:
        procs = [
            subprocess.Popen(
                [sys.executable, __file__, *sys.argv[1:], "--shard", str(shard)],
                stdout=subprocess.PIPE,
            )
            for shard in range(args.shards)
        ]
        parts = [json.loads(proc.communicate()[0]) for proc in procs]
        if any(proc.returncode for proc in procs):
            raise RuntimeError("a bare loop process failed")
        return {
            "done": [t for part in parts for t in part["done"]],
            "shards": [{"cpu": part["cpu"]} for part in parts],
            "maxrss_mb": max(part["maxrss_mb"] for part in parts),
        }
    lines = args.data.read_text().splitlines()
    mine = [(i, json.loads(line)) for i, line in enumerate(lines) if i % args.shards == args.shard]
    render = BARE[args.engine](args.template)
    args.out.mkdir(parents=True, exist_ok=True)
    done: list[float] = []
    cpu: list[float] = []
    for index, data in mine:
        render(data, args.out / f"{index:06d}.{SUFFIX[args.engine]}")
        done.append(time.time())
        cpu.append(time.process_time())
    # CPU per document is counted from the first document on (imports and fonts left out).
    return {"done": done, "cpu": cpu, "maxrss_mb": _maxrss_mb()}


# --------------------------------------------------------------------------------------------
# Renderer speed in one warm process


def cmd_speed(args: argparse.Namespace) -> dict[str, Any]:
    """Invoices (html, typst, chromium) then reports (typst, chromium, html), interleaved."""
    from pressroom.documents.task import render_bundle
    from pressroom.renderers import TemplateBundle, available

    engines = [e for e in ("html", "typst", "chromium") if e in available()]
    invoice_html = TemplateBundle.from_path(ROOT / "examples" / "invoice")
    invoice_typst = TemplateBundle.from_path(BENCH / "templates" / "invoice-typst")
    report_html = TemplateBundle.from_path(BENCH / "templates" / "report-html")
    report_typst = TemplateBundle.from_path(BENCH / "templates" / "report-typst")
    bundles = {
        ("invoice", "html"): invoice_html,
        ("invoice", "typst"): invoice_typst,
        ("invoice", "chromium"): TemplateBundle("chromium", invoice_html.main, invoice_html.files),
        ("report", "html"): report_html,
        ("report", "typst"): report_typst,
        ("report", "chromium"): TemplateBundle("chromium", report_html.main, report_html.files),
    }
    seed = args.seed
    times: dict[str, list[float]] = {}
    pages: dict[str, int | None] = {}

    def one(kind: str, engine: str, record: bool) -> None:
        nonlocal seed
        seed += 1
        data = docdata.invoice(seed) if kind == "invoice" else docdata.report(seed)
        t0 = time.perf_counter()
        doc = render_bundle(bundles[(kind, engine)], data, "pdf", {}, lambda *_: None)
        elapsed = time.perf_counter() - t0
        if record:
            times.setdefault(f"{kind}/{engine}", []).append(elapsed)
            pages[f"{kind}/{engine}"] = doc.page_count

    for engine in engines:  # warm-up: imports, fonts, the browser
        one("invoice", engine, record=False)
    for _ in range(args.invoices):
        for engine in engines:
            one("invoice", engine, record=True)
    for i in range(args.reports):
        order = engines[i % len(engines) :] + engines[: i % len(engines)]
        for engine in order:
            one("report", engine, record=True)
    return {"times": times, "pages": pages, "maxrss_mb": _maxrss_mb()}


# --------------------------------------------------------------------------------------------
# XLSX in constant memory


XLSX_COLUMNS = [
    {"header": "Order", "key": 0},
    {"header": "Date", "key": 1, "type": "date"},
    {"header": "Customer", "key": 2, "width": 24},
    {"header": "Region", "key": 3},
    {"header": "Units", "key": 4, "type": "integer", "total": "sum"},
    {"header": "Net", "key": 5, "type": "currency", "total": "sum"},
    {"header": "Discount", "key": 6, "type": "percent"},
    {"header": "Paid", "key": 7, "type": "boolean"},
    {"header": "Weight kg", "key": 8, "type": "number"},
    {"header": "Note", "key": 9},
]


def xlsx_rows(count: int) -> list[list[Any]]:
    """``count`` rows of 10 values, as the job's data would hold them (lists, JSON types)."""
    return [
        [
            f"SO-{i:07d}",
            f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}",
            f"{docdata.FIRST[i % 20]} {docdata.SECOND[i % 10]} {i % 997}",
            docdata.REGIONS[i % 5],
            i % 500,
            round(i * 1.37 % 10_000, 2),
            (i % 30) / 100,
            i % 3 == 0,
            round(i % 71 * 0.25, 2),
            f"note {i}",
        ]
        for i in range(count)
    ]


def cmd_xlsx(args: argparse.Namespace) -> dict[str, Any]:
    """Render ``rows`` x 10 through the xlsx engine; report peak RSS at each stage."""
    from pressroom.documents.task import render_bundle
    from pressroom.renderers import TemplateBundle

    spec = {"sheets": [{"name": "Orders", "rows": "{{ rows }}", "columns": XLSX_COLUMNS}]}
    bundle = TemplateBundle.inline("xlsx", json.dumps(spec), main="orders.xlsx.json")
    render_bundle(bundle, {"rows": xlsx_rows(10)}, "xlsx", {}, lambda *_: None)  # imports
    after_imports = _maxrss_mb()
    data = {"rows": xlsx_rows(args.rows)}
    after_data = _maxrss_mb()
    t0 = time.perf_counter()
    doc = render_bundle(bundle, data, "xlsx", {}, lambda *_: None)
    elapsed = time.perf_counter() - t0
    return {
        "rows": args.rows,
        "columns": len(XLSX_COLUMNS),
        "seconds": elapsed,
        "size_bytes": len(doc.content),
        "maxrss_after_imports_mb": after_imports,
        "maxrss_after_data_mb": after_data,
        "maxrss_mb": _maxrss_mb(),
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; prints one JSON object."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    bare = sub.add_parser("bare")
    bare.add_argument("--engine", choices=sorted(BARE), required=True)
    bare.add_argument("--template", type=Path, required=True)
    bare.add_argument("--data", type=Path, required=True)
    bare.add_argument("--shard", type=int, help="one shard (default: start them all)")
    bare.add_argument("--shards", type=int, default=2)
    bare.add_argument("--out", type=Path, required=True)
    speed = sub.add_parser("speed")
    speed.add_argument("--invoices", type=int, default=20)
    speed.add_argument("--reports", type=int, default=3)
    speed.add_argument("--seed", type=int, default=500_000)
    xlsx = sub.add_parser("xlsx")
    xlsx.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args(argv)
    command = {"bare": cmd_bare, "speed": cmd_speed, "xlsx": cmd_xlsx}[args.command]
    print(json.dumps(command(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
