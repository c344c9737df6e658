"""The ``docx`` engine: Word templates filled by docxtpl through Pressroom's sandbox.

docxtpl's own Jinja environment is never used: every part (body, headers, footers, footnotes,
core properties) is rendered with the sandboxed, autoescaping environment from
:mod:`pressroom.renderers.sandbox`, so a template cannot reach Python internals and data cannot
inject XML. The uploaded template first passes the zip guard (sizes, names, no DOCTYPE), and a
template whose relationships point outside the file (linked images, attached templates,
sub-documents) or that uses ``INCLUDEPICTURE``/``INCLUDETEXT``/``DDE`` fields is refused, since
LibreOffice would fetch them during PDF conversion.

Templates get three extra functions besides the usual helpers: ``image(name, width_mm=None,
height_mm=None)`` for a picture from the bundle, ``qr_image(text, width_mm=30)`` and
``rich(text, bold=False, italic=False, color=None, size=None, url=None)``.
PDF output converts the filled DOCX with LibreOffice (``soffice --headless``) when installed.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import tempfile
import threading
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

from pressroom.renderers.base import (
    OptionSpec,
    Progress,
    Rendered,
    RenderRequest,
    null_progress,
    resolve_format,
    validate_options,
)
from pressroom.renderers.errors import (
    EngineUnavailableError,
    LimitError,
    RefusedResourceError,
    TemplateError,
)
from pressroom.renderers.helpers import CURRENT_LOCALE
from pressroom.renderers.limits import RenderLimits, check_output, check_pages
from pressroom.renderers.sandbox import _translate, cached_environment, template_context
from pressroom.renderers.settings import RendererSettings
from pressroom.renderers.zipguard import check_office_file

DOCX_OPTIONS: dict[str, OptionSpec] = {
    "locale": OptionSpec(str, "en_US", "locale for the number, currency and date helpers"),
    "max_pages": OptionSpec(int, None, "lower the page cap for PDF output", minimum=1),
    "convert_timeout_s": OptionSpec(
        float, 120.0, "time allowed for the LibreOffice conversion", minimum=5, maximum=600
    ),
}

_EXTERNAL = re.compile(rb'TargetMode\s*=\s*"External"', re.IGNORECASE)
_RELATIONSHIP = re.compile(rb"<Relationship\b[^>]*>", re.IGNORECASE)
_DANGEROUS_FIELD = re.compile(rb"\b(INCLUDEPICTURE|INCLUDETEXT|DDEAUTO|DDE|IMPORT)\b")
_FIELD_TEXT = re.compile(rb"<w:instrText[^>]*>([^<]*)<|w:instr=\"([^\"]*)\"")


def check_external_links(content: bytes, engine: str, file: str | None) -> None:
    """Refuse Office files that would make a converter load something from outside the file."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for name in archive.namelist():
            if not name.endswith((".rels", ".xml")):
                continue
            data = archive.read(name)
            if name.endswith(".rels"):
                for rel in _RELATIONSHIP.findall(data):
                    if _EXTERNAL.search(rel) and b"/hyperlink" not in rel:
                        raise RefusedResourceError(
                            f"part {name!r} links to an external resource; only hyperlinks "
                            "may point outside the file",
                            engine=engine,
                            file=file,
                        )
            for match in _FIELD_TEXT.finditer(data):
                instruction = match.group(1) or match.group(2) or b""
                found = _DANGEROUS_FIELD.search(instruction)
                if found:
                    raise RefusedResourceError(
                        f"field {found.group(1).decode()} in {name!r} is not allowed (it loads "
                        "outside content)",
                        engine=engine,
                        file=file,
                    )


VERIFIED_CACHE_SIZE = 64
"""How many DOCX templates each process remembers as having passed the upload checks."""
_VERIFIED: OrderedDict[bytes, None] = OrderedDict()
_VERIFIED_LOCK = threading.Lock()


