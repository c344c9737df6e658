"""Prometheus metrics of one API process: request counts and latency, and (read at scrape time)
jobs by status and queue, queue depth, workers, open event streams and the answering process's
pid. Each app has its own registry; nothing is global (with ``serve --api-processes N`` a scrape
shows the process that accepted it)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pressroom.api.hub import EventHub
from pressroom.service import Pressroom

log = logging.getLogger("pressroom.api.metrics")


class _JobsCollector(Collector):
    """Reads job counts and workers from the store when scraped."""

    def __init__(self, service: Pressroom, hub: EventHub) -> None:
        self.service = service
        self.hub = hub

    def describe(self) -> list[GaugeMetricFamily]:
        """Nothing up front: registering must not query the database."""
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Read the gauges; ``pressroom_store_up`` is 0 when the store cannot be read."""
        up = GaugeMetricFamily("pressroom_store_up", "Whether the store answered this scrape.")
        streams = GaugeMetricFamily("pressroom_sse_streams", "Open event streams in this process.")
        streams.add_metric([], self.hub.open_streams())
        process = GaugeMetricFamily(
            "pressroom_api_process",
            "The API process that answered this scrape (serve --api-processes runs several).",
            labels=["pid"],
        )
        process.add_metric([str(os.getpid())], 1)
        try:
            families = list(self._from_store())
        except Exception:  # a scrape reports the outage instead of failing
            log.warning("metrics: the store could not be read", exc_info=True)
            up.add_metric([], 0)
            yield from (up, streams, process)
            return
        up.add_metric([], 1)
        yield from (up, streams, process, *families)

    def _from_store(self) -> Iterator[GaugeMetricFamily]:
        jobs = GaugeMetricFamily(
            "pressroom_jobs", "Jobs by status and queue.", labels=["status", "queue"]
        )
        depth = GaugeMetricFamily(
            "pressroom_queue_depth", "Jobs waiting to run (queued) per queue.", labels=["queue"]
        )
        stats = self.service.stats()
        for queue, per_status in sorted(stats.counts.items()):
            for status, n in sorted(per_status.items()):
                jobs.add_metric([status, queue], n)
            depth.add_metric([queue], per_status.get("queued", 0))
        workers = self.service.workers()
        nodes = GaugeMetricFamily("pressroom_workers", "Registered worker nodes.")
        nodes.add_metric([], len(workers))
        slots = GaugeMetricFamily(
            "pressroom_worker_concurrency", "Job slots over all worker nodes."
        )
        slots.add_metric([], sum(w.concurrency for w in workers))
        running = GaugeMetricFamily("pressroom_worker_running", "Jobs held by worker nodes.")
        running.add_metric([], sum(len(w.running) for w in workers))
        yield from (jobs, depth, nodes, slots, running)


class Metrics:
    """The registry of one app and the instruments its middleware updates."""

    def __init__(self, service: Pressroom, hub: EventHub) -> None:
        """Register the request instruments and the jobs collector."""
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "pressroom_http_requests",
            "HTTP requests by route, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "pressroom_http_request_duration_seconds",
            "Time to the response's first byte, by route and method.",
            ["route", "method"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.registry.register(_JobsCollector(service, hub))


class MetricsMiddleware:
    """Counts requests and times them to the response start (pure ASGI)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        """Wrap ``app``."""
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Time one request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        timed = False

        async def observe(message: Message) -> None:
            nonlocal status, timed
            if message["type"] == "http.response.start" and not timed:
                timed = True
                status = int(message["status"])
                self.metrics.latency.labels(_route(scope), scope["method"]).observe(
                    time.perf_counter() - start
                )
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            self.metrics.requests.labels(_route(scope), scope["method"], str(status)).inc()


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"
