"""``pressroom serve`` as a real process: API plus embedded workers, SSE, download, SIGTERM."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import httpx
import psutil
import pytest

from pressroom.cli._api_processes import shared_socket
from pressroom.testing import wait_until
from tests.api.conftest import INLINE_HTML, free_port
from tests.api.test_sse import sse

ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PRESSROOM_DATABASE_URL": f"sqlite:///{tmp_path}/serve.db",
        "PRESSROOM_STORAGE_URL": str(tmp_path / "artifacts"),
        "PYTHONPATH": str(ROOT),
    }


def _start_serve(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[bytes], str, BinaryIO]:
    """Migrate a fresh database, then start ``serve`` on a free port with one embedded worker
    and ``extra`` flags; returns the process, its base URL and its log (the caller closes)."""
    env = _env(tmp_path)
    migrate = [sys.executable, "-m", "pressroom", "migrate"]
    subprocess.run(migrate, env=env, check=True, capture_output=True)
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    args = [sys.executable, "-m", "pressroom", "serve", "--port", str(port), "--workers", "1"]
    proc = subprocess.Popen([*args, *extra], env=env, stdout=log, stderr=subprocess.STDOUT)
    return proc, f"http://127.0.0.1:{port}", log


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def _follow(base: str, job: dict[str, object]) -> list[str]:
    links = job["links"]
    assert isinstance(links, dict)
    with httpx.stream("GET", f"{base}{links['events']}", timeout=60) as response:
        return [e["data"]["status"] for e in sse(response) if e.get("event") == "status"]


@pytest.mark.slow
def test_serve_runs_jobs_streams_events_and_drains_on_sigterm(tmp_path: Path) -> None:
    """serve accepts jobs, its embedded workers run them, SSE ends at success, the document
    downloads, and SIGTERM stops the API and the workers with exit code 0."""
    proc, base, log = _start_serve(tmp_path)
    try:
        wait_until(lambda: _up(base) or proc.poll() is not None, timeout=60, message="serve up")
        assert proc.poll() is None, (tmp_path / "serve.log").read_text()
        noop = httpx.post(f"{base}/v1/jobs", json={"task": "pressroom.noop"}).json()
        assert _follow(base, noop)[-1] == "succeeded"
        render = httpx.post(
            f"{base}/v1/jobs",
            json={"template": INLINE_HTML, "data": {"name": "Ada"}, "format": "html"},
        ).json()
        assert _follow(base, render)[-1] == "succeeded"
        document = httpx.get(f"{base}{render['links']['result']}")
        assert document.status_code == 200 and "Hello Ada" in document.text
        workers = httpx.get(f"{base}/v1/workers").json()["workers"]
        assert len(workers) == 1 and workers[0]["concurrency"] == 1
        children = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, (tmp_path / "serve.log").read_text()
        _, alive = psutil.wait_procs(children, timeout=30)
        assert not [p for p in alive if "resource_tracker" not in " ".join(p.cmdline())]
        output = (tmp_path / "serve.log").read_text()
        assert f"{base}/docs" in output and "draining" in output
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        log.close()


def test_serve_refuses_a_public_address_without_keys(tmp_path: Path) -> None:
    """Binding 0.0.0.0 without keys or --allow-unauthenticated fails before listening."""
    migrate = [sys.executable, "-m", "pressroom", "migrate"]
    assert (
        subprocess.run(migrate, env=_env(tmp_path), capture_output=True, timeout=60).returncode == 0
    )
    args = [sys.executable, "-m", "pressroom", "serve", "--host", "0.0.0.0", "--workers", "0"]
    done = subprocess.run(args, env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "allow-unauthenticated" in done.stderr


@pytest.mark.slow
def test_every_accepted_job_completes_across_sigterm_and_kill_9(tmp_path: Path) -> None:
    """Jobs accepted by serve still all succeed after it is stopped with SIGTERM mid-run,
    restarted, killed with SIGKILL mid-run, and restarted again."""
    env = _env(tmp_path)
    migrate = [sys.executable, "-m", "pressroom", "migrate"]
    subprocess.run(migrate, env=env, check=True, capture_output=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = [sys.executable, "-m", "pressroom", "serve", "--port", str(port), "--workers", "1"]
    args += ["--grace", "1"]
    log = (tmp_path / "serve.log").open("ab")
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        procs.append(proc)
        wait_until(lambda: _up(base) or proc.poll() is not None, timeout=60, message="serve up")
        assert proc.poll() is None, (tmp_path / "serve.log").read_text()
        return proc

    def submit(n: int) -> list[str]:
        body = {"task": "pressroom.sleep", "args": {"seconds": 0.3}}
        return [httpx.post(f"{base}/v1/jobs", json=body).json()["id"] for _ in range(n)]

    def running() -> bool:
        jobs = httpx.get(f"{base}/v1/jobs", params={"status": "running"}).json()["jobs"]
        return bool(jobs)

    try:
        proc = start()
        accepted = submit(10)
        wait_until(running, timeout=30, message="a job running before SIGTERM")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
        proc = start()
        accepted += submit(10)
        wait_until(running, timeout=30, message="a job running before SIGKILL")
        children = psutil.Process(proc.pid).children(recursive=True)
        proc.kill()
        proc.wait(10)
        psutil.wait_procs(children, timeout=30)
        start()

        def all_succeeded() -> bool:
            statuses = [httpx.get(f"{base}/v1/jobs/{i}").json()["status"] for i in accepted]
            assert "failed" not in statuses and "cancelled" not in statuses, statuses
            return all(s == "succeeded" for s in statuses)

        wait_until(all_succeeded, timeout=90, interval=0.5, message="every accepted job done")
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(10)
        log.close()


def _scrape(base: str) -> tuple[int, int]:
    """One /metrics scrape on a fresh connection: (answering pid, its open streams)."""
    text = httpx.get(f"{base}/metrics").text
    pid = re.search(r'^pressroom_api_process\{pid="(\d+)"\} 1', text, re.M)
    streams = re.search(r"^pressroom_sse_streams ([\d.]+)", text, re.M)
    assert pid and streams, text
    return int(pid.group(1)), int(float(streams.group(1)))


@pytest.mark.slow
def test_two_api_processes_both_answer_and_sigterm_drains_them_all(tmp_path: Path) -> None:
    """With --api-processes 2, both processes accept requests and hold event streams on the one
    port, the embedded worker supervisor runs once, and SIGTERM ends the streams and stops
    every process with exit code 0."""
    proc, base, log = _start_serve(tmp_path, "--api-processes", "2", "--grace", "1")
    try:
        wait_until(lambda: _up(base) or proc.poll() is not None, timeout=60, message="serve up")
        assert proc.poll() is None, (tmp_path / "serve.log").read_text()
        spawned = {
            p.pid
            for p in psutil.Process(proc.pid).children()
            if "spawn_main" in " ".join(p.cmdline())
        }
        assert len(spawned) == 2, spawned
        job = httpx.post(
            f"{base}/v1/jobs", json={"task": "pressroom.sleep", "args": {"seconds": 120}}
        ).json()
        with contextlib.ExitStack() as streams:
            opened: list[Iterator[str]] = []
            seen: dict[int, int] = {}

            def both_hold_streams() -> bool:
                client = streams.enter_context(httpx.Client(timeout=60))
                response = streams.enter_context(
                    client.stream("GET", f"{base}{job['links']['events']}")
                )
                lines = response.iter_lines()  # one iterator: dropping one closes the stream
                assert next(lines) == ": connected"
                opened.append(lines)
                for _ in range(4):
                    pid, count = _scrape(base)
                    seen[pid] = max(seen.get(pid, 0), count)
                return len([n for n in seen.values() if n > 0]) == 2

            wait_until(both_hold_streams, timeout=60, message="streams held by both processes")
            assert set(seen) == spawned and len(opened) <= 90
            workers = httpx.get(f"{base}/v1/workers").json()["workers"]
            assert len(workers) == 1
            children = psutil.Process(proc.pid).children(recursive=True)
            proc.send_signal(signal.SIGTERM)
            for lines in opened:  # every stream ends instead of hanging
                list(lines)
        assert proc.wait(60) == 0, (tmp_path / "serve.log").read_text()
        _, alive = psutil.wait_procs(children, timeout=30)
        assert not [p for p in alive if "resource_tracker" not in " ".join(p.cmdline())]
        assert "draining" in (tmp_path / "serve.log").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        log.close()


def test_settle_gc_freezes_start_up_objects_and_raises_gen0_threshold() -> None:
    """settle_gc (run by each API process after start-up) moves live objects out of the
    collector's reach and sets the gen-0 threshold; 0 keeps Python's."""
    code = (
        "import gc; from pressroom.cli._api_processes import settle_gc\n"
        "settle_gc(5000); assert gc.get_freeze_count() > 1000 and gc.get_threshold()[0] == 5000\n"
        "gc.unfreeze(); settle_gc(0); assert gc.get_threshold()[0] == 5000\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_the_shared_socket_gives_connections_tcp_nodelay() -> None:
    """The socket --api-processes shares says it is TCP, so asyncio sets TCP_NODELAY on every
    connection it accepts (uvicorn's own bind leaves the protocol 0 and responses wait on
    Nagle)."""
    sock = shared_socket("127.0.0.1", 0)
    sock.listen()
    with sock, socket.create_connection(sock.getsockname()) as client:
        conn, _ = sock.accept()
        with conn:
            assert sock.proto == socket.IPPROTO_TCP == conn.proto
            assert client.getsockname() == conn.getpeername()
