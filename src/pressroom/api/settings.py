"""The HTTP API's own settings: limits, timeouts and stream caps."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from pressroom.core.errors import InvalidInput


@dataclass(frozen=True)
class ApiSettings:
    """Limits and timings of one API process (``PRESSROOM_API_*`` variables override them).

    - ``max_body_bytes``: the largest request body (413 beyond, chunked bodies included);
    - ``max_json_depth`` / ``max_json_items``: nesting and element caps of a JSON body (422);
    - ``sse_heartbeat_s``: seconds between ``: heartbeat`` comments on an idle event stream;
    - ``sse_max_streams``: open event streams per principal (429 beyond);
    - ``sse_backstop_s``: how often the event hub re-reads watched jobs without a wake-up hint
      (None: 1 s; see :class:`~pressroom.api.hub.EventHub` for the PostgreSQL probe);
    - ``preview_timeout_s`` / ``preview_processes``: the budget and pool size of ``/v1/preview``;
    - ``list_max_limit``: the largest page of ``GET /v1/jobs``;
    - ``rate_limit_per_s`` / ``rate_limit_burst``: requests per second per API key, and the
      burst a key may spend at once (429 with ``Retry-After`` beyond; 0 turns the limit off;
      requests without keys are not limited: that server listens on loopback only);
    - ``auth_cache_s``: how long a process trusts its cached key look-ups (a revoked key stops
      working within this time).
    - ``write_threads``: threads submitting jobs (None: 1 on SQLite, which has one writer at a
      time anyway, else 8).
    - ``gc_gen0_threshold``: allocations between collections of the youngest generation in a
      ``serve`` API process (Python's default is 700; 0 keeps it). Start-up objects are also
      frozen out of the collector (``gc.freeze``); see :func:`pressroom.cli._api_processes.
      settle_gc`.
    """

    max_body_bytes: int = 16 * 1024 * 1024
    max_json_depth: int = 64
    max_json_items: int = 250_000
    sse_heartbeat_s: float = 15.0
    sse_max_streams: int = 100
    sse_backstop_s: float | None = None
    preview_timeout_s: float = 10.0
    preview_processes: int = 1
    list_max_limit: int = 200
    rate_limit_per_s: float = 100.0
    rate_limit_burst: float = 200.0
    auth_cache_s: float = 2.0
    write_threads: int | None = None
    gc_gen0_threshold: int = 10_000

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ApiSettings:
        """Defaults, overridden by ``PRESSROOM_API_<FIELD>`` variables (e.g.
        ``PRESSROOM_API_MAX_BODY_BYTES``)."""
        env = os.environ if env is None else env
        values: dict[str, int | float] = {}
        for name, default in cls().__dict__.items():
            variable = f"PRESSROOM_API_{name.upper()}"
            raw = env.get(variable)
            if raw:
                whole = isinstance(default, int) or (default is None and raw.strip().isdigit())
                try:
                    values[name] = int(raw) if whole else float(raw)
                except ValueError:
                    kind = "an integer" if whole else "a number"
                    raise InvalidInput(f"{variable} must be {kind}, not {raw!r}") from None
        return cls(**values)  # type: ignore[arg-type]
