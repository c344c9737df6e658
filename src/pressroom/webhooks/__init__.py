"""Webhooks: the SSRF guard (:mod:`.guard`), the signature scheme (:mod:`.signing`), the
registration service (:mod:`.service`) and the sender (:mod:`.delivery`).

Receivers need only :func:`verify` (re-exported here, without the sender's dependencies)."""

from pressroom.webhooks.signing import WebhookVerificationError, verify

__all__ = ["WebhookVerificationError", "verify"]
