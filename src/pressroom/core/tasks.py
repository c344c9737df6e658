"""Tasks: functions registered by name, with their defaults, and the context they run with."""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, overload

from pressroom.core.errors import Cancelled, InvalidInput
from pressroom.core.limits import validate_cron
from pressroom.core.models import JSON, NewJob

BUILTIN_MODULES = ("pressroom.builtin_tasks", "pressroom.documents.task")


class JobContext:
    """What a running task gets as its first argument."""

    def __init__(
        self,
        job_id: str,
        attempt: int,
        *,
        max_attempts: int = 1,
        queue: str = "default",
        report_progress: Callable[[float, str | None], None] | None = None,
        is_cancelled: Callable[[], bool] | None = None,
    ) -> None:
        """Bind the context to one attempt of one job."""
        self.job_id = job_id
        self.attempt = attempt
        self.max_attempts = max_attempts
        self.queue = queue
        self._report = report_progress
        self._is_cancelled = is_cancelled

    def progress(self, percent: float, message: str | None = None) -> None:
        """Report progress, 0–100, with an optional message a person can read."""
        if not 0 <= percent <= 100:
            raise InvalidInput(f"progress must be between 0 and 100, not {percent}")
        if self._report is not None:
            self._report(float(percent), message)

    @property
    def cancelled(self) -> bool:
        """Whether the job was asked to stop (the worker also stops it by force shortly after)."""
        return bool(self._is_cancelled and self._is_cancelled())

    def raise_if_cancelled(self) -> None:
        """Raise :class:`~pressroom.core.errors.Cancelled` if the job was asked to stop."""
        if self.cancelled:
            raise Cancelled("cancelled while running")


@dataclass(frozen=True)
class TaskSpec:
    """A registered task and the defaults its jobs take."""

    name: str
    fn: Callable[..., Any]
    queue: str = "default"
    priority: int = 0
    max_attempts: int = 3
    timeout_s: float | None = None
    cron: str | None = None
    cron_args: dict[str, JSON] = field(default_factory=dict)

    @functools.cached_property
    def signature(self) -> inspect.Signature:
        """The function's signature, computed once."""
        return inspect.signature(self.fn)

    @functools.cached_property
    def _keywords(self) -> tuple[frozenset[str], frozenset[str]] | None:
        """(keyword parameters after the context, those without a default), or None when the
        signature has parameters this shortcut does not model (then every check binds)."""
        params = list(self.signature.parameters.values())
        positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        if not params or params[0].kind not in positional:
            return None
        named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        if any(p.kind not in named for p in params[1:]):
            return None
        empty = inspect.Parameter.empty
        return (
            frozenset(p.name for p in params[1:]),
            frozenset(p.name for p in params[1:] if p.default is empty),
        )

    def check_args(self, args: dict[str, JSON]) -> None:
        """Raise InvalidInput unless ``args`` bind to the function's keyword parameters."""
        keywords = self._keywords
        if keywords is not None and keywords[1] <= args.keys() <= keywords[0]:
            return  # what binding would accept, without building a BoundArguments per job
        try:
            self.signature.bind(None, **args)
        except TypeError as exc:
            raise InvalidInput(f"arguments do not fit task {self.name!r}: {exc}") from None

    def new_job(self, args: dict[str, JSON] | None = None, **overrides: Any) -> NewJob:
        """A job of this task with its defaults, overridden where given (None keeps a default)."""
        values: dict[str, Any] = {
            "queue": self.queue,
            "priority": self.priority,
            "max_attempts": self.max_attempts,
            "timeout_s": self.timeout_s,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return NewJob(task=self.name, args=dict(args or {}), **values)


class Registry:
    """Tasks by name."""

    def __init__(self) -> None:
        """An empty registry."""
        self._tasks: dict[str, TaskSpec] = {}

    def add(self, spec: TaskSpec) -> None:
        """Register a task; the same function registered twice is fine, a clash is not."""
        existing = self._tasks.get(spec.name)
        same = existing is None or (
            existing.fn.__module__ == spec.fn.__module__
            and existing.fn.__qualname__ == spec.fn.__qualname__
        )
        if not same:
            raise InvalidInput(f"two different functions registered as task {spec.name!r}")
        self._tasks[spec.name] = spec

    def get(self, name: str) -> TaskSpec:
        """The task called ``name``; InvalidInput naming the known tasks if there is none."""
        spec = self._tasks.get(name)
        if spec is None:
            known = ", ".join(sorted(self._tasks)) or "none"
            raise InvalidInput(
                f"unknown task {name!r} (known: {known}); load its module with --tasks MODULE "
                "or PRESSROOM_TASKS"
            )
        return spec

    def names(self) -> list[str]:
        """Registered task names, sorted."""
        return sorted(self._tasks)

    def periodic(self) -> list[TaskSpec]:
        """Tasks declared with a cron expression."""
        return [s for s in self._tasks.values() if s.cron]


registry = Registry()
"""The process-wide registry that :func:`task` fills."""


def load_task_modules(modules: Iterable[str]) -> None:
    """Import the built-in task module and each named module, so their tasks register."""
    for name in (*BUILTIN_MODULES, *modules):
        name = name.strip()
        if not name:
            continue
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise InvalidInput(f"cannot import task module {name!r}: {exc}") from None


@overload
def task(fn: Callable[..., Any], /) -> Callable[..., Any]: ...


@overload
def task(
    *,
    name: str | None = None,
    queue: str = "default",
    priority: int = 0,
    max_attempts: int = 3,
    timeout_s: float | None = None,
    cron: str | None = None,
    cron_args: dict[str, JSON] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]: ...


def task(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    queue: str = "default",
    priority: int = 0,
    max_attempts: int = 3,
    timeout_s: float | None = None,
    cron: str | None = None,
    cron_args: dict[str, JSON] | None = None,
) -> Any:
    """Register a function as a task: ``@task`` or ``@task(name=…, queue=…, cron="0 2 * * *")``.

    The function's first parameter receives a :class:`JobContext`; the job's ``args`` arrive as
    keyword arguments; a JSON-serialisable return value becomes the job's result. A task with
    ``cron`` is enqueued once per tick (with ``cron_args``) however many workers run.
    """
    if max_attempts < 1:
        raise InvalidInput("max_attempts must be at least 1")
    if timeout_s is not None and timeout_s <= 0:
        raise InvalidInput("timeout_s must be positive")
    if cron is not None:
        validate_cron(cron)

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        spec = TaskSpec(
            name=name or f"{func.__module__}.{func.__qualname__}",
            fn=func,
            queue=queue,
            priority=priority,
            max_attempts=max_attempts,
            timeout_s=timeout_s,
            cron=cron,
            cron_args=dict(cron_args or {}),
        )
        if not list(inspect.signature(func).parameters):
            raise InvalidInput(f"task {spec.name!r} must take the job context as first parameter")
        registry.add(spec)
        func.pressroom_task = spec  # type: ignore[attr-defined]
        return func

    return register(fn) if fn is not None else register
