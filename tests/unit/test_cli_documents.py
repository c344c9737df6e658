"""The document commands: bad input gives one ``error:`` line, a non-zero exit, and no writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pressroom.cli.main import main
from pressroom.core.models import JobFilter
from pressroom.renderers.base import TemplateBundle
from pressroom.service import Pressroom
from pressroom.store import open_store
from pressroom.store.sqlite import _MIGRATIONS
from tests.integration._documents import EXAMPLES_DIR, check_document, example_data

ROOT = Path(__file__).resolve().parents[2]


def run(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``pressroom`` as a process in ``tmp``, with its database and artifacts there."""
    env = {
        **os.environ,
        "PRESSROOM_DATABASE_URL": f"sqlite:///{tmp}/cli.db",
        "PRESSROOM_STORAGE_URL": str(tmp / "artifacts"),
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-m", "pressroom", *args],
        env=env,
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder with a migrated database holding the invoice template, and bad data
    files; commands run in this process with their database and artifacts there."""
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("PRESSROOM_DATABASE_URL", url)
    monkeypatch.setenv("PRESSROOM_STORAGE_URL", str(tmp_path / "artifacts"))
    monkeypatch.chdir(tmp_path)
    store = open_store(url)
    store.migrate()
    Pressroom(store).template_push("invoice", TemplateBundle.from_path(EXAMPLES_DIR / "invoice"))
    store.close()
    (tmp_path / "bad.json").write_text("{oops")
    (tmp_path / "list.json").write_text("[1, 2]")
    return tmp_path


def invoke(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str):
    """Run the ``pressroom`` entry point in this process; (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["pressroom", *args])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


INVOICE = str(EXAMPLES_DIR / "invoice")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["jobs", "submit", "--template", "nope"], "unknown template 'nope'"),
        (["jobs", "submit", "--template", "invoice@7"], "unknown template 'invoice@7'"),
        (["jobs", "submit", "--template", "invoice", "--format", "docx"], "cannot make 'docx'"),
        (["jobs", "submit", "--template", INVOICE, "--option", "colour=red"], "unknown option"),
        (["jobs", "submit", "--template", INVOICE, "--option", "margin"], "not key=value"),
        (["jobs", "submit", "--template", "invoice", "--engine", "typst"], "does not take"),
        (["jobs", "submit", "--template", INVOICE, "--engine", "typst"], "main file"),
        (["jobs", "submit", "--template", INVOICE, "--data", "bad.json"], "not valid JSON"),
        (["jobs", "submit", "--template", INVOICE, "--data", "list.json"], "JSON object"),
        (["jobs", "submit", "--template", INVOICE, "--data", "none.json"], "cannot read data"),
        (["jobs", "submit", "--template", "missing/index.html"], "no template file"),
        (["jobs", "submit", "--template", INVOICE, "--cache", "soon"], "not a duration"),
        (["jobs", "submit", "--task", "pressroom.noop", "--template", "x"], "either --task"),
        (["jobs", "submit", "--task", "pressroom.noop", "--format", "pdf"], "need --template"),
        (["render", INVOICE, "--format", "docx", "-o", "out.pdf"], "cannot make 'docx'"),
        (["render", "nope", "-o", "out.pdf"], "unknown template 'nope'"),
        (["templates", "push", str(EXAMPLES_DIR / "previews"), "--name", "p"], "main file"),
        (["templates", "push", INVOICE, "--name", "bad name"], "invalid template name"),
        (["templates", "show", "invoice@2"], "no template invoice@2"),
        (["jobs", "download", "0" * 32, "-o", "out.pdf"], "no job"),
    ],
)
def test_bad_document_commands_one_line_error(
    tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    """Each mistake is one clear error line, a non-zero exit, no job, template or file."""
    code, _, err = invoke(monkeypatch, capsys, *args)
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], err
    store = open_store(f"sqlite:///{tmp}/cli.db")
    assert store.job_list(JobFilter()) == []
    assert [t.ref for t in store.template_list()] == ["invoice@1"]
    store.close()
    files = sorted(p.name for p in tmp.iterdir() if not p.name.startswith("cli.db"))
    assert files == ["bad.json", "list.json"]


def test_render_writes_a_document_and_submit_prints_an_id(tmp: Path) -> None:
    """As a real process: ``render`` writes a valid file from a folder, ``jobs submit
    --template`` queues a job for a stored template, ``jobs download`` refuses an unfinished
    one."""
    data = str(EXAMPLES_DIR / "invoice" / "data.json")
    done = run(tmp, "render", INVOICE, "--data", data, "-o", "invoice.pdf")
    assert done.returncode == 0, done.stderr
    check_document("invoice", (tmp / "invoice.pdf").read_bytes(), example_data("invoice"))
    submitted = run(tmp, "jobs", "submit", "--template", "invoice", "--data", data)
    assert submitted.returncode == 0 and len(submitted.stdout.strip()) == 32
    shown = run(tmp, "jobs", "show", submitted.stdout.strip(), "--json").stdout
    assert '"template": "invoice@1"' in shown
    early = run(tmp, "jobs", "download", submitted.stdout.strip(), "-o", "early.pdf")
    assert early.returncode == 1 and "only a succeeded job has a result" in early.stderr
    assert not (tmp / "early.pdf").exists()


def test_old_schema_is_one_line_error(
    tmp: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Commands on a database that was never migrated say to run ``pressroom migrate``."""
    monkeypatch.setenv("PRESSROOM_DATABASE_URL", f"sqlite:///{tmp}/empty.db")
    code, _, err = invoke(monkeypatch, capsys, "templates", "list")
    latest = _MIGRATIONS[-1][0]
    assert code == 1 and err.strip().splitlines() == [
        f"error: database schema is at version 0, this Pressroom needs {latest}: "
        "run `pressroom migrate`"
    ]
