"""What an HTML template may load: its own bundle files, ``data:`` URLs, and nothing else.

The same :class:`UrlPolicy` serves WeasyPrint (through :class:`BundleUrlFetcher`) and Chromium
(through request interception). Documents are given the base URL :data:`BUNDLE_ORIGIN`, a host
under the reserved ``.invalid`` top-level domain that can never resolve, so relative references
(``css/site.css``) land in the bundle. Everything else is refused with
:class:`~pressroom.renderers.errors.RefusedResourceError`: ``file:``, ``ftp:``, other schemes,
and ``http(s)`` to any host not in the operator's allowlist. An allowed host is still refused
when it resolves to a loopback, private, link-local or other non-public address, checked before
any connection is made; the connection then goes to the address that was checked (no second DNS
lookup), and redirects are never followed.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import mimetypes
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from pressroom.renderers.base import TemplateBundle, check_relative_path
from pressroom.renderers.errors import LimitError, RefusedResourceError, TemplateError
from pressroom.renderers.settings import RendererSettings

BUNDLE_HOST = "bundle.pressroom.invalid"
"""The host name that stands for the template bundle."""

BUNDLE_ORIGIN = f"https://{BUNDLE_HOST}/"
"""The base URL of every HTML document; its paths are the bundle's files."""

MAX_DATA_URL_BYTES = 20 * 1024 * 1024
"""The largest resource a ``data:`` URL may hold."""


@dataclass(frozen=True, slots=True)
class Resource:
    """A fetched resource: its bytes, media type and URL."""

    content: bytes
    media_type: str
    url: str


def _media_type(name: str) -> str:
    guessed, _ = mimetypes.guess_type(name)
    if name.endswith((".woff2", ".woff", ".ttf", ".otf")):
        return "font/" + name.rsplit(".", 1)[1]
    return guessed or "application/octet-stream"


def decode_data_url(url: str) -> Resource:
    """Decode a ``data:`` URL (RFC 2397), refusing one larger than the cap."""
    header, sep, payload = url[5:].partition(",")
    if not sep:
        raise TemplateError(f"malformed data: URL {url[:60]!r}")
    if len(payload) > MAX_DATA_URL_BYTES * 2:
        raise LimitError(f"data: URL is larger than {MAX_DATA_URL_BYTES} bytes")
    params = header.split(";")
    media_type = params[0] or "text/plain"
    try:
        if "base64" in params[1:]:
            content = base64.b64decode(unquote(payload), validate=False)
        else:
            content = unquote_to_bytes(payload)
    except ValueError as exc:
        raise TemplateError(f"malformed data: URL ({exc})") from None
    return Resource(content, media_type, url)


