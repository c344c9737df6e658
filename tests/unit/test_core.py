"""Pure rules of the core: backoff, outcomes, rate and cron parsing, ids, task registration."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import pressroom
from pressroom.core import retry
from pressroom.core.errors import InvalidInput
from pressroom.core.ids import new_id
from pressroom.core.limits import (
    claim_allowance,
    cron_next_tick,
    cron_previous_tick,
    parse_rate,
    validate_cron,
)
from pressroom.core.models import JobError, JobStatus
from pressroom.core.tasks import JobContext, Registry, TaskSpec, task

NOW = datetime(2030, 1, 1, 2, 0, 30, tzinfo=UTC)


def test_public_api_is_sorted_and_importable() -> None:
    """``pressroom.__all__`` is sorted and every name in it exists."""
    assert pressroom.__all__ == sorted(pressroom.__all__)
    for name in pressroom.__all__:
        assert hasattr(pressroom, name)


def test_backoff_grows_exponentially_with_jitter_and_cap() -> None:
    """Backoff doubles per attempt within ±25 % and never exceeds the cap (+25 %)."""
    for attempt, base in [(1, 1), (2, 2), (3, 4), (6, 32)]:
        for _ in range(50):
            assert 0.75 * base <= retry.backoff_s(attempt) <= 1.25 * base
    assert retry.backoff_s(40) <= 1.25 * retry.BACKOFF_CAP_S


def test_failure_outcome_retries_until_attempts_run_out() -> None:
    """A retryable failure schedules a retry until the last attempt, which fails the job."""
    err = JobError("E", "x")
    assert retry.failure("j", 1, 3, err, NOW).status == JobStatus.SCHEDULED
    assert retry.failure("j", 3, 3, err, NOW).status == JobStatus.FAILED
    permanent = JobError("E", "x", retryable=False)
    assert retry.failure("j", 1, 3, permanent, NOW).status == JobStatus.FAILED


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10/m", (10, 60.0)),
        ("5/30s", (5, 30.0)),
        ("100/h", (100, 3600.0)),
        ("1/d", (1, 86400.0)),
    ],
)
def test_parse_rate(text: str, expected: tuple[int, float]) -> None:
    """Rates read as COUNT/[N]UNIT."""
    assert parse_rate(text) == expected


@pytest.mark.parametrize("text", ["10", "x/m", "0/m", "10/fortnight", "10/0s", ""])
def test_parse_rate_rejects_nonsense(text: str) -> None:
    """Malformed rates raise InvalidInput naming the expected form."""
    with pytest.raises(InvalidInput, match=r"COUNT/PERIOD|positive"):
        parse_rate(text)


def test_token_bucket_allowance() -> None:
    """The allowance respects concurrency and refills tokens over time."""
    assert claim_allowance(
        5, concurrency=3, running=2, rate_count=None, rate_period_s=None, tokens=None, elapsed_s=0
    ) == (1, None)
    allowed, level = claim_allowance(
        5, concurrency=None, running=0, rate_count=2, rate_period_s=60, tokens=0.0, elapsed_s=30
    )
    assert allowed == 1 and level == pytest.approx(1.0)


@pytest.mark.parametrize("expr", ["* * *", "61 * * * *", "0 2 * * mon-", "every day", ""])
def test_malformed_cron_is_refused(expr: str) -> None:
    """A malformed cron expression raises InvalidInput with an example."""
    with pytest.raises(InvalidInput, match="cron expression"):
        validate_cron(expr)


def test_cron_ticks() -> None:
    """The previous tick is at or before now; the next is strictly after."""
    assert cron_previous_tick("0 2 * * *", NOW) == datetime(2030, 1, 1, 2, 0, tzinfo=UTC)
    assert cron_next_tick("0 2 * * *", NOW) == datetime(2030, 1, 2, 2, 0, tzinfo=UTC)
    exact = datetime(2030, 1, 1, 2, 0, tzinfo=UTC)
    assert cron_previous_tick("0 2 * * *", exact) == exact


def test_ids_are_unique_and_time_ordered() -> None:
    """Ids from one process are unique and sort in creation order."""
    ids = [new_id() for _ in range(5000)]
    assert len(set(ids)) == 5000 and ids == sorted(ids)
    assert all(len(i) == 32 for i in ids)


def test_task_decorator_registers_defaults_and_checks_args() -> None:
    """@task records the name and defaults; arguments are checked against the signature."""
    reg = Registry()

    def render(ctx: JobContext, template: str, copies: int = 1) -> str:
        return template * copies

    spec = TaskSpec("t.render", render, queue="docs", max_attempts=5)
    reg.add(spec)
    assert reg.get("t.render").queue == "docs"
    spec.check_args({"template": "x"})
    with pytest.raises(InvalidInput, match="do not fit"):
        spec.check_args({"copies": 2})
    with pytest.raises(InvalidInput, match=r"unknown task 't\.nope'"):
        reg.get("t.nope")
    job = spec.new_job({"template": "x"}, priority=3, queue=None)
    assert (job.queue, job.priority, job.max_attempts) == ("docs", 3, 5)


def test_check_args_shortcut_agrees_with_binding() -> None:
    """Argument checks accept and refuse exactly what binding to the signature would."""

    def plain(ctx: JobContext, a: int, b: int = 0, *, c: int = 0) -> None:
        return None

    def loose(ctx: JobContext, a: int, **rest: int) -> None:
        return None

    cases = [
        (plain, {"a": 1}),
        (plain, {"a": 1, "b": 2, "c": 3}),
        (plain, {"b": 2}),
        (plain, {"a": 1, "d": 4}),
        (plain, {"a": 1, "ctx": 0}),
        (loose, {"a": 1, "z": 2}),
        (loose, {"z": 2}),
        (loose, {"a": 1, "ctx": 0}),
    ]
    for fn, args in cases:
        spec = TaskSpec("t.x", fn)
        try:
            spec.signature.bind(None, **args)
        except TypeError:
            with pytest.raises(InvalidInput, match="do not fit"):
                spec.check_args(args)
        else:
            spec.check_args(args)


def test_task_decorator_refuses_bad_declarations() -> None:
    """A bad cron, no context parameter, or zero attempts is refused at declaration."""
    with pytest.raises(InvalidInput, match="cron"):
        task(name="t.bad_cron", cron="99 * * * *")(lambda ctx: None)
    with pytest.raises(InvalidInput, match="job context"):
        task(name="t.no_ctx")(lambda: None)
    with pytest.raises(InvalidInput, match="max_attempts"):
        task(name="t.zero", max_attempts=0)


def test_context_progress_and_cancellation() -> None:
    """The context forwards progress, validates its range, and raises when cancelled."""
    seen: list[tuple[float, str | None]] = []
    flag = {"on": False}
    ctx = JobContext(
        "j", 1, report_progress=lambda p, m: seen.append((p, m)), is_cancelled=lambda: flag["on"]
    )
    ctx.progress(50, "half")
    assert seen == [(50.0, "half")]
    with pytest.raises(InvalidInput):
        ctx.progress(150)
    ctx.raise_if_cancelled()
    flag["on"] = True
    with pytest.raises(pressroom.Cancelled):
        ctx.raise_if_cancelled()
