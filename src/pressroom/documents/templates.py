"""Template bundles as the database keeps them and as jobs name them.

- A stored version is one zip (deterministic: sorted names, fixed timestamps) plus a content
  digest (:func:`bundle_digest`) over the engine, the main file's name and every file's bytes.
- A job names a template as ``name`` (the latest version when submitted), ``name@version``, or
  inline: ``{"engine": …, "source": …, "files": {…}, "main": …}`` where a binary file (or
  source) is given as ``{"base64": "…"}``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pressroom.core.errors import InvalidInput
from pressroom.renderers.base import MAX_BUNDLE_BYTES, MAX_BUNDLE_FILES, TemplateBundle
from pressroom.renderers.errors import TemplateError

SAMPLE_DATA = "data.json"
"""A file beside a template holding sample data; never part of the bundle loaded from a folder."""

MAX_INLINE_BYTES = 8 * 1024 * 1024
"""The most bytes an inline template may hold (it is stored in the job's arguments)."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def check_name(name: str) -> str:
    """A template name: 1-100 letters, digits, ``.``, ``_`` or ``-``, starting with one of the
    first two; InvalidInput otherwise."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput(
            f"invalid template name {name!r}: use 1-100 letters, digits, '.', '_' or '-'"
        )
    return name


def parse_ref(ref: str) -> tuple[str, int | None]:
    """``"invoice"`` → ``("invoice", None)``; ``"invoice@3"`` → ``("invoice", 3)``."""
    name, sep, version = ref.partition("@")
    check_name(name)
    if not sep:
        return name, None
    if not version.isdigit() or int(version) < 1:
        raise InvalidInput(f"invalid template version in {ref!r}: use name@N with N ≥ 1")
    return name, int(version)


def bundle_digest(bundle: TemplateBundle) -> str:
    """The sha256 of a bundle's content: engine, main file name, and each file's name and bytes."""
    files = sorted((name, hashlib.sha256(data).hexdigest()) for name, data in bundle.files.items())
    doc = json.dumps({"engine": bundle.engine, "main": bundle.main, "files": files})
    return hashlib.sha256(doc.encode("utf-8")).hexdigest()


def bundle_size(bundle: TemplateBundle) -> int:
    """The total bytes of a bundle's files."""
    return sum(len(data) for data in bundle.files.values())


def pack(bundle: TemplateBundle) -> bytes:
    """The bundle's files as one deterministic zip."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name in sorted(bundle.files):
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, bundle.files[name])
    return out.getvalue()


def unpack(blob: bytes, engine: str, main: str) -> TemplateBundle:
    """A bundle from a stored zip, with the same caps and name checks as any bundle."""
    files: dict[str, bytes] = {}
    total = 0
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        entries = archive.infolist()
        if len(entries) > MAX_BUNDLE_FILES:
            raise TemplateError("stored template has too many files", engine=engine)
        for info in entries:
            total += info.file_size
            if total > MAX_BUNDLE_BYTES:
                raise TemplateError("stored template is too large", engine=engine)
            files[info.filename] = archive.read(info)
    return TemplateBundle(engine=engine, main=main, files=files)


def from_inline(spec: Mapping[str, Any]) -> TemplateBundle:
    """A bundle from an inline job template; InvalidInput saying what is wrong otherwise."""
    unknown = sorted(set(spec) - {"engine", "source", "files", "main"})
    if unknown:
        raise InvalidInput(
            f"unknown key(s) in inline template: {', '.join(unknown)} "
            "(allowed: engine, source, files, main)"
        )
    engine, source = spec.get("engine"), spec.get("source")
    if not isinstance(engine, str) or not engine:
        raise InvalidInput('an inline template needs "engine", e.g. "html" or "typst"')
    if source is None:
        raise InvalidInput('an inline template needs "source": the main file\'s content')
    files = spec.get("files") or {}
    main = spec.get("main")
    if not isinstance(files, Mapping):
        raise InvalidInput('"files" of an inline template must map file names to contents')
    if main is not None and not isinstance(main, str):
        raise InvalidInput('"main" of an inline template must be a file name')
    decoded = {str(name): _content(value, f"files[{name!r}]") for name, value in files.items()}
    body = _content(source, "source")
    if sum(map(len, decoded.values())) + len(body) > MAX_INLINE_BYTES:
        raise InvalidInput(
            f"inline template is larger than {MAX_INLINE_BYTES // 2**20} MB; store it with "
            "`pressroom templates push` and submit it by name"
        )
    try:
        return TemplateBundle.inline(engine, body, dict(decoded), main=main)
    except TemplateError as exc:
        raise InvalidInput(f"invalid inline template: {exc}") from None


def _content(value: Any, where: str) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, Mapping) and set(value) == {"base64"} and isinstance(value["base64"], str):
        try:
            return base64.b64decode(value["base64"], validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput(f"{where} of the inline template is not valid base64") from None
    raise InvalidInput(f'{where} of the inline template must be text or {{"base64": "…"}}')


def to_inline(bundle: TemplateBundle) -> dict[str, Any]:
    """A bundle as an inline job template (binary files as base64)."""

    def encode(data: bytes) -> Any:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(data).decode("ascii")}

    return {
        "engine": bundle.engine,
        "main": bundle.main,
        "source": encode(bundle.source),
        "files": {n: encode(d) for n, d in sorted(bundle.files.items()) if n != bundle.main},
    }


def load_path(path: str | Path, *, engine: str | None = None) -> TemplateBundle:
    """A bundle from a template file or folder (a folder's ``data.json`` is left out); any
    problem is an InvalidInput naming the path."""
    try:
        bundle = TemplateBundle.from_path(path, engine=engine)
        if SAMPLE_DATA in bundle.files and bundle.main != SAMPLE_DATA and Path(path).is_dir():
            files = {k: v for k, v in bundle.files.items() if k != SAMPLE_DATA}
            bundle = TemplateBundle(bundle.engine, bundle.main, files)
    except FileNotFoundError:
        raise InvalidInput(f"no template file or folder at {str(path)!r}") from None
    except TemplateError as exc:
        raise InvalidInput(f"cannot load template {str(path)!r}: {exc}") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read template {str(path)!r}: {exc.strerror}") from None
    return bundle
