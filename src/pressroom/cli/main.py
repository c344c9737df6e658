"""``pressroom``: migrate, run workers, submit and inspect jobs over the configured database."""

from __future__ import annotations

import json
import logging
import sys
from typing import TYPE_CHECKING, Any

import click

from pressroom._version import __version__
from pressroom.artifacts import open_artifacts
from pressroom.core.errors import InvalidInput, PressroomError, SchemaOutOfDate
from pressroom.core.ports import Store
from pressroom.core.tasks import load_task_modules
from pressroom.service import Pressroom
from pressroom.settings import Settings, split_list
from pressroom.store import open_store

if TYPE_CHECKING:
    from pressroom.cli.remote import RemoteService


class Context:
    """What the top-level options resolve to, shared by every subcommand."""

    def __init__(
        self,
        database_url: str,
        tasks: tuple[str, ...],
        storage_url: str | None = None,
        url: str | None = None,
        api_key: str | None = None,
    ) -> None:
        """Remember the options; connect lazily. With ``url``, jobs and templates go over HTTP."""
        self.database_url = database_url
        self.tasks = tasks
        self.storage_url = storage_url or Settings.from_env().storage_url
        self.url = url
        self.api_key = api_key
        self._service: Pressroom | None = None
        self._remote: RemoteService | None = None

    def service(self) -> Pressroom | RemoteService:
        """The server at ``--url`` when one is set, else the service over the local database."""
        if self.url:
            if self._remote is None:
                from pressroom.cli.remote import RemoteService
                from pressroom.client import Client

                self._remote = RemoteService(Client(self.url, self.api_key))
            return self._remote
        return self.local()

    def local(self) -> Pressroom:
        """The service over the configured store, with task modules loaded.

        Raises InvalidInput when ``--url``/``PRESSROOM_URL`` is set: the command needs the database.
        """
        if self.url:
            raise InvalidInput(
                "this command works on the database, not over HTTP: unset PRESSROOM_URL (--url)"
            )
        if self._service is None:
            load_task_modules(self.tasks)
            store = open_store(self.database_url)
            require_current_schema(store)
            artifacts = open_artifacts(self.storage_url)
            self._service = Pressroom(store, artifacts=artifacts)
        return self._service


def setup_logging(verbose: bool) -> None:
    """Log to stderr, one line per record (also called in ``serve``'s API processes)."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not verbose:  # one line per HTTP request is noise when the CLI talks to a server
        logging.getLogger("httpx").setLevel(logging.WARNING)


def require_current_schema(store: Store) -> None:
    """Raise SchemaOutOfDate (one clear line) unless the database schema is the current one."""
    current, latest = store.schema_version()
    if current != latest:
        raise SchemaOutOfDate(
            f"database schema is at version {current}, this Pressroom needs {latest}: "
            "run `pressroom migrate`"
        )


class _Group(click.Group):
    """Turns Pressroom's own errors into one line on stderr and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PressroomError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="pressroom")
@click.option(
    "--database-url",
    envvar="PRESSROOM_DATABASE_URL",
    default=None,
    help="Database URL (default: a SQLite file under ./pressroom-data/).",
)
@click.option(
    "--tasks",
    "tasks",
    envvar="PRESSROOM_TASKS",
    default="",
    help="Comma-separated modules whose @task functions to load.",
)
@click.option(
    "--storage-url",
    envvar="PRESSROOM_STORAGE_URL",
    default=None,
    help="Where documents are stored: a folder, file:///dir or s3://bucket/prefix "
    "(default: ./pressroom-data/artifacts).",
)
@click.option(
    "--url",
    envvar="PRESSROOM_URL",
    default=None,
    help="A Pressroom server: jobs, submit and templates commands go to it over HTTP.",
)
@click.option("--api-key", envvar="PRESSROOM_API_KEY", default=None, help="The API key for --url.")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
@click.pass_context
def cli(
    ctx: click.Context,
    database_url: str | None,
    tasks: str,
    storage_url: str | None,
    url: str | None,
    api_key: str | None,
    verbose: bool,
) -> None:
    """Pressroom: asynchronous document generation on a durable job queue."""
    setup_logging(verbose)
    ctx.obj = Context(
        database_url or Settings.from_env().database_url,
        split_list(tasks),
        storage_url,
        url=url or None,
        api_key=api_key or None,
    )


def main() -> None:
    """Console-script entry point."""
    from pressroom.cli import (  # noqa: F401 - registers the commands
        access,
        documents,
        jobs,
        serve,
        submit,
        worker,
    )

    try:
        cli.main(prog_name="pressroom", standalone_mode=False)
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)


def echo_json(value: Any) -> None:
    """Print a value as indented JSON."""
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


@cli.command()
@click.pass_obj
def migrate(obj: Context) -> None:
    """Create or upgrade the database schema."""
    store = open_store(obj.database_url)
    applied = store.migrate()
    current, _ = store.schema_version()
    store.close()
    if applied:
        click.echo(f"applied migrations {', '.join(map(str, applied))}; schema at {current}")
    else:
        click.echo(f"schema is current (version {current})")


@cli.command()
@click.option(
    "--older-than",
    "older_than",
    default="30d",
    show_default=True,
    help="Age of finished jobs to delete: seconds, or with s/m/h/d.",
)
@click.pass_obj
def purge(obj: Context, older_than: str) -> None:
    """Delete finished jobs (their events and documents too) older than the given age."""
    n = obj.local().purge(parse_duration(older_than))
    click.echo(f"purged {n} job(s)")


def parse_duration(text: str) -> float:
    """``90`` or ``90s``, ``15m``, ``12h``, ``30d`` → seconds; a click error otherwise."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    raw = text.strip().lower()
    scale = units.get(raw[-1:])
    number = raw[:-1] if scale else raw
    try:
        value = float(number) * (scale or 1)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a duration like 90s, 15m, 12h or 30d") from None
    if value < 0:
        raise click.BadParameter("a duration cannot be negative")
    return value
