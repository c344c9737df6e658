"""The ``typst`` engine: Typst documents to PDF, PNG or SVG with typst-py.

- Data reaches the document as JSON through ``sys.inputs``: a template starts with
  ``#let data = json(bytes(sys.inputs.data))``.
- Each render compiles in a temporary root holding only the bundle's files (written once per
  bundle content and process, then reused), so ``#read("/etc/passwd")`` resolves inside that
  root and fails with "file not found".
- Packages are never downloaded: ``#import "@preview/…"`` fails unless the operator points
  ``PRESSROOM_TYPST_PACKAGE_PATH`` at a folder of vetted packages. While Typst compiles, its
  HTTP proxy is set to a closed loopback port, so even a computed package name cannot reach the
  network.
- Fonts: Typst's embedded fonts, the system's, the operator's font folders, and any font files
  in the bundle. The font list is scanned once per process.

Typst memoizes compilation work per process, and typst-py keeps what the last ten compiles used:
for big documents that is about 80 MB each (about 1 GB for 30-page reports). The renderer adds up
how much its compiles have grown the process and, past ``RendererSettings.typst_cache_mb``,
clears that cache (see :meth:`TypstRenderer.clear_cache`).
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, cast

import psutil

from pressroom.renderers.base import (
    OptionSpec,
    Progress,
    Rendered,
    RenderRequest,
    null_progress,
    resolve_format,
    validate_options,
)
from pressroom.renderers.errors import RefusedResourceError, TemplateError
from pressroom.renderers.limits import check_output, check_pages
from pressroom.renderers.settings import RendererSettings

PDF_STANDARDS = ("a-2b", "a-3b", "a-2u", "a-3u", "a-4", "ua-1", "1.7", "2.0")
"""PDF standards the ``pdf_standard`` option accepts."""

TYPST_OPTIONS: dict[str, OptionSpec] = {
    "pdf_standard": OptionSpec(
        str, None, "PDF standard, e.g. 'a-3b' or 'ua-1'", choices=PDF_STANDARDS
    ),
    "ppi": OptionSpec(float, 144.0, "pixels per inch for PNG output", minimum=18, maximum=600),
    "page": OptionSpec(int, 1, "which page to return for PNG and SVG output", minimum=1),
    "max_pages": OptionSpec(int, None, "lower the page cap for this render", minimum=1),
}

FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".otc")
"""Bundle files with these suffixes are loaded as fonts."""

_PACKAGE_SPEC = re.compile(r"""["']@[a-z][a-z0-9_-]*/""", re.IGNORECASE)
_LOCATION = re.compile(r"┌─\s*(\S+?):(\d+):(\d+)")
_BLACKHOLE_PROXY = "http://127.0.0.1:1"
_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
_ENV_LOCK = threading.Lock()
EVICT_COMPILES = 10
"""typst-py ages its memoization cache after every compile and drops entries unused for ten
compiles: this many compiles of an empty document empty it."""


ROOT_CACHE_SIZE = 16
"""Bundle roots each process keeps written out (least recently used ones are removed), each
with the compilers made for it."""
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _rss() -> int:
    """This process's resident set size in bytes (``/proc/self/statm``; psutil elsewhere)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return int(psutil.Process().memory_info().rss)


ROOTS_PREFIX = "pressroom-typst-roots-"


def remove_stale_roots(folder: str | None = None) -> None:
    """Remove the root folders left behind by processes that no longer exist."""
    for entry in Path(folder or tempfile.gettempdir()).glob(ROOTS_PREFIX + "*"):
        pid = entry.name[len(ROOTS_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not psutil.pid_exists(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)


class _Root:
    """One bundle's compile root and the compilers made for it (by package and font folders)."""

    __slots__ = ("compilers", "folder")

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.compilers: dict[tuple[str, ...], Any] = {}

    @property
    def root(self) -> Path:
        """The folder holding exactly the bundle's files."""
        return self.folder / "root"

    @property
    def packages(self) -> Path:
        """An empty folder, given to Typst as its package folders."""
        return self.folder / "packages"


