"""Which addresses ``pressroom serve`` may listen on."""

from __future__ import annotations

import ipaddress

from pressroom.core.errors import InvalidInput

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is a loopback address."""
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_bind(host: str, keys_configured: bool, override: bool) -> None:
    """Refuse (InvalidInput) to listen beyond loopback without API keys unless overridden.

    Without keys every caller acts for the default tenant with operator rights, so only this
    machine may call. ``override`` is ``--allow-unauthenticated``.
    """
    if is_loopback(host) or keys_configured or override:
        return
    raise InvalidInput(
        f"refusing to listen on {host!r} without API keys: anyone who can reach it could submit, "
        "read and delete jobs. Listen on 127.0.0.1, or pass --allow-unauthenticated"
    )
