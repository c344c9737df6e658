"""Webhooks: the SSRF guard (:mod:`.guard`), the signature scheme (:mod:`.signing`), the models
(:mod:`.models`) and the delivery loop (:mod:`.delivery`)."""
