"""HTTP accept-path benchmark: ``POST /v1/jobs`` of ``pressroom serve`` (one uvicorn worker,
asyncio loop, and two API processes: ``--api-processes 2``) against baseline FastAPI endpoints
measured in the same run, submit → terminal SSE latency of a ``pressroom.noop`` job on an idle
server, and 10 then 1,000 open event streams on one server (errors, events, database queries per
second: bench/http_sse.py).

    bench/.venv-peers/bin/python bench/http_bench.py [--runs 3] [--duration 10] [--connections 64]
                                                [--postgres] [--results bench/RESULTS.md]
    bench/.venv-peers/bin/python bench/http_bench.py --sse-streams [--postgres]   # streams only

``BENCH_BASE_SRC=/path/to/other/checkout/src`` adds ``pressroom-sqlite-base`` (and
``pressroom-postgres-base``): the same server run from that source tree, for A/B comparisons in
one invocation (with ``--only``).

Load comes from ``wrk`` (Debian package) with a fixed JSON body; every server is started fresh
for each round, warmed up for 2 s, then measured; the order of systems rotates between rounds.
The interpreter running this script runs every server (bench/.venv-peers has Pressroom, FastAPI,
uvicorn and RQ). Needs Redis on 127.0.0.1:6379 (BENCH_REDIS_URL) for the RQ baseline and, with
``--postgres``, PostgreSQL at BENCH_PG_URL. Results: bench/out/http.json and a section of
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import http_sse

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
BODY = '{"task": "pressroom.noop", "args": {}}'
BEGIN, END = "<!-- section:http -->", "<!-- /section -->"


@dataclass
class System:
    """A server to measure: how to start it, and what it is."""

    name: str
    label: str
    kind: str  # "pressroom" or a baseline factory in bench/http_apps/baselines.py
    database: str = "sqlite"
    api_processes: int = 1
    src: str | None = None
    """Run Pressroom from this source tree instead of the installed one (A/B runs)."""
    results: list[dict[str, float]] = field(default_factory=list)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _reset_postgres() -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_http_jobs")
        conn.execute(
            "DO $$ BEGIN IF to_regclass('pressroom_jobs') IS NOT NULL THEN "
            "TRUNCATE pressroom_jobs, pressroom_job_events; END IF; END $$"
        )


def start(system: System, port: int, workdir: Path, workers: int = 0) -> subprocess.Popen[bytes]:
    """Start ``system`` on ``port``; return once it answers a POST."""
    env = {**os.environ, "PYTHONPATH": str(BENCH)}
    log = (workdir / f"{system.name}.log").open("ab")
    if system.kind == "pressroom":
        db = PG_URL if system.database == "postgres" else f"sqlite:///{workdir}/pressroom.db"
        if system.database == "postgres":
            _reset_postgres()
        env |= {"PRESSROOM_DATABASE_URL": db, "PRESSROOM_STORAGE_URL": str(workdir / "artifacts")}
        # No tenant queue cap: with no workers draining, the default (10,000 waiting jobs)
        # would answer 429 after a few seconds and the baselines have no such cap.
        env["PRESSROOM_TENANT_QUEUE_CAP"] = "0"
        if system.src:
            env["PYTHONPATH"] = f"{system.src}{os.pathsep}{BENCH}"
        run = [sys.executable, "-m", "pressroom"]
        subprocess.run([*run, "migrate"], env=env, check=True, capture_output=True)
        args = [*run, "serve", "--port", str(port), "--workers", str(workers)]
        if system.api_processes > 1:
            args += ["--api-processes", str(system.api_processes)]
    else:
        if system.database == "postgres":
            _reset_postgres()
        env |= {
            "BENCH_SQLITE_PATH": str(workdir / "baseline.db"),
            "BENCH_PG_URL": PG_URL,
            "BENCH_REDIS_URL": REDIS_URL,
        }
        args = [sys.executable, "-m", "uvicorn", f"http_apps.baselines:{system.kind}", "--factory"]
        args += ["--port", str(port), "--loop", "asyncio", "--http", "httptools"]
        args += ["--no-access-log", "--log-level", "warning"]
    proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=BENCH)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{system.name} exited; see {workdir}/{system.name}.log")
        try:
            post(f"http://127.0.0.1:{port}/v1/jobs")
            return proc
        except OSError:
            time.sleep(0.1)
    stop(proc)
    raise RuntimeError(f"{system.name} did not start")


def post(url: str) -> dict[str, Any]:
    """POST the benchmark body once; the JSON answer."""
    request = urllib.request.Request(
        url, data=BODY.encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return dict(json.loads(response.read()))


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM and wait (kill after 30 s)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its children (the API processes of
    ``--api-processes``): the load-independent cost of its requests."""
    import psutil

    proc = psutil.Process(pid)
    total = 0.0
    for one in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = one.cpu_times()
            total += times.user + times.system
    return total


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, duration: float, connections: int, script: Path) -> dict[str, float]:
    """Run wrk; requests/s, p50/p99 ms and non-2xx count."""
    threads = min(2, connections)
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", "--latency", "-s"]
    out = subprocess.run(
        [*args, str(script), url], capture_output=True, text=True, check=True
    ).stdout

    def latency(pct: str) -> float:
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        return float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "non_2xx": float(bad.group(1)) if bad else 0.0,
        "socket_errors": float(sum(map(int, errors.groups()))) if errors else 0.0,
    }


