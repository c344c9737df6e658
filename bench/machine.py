"""Statistics and machine-load probes shared by the benchmarks (standard library only).

The machine is shared and 2-core: every benchmark records how busy it was (other load before a
run, CPU steal during it) beside its figures.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

# --------------------------------------------------------------------------------------
# Statistics


def percentile(values: Sequence[float], pct: float) -> float:
    """Percentile with linear interpolation between closest ranks (numpy's default)."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100.0
    lo = int(rank)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


def summarize(values: Sequence[float]) -> dict[str, float]:
    """Median, min and max of per-run values."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


# --------------------------------------------------------------------------------------
# Machine load (the machine is shared and noisy: record how busy it was)


@dataclasses.dataclass(frozen=True)
class CpuTimes:
    """Cumulative machine-wide CPU jiffies from /proc/stat."""

    total: int
    idle: int
    steal: int

    @classmethod
    def now(cls) -> CpuTimes:
        """Read the aggregate ``cpu`` line of /proc/stat (zeros where unavailable)."""
        try:
            line = Path("/proc/stat").read_text().split("\n", 1)[0]
        except OSError:
            return cls(0, 0, 0)
        vals = [int(v) for v in line.split()[1:9]]
        vals += [0] * (8 - len(vals))
        return cls(total=sum(vals), idle=vals[3] + vals[4], steal=vals[7])

    def usage_since(self, earlier: CpuTimes) -> dict[str, float]:
        """Busy and steal percentages of all CPUs between ``earlier`` and this sample."""
        total = self.total - earlier.total
        if total <= 0:
            return {"busy_pct": 0.0, "steal_pct": 0.0}
        return {
            "busy_pct": round(100.0 * (1 - (self.idle - earlier.idle) / total), 1),
            "steal_pct": round(100.0 * (self.steal - earlier.steal) / total, 1),
        }


def background_busy(probe_s: float = 0.5) -> float:
    """Machine-wide CPU busy % over ``probe_s`` while this benchmark runs nothing."""
    before = CpuTimes.now()
    time.sleep(probe_s)  # a measurement window, not synchronisation
    return CpuTimes.now().usage_since(before)["busy_pct"]


def wait_for_quiet(threshold_pct: float, max_wait_s: float) -> float:
    """Probe until background CPU use is below ``threshold_pct`` or ``max_wait_s`` passes.

    Returns the last probe's busy %, which the caller records beside the run.
    """
    deadline = time.monotonic() + max_wait_s
    busy = background_busy()
    while busy >= threshold_pct and time.monotonic() < deadline:
        busy = background_busy()
    return busy
