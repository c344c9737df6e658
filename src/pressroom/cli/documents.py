"""``pressroom render``, ``pressroom jobs download`` and ``pressroom templates …``; the
``--template`` form of ``pressroom jobs submit``."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import click

from pressroom.cli.jobs import jobs
from pressroom.cli.main import Context, cli, echo_json, parse_duration
from pressroom.core.errors import InvalidInput
from pressroom.documents import templates as tpl
from pressroom.renderers.registry import SUFFIXES
from pressroom.service import Pressroom
from pressroom.store.memory import MemoryStore


def read_data(path: str | None) -> dict[str, Any]:
    """The JSON object in a file (``-``: stdin); ``{}`` without one."""
    if path is None:
        return {}
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read data file {path!r}: {exc.strerror}") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(value, dict):
        raise InvalidInput(f"{path} must hold a JSON object")
    return value


def parse_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``("page_size=A4", "pdf_ua=true", "max_pages=5")`` → ``{"page_size": "A4", …}``: a value
    that parses as JSON is taken as JSON, anything else as text."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"--option {pair!r} is not key=value")
        try:
            options[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            options[key.strip()] = raw
    return options


def template_arg(value: str, engine: str | None) -> tuple[str | dict[str, Any], str | None]:
    """A ``--template`` value as a job's template and engine: an existing file or folder is
    sent inline (engine from its file name unless given); anything else names a stored one."""
    path = Path(value)
    if path.exists() or path.is_symlink():
        return tpl.to_inline(tpl.load_path(path, engine=engine)), None
    looks_like_file = os.sep in value or value.lower().endswith(tuple(s for s, _ in SUFFIXES))
    if looks_like_file:
        raise InvalidInput(f"no template file or folder at {value!r}")
    return value, engine


@contextlib.contextmanager
def output(path: str) -> Iterator[IO[bytes]]:
    """A binary stream for ``-o``: stdout for ``-``, else a temporary file renamed into place
    when the block succeeds (so a failure leaves nothing behind)."""
    if path == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    target = Path(path)
    if target.is_dir():
        raise InvalidInput(f"{path!r} is a folder; give a file name")
    if not target.parent.is_dir():
        raise InvalidInput(f"folder {str(target.parent)!r} does not exist")
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)
        os.replace(temp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)


def submit_template(
    obj: Context,
    template: str,
    data_path: str | None,
    fmt: str | None,
    engine: str | None,
    option_pairs: tuple[str, ...],
    filename: str | None,
    cache: str | None,
    **job_options: Any,
) -> None:
    """``jobs submit --template …``: check and submit a render job, print its id."""
    chosen, override = template_arg(template, engine)
    data = read_data(data_path)
    options = parse_options(option_pairs)
    ttl = parse_duration(cache) if cache else None
    job, _ = obj.service().submit_render(
        chosen,
        data,
        format=fmt,
        options=options,
        filename=filename,
        engine=override,
        cache=ttl,
        **job_options,
    )
    click.echo(job.id)


ENGINE_FLAG = click.option("--engine", default=None, help="Engine (default: from the file name).")
OPTION_FLAG = click.option(
    "--option", "option_pairs", multiple=True, help="Engine option k=v (repeatable)."
)


@cli.command("render")
@click.argument("template")
@click.option("--data", "data_path", default=None, help="A JSON file ('-': stdin).")
@click.option(
    "--format", "fmt", default=None, help="pdf, html, png, docx… (default: the engine's)."
)
@click.option(
    "-o", "--output", "out", required=True, help="Where to write the document ('-': stdout)."
)
@ENGINE_FLAG
@OPTION_FLAG
@click.pass_obj
def render(
    obj: Context,
    template: str,
    data_path: str | None,
    fmt: str | None,
    out: str,
    engine: str | None,
    option_pairs: tuple[str, ...],
) -> None:
    """Render TEMPLATE (a file, a folder, or a stored NAME[@VERSION]) now, without a job.

    For template authors: the same checks and renderers as a job, in this process. A file or
    folder needs no database.
    """
    chosen, override = template_arg(template, engine)
    data = read_data(data_path)
    options = parse_options(option_pairs)
    service = obj.local() if isinstance(chosen, str) else Pressroom(MemoryStore())
    doc = service.render_now(chosen, data, format=fmt, options=options, engine=override)
    with output(out) as fh:
        fh.write(doc.content)
    if out != "-":
        pages = f", {doc.page_count} page(s)" if doc.page_count else ""
        click.echo(f"wrote {out} ({len(doc.content)} bytes{pages})", err=True)


@jobs.command("download")
@click.argument("job_id")
@click.option(
    "-o", "--output", "out", required=True, help="Where to write the document ('-': stdout)."
)
@click.pass_obj
def download(obj: Context, job_id: str, out: str) -> None:
    """Save the document a succeeded job made."""
    job, stream = obj.service().open_result(job_id)
    with stream, output(out) as fh:
        shutil.copyfileobj(stream, fh)
    if out != "-":
        click.echo(f"wrote {out} ({job.result.get('size', '?')} bytes)", err=True)


@cli.group()
def templates() -> None:
    """Stored, versioned templates."""


@templates.command("push")
@click.argument("path")
@click.option("--name", required=True, help="The template's name (a new version if it exists).")
@ENGINE_FLAG
@click.pass_obj
def push(obj: Context, path: str, name: str, engine: str | None) -> None:
    """Store a template FILE or DIR (a folder's data.json is left out) as NAME's next version."""
    tpl.check_name(name)
    bundle = tpl.load_path(path, engine=engine)
    stored, created = obj.service().template_push(name, bundle)
    click.echo(f"{stored.ref} {'stored' if created else 'unchanged'} ({stored.engine})")


@templates.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_templates(obj: Context, as_json: bool) -> None:
    """List stored templates (their latest versions)."""
    found = obj.service().templates()
    if as_json:
        echo_json([t.to_dict() for t in found])
        return
    for t in found:
        created = t.created_at.isoformat(timespec="seconds")
        click.echo(f"{t.name:<24} v{t.version:<4} {t.engine:<9} {t.size:>9} B  {created}")


@templates.command("show")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def show(obj: Context, ref: str, as_json: bool) -> None:
    """Show a stored template: NAME (latest) or NAME@VERSION, with its files."""
    found = obj.service().template_get(ref, with_bundle=True)
    files: dict[str, int] = {}
    if found.bundle is not None:  # a server does not send bundles
        bundle = tpl.unpack(found.bundle, found.engine, found.main)
        files = {name: len(data) for name, data in sorted(bundle.files.items())}
    if as_json:
        echo_json({**found.to_dict(), "files": files})
        return
    for key, value in found.to_dict().items():
        click.echo(f"{key:<11}{value}")
    for name, size in files.items():
        click.echo(f"  {name:<40} {size:>9} B{'  (main)' if name == found.main else ''}")