def sse_latency(samples: int, workdir: Path, database: str = "sqlite") -> dict[str, float]:
    """Submit → terminal status seen on the job's event stream, noop jobs, idle server."""
    import httpx

    system = System("pressroom-sse", "", "pressroom", database)
    port = free_port()
    proc = start(system, port, workdir, workers=1)
    base = f"http://127.0.0.1:{port}"
    times = []
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            for i in range(samples + 5):
                t0 = time.perf_counter()
                job = client.post("/v1/jobs", json={"task": "pressroom.noop"}).json()
                with client.stream("GET", job["links"]["events"]) as response:
                    for line in response.iter_lines():
                        if line.startswith("data:") and '"succeeded"' in line:
                            break
                if i >= 5:  # the first few warm the worker and the hub
                    times.append((time.perf_counter() - t0) * 1000)
                time.sleep(0.05)
    finally:
        stop(proc)
    times.sort()
    return {
        "p50_ms": statistics.median(times),
        "p99_ms": times[min(len(times) - 1, int(len(times) * 0.99))],
        "samples": float(len(times)),
    }


def systems(with_postgres: bool) -> list[System]:
    """The systems of this run."""
    out = [
        System("pressroom-sqlite", "Pressroom `POST /v1/jobs` (SQLite)", "pressroom"),
        System(
            "pressroom-sqlite-2api",
            "Pressroom `POST /v1/jobs` (SQLite), `--api-processes 2`",
            "pressroom",
            api_processes=2,
        ),
        System("fastapi-sqlite", "FastAPI + one SQLite insert (WAL, NORMAL)", "sqlite_app"),
        System("fastapi-rq", "FastAPI + RQ enqueue (Redis)", "rq_app"),
        System("fastapi-202", "FastAPI, validate and answer 202", "accept_app"),
    ]
    if with_postgres:
        out += [
            System(
                "pressroom-postgres",
                "Pressroom `POST /v1/jobs` (PostgreSQL)",
                "pressroom",
                "postgres",
            ),
            System(
                "pressroom-postgres-2api",
                "Pressroom `POST /v1/jobs` (PostgreSQL), `--api-processes 2`",
                "pressroom",
                "postgres",
                api_processes=2,
            ),
            System(
                "fastapi-postgres", "FastAPI + one PostgreSQL INSERT", "postgres_app", "postgres"
            ),
        ]
    base = os.environ.get("BENCH_BASE_SRC")
    if base:
        out += [
            System(f"{s.name}-base", f"{s.label}, base checkout", s.kind, s.database, src=base)
            for s in out
            if s.name in ("pressroom-sqlite", "pressroom-postgres")
        ]
    return out


def median(system: System, key: str) -> float:
    """The median of one measure over the rounds."""
    return statistics.median(r[key] for r in system.results)


