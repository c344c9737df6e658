"""``pressroom keys`` and ``pressroom tenants``: API keys and tenants' webhook secrets."""

from __future__ import annotations

from datetime import datetime

import click

from pressroom.cli.main import Context, cli, echo_json
from pressroom.core.accounts import ApiKey


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _key_dict(key: ApiKey) -> dict[str, object]:
    return {
        "id": key.id,
        "prefix": key.prefix,
        "tenant": key.tenant,
        "admin": key.admin,
        "name": key.name,
        "created_at": _iso(key.created_at),
        "last_used_at": _iso(key.last_used_at),
        "revoked_at": _iso(key.revoked_at),
    }


@cli.group()
def keys() -> None:
    """API keys: each belongs to a tenant; only a hash is stored."""


@keys.command("create")
@click.option("--tenant", required=True, help="The tenant the key acts for (created if new).")
@click.option("--admin", is_flag=True, help="The key may also manage the server.")
@click.option("--name", default=None, help="A label to recognise the key by.")
@click.pass_obj
def create(obj: Context, tenant: str, admin: bool, name: str | None) -> None:
    """Create a key and print it once (it cannot be shown again)."""
    key, secret = obj.local().key_create(tenant, admin=admin, name=name)
    click.echo(secret)
    click.echo(
        f"created key {key.id} (prefix {key.prefix}) for tenant {key.tenant}"
        f"{' with admin rights' if key.admin else ''}; store it now, it will not be shown again",
        err=True,
    )


@keys.command("list")
@click.option("--tenant", default=None, help="Only this tenant's keys.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_keys(obj: Context, tenant: str | None, as_json: bool) -> None:
    """List keys (never their secrets)."""
    found = obj.local().key_list(tenant)
    if as_json:
        echo_json([_key_dict(k) for k in found])
        return
    for k in found:
        state = "revoked" if k.revoked_at else "active"
        role = "admin" if k.admin else "-"
        click.echo(f"{k.id}  pr_{k.prefix}_…  {k.tenant:<20} {role:<5} {state:<7} {k.name or ''}")


@keys.command("revoke")
@click.argument("key_id")
@click.pass_obj
def revoke(obj: Context, key_id: str) -> None:
    """Revoke a key at once."""
    key = obj.local().key_revoke(key_id)
    click.echo(f"revoked {key.id} (prefix {key.prefix}, tenant {key.tenant})")


@cli.group()
def tenants() -> None:
    """Tenants and the secrets that sign their webhook deliveries."""


@tenants.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_tenants(obj: Context, as_json: bool) -> None:
    """List tenants (not their secrets)."""
    found = obj.local().access.tenants()
    if as_json:
        echo_json([{"name": t.name, "created_at": t.created_at.isoformat()} for t in found])
        return
    for t in found:
        click.echo(f"{t.name:<24} {t.created_at.isoformat(timespec='seconds')}")


@tenants.command("secret")
@click.argument("tenant")
@click.option("--rotate", is_flag=True, help="Replace the secret with a new one first.")
@click.pass_obj
def secret(obj: Context, tenant: str, rotate: bool) -> None:
    """Print TENANT's webhook signing secret (whsec_…), created if it has none."""
    access = obj.local().access
    if rotate:
        click.echo(access.tenant_rotate_secret(tenant).webhook_secret)
        click.echo("rotated: deliveries from now on are signed with this secret", err=True)
    else:
        click.echo(access.tenant_webhook_secret(tenant))
