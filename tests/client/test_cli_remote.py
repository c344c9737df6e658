"""The command line over HTTP (PRESSROOM_URL): jobs, submit and templates talk to a server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INVOICE = ROOT / "examples" / "invoice"


def run(url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``pressroom`` with PRESSROOM_URL set and a database path that must stay unused."""
    env = {
        **os.environ,
        "PRESSROOM_URL": url,
        "PRESSROOM_DATABASE_URL": f"sqlite:///{tmp_path}/never-created.db",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-m", "pressroom", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_jobs_commands_go_to_the_server(server: str, tmp_path: Path) -> None:
    """submit, wait and show work over HTTP and never open the local database."""
    submitted = run(server, tmp_path, "jobs", "submit", "--task", "pressroom.noop")
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip()
    waited = run(server, tmp_path, "jobs", "wait", job_id, "--timeout", "60")
    assert waited.returncode == 0, waited.stderr
    shown = run(server, tmp_path, "jobs", "show", job_id, "--json")
    assert json.loads(shown.stdout)["status"] == "succeeded"
    listed = run(server, tmp_path, "jobs", "list")
    assert job_id in listed.stdout
    assert not (tmp_path / "never-created.db").exists()


def test_submit_waits_with_progress_and_saves_the_document(server: str, tmp_path: Path) -> None:
    """``pressroom submit DIR --data F -o OUT`` renders through the server and writes the PDF."""
    out = tmp_path / "invoice.pdf"
    done = run(
        server,
        tmp_path,
        "submit",
        str(INVOICE),
        "--data",
        str(INVOICE / "data.json"),
        "-o",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().startswith(b"%PDF")


def test_templates_push_and_list_over_http(server: str, tmp_path: Path) -> None:
    """A template pushed over HTTP is listed by the server."""
    pushed = run(server, tmp_path, "templates", "push", str(INVOICE), "--name", "inv")
    assert pushed.returncode == 0, pushed.stderr
    assert "inv@1" in pushed.stdout
    listed = run(server, tmp_path, "templates", "list")
    assert "inv" in listed.stdout


def test_errors_are_one_line_and_failed_jobs_exit_non_zero(server: str, tmp_path: Path) -> None:
    """An unknown job is one error line; a failing job makes submit --wait exit 1."""
    missing = run(server, tmp_path, "jobs", "show", "nope")
    assert missing.returncode == 1
    assert missing.stderr.startswith("error:") and len(missing.stderr.strip().splitlines()) == 1
    bad = tmp_path / "bad.md"
    bad.write_text("{{ undefined_thing.attr }}")
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    failed = run(server, tmp_path, "submit", str(bad), "--data", str(empty), "--wait")
    assert failed.returncode == 1
    assert "failed" in failed.stderr
    refused = run(server, tmp_path, "purge")
    assert refused.returncode == 1 and "PRESSROOM_URL" in refused.stderr
