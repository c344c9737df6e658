"""The HTML engines (WeasyPrint and Chromium) refuse every resource outside the bundle."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from pressroom.renderers import fetcher
from pressroom.renderers.errors import (
    LimitError,
    RefusedResourceError,
    SandboxError,
    TemplateError,
)
from pressroom.renderers.settings import RendererSettings

from ._support import pdf_text, render, requires_chromium

ENGINES = ["html", pytest.param("chromium", marks=requires_chromium)]

FILE_ATTACKS = [
    '<img src="file:///etc/passwd">',
    '<link rel="attachment" href="file:///etc/passwd">',
    '<style>@import url("file:///etc/passwd");</style><p>x</p>',
    "<style>@import 'file:///etc/passwd';</style><p>x</p>",
    "<style>@font-face { font-family: X; src: url(file:///etc/passwd); } p { font-family: X }"
    "</style><p>x</p>",
    "<style>p { background: url('file:///etc/passwd') }</style><p>x</p>",
    '<iframe src="file:///etc/passwd"></iframe>',
    '<object data="file:///etc/passwd"></object>',
    '<embed src="file:///etc/passwd">',
    '<img src="data:image/svg+xml,<svg xmlns=%22http://www.w3.org/2000/svg%22>'
    "<image href='file:///etc/passwd' width='9' height='9'/></svg>\">",
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("markup", FILE_ATTACKS)
def test_file_urls_are_refused(engine: str, markup: str) -> None:
    """Every way of pointing the document at a local file fails and says it was refused."""
    with pytest.raises(RefusedResourceError, match="refused") as info:
        render(engine, f"<html><body>{markup}</body></html>")
    assert "file:" in str(info.value)


@pytest.mark.parametrize("engine", ENGINES)
def test_file_url_in_bundle_css_is_refused(engine: str) -> None:
    """A bundle stylesheet that imports a local file is refused, naming the stylesheet."""
    with pytest.raises(RefusedResourceError, match="refused"):
        render(
            engine,
            '<link rel="stylesheet" href="site.css"><p>x</p>',
            files={"site.css": "@import url(file:///etc/passwd);"},
        )


def test_base_href_cannot_redirect_relative_urls_to_files() -> None:
    """A ``<base href="file:///">`` does not turn relative references into file reads."""
    with pytest.raises(RefusedResourceError):
        render("html", '<head><base href="file:///"></head><img src="etc/passwd">')


def _network_markup(url: str) -> list[str]:
    return [
        f'<img src="{url}/img.png">',
        f'<link rel="stylesheet" href="{url}/site.css"><p>x</p>',
        f'<style>@import url("{url}/import.css");</style><p>x</p>',
        f"<style>@font-face {{ font-family: X; src: url({url}/f.woff2); }} p {{ font-family: X }}"
        "</style><p>x</p>",
        f"<style>p {{ background: url({url}/bg.png) }}</style><p>x</p>",
        f'<link rel="attachment" href="{url}/a.txt">',
    ]


@pytest.mark.parametrize("engine", ENGINES)
def test_loopback_listener_sees_no_request(engine: str, listener: Any) -> None:
    """Images, stylesheets, imports, fonts and attachments on loopback are never fetched."""
    for markup in _network_markup(listener.url):
        with pytest.raises(RefusedResourceError, match="not in the allowed hosts"):
            render(engine, f"<html><body>{markup}</body></html>")
    assert listener.requests == []


@pytest.mark.parametrize("engine", ENGINES)
def test_allowlisted_loopback_is_still_refused(engine: str, listener: Any) -> None:
    """Even an allowlisted host is refused when it is a loopback address, before connecting."""
    settings = RendererSettings(allowed_hosts=("127.0.0.1",))
    with pytest.raises(RefusedResourceError, match="not a public address"):
        render(engine, f'<img src="{listener.url}/x.png">', settings=settings)
    assert listener.requests == []


@pytest.mark.parametrize(
    ("host", "resolved"),
    [
        ("169.254.169.254", "169.254.169.254"),
        ("metadata.internal", "169.254.169.254"),
        ("intranet.example", "10.1.2.3"),
        ("printer.lan", "192.168.1.20"),
        ("v6.example", "fe80::1"),
        ("mapped.example", "::ffff:10.0.0.1"),
        ("cgnat.example", "100.64.0.1"),
    ],
)
def test_private_and_link_local_addresses_are_refused_before_connecting(
    host: str, resolved: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Allowlisted names that resolve to link-local or private addresses are never connected."""
    family = socket.AF_INET6 if ":" in resolved else socket.AF_INET

    def fake_getaddrinfo(name: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        assert name == host
        return [(family, socket.SOCK_STREAM, 6, "", (resolved, port))]

    def no_connection(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(fetcher.socket, "getaddrinfo", fake_getaddrinfo)
    monkeypatch.setattr(fetcher.socket, "create_connection", no_connection)
    settings = RendererSettings(allowed_hosts=(host,))
    with pytest.raises(RefusedResourceError, match="not a public address"):
        render("html", f'<img src="http://{host}/latest/meta-data">', settings=settings)


def test_allowlisted_host_is_fetched_without_redirects(
    listener: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An allowed host is fetched once, pinned to the checked address; redirects are refused."""
    monkeypatch.setattr(fetcher, "check_public_address", lambda address: None)
    settings = RendererSettings(allowed_hosts=("127.0.0.1",))
    result = render(
        "html",
        f'<link rel="stylesheet" href="{listener.url}/ok.css"><p>fine</p>',
        settings=settings,
    )
    assert "fine" in pdf_text(result.content)
    assert listener.requests == ["/ok.css"]
    with pytest.raises(RefusedResourceError, match="redirects are not followed"):
        render("html", f'<link rel="stylesheet" href="{listener.url}/redirect">', settings=settings)
    assert listener.requests == ["/ok.css", "/redirect"]


@pytest.mark.parametrize("engine", ENGINES)
def test_bundle_files_and_data_urls_load(engine: str) -> None:
    """The template's own stylesheet, images and data: URLs are served."""
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" '
        'height="10"/></svg>'
    )
    result = render(
        engine,
        '<link rel="stylesheet" href="css/site.css"><img src="img/dot.svg">'
        '<img src="data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmci'
        'IHdpZHRoPSIxIiBoZWlnaHQ9IjEiLz4="><p class="x">Bundle works</p>',
        files={"css/site.css": ".x { color: red }", "img/dot.svg": svg},
    )
    assert "Bundle works" in pdf_text(result.content)


@pytest.mark.parametrize("engine", ENGINES)
def test_missing_bundle_file_is_a_template_error(engine: str) -> None:
    """A reference to a file the bundle lacks fails with the file's name."""
    with pytest.raises(TemplateError, match=r"missing\.css"):
        render(engine, '<link rel="stylesheet" href="missing.css"><p>x</p>')


@pytest.mark.parametrize("engine", ENGINES)
def test_giant_colspan_is_refused(engine: str) -> None:
    """``colspan=65534`` is refused before layout with the HTML maximum named."""
    with pytest.raises(LimitError, match="colspan=65534> exceeds the HTML maximum of 1000"):
        render(engine, '<table><tr><td colspan="65534">x</td></tr></table>')


@pytest.mark.parametrize("engine", ENGINES)
def test_hundred_thousand_page_request_hits_the_page_cap(engine: str) -> None:
    """A template asking for 100,000 pages is refused by the page cap before layout."""
    source = (
        "<style>.page { break-after: page }</style>"
        "{% for i in range(pages) %}<section class='page'>{{ i }}</section>{% endfor %}"
    )
    with pytest.raises(LimitError, match="page cap"):
        render(engine, source, {"pages": 100_000})


@pytest.mark.parametrize("engine", ENGINES)
def test_page_cap_applies_during_layout(engine: str) -> None:
    """A document whose length only layout reveals stops at the page cap."""
    with pytest.raises(LimitError, match="more than 5 pages"):
        render(
            engine,
            "{% for i in range(400) %}<p>line {{ i }}</p>{% endfor %}",
            options={"max_pages": 5},
        )


@pytest.mark.parametrize("engine", ENGINES)
def test_ssti_through_an_html_engine(engine: str) -> None:
    """A template reaching for Python internals fails as a sandbox violation."""
    with pytest.raises(SandboxError):
        render(engine, "{{ cycler.__init__.__globals__.os.popen('cat /etc/passwd').read() }}")


@pytest.mark.parametrize("engine", ENGINES)
def test_data_cannot_inject_markup(engine: str) -> None:
    """Markup in the data is escaped text, so it can neither load files nor add elements."""
    result = render(engine, "<p>{{ comment }}</p>", {"comment": '<img src="file:///etc/passwd">'})
    assert '<img src="file:///etc/passwd">' in pdf_text(result.content)


@requires_chromium
def test_chromium_runs_no_javascript_by_default() -> None:
    """Scripts do not run in the Chromium engine unless the javascript option is set."""
    source = (
        "<p id=t>static</p><script>document.getElementById('t').textContent='scripted'</script>"
    )
    assert "static" in pdf_text(render("chromium", source).content)
    scripted = render("chromium", source, options={"javascript": True})
    assert "scripted" in pdf_text(scripted.content)


def test_pdf_variant_and_metadata() -> None:
    """PDF/A-3b output carries the requested title and author."""
    from io import BytesIO

    from pypdf import PdfReader

    result = render(
        "html",
        "<p>archival</p>",
        options={"pdf_variant": "pdf/a-3b", "title": "Archive", "author": "Ops"},
    )
    reader = PdfReader(BytesIO(result.content))
    assert reader.metadata.title == "Archive" and reader.metadata.author == "Ops"
    metadata = reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    assert b"pdfaid:part" in metadata


def test_css_injection_through_options_is_refused() -> None:
    """Page size and margin options cannot smuggle CSS."""
    from pressroom.renderers.errors import OptionsError

    with pytest.raises(OptionsError, match="page_size"):
        render("html", "<p>x</p>", options={"page_size": "A4 } @import url(file:///etc/passwd);"})
