"""The command line: one clear line and a non-zero exit for bad input, nothing written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``pressroom`` against the database file ``db``."""
    env = {
        **os.environ,
        "PRESSROOM_DATABASE_URL": f"sqlite:///{db}",
        "PYTHONPATH": str(ROOT),
        "PRESSROOM_TASKS": "tests.worker_tasks",
    }
    return subprocess.run(
        [sys.executable, "-m", "pressroom", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A migrated SQLite database."""
    path = tmp_path / "cli.db"
    assert run(path, "migrate").returncode == 0
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--task", "nope"], "unknown task 'nope'"),
        (["--task", "pressroom.sleep", "--args", '{"minutes": 1}'], "do not fit"),
        (["--task", "pressroom.sleep", "--args", "{bad"], "not valid JSON"),
        (["--task", "pressroom.sleep", "--args", "[1]"], "JSON object"),
        (["--task", "pressroom.noop", "--delay", "-5"], "delay must be"),
        (["--task", "pressroom.noop", "--priority", "x"], "not a valid integer"),
    ],
)
def test_submit_bad_input_one_line_error(db: Path, args: list[str], message: str) -> None:
    """Bad submissions print one error line, exit non-zero and write no job."""
    out = run(db, "jobs", "submit", *args)
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0]
    assert "(all)                     0          0" in run(db, "jobs", "stats").stdout


def test_malformed_cron_in_task_module_is_one_line_error(db: Path, tmp_path: Path) -> None:
    """A task module declaring a malformed cron fails to load with a one-line error."""
    (tmp_path / "badcron.py").write_text(
        "from pressroom import task\n"
        "@task(name='x.bad', cron='61 * * * *')\n"
        "def bad(ctx):\n    pass\n"
    )
    env_path = f"{tmp_path}{os.pathsep}{ROOT}"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pressroom",
            "--tasks",
            "badcron",
            "jobs",
            "submit",
            "--task",
            "x.bad",
        ],
        env={**os.environ, "PRESSROOM_DATABASE_URL": f"sqlite:///{db}", "PYTHONPATH": env_path},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0
    assert out.stderr.strip().count("\n") == 0 and "invalid cron expression" in out.stderr


def test_bulk_submit_from_json_lines(db: Path, tmp_path: Path) -> None:
    """--args-file inserts one job per line and prints their ids; a bad line writes none."""
    good = tmp_path / "jobs.jsonl"
    good.write_text('{"seconds": 0}\n{"seconds": 1}\n\n{"seconds": 2}\n')
    out = run(db, "jobs", "submit", "--task", "pressroom.sleep", "--args-file", str(good))
    assert out.returncode == 0 and len(out.stdout.split()) == 3
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"seconds": 0}\n{"oops": 1}\n')
    out = run(db, "jobs", "submit", "--task", "pressroom.sleep", "--args-file", str(bad))
    assert out.returncode != 0 and "line 2" not in out.stdout
    assert "do not fit" in out.stderr
    assert '"queued": 3' in run(db, "jobs", "stats", "--json").stdout


def test_show_list_cancel_retry_wait(db: Path) -> None:
    """The job commands work together on one database."""
    job_id = run(
        db,
        "jobs",
        "submit",
        "--task",
        "pressroom.sleep",
        "--args",
        '{"seconds": 5}',
        "--max-attempts",
        "1",
    ).stdout.strip()
    shown = run(db, "jobs", "show", job_id, "--json")
    assert '"status": "queued"' in shown.stdout and '"max_attempts": 1' in shown.stdout
    assert job_id in run(db, "jobs", "list", "--status", "queued").stdout
    assert run(db, "jobs", "cancel", job_id).stdout.strip() == "cancelled"
    waited = run(db, "jobs", "wait", job_id, "--timeout", "1")
    assert waited.returncode == 1 and waited.stdout.strip() == "cancelled"
    assert run(db, "jobs", "retry", job_id).stdout.strip() == "queued"
    timed_out = run(db, "jobs", "wait", job_id, "--timeout", "0.2")
    assert timed_out.returncode == 3
    missing = run(db, "jobs", "show", "nope")
    assert missing.returncode == 1 and missing.stderr.startswith("error: no job")


def test_worker_rejects_bad_options(db: Path) -> None:
    """Worker options that cannot work are refused with one line."""
    out = run(db, "worker", "--concurrency", "0")
    assert out.returncode != 0 and "concurrency must be at least 1" in out.stderr
    out = run(db, "worker", "--queues", "bad queue!")
    assert out.returncode != 0 and "invalid queue name" in out.stderr