def check_public_address(address: str) -> None:
    """Refuse loopback, private, link-local, multicast and reserved addresses."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if not ip.is_global or ip.is_multicast:
        raise RefusedResourceError(
            f"address {address} is not a public address (loopback, private, link-local or "
            "reserved); it is never fetched"
        )


def host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    """Whether ``host`` matches an allowlist entry (exact, or ``*.example.com``)."""
    host = host.lower().rstrip(".")
    for entry in allowed:
        pattern = entry.lower().rstrip(".")
        if pattern.startswith("*.") and host.endswith(pattern[1:]):
            return True
        if host == pattern:
            return True
    return False


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to a checked address that still verifies the host's certificate."""

    def __init__(self, host: str, address: str, **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """A plain HTTP connection to a checked address."""

    def __init__(self, host: str, address: str, **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class UrlPolicy:
    """Resolves the URLs a document asks for, under the rules in this module's docstring."""

    def __init__(self, bundle: TemplateBundle, settings: RendererSettings, engine: str) -> None:
        self.bundle = bundle
        self.settings = settings
        self.engine = engine
        self.refused: list[str] = []

    def _refuse(self, url: str, why: str) -> RefusedResourceError:
        self.refused.append(url)
        shown = url if len(url) < 120 else url[:117] + "..."
        return RefusedResourceError(f"refused to load {shown!r}: {why}", engine=self.engine)

    def check(self, url: str) -> None:
        """Refuse ``url`` by scheme and host allowlist, without resolving or fetching it."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        if url[:5].lower() == "data:" or host == BUNDLE_HOST or not scheme:
            return
        if scheme not in ("http", "https"):
            raise self._refuse(
                url,
                f"the {scheme}: scheme is not allowed; templates may only "
                "use their own files and data: URLs",
            )
        if not host_allowed(host, self.settings.allowed_hosts):
            raise self._refuse(
                url,
                f"host {host!r} is not in the allowed hosts "
                "(PRESSROOM_RENDER_ALLOWED_HOSTS); templates may only use their own files",
            )

    def fetch(self, url: str) -> Resource:
        """The resource at ``url``, or a ``TemplateError`` saying why it is not served."""
        if url[:5].lower() == "data:":
            return decode_data_url(url)
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        if scheme in ("http", "https") and host == BUNDLE_HOST:
            return self._bundle_file(parts.path)
        if scheme not in ("http", "https"):
            raise self._refuse(
                url,
                f"the {scheme or 'relative'}: scheme is not allowed; templates may only use "
                "their own files and data: URLs",
            )
        if not host_allowed(host, self.settings.allowed_hosts):
            raise self._refuse(
                url,
                f"host {host!r} is not in the allowed hosts "
                "(PRESSROOM_RENDER_ALLOWED_HOSTS); templates may only use their own files",
            )
        return self._remote(url, scheme, host, parts.port)

    def _bundle_file(self, path: str) -> Resource:
        name = unquote(path.lstrip("/"))
        try:
            check_relative_path(name)
        except RefusedResourceError as exc:
            raise self._refuse(path, exc.message) from None
        content = self.bundle.files.get(name)
        if content is None:
            raise TemplateError(
                f"file {name!r} is referenced but not in the template bundle", engine=self.engine
            )
        return Resource(content, _media_type(name), BUNDLE_ORIGIN + name)

    def _remote(self, url: str, scheme: str, host: str, port: int | None) -> Resource:
        port = port or (443 if scheme == "https" else 80)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise self._refuse(url, f"host {host!r} does not resolve ({exc})") from None
        addresses = [str(info[4][0]) for info in infos]
        try:
            for address in addresses:
                check_public_address(address)
        except RefusedResourceError as exc:
            raise self._refuse(url, exc.message) from None
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        timeout = self.settings.fetch_timeout_s
        conn: http.client.HTTPConnection
        if scheme == "https":
            conn = _PinnedHTTPSConnection(host, addresses[0], port=port, timeout=timeout)
        else:
            conn = _PinnedHTTPConnection(host, addresses[0], port=port, timeout=timeout)
        try:
            conn.request("GET", target, headers={"User-Agent": "Pressroom", "Accept": "*/*"})
            response = conn.getresponse()
            if 300 <= response.status < 400:
                raise self._refuse(url, "redirects are not followed")
            if response.status != 200:
                raise TemplateError(f"{url!r} answered HTTP {response.status}", engine=self.engine)
            cap = self.settings.max_fetch_bytes
            content = response.read(cap + 1)
            if len(content) > cap:
                raise LimitError(f"{url!r} is larger than {cap} bytes", engine=self.engine)
            media = response.headers.get_content_type() or _media_type(parts.path)
            return Resource(content, media, url)
        finally:
            conn.close()


def weasyprint_fetcher(policy: UrlPolicy) -> Any:
    """A WeasyPrint ``URLFetcher`` that answers only through ``policy``; errors stop the render."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse  # type: ignore[import-untyped, unused-ignore]

    class BundleUrlFetcher(URLFetcher):  # type: ignore[misc]
        """Serves bundle files and data: URLs; refuses everything else."""

        def __init__(self) -> None:
            super().__init__(allowed_protocols=(), allow_redirects=False, fail_on_errors=True)

        def fetch(self, url: str, headers: Any = None) -> Any:
            resource = policy.fetch(url)
            return URLFetcherResponse(
                resource.url, resource.content, {"Content-Type": resource.media_type}
            )

    return BundleUrlFetcher()
