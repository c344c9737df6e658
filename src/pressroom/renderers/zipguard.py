"""The guard every uploaded Office file (DOCX, XLSX, PPTX) passes before a library opens it.

An Office file is a zip of XML parts. :func:`check_office_file` refuses, before python-docx,
openpyxl or python-pptx parse anything:

- too many entries, too many bytes once uncompressed (counted while actually decompressing,
  not trusted from the headers), or an entry that expands more than the ratio cap (zip bombs);
- entry names that are absolute, contain ``..`` or backslashes, or repeat;
- encrypted entries;
- any XML part carrying a ``<!DOCTYPE`` or ``<!ENTITY`` declaration (billion laughs, external
  entities) — Office never writes one.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

from pressroom.renderers.errors import UnsafeUploadError

_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_XML_SUFFIXES = (".xml", ".rels", ".vml")


@dataclass(frozen=True, slots=True)
class ZipLimits:
    """Caps for uploaded Office archives."""

    max_entries: int = 5000
    max_total_bytes: int = 300 * 1024 * 1024
    max_entry_bytes: int = 200 * 1024 * 1024
    max_ratio: float = 200.0
    ratio_floor_bytes: int = 1024 * 1024
    """Entries smaller than this once uncompressed are exempt from the ratio check."""


def _looks_like_xml(name: str, head: bytes) -> bool:
    if name.lower().endswith(_XML_SUFFIXES):
        return True
    stripped = head.lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n")
    return stripped.startswith(b"<")


def _check_xml(name: str, content: bytes, engine: str, file: str | None) -> None:
    text = content
    if (
        content.startswith((b"\xff\xfe", b"\xfe\xff"))
        or b"\x00<" in content[:64]
        or b"<\x00" in content[:64]
    ):
        try:
            encoding = (
                "utf-16"
                if content[:2] in (b"\xff\xfe", b"\xfe\xff")
                else ("utf-16-le" if content[:1] == b"<" else "utf-16-be")
            )
            text = content.decode(encoding).encode("utf-8")
        except UnicodeDecodeError:
            raise UnsafeUploadError(
                f"part {name!r} is not decodable XML", engine=engine, file=file
            ) from None
    if _DECLARATION.search(text):
        raise UnsafeUploadError(
            f"XML part {name!r} contains a DOCTYPE or ENTITY declaration; uploaded Office "
            "files may not declare entities (billion-laughs / XXE guard)",
            engine=engine,
            file=file,
        )


def _check_name(name: str, seen: set[str], engine: str, file: str | None) -> None:
    if (
        not name
        or name.startswith("/")
        or "\\" in name
        or ".." in name.split("/")
        or (len(name) > 1 and name[1] == ":")
        or any(ord(ch) < 32 for ch in name)
    ):
        raise UnsafeUploadError(
            f"archive entry name {name!r} is not allowed", engine=engine, file=file
        )
    if name.lower() in seen:
        raise UnsafeUploadError(f"archive entry {name!r} appears twice", engine=engine, file=file)
    seen.add(name.lower())


def check_office_file(
    content: bytes,
    *,
    engine: str,
    file: str | None = None,
    limits: ZipLimits | None = None,
) -> None:
    """Raise :class:`UnsafeUploadError` unless ``content`` is a well-behaved Office zip."""
    caps = limits or ZipLimits()
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise UnsafeUploadError(
            f"not a valid Office file (zip): {exc}", engine=engine, file=file
        ) from None
    with archive:
        entries = archive.infolist()
        if len(entries) > caps.max_entries:
            raise UnsafeUploadError(
                f"archive has {len(entries)} entries; the limit is {caps.max_entries}",
                engine=engine,
                file=file,
            )
        seen: set[str] = set()
        total = 0
        for info in entries:
            _check_name(info.filename, seen, engine, file)
            if info.flag_bits & 0x1:
                raise UnsafeUploadError(
                    f"archive entry {info.filename!r} is encrypted", engine=engine, file=file
                )
            if info.is_dir():
                continue
            size = _read_entry(archive, info, caps, total, engine, file)
            total += size


def _read_entry(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    caps: ZipLimits,
    total_so_far: int,
    engine: str,
    file: str | None,
) -> int:
    size = 0
    chunks: list[bytes] = []
    keep = info.filename.lower().endswith(_XML_SUFFIXES) or info.file_size < 64 * 1024 * 1024
    try:
        with archive.open(info) as stream:
            while True:
                chunk = stream.read(1024 * 1024)
                if not chunk:
                    break
                size += len(chunk)
                if size > caps.max_entry_bytes or total_so_far + size > caps.max_total_bytes:
                    raise UnsafeUploadError(
                        f"archive expands beyond {caps.max_total_bytes} bytes (zip bomb guard; "
                        f"entry {info.filename!r})",
                        engine=engine,
                        file=file,
                    )
                ratio = size / max(info.compress_size, 1)
                if size > caps.ratio_floor_bytes and ratio > caps.max_ratio:
                    raise UnsafeUploadError(
                        f"archive entry {info.filename!r} expands {ratio:.0f}x; the limit is "
                        f"{caps.max_ratio:.0f}x (zip bomb guard)",
                        engine=engine,
                        file=file,
                    )
                if keep:
                    chunks.append(chunk)
    except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError) as exc:
        raise UnsafeUploadError(
            f"archive entry {info.filename!r} is corrupt: {exc}", engine=engine, file=file
        ) from None
    if keep:
        content = b"".join(chunks)
        if _looks_like_xml(info.filename, content[:64]):
            _check_xml(info.filename, content, engine, file)
    return size
