"""``pressroom worker``: run a worker node."""

from __future__ import annotations

import logging
import os
import sys

import click

from pressroom.cli.main import Context, cli, require_current_schema
from pressroom.service import Pressroom
from pressroom.settings import split_list
from pressroom.store import open_store
from pressroom.worker.config import WorkerConfig
from pressroom.worker.supervisor import Supervisor

log = logging.getLogger("pressroom.worker")


def _load_templates(database_url: str, folder: str) -> None:
    """Store each subfolder of ``folder`` as a template, on a connection closed afterwards."""
    service = Pressroom(open_store(database_url))
    try:
        require_current_schema(service.store)
        for stored, created in service.template_load_dir(folder):
            state = "stored" if created else "unchanged"
            log.info("template %s %s (%s)", stored.ref, state, stored.engine)
    finally:
        service.close()


@cli.command()
@click.option(
    "--concurrency",
    "-c",
    type=int,
    default=None,
    help="Child processes running jobs (default: CPU cores).",
)
@click.option(
    "--queues",
    "-q",
    default="default",
    show_default=True,
    help="Comma-separated queues to take jobs from.",
)
@click.option(
    "--max-jobs-per-child",
    type=int,
    default=0,
    show_default=True,
    help="Recycle a child after this many jobs (0: never).",
)
@click.option(
    "--max-memory-mb",
    type=float,
    default=512.0,
    show_default=True,
    help="Recycle a child whose memory (RSS) grows above this (0: never).",
)
@click.option(
    "--lease",
    type=float,
    default=15.0,
    show_default=True,
    help="Seconds a claimed job stays reserved without a heartbeat.",
)
@click.option(
    "--grace",
    type=float,
    default=30.0,
    show_default=True,
    help="On SIGTERM, seconds running jobs get to finish before being given back.",
)
@click.option(
    "--prefetch",
    type=int,
    default=None,
    help="Jobs claimed ahead of free children (default: automatic).",
)
@click.option(
    "--retention",
    type=float,
    default=30.0,
    show_default=True,
    help="Days to keep finished jobs before purging them.",
)
@click.option(
    "--templates",
    "templates_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Store each subfolder of this folder as a template named after it, at start.",
)
@click.pass_obj
def worker(
    obj: Context,
    concurrency: int | None,
    queues: str,
    max_jobs_per_child: int,
    max_memory_mb: float | None,
    lease: float,
    grace: float,
    prefetch: int | None,
    retention: float,
    templates_dir: str | None,
) -> None:
    """Run a worker node: claim jobs from the queues and run them in child processes.

    Children get the database and storage URLs through their environment
    (``PRESSROOM_DATABASE_URL``, ``PRESSROOM_STORAGE_URL``): render jobs read templates and
    write documents there.
    """
    config = WorkerConfig(
        database_url=obj.database_url,
        concurrency=concurrency if concurrency is not None else (os.cpu_count() or 1),
        queues=split_list(queues),
        task_modules=obj.tasks,
        lease_s=lease,
        grace_s=grace,
        max_jobs_per_child=max_jobs_per_child,
        max_memory_mb=max_memory_mb or None,
        prefetch=prefetch,
        retention_s=retention * 86400,
    )
    if templates_dir is not None:
        _load_templates(obj.database_url, templates_dir)
    os.environ["PRESSROOM_DATABASE_URL"] = obj.database_url
    os.environ["PRESSROOM_STORAGE_URL"] = obj.storage_url
    sys.exit(Supervisor(config).run())