def report(
    found: list[System],
    sse: dict[str, float],
    streams: dict[str, list[http_sse.Phase]],
    args: argparse.Namespace,
) -> str:
    """The Markdown section."""
    by = {s.name: s for s in found}
    lines = [
        BEGIN,
        "## HTTP accept path: `POST /v1/jobs` (asyncio loop), event streams",
        "",
        f"Produced by `{' '.join(['bench/.venv-peers/bin/python', *sys.argv])}` on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: `wrk -t2 -c{args.connections} "
        f"-d{args.duration:g}s` on 127.0.0.1 (same 2-core machine), each server started fresh per "
        f"round and warmed 2 s, {args.runs} round(s) with the order rotated; medians over rounds. "
        f"Machine load average (1 min) at the start and the end: {args.load_start:.1f} and "
        f"{os.getloadavg()[0]:.1f}.",
        "",
        "| endpoint | req/s | p50 ms | p99 ms | server CPU ms/request | non-2xx |",
        "|---|---|---|---|---|---|",
    ]
    for s in found:
        lines.append(
            f"| {s.label} | {median(s, 'rps'):,.0f} | {median(s, 'p50_ms'):.1f} | "
            f"{median(s, 'p99_ms'):.1f} | {median(s, 'cpu_ms_per_req'):.2f} | "
            f"{sum(r['non_2xx'] for r in s.results):.0f} |"
        )
    lines += ["", "| goal | measured | target | met |", "|---|---|---|---|"]

    def goal(text: str, value: float, target: float, shown: str, more: bool = True) -> None:
        met = value >= target if more else value <= target
        lines.append(
            f"| {text} | {shown} | {'≥' if more else '≤'} {target:g} | {'yes' if met else 'no'} |"
        )

    p, b, r = (by[n] for n in ("pressroom-sqlite", "fastapi-sqlite", "fastapi-rq"))
    ratio = median(p, "rps") / median(b, "rps")
    goal("SQLite: vs FastAPI + one insert", ratio, 0.8, f"{ratio:.2f}×")
    ratio = median(b, "cpu_ms_per_req") / median(p, "cpu_ms_per_req")
    goal("SQLite: vs FastAPI + one insert, by server CPU per request", ratio, 0.8, f"{ratio:.2f}×")
    ratio = median(p, "rps") / median(r, "rps")
    goal("SQLite: vs FastAPI + RQ enqueue", ratio, 2.0, f"{ratio:.2f}×")
    goal(
        f"SQLite: p99 at {args.connections} connections",
        median(p, "p99_ms"),
        150,
        f"{median(p, 'p99_ms'):.1f} ms",
        more=False,
    )
    if "pressroom-postgres" in by:
        pg, bpg = by["pressroom-postgres"], by["fastapi-postgres"]
        ratio = median(pg, "rps") / median(bpg, "rps")
        goal("PostgreSQL: vs FastAPI + one INSERT", ratio, 0.8, f"{ratio:.2f}×")
        ratio = median(bpg, "cpu_ms_per_req") / median(pg, "cpu_ms_per_req")
        goal("PostgreSQL: vs FastAPI + one INSERT, by CPU per request", ratio, 0.8, f"{ratio:.2f}×")
        goal(
            f"PostgreSQL: p99 at {args.connections} connections",
            median(pg, "p99_ms"),
            150,
            f"{median(pg, 'p99_ms'):.1f} ms",
            more=False,
        )
    for database, name in (("SQLite", "sqlite"), ("PostgreSQL", "postgres")):
        one, two = by.get(f"pressroom-{name}"), by.get(f"pressroom-{name}-2api")
        if one is None or two is None:
            continue
        ratio = median(two, "rps") / median(one, "rps")
        goal(f"{database}: req/s, 2 API processes / 1 (2 cores)", ratio, 1.5, f"{ratio:.2f}×")
    for name, phases in streams.items():
        database = "SQLite" if name == "sqlite" else "PostgreSQL"
        few, many = phases[0], phases[-1]
        goal(
            f"{database}: errors with {many.streams:,} open event streams",
            many.errors,
            0,
            f"{many.errors} ({many.connected:,} connected)",
            more=False,
        )
        ratio = many.queries_per_s / few.queries_per_s if few.queries_per_s else float("nan")
        goal(
            f"{database}: database queries/s, {many.streams:,} streams / {few.streams}",
            ratio,
            1.1,
            f"{many.queries_per_s:.0f} / {few.queries_per_s:.0f} = {ratio:.2f}×",
            more=False,
        )
    goal(
        "submit → terminal SSE event, noop, idle (p50)",
        sse["p50_ms"],
        25,
        f"{sse['p50_ms']:.1f} ms (p99 {sse['p99_ms']:.1f})",
        more=False,
    )
    lines += [
        "",
        "Pressroom's route validates the body (pydantic), checks the task and its arguments, "
        "inserts the job and its creation event, and answers the full job JSON with `Location`; "
        "the baselines insert one row and answer `{id, status, task}`. The SSE figure is one "
        "client: POST, then open the job's event stream, until the `succeeded` event "
        f"({sse['samples']:.0f} jobs, `serve --workers 1`).",
        "",
        "Server CPU per request (user + system seconds of the server process over the measured "
        "window, divided by requests served) does not depend on how much of the machine the "
        "server gets. On a shared, loaded machine req/s does: the kernel shares CPU per runnable "
        "thread, so the baselines' 40 pool threads draw a larger share than Pressroom's event "
        "loop plus one writer thread. Compare req/s only on an otherwise idle machine. With "
        "`--api-processes 2` the CPU is that of both API processes; `wrk` runs on the same two "
        "cores, so two API processes cannot show a 2× on this machine.",
    ]
    if streams:
        lines += [
            "",
            "### Open event streams on one `serve` process",
            "",
            "`serve --workers 2` with 10 `pressroom.sleep` jobs (two run, reporting progress "
            "every second; eight wait); one asyncio httpx client opens the streams spread over "
            f"the ten jobs, holds them {args.sse_window:g} s and closes them; then the next "
            "count on the same server. Database queries: statements of every SQLite connection "
            "of the server and its workers (`PRESSROOM_SQLITE_COUNT_FILE`), or transactions of "
            "the benchmark's own PostgreSQL database (`pg_stat_database`, flushed about once a "
            "second: ±1 s of counts per window). SQLite's figure is mostly the hub's "
            "`PRAGMA data_version` poll (every 3 ms while streams are open); PostgreSQL's the "
            "20 ms probe of the newest event seq and the workers' own queries.",
            "",
            "| database | streams | connected | open in s | errors | events received | "
            "database queries/s | API process CPU % |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name, phases in streams.items():
            for ph in phases:
                lines.append(
                    f"| {name} | {ph.streams:,} | {ph.connected:,} | {ph.open_s:.1f} | "
                    f"{ph.errors} | {ph.events:,} | {ph.queries_per_s:.0f} | "
                    f"{ph.server_cpu_pct:.0f} |"
                )
    lines.append(END)
    return "\n".join(lines) + "\n"


def measure_streams(args: argparse.Namespace) -> dict[str, list[http_sse.Phase]]:
    """10 then 1,000 open event streams on SQLite (and PostgreSQL with ``--postgres``)."""
    counts = [int(n) for n in args.sse_counts.split(",")]
    out = {}
    for database in ("sqlite", "postgres") if args.postgres else ("sqlite",):
        with tempfile.TemporaryDirectory(prefix="bench-streams-") as tmp:
            out[database] = http_sse.measure(database, Path(tmp), counts, args.sse_window)
    return out


def write_section(path: Path, section: str) -> None:
    """Replace (or append) the http section of ``path``."""
    text = path.read_text() if path.exists() else ""
    if BEGIN in text and END in text[text.index(BEGIN) :]:
        start = text.index(BEGIN)
        end = text.index(END, start) + len(END)
        text = text[:start] + section.rstrip("\n") + text[end:]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def main() -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument(
        "--postgres", action="store_true", help="also Pressroom and a baseline on PostgreSQL"
    )
    ap.add_argument("--sse-samples", type=int, default=50)
    ap.add_argument("--only", action="append", help="measure only these systems (experiments)")
    ap.add_argument(
        "--sse-only", action="store_true", help="only SSE latency, SQLite and PostgreSQL"
    )
    ap.add_argument("--sse-streams", action="store_true", help="only the open-streams measurement")
    ap.add_argument("--sse-counts", default="10,1000", help="stream counts, in order")
    ap.add_argument("--sse-window", type=float, default=15.0, help="seconds each count is held")
    ap.add_argument("--json", type=Path, default=OUT / "http.json")
    ap.add_argument("--results", type=Path, default=BENCH / "RESULTS.md")
    args = ap.parse_args()
    args.load_start = os.getloadavg()[0]
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    OUT.mkdir(exist_ok=True)
    script = OUT / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = '{BODY}'\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    if args.sse_only:
        with tempfile.TemporaryDirectory(prefix="bench-sse-") as tmp:
            for database in ("sqlite", "postgres"):
                print(database, sse_latency(args.sse_samples, Path(tmp), database), flush=True)
        return 0
    if args.sse_streams:
        measure_streams(args)
        return 0
    found = [s for s in systems(args.postgres) if not args.only or s.name in args.only]
    for run in range(args.runs):
        order = found[run % len(found) :] + found[: run % len(found)]
        for system in order:
            with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
                port = free_port()
                proc = start(system, port, Path(tmp))
                try:
                    url = f"http://127.0.0.1:{port}/v1/jobs"
                    wrk(url, 2, args.connections, script)
                    before = cpu_seconds(proc.pid)
                    result = wrk(url, args.duration, args.connections, script)
                    used = cpu_seconds(proc.pid) - before
                    done = result["rps"] * args.duration
                    result["cpu_ms_per_req"] = used * 1000 / done if done else float("nan")
                finally:
                    stop(proc)
            system.results.append(result)
            print(f"run {run + 1} {system.name}: {result}", flush=True)
    if args.only:
        for system in found:
            summary = {k: round(median(system, k), 2) for k in system.results[0]}
            print(f"median {system.name}: {summary}", flush=True)
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-sse-") as tmp:
        sse = sse_latency(args.sse_samples, Path(tmp))
    print(f"sse: {sse}", flush=True)
    streams = measure_streams(args)
    args.json.write_text(
        json.dumps(
            {
                "systems": {s.name: s.results for s in found},
                "sse": sse,
                "streams": {k: http_sse.as_json(v) for k, v in streams.items()},
            },
            indent=2,
        )
    )
    section = report(found, sse, streams, args)
    write_section(args.results, section)
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