def check_template_once(source: bytes, engine: str, file: str | None) -> None:
    """The upload checks of a DOCX template (zip guard, external links), skipped when the very
    same bytes already passed them in this process: a stored template never changes, and the
    checks read every part of the file (about a sixth of an invoice's render)."""
    key = hashlib.sha256(source).digest()
    with _VERIFIED_LOCK:
        if key in _VERIFIED:
            _VERIFIED.move_to_end(key)
            return
    check_office_file(source, engine=engine, file=file)
    check_external_links(source, engine, file)
    with _VERIFIED_LOCK:
        _VERIFIED[key] = None
        while len(_VERIFIED) > VERIFIED_CACHE_SIZE:
            _VERIFIED.popitem(last=False)


def soffice_convert(
    soffice: str, content: bytes, suffix: str, timeout_s: float, engine: str
) -> bytes:
    """Convert an Office document to PDF with LibreOffice in a private, throw-away profile."""
    with tempfile.TemporaryDirectory(prefix="pressroom-soffice-") as scratch:
        source = Path(scratch) / f"document{suffix}"
        source.write_bytes(content)
        profile = Path(scratch) / "profile"
        env = {
            "HOME": scratch,
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "http_proxy": "http://127.0.0.1:1",
            "https_proxy": "http://127.0.0.1:1",
        }
        command = [
            soffice,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--norestore",
            "--nolockcheck",
            "--nodefault",
            "--convert-to",
            "pdf",
            "--outdir",
            scratch,
            str(source),
        ]
        try:
            completed = subprocess.run(
                command,
                capture_output=True,
                timeout=timeout_s,
                env=env,
                check=False,
                cwd=scratch,
            )
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"LibreOffice did not finish within {timeout_s:.0f} s") from None
        target = Path(scratch) / "document.pdf"
        if completed.returncode != 0 or not target.exists():
            output = (completed.stderr or completed.stdout).decode("utf-8", "replace")[-400:]
            raise RuntimeError(f"LibreOffice conversion failed ({completed.returncode}): {output}")
        return target.read_bytes()


