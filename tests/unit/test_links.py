"""Signed links: valid until they expire, and only for the path and tenant they were made for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

import pytest

from pressroom.core.clock import FakeClock
from pressroom.security.links import sign_link, signed_path, verify_link

SECRET = b"k" * 32
PATH = "/v1/jobs/abc/result"


def params(query: str) -> dict[str, str]:
    """A query string as a dict."""
    return dict(parse_qsl(query))


def test_valid_until_expiry() -> None:
    """A link verifies for its tenant until its expiry second, and not from then on."""
    clock = FakeClock(datetime(2030, 1, 1, tzinfo=UTC))
    query = sign_link(PATH, "acme", clock.now() + timedelta(hours=1), SECRET)
    assert verify_link(PATH, params(query), SECRET, now=clock.now()) == "acme"
    clock.advance(3599)
    assert verify_link(PATH, params(query), SECRET, now=clock.now()) == "acme"
    clock.advance(1)
    assert verify_link(PATH, params(query), SECRET, now=clock.now()) is None


def test_signed_path_default_one_hour() -> None:
    """signed_path appends a query valid for an hour by default."""
    now = datetime(2030, 1, 1, tzinfo=UTC)
    path, _, query = signed_path(PATH, "acme", now, SECRET).partition("?")
    assert path == PATH and params(query)["expires"] == str(int(now.timestamp()) + 3600)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tenant", "beta"),
        ("expires", "99999999999"),
        ("sig", "A" * 43),
        ("sig", ""),
        ("expires", "-1"),
        ("expires", "１２３"),
        ("sig", "é" * 43),
    ],
)
def test_tampering_refused(field: str, value: str) -> None:
    """Changing the tenant, expiry or signature makes the link invalid."""
    now = datetime(2030, 1, 1, tzinfo=UTC)
    p = params(sign_link(PATH, "acme", now + timedelta(hours=1), SECRET))
    p[field] = value
    assert verify_link(PATH, p, SECRET, now=now) is None


def test_other_path_secret_or_missing_fields_refused() -> None:
    """A link does not open another path, does not verify under another secret, needs all fields."""
    now = datetime(2030, 1, 1, tzinfo=UTC)
    p = params(sign_link(PATH, "acme", now + timedelta(hours=1), SECRET))
    assert verify_link("/v1/jobs/abd/result", p, SECRET, now=now) is None
    assert verify_link(PATH, p, b"other" * 8, now=now) is None
    for missing in ("sig", "tenant", "expires"):
        assert (
            verify_link(PATH, {k: v for k, v in p.items() if k != missing}, SECRET, now=now) is None
        )


def test_access_signs_and_verifies_with_the_shared_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """A path signed by one service verifies on another over the same store, until expiry."""
    from pressroom.service import Pressroom
    from pressroom.store import open_store

    monkeypatch.delenv("PRESSROOM_SECRET_KEY", raising=False)
    clock = FakeClock(datetime(2030, 1, 1, tzinfo=UTC))
    store = open_store("memory://")
    signed = Pressroom(store, clock=clock).access.sign_path(PATH, "acme", ttl_s=60)
    other = Pressroom(store, clock=clock).access
    path, _, query = signed.partition("?")
    assert other.verify_path(path, params(query)) == "acme"
    clock.advance(60)
    assert other.verify_path(path, params(query)) is None
