"""The SSRF guard: table-driven URL cases with an injected resolver (no DNS, no traffic)."""

from __future__ import annotations

import socket
from collections.abc import Iterator, Sequence

import pytest

from pressroom.core.errors import InvalidInput
from pressroom.webhooks.guard import AllowList, UnsafeUrl, check_url

DNS = {
    "example.com": ["93.184.216.34"],
    "v6.example.com": ["2606:2800:220:1:248:1893:25c8:1946"],
    "internal.example": ["10.1.2.3"],
    "mixed.example": ["93.184.216.34", "127.0.0.1"],
    "loop6.example": ["::1"],
    "mapped.example": ["::ffff:192.168.0.1"],
    "meta.example": ["169.254.169.254"],
    "cgnat.example": ["100.100.1.1"],
    "zero.example": ["0.0.0.0"],
    "intranet.corp": ["192.168.1.5"],
    "empty.example": [],
}
NO_ALLOW = AllowList()


def resolver(host: str, port: int) -> Sequence[str]:
    """A fake DNS: the table above, or a failure (never the network)."""
    if host not in DNS:
        raise UnsafeUrl(f"{host} does not resolve (test resolver)")
    return DNS[host]


REFUSED = [
    # schemes and shapes
    "ftp://example.com/",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "gopher://example.com/",
    "http:///nohost",
    "http://user:pw@example.com/",
    "http://user@example.com/",
    "http://example.com:0/",
    "http://example.com:99999/",
    "http://exa mple.com/",
    "http://example.com/\r\nX: y",
    "",
    # loopback in every spelling
    "http://127.0.0.1/",
    "http://127.0.0.1:8080/hook",
    "http://127.1/",
    "http://127.0.1/",
    "http://0x7f000001/",
    "http://0x7f.1/",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://017700000001/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[0:0:0:0:0:ffff:127.0.0.1]/",
    "http://[::127.0.0.1]/",
    "http://localhost/",
    "http://LOCALHOST./",
    "http://api.localhost/",
    # unspecified
    "http://0.0.0.0/",
    "http://0/",
    "http://[::]/",
    # private, link-local, CGNAT, multicast, reserved, broadcast
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data",
    "http://100.64.0.1/",
    "http://100.127.255.254/",
    "http://224.0.0.1/",
    "http://239.255.255.250/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://192.0.0.1/",
    "http://198.18.0.1/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://[fec0::1]/",
    "http://[ff02::1]/",
    "http://[2001:db8::1]/",
    # IPv6 wrappers of bad IPv4
    "http://[2002:7f00:1::]/",
    "http://[2002:a00:1::1]/",
    "http://[2002:a9fe:a9fe::]/",
    "http://[64:ff9b::7f00:1]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[64:ff9b::c0a8:101]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[::ffff:100.64.0.1]/",
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
    # numeric-looking names
    "http://1.2.3.4.5/",
    "http://example.123/",
    "http://0x10.example.0x1/",
    # names resolving to bad addresses (every address must be global)
    "http://internal.example/",
    "http://mixed.example/",
    "http://loop6.example/",
    "http://mapped.example/",
    "http://meta.example/",
    "http://cgnat.example/",
    "http://zero.example/",
    "http://empty.example/",
    "http://unknown.example/",
]


@pytest.mark.parametrize("url", REFUSED)
def test_refused(url: str) -> None:
    """Every URL in the table is refused (UnsafeUrl, a kind of InvalidInput)."""
    with pytest.raises(UnsafeUrl):
        check_url(url, resolver=resolver, allow=NO_ALLOW)


