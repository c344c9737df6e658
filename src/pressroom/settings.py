"""Configuration from ``PRESSROOM_*`` environment variables (flags override them)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from pressroom.artifacts import DEFAULT_STORAGE_URL
from pressroom.store import DEFAULT_DATABASE_URL


def split_list(value: str | None) -> tuple[str, ...]:
    """``"a, b,,c"`` → ``("a", "b", "c")``."""
    return tuple(p.strip() for p in (value or "").split(",") if p.strip())


@dataclass(frozen=True)
class Settings:
    """Settings shared by every command.

    - ``PRESSROOM_DATABASE_URL``: where jobs live (default: a SQLite file under
      ``./pressroom-data/``);
    - ``PRESSROOM_TASKS``: comma-separated modules whose ``@task`` functions to load;
    - ``PRESSROOM_STORAGE_URL``: where artifacts go (default: a folder under
      ``./pressroom-data/``; ``s3://bucket/prefix`` for S3, see :mod:`pressroom.artifacts`).
    """

    database_url: str = DEFAULT_DATABASE_URL
    tasks: tuple[str, ...] = ()
    storage_url: str = DEFAULT_STORAGE_URL

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from the environment."""
        env = os.environ if env is None else env
        return cls(
            database_url=env.get("PRESSROOM_DATABASE_URL") or DEFAULT_DATABASE_URL,
            tasks=split_list(env.get("PRESSROOM_TASKS")),
            storage_url=env.get("PRESSROOM_STORAGE_URL") or DEFAULT_STORAGE_URL,
        )
