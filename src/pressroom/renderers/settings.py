"""Operator settings for renderers: what a job's options can never change.

Settings come from the operator (flags, ``PRESSROOM_*`` variables), never from a job: the host
allowlist for remote resources, where the Chromium and LibreOffice binaries are, extra font
folders and the per-render limits.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field

from pressroom.renderers.limits import RenderLimits


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.replace(";", ",").split(",") if part.strip())


@dataclass(frozen=True, slots=True)
class RendererSettings:
    """Settings shared by every engine in a worker process."""

    limits: RenderLimits = field(default_factory=RenderLimits)
    """Caps on pages, output size, memory and CPU per render."""
    allowed_hosts: tuple[str, ...] = ()
    """Hosts whose http(s) resources templates may load. Empty: no network at all.

    An entry is a host name (``cdn.example.com``) or ``*.example.com``. Even an allowed host is
    refused when it resolves to a loopback, private, link-local or otherwise non-public address.
    """
    font_dirs: tuple[str, ...] = ()
    """Extra folders of fonts for the Typst engine (WeasyPrint and Chromium use fontconfig)."""
    chromium_path: str | None = None
    """The Chromium binary; None looks at ``PRESSROOM_CHROMIUM_PATH`` then the usual places."""
    chromium_recycle_after: int = 100
    """Renders after which the warm Chromium browser is closed and started again."""
    soffice_path: str | None = None
    """LibreOffice's ``soffice``; None searches ``PATH``."""
    typst_package_path: str | None = None
    """A folder of vetted Typst packages (``namespace/name/version``); never downloaded."""
    typst_cache_mb: float = 128.0
    """Typst's memoization cache is cleared once the Typst renders since the last clear have
    grown the process by more than this many MB (0: never; the cache then holds about the
    last ten documents, about 1 GB for 30-page reports)."""
    fetch_timeout_s: float = 10.0
    """Timeout for one allowed remote resource."""
    max_fetch_bytes: int = 20 * 1024 * 1024
    """The largest remote resource one fetch may return."""

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> RendererSettings:
        """Settings from ``PRESSROOM_*`` variables, falling back to the defaults."""
        env = dict(os.environ if environ is None else environ)
        return cls(
            limits=RenderLimits.from_env(env),
            allowed_hosts=_split(env.get("PRESSROOM_RENDER_ALLOWED_HOSTS", "")),
            font_dirs=tuple(p for p in env.get("PRESSROOM_FONT_DIRS", "").split(os.pathsep) if p),
            chromium_path=env.get("PRESSROOM_CHROMIUM_PATH") or None,
            chromium_recycle_after=int(env.get("PRESSROOM_CHROMIUM_RECYCLE_AFTER", "100")),
            soffice_path=env.get("PRESSROOM_SOFFICE_PATH") or None,
            typst_package_path=env.get("PRESSROOM_TYPST_PACKAGE_PATH") or None,
            typst_cache_mb=float(env.get("PRESSROOM_TYPST_CACHE_MB", "128")),
        )

    def find_chromium(self) -> str | None:
        """The Chromium binary to use, or None when there is none."""
        candidates = [
            self.chromium_path,
            os.environ.get("PRESSROOM_CHROMIUM_PATH"),
            "/usr/bin/chromium",
            "/usr/bin/chromium-browser",
            shutil.which("chromium"),
            shutil.which("chromium-browser"),
        ]
        for candidate in candidates:
            if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
        return None

    def find_soffice(self) -> str | None:
        """LibreOffice's ``soffice`` binary, or None when it is not installed."""
        for candidate in (self.soffice_path, shutil.which("soffice"), shutil.which("libreoffice")):
            if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
        return None