class DocxRenderer:
    """DOCX templates (docxtpl syntax) to DOCX, and to PDF through LibreOffice."""

    name = "docx"
    formats = ("docx", "pdf")
    default_format = "docx"
    accepts = (".docx",)
    options = DOCX_OPTIONS

    def __init__(self, settings: RendererSettings | None = None) -> None:
        self.settings = settings or RendererSettings()

    def available(self) -> bool:
        """Whether docxtpl can be imported (PDF output also needs LibreOffice)."""
        try:
            import docxtpl  # type: ignore[import-untyped, unused-ignore]  # noqa: F401
        except ImportError:
            return False
        return True

    def render(self, request: RenderRequest, progress: Progress = null_progress) -> Rendered:
        """Check the upload, fill every part in the sandbox, and optionally convert to PDF."""
        fmt = resolve_format(self, request.format)
        options = validate_options(self.name, self.options, request.options)
        limits = self.settings.limits.with_page_cap(options["max_pages"])
        soffice = self.settings.find_soffice() if fmt == "pdf" else None
        if fmt == "pdf" and soffice is None:
            raise EngineUnavailableError(
                "PDF output from DOCX needs LibreOffice (soffice), which is not installed on "
                "this worker; ask for format 'docx' or install libreoffice-writer",
                engine=self.name,
            )
        bundle = request.bundle
        progress(5, "checking template")
        check_template_once(bundle.source, self.name, bundle.main)
        progress(15, "filling template")
        content = self._fill(request, options, limits)
        check_output(self.name, content, limits)
        if fmt == "docx":
            progress(100, "done")
            return Rendered.of(content, "docx")
        progress(50, "converting to PDF")
        check_external_links(content, self.name, bundle.main)
        assert soffice is not None
        pdf = soffice_convert(soffice, content, ".docx", options["convert_timeout_s"], self.name)
        from pressroom.renderers.typst import count_pdf_pages

        pages = count_pdf_pages(pdf)
        check_pages(self.name, pages, limits)
        progress(100, "done")
        return Rendered.of(check_output(self.name, pdf, limits), "pdf", pages)

    def _fill(self, request: RenderRequest, options: dict[str, Any], limits: RenderLimits) -> bytes:
        from docxtpl import DocxTemplate

        bundle = request.bundle
        env = cached_environment(bundle, autoescape=True, limits=limits)
        try:
            template = DocxTemplate(io.BytesIO(bundle.source))
        except Exception as exc:  # noqa: BLE001 - any parse failure of an upload is permanent
            raise TemplateError(
                f"not a readable DOCX file: {exc}", engine=self.name, file=bundle.main
            ) from None
        context = template_context(request.data)
        context.update(self._extras(template, request))
        token = CURRENT_LOCALE.set(str(options["locale"]).replace("-", "_"))
        try:
            template.render(context, jinja_env=env, autoescape=False)
            out = io.BytesIO()
            template.save(out)
        except BaseException as exc:
            translated = _translate(exc, self.name, bundle.main)
            if translated is None:
                if isinstance(exc, Exception) and _is_template_fault(exc):
                    raise TemplateError(
                        f"{type(exc).__name__}: {exc}", engine=self.name, file=bundle.main
                    ) from None
                raise
            translated.file = bundle.main
            snippet = " ".join(s.strip() for s in getattr(exc, "docx_context", []) if s.strip())
            if snippet:
                translated.message += f" (near: {snippet[:160]})"
            raise translated from None
        finally:
            CURRENT_LOCALE.reset(token)
        return out.getvalue()

    def _extras(self, template: Any, request: RenderRequest) -> dict[str, Any]:
        from docx.shared import Mm
        from docxtpl import InlineImage, RichText

        bundle = request.bundle

        def image(name: str, width_mm: float | None = None, height_mm: float | None = None) -> Any:
            content = bundle.files.get(str(name))
            if content is None:
                raise TemplateError(
                    f"image {name!r} is not in the template bundle",
                    engine=self.name,
                    file=bundle.main,
                )
            return InlineImage(
                template,
                io.BytesIO(content),
                width=Mm(width_mm) if width_mm else None,
                height=Mm(height_mm) if height_mm else None,
            )

        def qr_image(text: Any, width_mm: float = 30) -> Any:
            import segno

            out = io.BytesIO()
            segno.make(str(text)[:4000], error="m").save(out, kind="png", scale=8, border=2)
            out.seek(0)
            return InlineImage(template, out, width=Mm(max(5.0, min(float(width_mm), 200.0))))

        def rich(
            text: Any,
            bold: bool = False,
            italic: bool = False,
            color: str | None = None,
            size: int | None = None,
            url: str | None = None,
        ) -> Any:
            if size is not None and not 4 <= int(size) <= 200:
                raise LimitError("rich text size must be between 4 and 200 points")
            if color is not None and not re.fullmatch(r"[0-9A-Fa-f]{6}", color.lstrip("#")):
                raise TemplateError(f"invalid colour {color!r}", engine=self.name)
            link = None
            if url is not None:
                if not re.match(r"^(https?://|mailto:)", str(url)):
                    raise RefusedResourceError(
                        f"link {url!r} must be http(s) or mailto", engine=self.name
                    )
                link = template.build_url_id(str(url))
            return RichText(
                str(text),
                bold=bold,
                italic=italic,
                color=color.lstrip("#") if color else None,
                size=int(size) * 2 if size else None,
                url_id=link,
            )

        return {"image": image, "qr_image": qr_image, "rich": rich}


def _is_template_fault(exc: Exception) -> bool:
    """Whether an error raised while filling came from template code, not from a crash."""
    from jinja2 import TemplateError as JinjaError

    if isinstance(exc, JinjaError):
        return True
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            return True
        tb = tb.tb_next
    return False
