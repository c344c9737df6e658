"""The HTTP API: :func:`create_app` over a :class:`~pressroom.service.Pressroom` service.

Modules: ``app`` (the factory), ``routes_jobs`` / ``routes_templates`` / ``routes_ops`` / ``sse``
(routes), ``models`` (request and response bodies), ``views`` (job JSON and links), ``hub`` (the
per-process event fan-out), ``problems`` (RFC 9457 errors), ``limits`` (body and JSON caps),
``auth`` (who is calling), ``bind`` (where ``serve`` may listen), ``preview``, ``metrics``,
``settings``.
"""

from pressroom.api.app import create_app
from pressroom.api.auth import Principal, principal
from pressroom.api.settings import ApiSettings

__all__ = ["ApiSettings", "Principal", "create_app", "principal"]
