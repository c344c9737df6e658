"""The SSRF guard: which webhook URLs Pressroom will call, and at which address.

A URL passes when:

- its scheme is ``http`` or ``https``, it has a host, no user info, and a valid port;
- its host is a name or a canonical address: IPv4 shorthands that resolvers accept
  (``127.1``, ``0x7f000001``, ``2130706433``, ``0177.0.0.1``) are refused outright, as is any
  name whose last label is numeric;
- EVERY address the host resolves to is global: IPv6 wrappers of IPv4 are unwrapped first
  (IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible ``::a.b.c.d``, 6to4 ``2002::/16``, NAT64
  ``64:ff9b::/96``; Teredo ``2001::/32`` is refused); loopback, private, link-local, CGNAT
  (``100.64.0.0/10``), multicast, reserved and unspecified addresses (``0.0.0.0``, ``::``) are
  refused, as is the name ``localhost`` and its subdomains.

``PRESSROOM_WEBHOOK_ALLOW_HOSTS`` (comma-separated host names or CIDRs) lets named private
hosts through for on-prem use: a listed name skips the address checks, and an address inside
a listed CIDR is accepted (unspecified and multicast addresses never are).

:func:`check_url` returns the :class:`Target`, pinned to the first resolved address; the sender
connects to that address (sending the original ``Host`` and TLS server name), so a DNS answer
that changes between the check and the connection cannot redirect the request.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pressroom.core.errors import InvalidInput

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]
"""(host, port) → the addresses the host resolves to, as strings."""

MAX_URL_LENGTH = 2048
ALLOW_HOSTS_ENV = "PRESSROOM_WEBHOOK_ALLOW_HOSTS"

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
_TEREDO = ipaddress.IPv6Network("2001::/32")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_HOST_NAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$"
)
_NUMERIC_LABEL = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$")


class UnsafeUrl(InvalidInput):
    """A webhook URL the guard refuses; the message says why."""


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL and the address to connect to."""

    url: str
    scheme: str
    host: str
    port: int
    address: str
    target: str
    """The request target: path and query (``/`` if the URL has no path)."""

    @property
    def pinned_url(self) -> str:
        """The URL with the pinned address in place of the host."""
        addr = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.scheme}://{addr}:{self.port}{self.target}"

    @property
    def host_header(self) -> str:
        """The ``Host`` header the original URL implies."""
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class AllowList:
    """Private hosts let through for on-prem use (``PRESSROOM_WEBHOOK_ALLOW_HOSTS``)."""

    names: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, text: str | None) -> AllowList:
        """Parse a comma-separated list of host names and CIDRs (or single addresses)."""
        names: set[str] = set()
        networks: list[Network] = []
        for item in (text or "").split(","):
            item = item.strip().lower()
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                if not _HOST_NAME.match(item):
                    raise InvalidInput(
                        f"{ALLOW_HOSTS_ENV}: {item!r} is not a host name or CIDR"
                    ) from None
                names.add(item.rstrip("."))
        return cls(frozenset(names), tuple(networks))

    @classmethod
    def from_env(cls) -> AllowList:
        """The allow list from ``PRESSROOM_WEBHOOK_ALLOW_HOSTS``."""
        return cls.parse(os.environ.get(ALLOW_HOSTS_ENV))

    def allows(self, address: Address) -> bool:
        """Whether ``address`` lies in a listed network."""
        return any(address.version == n.version and address in n for n in self.networks)