ACCEPTED = [
    ("https://example.com/hook?x=1", "93.184.216.34", "example.com", 443, "/hook?x=1"),
    ("http://EXAMPLE.com:8080", "93.184.216.34", "example.com:8080", 8080, "/"),
    ("https://v6.example.com/h", "2606:2800:220:1:248:1893:25c8:1946", "v6.example.com", 443, "/h"),
    ("http://8.8.8.8/x", "8.8.8.8", "8.8.8.8", 80, "/x"),
    ("http://[2606:4700::1111]/", "2606:4700::1111", "[2606:4700::1111]", 80, "/"),
    ("http://[2002:808:808::1]/", "2002:808:808::1", "[2002:808:808::1]", 80, "/"),
]


@pytest.mark.parametrize(("url", "address", "host_header", "port", "target"), ACCEPTED)
def test_accepted_and_pinned(
    url: str, address: str, host_header: str, port: int, target: str
) -> None:
    """Public URLs pass, pinned to the resolved address with the original Host header."""
    t = check_url(url, resolver=resolver, allow=NO_ALLOW)
    assert (t.address, t.host_header, t.port, t.target) == (address, host_header, port, target)
    assert address in t.pinned_url and t.pinned_url.endswith(target)


def test_allow_list_lets_named_private_hosts_through() -> None:
    """Listed names and CIDRs pass; unspecified, shorthand and unlisted addresses still do not."""
    allow = AllowList.parse(" intranet.corp , 127.0.0.1/32,10.0.0.0/8,")
    assert (
        check_url("http://intranet.corp/h", resolver=resolver, allow=allow).address == "192.168.1.5"
    )
    assert check_url("http://127.0.0.1:9000/", resolver=resolver, allow=allow).port == 9000
    assert (
        check_url("http://internal.example/", resolver=resolver, allow=allow).address == "10.1.2.3"
    )
    for url in (
        "http://0.0.0.0/",
        "http://127.1/",
        "http://192.168.1.1/",
        "http://localhost/",
        "http://[::1]/",
        "http://loop6.example/",
    ):
        with pytest.raises(UnsafeUrl):
            check_url(url, resolver=resolver, allow=allow)
    with pytest.raises(InvalidInput):
        AllowList.parse("not a host!")


def test_allow_hosts_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """PRESSROOM_WEBHOOK_ALLOW_HOSTS is read when no allow list is given."""
    monkeypatch.setenv("PRESSROOM_WEBHOOK_ALLOW_HOSTS", "10.0.0.0/8")
    assert check_url("http://10.9.9.9/", resolver=resolver).address == "10.9.9.9"
    monkeypatch.delenv("PRESSROOM_WEBHOOK_ALLOW_HOSTS")
    with pytest.raises(UnsafeUrl):
        check_url("http://10.9.9.9/", resolver=resolver)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP listener on 127.0.0.1 that records nothing but pending connections."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    yield sock
    sock.close()


def test_loopback_forms_never_reach_a_local_listener(
    listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sending to loopback spellings of a live listener is refused before any connection."""
    from datetime import UTC, datetime

    from pressroom.core.webhooks import DeliveryStatus, WebhookDelivery
    from pressroom.store import open_store
    from pressroom.webhooks.delivery import Deliverer

    monkeypatch.delenv("PRESSROOM_WEBHOOK_ALLOW_HOSTS", raising=False)
    port = listener.getsockname()[1]
    forms = [
        "127.0.0.1",
        "127.1",
        "0x7f000001",
        "2130706433",
        "[::ffff:127.0.0.1]",
        "localhost",
        "0177.0.0.1",
        "[::1]",
        "0.0.0.0",
    ]
    deliverer = Deliverer(open_store("memory://"))
    now = datetime.now(UTC)
    for form in forms:
        delivery = WebhookDelivery(
            "msg_1",
            "acme",
            "job",
            f"http://{form}:{port}/hook",
            "job.succeeded",
            {},
            DeliveryStatus.PENDING,
            1,
            now,
            now,
            secret="whsec_" + "A" * 32,
        )
        result = deliverer.send(delivery)
        assert not result.ok and "SSRF guard" in (result.error or ""), form
    deliverer.close()
    with pytest.raises(BlockingIOError):
        listener.accept()
