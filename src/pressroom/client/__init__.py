"""The Python client of the Pressroom HTTP API: ``Client`` (blocking) and ``AsyncClient``.

::

    from pressroom import Client

    with Client("http://127.0.0.1:8000", api_key="pr_…") as pr:
        job = pr.submit("invoice", data={"number": "2026-001"}, format="pdf")
        job = pr.wait(job.id, on_progress=print, raise_on_failure=True)
        pr.download(job.id, "invoice.pdf")
"""

from pressroom.client._async import AsyncClient
from pressroom.client._errors import ApiError, JobFailed, RateLimited
from pressroom.client._models import (
    Artifact,
    JobError,
    JobPage,
    Progress,
    RemoteJob,
    RemoteTemplate,
)
from pressroom.client._sse import Event
from pressroom.client._sync import Client
from pressroom.webhooks.signing import WebhookVerificationError
from pressroom.webhooks.signing import verify as verify_webhook

__all__ = [
    "ApiError",
    "Artifact",
    "AsyncClient",
    "Client",
    "Event",
    "JobError",
    "JobFailed",
    "JobPage",
    "Progress",
    "RateLimited",
    "RemoteJob",
    "RemoteTemplate",
    "WebhookVerificationError",
    "verify_webhook",
]