class _Roots:
    """Compile roots, one per bundle content, each holding only that bundle's files.

    A root is written once and reused by every render of the same bundle (Typst only reads
    it), and so is the Typst compiler made for it, which keeps the parsed files and, for a
    bundle with fonts, the fonts it scanned: a render pays no file writes, no new compiler
    and no font scan. Roots live in one temporary folder per process
    (``pressroom-typst-roots-<pid>-…``), removed at exit; a worker child is killed rather
    than exiting, so the folders of processes that no longer exist are removed when the next
    one is made.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._owner = 0
        self._roots: OrderedDict[str, _Root] = OrderedDict()

    def get(self, files: Mapping[str, bytes]) -> _Root:
        """The root holding exactly ``files`` (written now if it is not yet)."""
        digest = hashlib.sha256()
        for name in sorted(files):
            content = files[name]
            digest.update(f"{name}\0{len(content)}\0".encode())
            digest.update(content)
        key = digest.hexdigest()
        with self._lock:
            if self._scratch is None or self._owner != os.getpid():
                remove_stale_roots()
                self._scratch = tempfile.TemporaryDirectory(prefix=f"{ROOTS_PREFIX}{os.getpid()}-")
                self._owner = os.getpid()
                self._roots.clear()
            if key in self._roots:
                self._roots.move_to_end(key)
                return self._roots[key]
            entry = _Root(Path(self._scratch.name) / key)
            shutil.rmtree(entry.folder, ignore_errors=True)  # left half-written by a failure
            entry.root.mkdir(parents=True)
            entry.packages.mkdir()
            for name, content in files.items():
                target = entry.root / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
            self._roots[key] = entry
            while len(self._roots) > ROOT_CACHE_SIZE:
                _, old = self._roots.popitem(last=False)
                shutil.rmtree(old.folder, ignore_errors=True)
            return entry


_ROOTS = _Roots()


def _release_free_memory() -> None:
    """Ask the C allocator to hand freed heap pages back to the system (glibc only)."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


@contextlib.contextmanager
def _no_network() -> Iterator[None]:
    """Point Typst's package downloader at a closed loopback port while it compiles."""
    with _ENV_LOCK:
        saved = {name: os.environ.get(name) for name in (*_PROXY_VARS, "no_proxy", "NO_PROXY")}
        for name in _PROXY_VARS:
            os.environ[name] = _BLACKHOLE_PROXY
        os.environ.pop("no_proxy", None)
        os.environ.pop("NO_PROXY", None)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


_PAGE_TREE_COUNT = re.compile(rb"/Type\s*/Pages\s*/Count\s+(\d+)")


def typst_page_count(pdf: bytes) -> int:
    """The number of pages of a PDF Typst wrote.

    Typst writes its page tree uncompressed (``/Type/Pages/Count N``), so the largest such
    count is the root's: found without parsing the file. Text a template puts in the PDF (a
    title in the metadata) could only add a larger count, never hide the real one, so a page
    cap is never under-counted. Any other layout is parsed.
    """
    counts = [int(n) for n in _PAGE_TREE_COUNT.findall(pdf)]
    return max(counts) if counts else count_pdf_pages(pdf)


def count_pdf_pages(pdf: bytes) -> int:
    """The number of pages of a PDF."""
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


