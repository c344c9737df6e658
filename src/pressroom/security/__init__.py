"""Access control below the HTTP layer: API keys and tenants (:mod:`.keys`, :mod:`.access`),
signed links (:mod:`.links`) and idempotency (:mod:`.idempotency`)."""
