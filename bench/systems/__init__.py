"""Registry of benchmarked systems; adapters are imported lazily so one missing
library only disables its own system."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from common import System

#: name -> "module:Class".
REGISTRY: dict[str, str] = {
    "pressroom-sqlite": "systems.pressroom_app:PressroomSqlite",
    "pressroom-sqlite-full": "systems.pressroom_app:PressroomSqliteFull",
    "pressroom-postgres": "systems.pressroom_app:PressroomPostgres",
    "huey-sqlite": "systems.huey_app:HueySqlite",
    "pgqueuer": "systems.pgq_app:PgQueuerSystem",
    "procrastinate": "systems.procr_app:ProcrastinateSystem",
    "rq": "systems.rq_app:RQSimple",
    "celery-prefork": "systems.celery_app:CeleryPrefork",
    "celery-solo": "systems.celery_app:CelerySolo",
}

#: What ``--all`` runs, in order.
DEFAULT_SYSTEMS: tuple[str, ...] = tuple(REGISTRY)


def load(name: str) -> type[System]:
    """Import and return the System class registered as ``name``."""
    try:
        target = REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown system {name!r}; known: {', '.join(REGISTRY)}") from None
    module_name, _, attr = target.partition(":")
    cls: type[System] = getattr(importlib.import_module(module_name), attr)
    return cls
