"""API key and secret formats: making them, parsing them, hashing them.

An API key is ``pr_<prefix>_<secret>``: ``prefix`` is 8 lower-case letters and digits, stored in
clear to find the key; ``secret`` is 43 URL-safe characters (32 random bytes). Only the SHA-256
of the whole key is stored: with 256 bits of randomness a fast hash is enough (no password
stretching is needed), and comparisons use :func:`hmac.compare_digest`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string

KEY_MARK = "pr_"
PREFIX_LENGTH = 8
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
_MIN_SECRET_LENGTH = 32
_MAX_KEY_LENGTH = 200
WEBHOOK_SECRET_MARK = "whsec_"  # noqa: S105 - a format marker, not a secret


def new_api_key() -> tuple[str, str]:
    """A new key and its public prefix: (``pr_<prefix>_<secret>``, prefix)."""
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
    return f"{KEY_MARK}{prefix}_{secrets.token_urlsafe(32)}", prefix


def key_prefix(key: str) -> str | None:
    """The public prefix of a well-formed key, or None if ``key`` is not one."""
    if not isinstance(key, str) or len(key) > _MAX_KEY_LENGTH or not key.startswith(KEY_MARK):
        return None
    prefix, sep, rest = key[len(KEY_MARK) :].partition("_")
    if len(prefix) != PREFIX_LENGTH or not sep or len(rest) < _MIN_SECRET_LENGTH:
        return None
    return prefix if all(ch in _PREFIX_ALPHABET for ch in prefix) else None


def hash_key(key: str) -> str:
    """The stored form of a key: hex SHA-256 of the whole key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def same_hash(key: str, stored_hash: str) -> bool:
    """Whether ``key`` hashes to ``stored_hash``, compared in constant time."""
    return hmac.compare_digest(hash_key(key), stored_hash)


def new_webhook_secret() -> str:
    """A webhook signing secret: ``whsec_`` + base64 of 24 random bytes."""
    return WEBHOOK_SECRET_MARK + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def webhook_secret_bytes(secret: str) -> bytes:
    """The HMAC key a ``whsec_…`` secret stands for (its base64 part, decoded); a secret
    without the mark is used as UTF-8 text."""
    if secret.startswith(WEBHOOK_SECRET_MARK):
        return base64.b64decode(secret[len(WEBHOOK_SECRET_MARK) :])
    return secret.encode("utf-8")