def system_resolver(host: str, port: int) -> list[str]:
    """Resolve with ``getaddrinfo`` (TCP); raise UnsafeUrl if the name does not resolve."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrl(f"webhook host {host!r} does not resolve: {exc}") from None
    return [str(info[4][0]) for info in infos]


def unwrap(address: Address) -> Address:
    """The IPv4 address an IPv6 wrapper carries (mapped, compatible, 6to4, NAT64), else itself."""
    if isinstance(address, ipaddress.IPv4Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _SIX_TO_FOUR:
        return ipaddress.IPv4Address((int(address) >> 80) & 0xFFFFFFFF)
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def refusal(address: Address) -> str | None:
    """Why ``address`` may not be called (after unwrapping), or None if it is global."""
    if isinstance(address, ipaddress.IPv6Address) and address in _TEREDO:
        return "a Teredo address"
    inner = unwrap(address)
    for what, bad in (
        ("unspecified", inner.is_unspecified),
        ("loopback", inner.is_loopback),
        ("link-local", inner.is_link_local),
        ("site-local", isinstance(inner, ipaddress.IPv6Address) and inner.is_site_local),
        ("multicast", inner.is_multicast),
        ("shared (CGNAT)", isinstance(inner, ipaddress.IPv4Address) and inner in _CGNAT),
        ("private", inner.is_private),
        ("reserved", inner.is_reserved),
        ("not global", not inner.is_global),
    ):
        if bad:
            return f"a {what} address" if what != "not global" else "not a global address"
    return None


def _literal(host: str) -> Address | None:
    """The address a host is written as, or None for a name; shorthand IPv4 is refused."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    last = host.rstrip(".").rsplit(".", 1)[-1]
    if _NUMERIC_LABEL.match(last):
        raise UnsafeUrl(
            f"webhook host {host!r} is a numeric form; write IPv4 addresses as four decimal parts"
        )
    return None


def _check_address(address: Address, allow: AllowList, named_ok: bool, host: str) -> None:
    always_bad = address.is_unspecified or unwrap(address).is_unspecified or address.is_multicast
    if always_bad:
        raise UnsafeUrl(f"webhook host {host!r} resolves to {address}, which cannot be called")
    if named_ok or allow.allows(address):
        return
    why = refusal(address)
    if why is not None:
        raise UnsafeUrl(
            f"webhook host {host!r} resolves to {address}, {why}; only public addresses are "
            f"called (list private hosts in {ALLOW_HOSTS_ENV})"
        )


def check_url(
    url: str, *, resolver: Resolver = system_resolver, allow: AllowList | None = None
) -> Target:
    """Check a webhook URL and resolve it; return where to connect, or raise UnsafeUrl."""
    if not isinstance(url, str) or not 1 <= len(url) <= MAX_URL_LENGTH:
        raise UnsafeUrl(f"a webhook URL must be 1-{MAX_URL_LENGTH} characters")
    if any(ord(ch) < 33 or ord(ch) == 127 for ch in url):
        raise UnsafeUrl("a webhook URL may not contain spaces or control characters")
    allow = AllowList.from_env() if allow is None else allow
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"webhook URL {url!r} is not valid: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeUrl("a webhook URL must use http or https")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UnsafeUrl("a webhook URL may not contain user info (user:password@)")
    host = (parts.hostname or "").lower()
    if not host:
        raise UnsafeUrl("a webhook URL needs a host")
    if port == 0:
        raise UnsafeUrl("a webhook URL may not use port 0")
    port = port or (443 if scheme == "https" else 80)
    literal = _literal(host)
    if literal is None:
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise UnsafeUrl(f"webhook host {host!r} is not a valid host name") from None
        if not _HOST_NAME.match(host):
            raise UnsafeUrl(f"webhook host {host!r} is not a valid host name")
        host = host.rstrip(".")
        _literal(host)
    named_ok = literal is None and host in allow.names
    if literal is None and not named_ok and (host == "localhost" or host.endswith(".localhost")):
        raise UnsafeUrl("webhook host 'localhost' is refused")
    if literal is not None:
        if literal.version == 6 and "%" in host:
            raise UnsafeUrl("a webhook URL may not name an IPv6 zone")
        addresses: list[Address] = [literal]
    else:
        found = resolver(host, port)
        if not found:
            raise UnsafeUrl(f"webhook host {host!r} resolves to no address")
        addresses = []
        for text in found:
            try:
                addresses.append(ipaddress.ip_address(text.split("%", 1)[0]))
            except ValueError:
                raise UnsafeUrl(f"webhook host {host!r} resolved to {text!r}") from None
    for address in addresses:
        _check_address(address, allow, named_ok, host)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return Target(url, scheme, host, port, str(addresses[0]), target)
