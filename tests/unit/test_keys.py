"""API keys and tenants through the service and the CLI: format, hashing, revocation."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from pressroom.cli.main import main
from pressroom.core.clock import FakeClock
from pressroom.core.errors import InvalidInput
from pressroom.security import keys as k
from pressroom.service import Pressroom
from pressroom.store import open_store


@pytest.fixture
def svc() -> Pressroom:
    """A service over a memory store with a fake clock."""
    return Pressroom(open_store("memory://"), clock=FakeClock())


def test_key_format_and_stored_hash(svc: Pressroom) -> None:
    """A key is pr_<8>_<43>; the store holds its prefix and SHA-256, never the key."""
    key, secret = svc.key_create("acme", name="ci")
    prefix, body = secret[3:11], secret[12:]
    assert secret.startswith("pr_") and secret[11] == "_" and len(body) >= 43
    assert key.prefix == prefix and key.tenant == "acme" and not key.admin
    stored = svc.store.key_get_by_prefix(prefix)
    assert stored is not None and stored.secret_hash == k.hash_key(secret)
    assert secret not in repr(stored)


def test_authenticate_accepts_only_the_exact_active_key(svc: Pressroom) -> None:
    """The key authenticates; a changed character, junk and a revoked key do not."""
    assert not svc.keys_configured()
    key, secret = svc.key_create("acme", admin=True)
    assert svc.keys_configured()
    found = svc.authenticate(secret)
    assert found is not None and found.id == key.id and found.admin
    tampered = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    for bad in (
        tampered,
        "",
        "pr_",
        "Bearer " + secret,
        secret[:20],
        "x" * 500,
        "pr_ZZZZZZZZ_" + "a" * 43,
    ):
        assert svc.authenticate(bad) is None, bad
    svc.key_revoke(key.id)
    assert svc.authenticate(secret) is None
    assert not svc.keys_configured()


def test_authenticate_touches_at_most_once_a_minute(svc: Pressroom) -> None:
    """Using a key stamps last_used_at, but not again within a minute."""
    clock = svc.clock
    assert isinstance(clock, FakeClock)
    _, secret = svc.key_create("acme")
    svc.authenticate(secret)
    first = svc.key_list()[0].last_used_at
    assert first == clock.now()
    clock.advance(30)
    svc.authenticate(secret)
    assert svc.key_list()[0].last_used_at == first
    clock.advance(31)
    svc.authenticate(secret)
    assert svc.key_list()[0].last_used_at == clock.now()


@pytest.mark.parametrize("name", ["", "Acme", "a b", "-acme", "acme-", "a" * 41, "ac/me", "é"])
def test_tenant_names_are_short_slugs(svc: Pressroom, name: str) -> None:
    """Tenant names that are not short lower-case slugs are refused before anything is stored."""
    with pytest.raises(InvalidInput):
        svc.key_create(name)
    assert svc.key_list() == []


def test_tenant_webhook_secret_made_once_and_rotated(svc: Pressroom) -> None:
    """The first key creates the tenant's whsec_ secret; more keys keep it; rotation changes it."""
    svc.key_create("acme")
    first = svc.access.tenant_webhook_secret("acme")
    assert first.startswith("whsec_") and len(k.webhook_secret_bytes(first)) == 24
    svc.key_create("acme")
    assert svc.access.tenant_webhook_secret("acme") == first
    rotated = svc.access.tenant_rotate_secret("acme").webhook_secret
    assert rotated != first and svc.access.tenant_webhook_secret("acme") == rotated


def test_link_secret_from_setting_or_database(
    svc: Pressroom, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PRESSROOM_SECRET_KEY wins; without it one secret is stored and shared by services."""
    monkeypatch.delenv("PRESSROOM_SECRET_KEY", raising=False)
    made = svc.access.link_secret()
    other = Pressroom(svc.store)
    assert other.access.link_secret() == made and len(made) >= 32
    monkeypatch.setenv("PRESSROOM_SECRET_KEY", "s" * 32)
    assert Pressroom(svc.store).access.link_secret() == b"s" * 32
    monkeypatch.setenv("PRESSROOM_SECRET_KEY", "short")
    with pytest.raises(InvalidInput):
        Pressroom(svc.store).access.link_secret()


def test_keys_cli_create_list_revoke(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """keys create prints the key once on stdout (a warning on stderr); list never shows it."""
    url = f"sqlite:///{tmp_path}/cli.db"
    store = open_store(url)
    store.migrate()
    store.close()
    monkeypatch.setenv("PRESSROOM_DATABASE_URL", url)

    def run(*args: str) -> tuple[str, str]:
        monkeypatch.setattr(sys, "argv", ["pressroom", *args])
        main()
        out = capsys.readouterr()
        return out.out, out.err

    out, err = run("keys", "create", "--tenant", "acme", "--admin", "--name", "ops")
    secret = out.strip()
    assert k.key_prefix(secret) is not None and "not be shown again" in err
    listed, _ = run("keys", "list", "--json")
    rows = json.loads(listed)
    assert [(r["tenant"], r["admin"], r["name"]) for r in rows] == [("acme", True, "ops")]
    assert secret not in listed and secret[12:] not in run("keys", "list")[0]
    run("keys", "revoke", rows[0]["id"])
    assert json.loads(run("keys", "list", "--json")[0])[0]["revoked_at"] is not None
    whsec, _ = run("tenants", "secret", "acme")
    assert whsec.strip().startswith("whsec_")
    rotated, _ = run("tenants", "secret", "acme", "--rotate")
    assert rotated.strip() != whsec.strip()