class TypstRenderer:
    """Typst to PDF, PNG or SVG, with data through ``sys.inputs``."""

    name = "typst"
    formats = ("pdf", "png", "svg")
    default_format = "pdf"
    accepts = (".typ",)
    options = TYPST_OPTIONS

    def __init__(self, settings: RendererSettings | None = None) -> None:
        self.settings = settings or RendererSettings()
        self._fonts: Any = None
        self._lock = threading.Lock()
        self._grown = 0
        self.cache_clears = 0
        """How many times :meth:`clear_cache` ran (for tests and diagnostics)."""

    def available(self) -> bool:
        """Whether typst-py can be imported."""
        try:
            import typst  # noqa: F401
        except ImportError:
            return False
        return True

    def _shared_fonts(self) -> Any:
        import typst

        with self._lock:
            if self._fonts is None:
                self._fonts = typst.Fonts(
                    include_system_fonts=True,
                    include_embedded_fonts=True,
                    font_paths=list(self.settings.font_dirs),
                )
            return self._fonts

    def render(self, request: RenderRequest, progress: Progress = null_progress) -> Rendered:
        """Compile the bundle's main file in a root holding only the bundle's files and return
        the requested format."""
        import typst

        fmt = resolve_format(self, request.format)
        options = validate_options(self.name, self.options, request.options)
        limits = self.settings.limits.with_page_cap(options["max_pages"])
        bundle = request.bundle
        if not self.settings.typst_package_path:
            self._refuse_packages(request)
        progress(5, "preparing")
        try:
            payload = json.dumps(request.data, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise TemplateError(f"data is not valid JSON: {exc}", engine=self.name) from None
        entry = _ROOTS.get(bundle.files)
        root = entry.root
        compiler = self._compiler(entry, bundle.files)
        progress(20, "compiling")
        standards = [options["pdf_standard"]] if options["pdf_standard"] else []
        before = _rss()
        try:
            with _no_network():
                output = compiler.compile(
                    input=str(root / bundle.main),
                    format=cast("Literal['pdf', 'png', 'svg']", fmt),
                    ppi=options["ppi"] if fmt == "png" else None,
                    sys_inputs={"data": payload},
                    pdf_standards=standards,
                )
        except typst.TypstError as exc:
            raise self._translate(exc, str(root)) from None
        finally:
            self._account_growth(_rss() - before)
        progress(90, "checking output")
        return self._result(output, fmt, options, limits, progress)

    def _compiler(self, entry: _Root, files: Mapping[str, bytes]) -> Any:
        """The compiler for a root (made on its first render): the shared fonts, or, for a
        bundle with font files, those plus the system's."""
        import typst

        packages = self.settings.typst_package_path or str(entry.packages)
        key = (packages, *self.settings.font_dirs)
        with self._lock:
            compiler = entry.compilers.get(key)
        if compiler is not None:
            return compiler
        has_fonts = any(name.lower().endswith(FONT_SUFFIXES) for name in files)
        fonts = (
            typst.Fonts(font_paths=[str(entry.root), *self.settings.font_dirs])
            if has_fonts
            else self._shared_fonts()
        )
        compiler = typst.Compiler(
            root=str(entry.root),
            font_paths=fonts,
            package_path=packages,
            package_cache_path=str(entry.packages),
        )
        with self._lock:
            return entry.compilers.setdefault(key, compiler)

    def _account_growth(self, grown: int) -> None:
        """Add one compile's growth of the process; clear the cache once it passes the limit."""
        limit = self.settings.typst_cache_mb
        if limit <= 0:
            return
        with self._lock:
            self._grown = max(0, self._grown + grown)
            due = self._grown > limit * 2**20
        if due:
            self.clear_cache()

    def clear_cache(self) -> None:
        """Empty Typst's memoization cache and give the freed memory back to the system.

        typst-py exposes no eviction call, but it evicts entries unused for ten compiles at the
        end of each compile; compiling an empty document that often ages everything else out
        (about 0.2 s after a big document, most of it freeing memory).
        """
        import typst

        with tempfile.TemporaryDirectory(prefix="pressroom-typst-") as scratch:
            empty = Path(scratch) / "empty.typ"
            empty.write_bytes(b"")
            compiler = typst.Compiler(
                root=scratch,
                font_paths=self._shared_fonts(),
                package_path=scratch,
                package_cache_path=scratch,
            )
            for _ in range(EVICT_COMPILES):
                compiler.compile(input=str(empty), format="svg")
        _release_free_memory()
        with self._lock:
            self._grown = 0
            self.cache_clears += 1

    def _result(
        self, output: Any, fmt: str, options: dict[str, Any], limits: Any, progress: Progress
    ) -> Rendered:
        if fmt == "pdf":
            if not isinstance(output, bytes):
                raise TypeError("typst returned no PDF bytes")
            pages = typst_page_count(output)
            check_pages(self.name, pages, limits)
            progress(100, "done")
            return Rendered.of(check_output(self.name, output, limits), "pdf", pages)
        images = output if isinstance(output, list) else [output]
        check_pages(self.name, len(images), limits)
        index = options["page"] - 1
        if index >= len(images):
            raise TemplateError(
                f"page {options['page']} requested but the document has {len(images)} pages",
                engine=self.name,
            )
        progress(100, "done")
        content = images[index]
        return Rendered.of(check_output(self.name, bytes(content), limits), fmt, len(images))

    def _refuse_packages(self, request: RenderRequest) -> None:
        for name, content in request.bundle.files.items():
            if not name.endswith(".typ"):
                continue
            text = content.decode("utf-8", errors="replace")
            match = _PACKAGE_SPEC.search(text)
            if match:
                line = text.count("\n", 0, match.start()) + 1
                raise RefusedResourceError(
                    f"package import {match.group(0)[1:]}... refused: Typst packages are not "
                    "downloaded; copy the package's files into the template bundle",
                    engine=self.name,
                    file=name,
                    line=line,
                )

    def _translate(self, exc: Any, root: str) -> TemplateError:
        message = str(getattr(exc, "message", "") or exc).replace(root + "/", "/")
        message = message.replace(root, "")
        diagnostic = str(getattr(exc, "diagnostic", "") or "")
        file, line = None, None
        match = _LOCATION.search(diagnostic)
        if match:
            file = match.group(1).rsplit("root/", 1)[-1]
            line = int(match.group(2))
        hints = [str(h) for h in (getattr(exc, "hints", None) or [])]
        if hints:
            message += " (hint: " + "; ".join(hints) + ")"
        if "package" in message and ("download" in message or "not found" in message):
            return RefusedResourceError(
                f"{message}; Typst packages are never downloaded",
                engine=self.name,
                file=file,
                line=line,
            )
        return TemplateError(message, engine=self.name, file=file, line=line)
