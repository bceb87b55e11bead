"""Converter drain rate: start the worker on a backlog and time it until nothing is pending.

The backlog is what the store workload left (stored with the worker down, jobs queued by the
gateway) topped up to N with cloned rows and jobs enqueued like the gateway's. The worker's RSS
is sampled with psutil all along; start / mid / end are read at 0 %, 50 % and 100 % progress.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import psutil
import psycopg

from bench.bulk import clone_messages, enqueue_conversions, pending_count
from bench.services import Services

__all__ = ["DrainResult", "measure_drain"]

_MIB = 1024 * 1024


@dataclass
class DrainResult:
    """Messages converted per second by one worker process, and its memory along the way."""

    backlog: int
    converted: int
    seconds: float
    msgs_per_s: float
    complete: bool
    startup_s: float
    rss_start_mib: float = 0.0
    rss_mid_mib: float = 0.0
    rss_end_mib: float = 0.0
    samples: list[tuple[float, int, float]] = field(default_factory=list)

    @property
    def rss_growth(self) -> float:
        """(end - start) / start."""
        return (self.rss_end_mib - self.rss_start_mib) / self.rss_start_mib if self.rss_start_mib else 0.0

    def to_json(self) -> dict[str, Any]:
        """Plain dict for the results file (samples thinned to ~50)."""
        data = asdict(self)
        step = max(1, len(self.samples) // 50)
        data["samples"] = self.samples[::step]
        data["rss_growth"] = self.rss_growth
        return data


def top_up_backlog(database_url: str, redis_url: str, source_session: str, drain_session: str, n: int) -> int:
    """Make at least `n` messages pending (clones of `source_session` with queued jobs); returns the backlog."""
    with psycopg.connect(database_url) as conn:
        missing = n - pending_count(conn)
    if missing > 0:
        ids = clone_messages(database_url, source_session, drain_session, missing, precomputed=False)
        asyncio.run(enqueue_conversions(redis_url, ids))
    with psycopg.connect(database_url) as conn:
        return pending_count(conn)


def measure_drain(services: Services, database_url: str, backlog: int, timeout: float) -> DrainResult:
    """Start the worker and poll `render_state` until the backlog is converted or `timeout` passes."""
    launched = time.perf_counter()
    worker = services.start_worker()
    process = psutil.Process(worker.pid)
    samples: list[tuple[float, int, float]] = []
    first: tuple[float, int] | None = None
    with psycopg.connect(database_url, autocommit=True) as conn:
        while True:
            now = time.perf_counter()
            pending = pending_count(conn)
            rss = process.memory_info().rss / _MIB
            samples.append((round(now - launched, 3), pending, round(rss, 1)))
            if first is None and pending < backlog:
                first = (now, pending)
            if worker.proc.poll() is not None:
                raise RuntimeError(f"converter exited with {worker.proc.returncode}; see {worker.log_path}")
            if pending == 0 or now - launched > timeout:
                break
            time.sleep(0.25)
    end, end_pending = samples[-1][0] + launched, samples[-1][1]
    if first is None:
        first = (end, backlog)
    # Rate over the steady part: from the first observed progress to the end.
    seconds = end - first[0]
    converted_steady = first[1] - end_pending
    result = DrainResult(
        backlog=backlog,
        converted=backlog - end_pending,
        seconds=round(end - launched, 2),
        msgs_per_s=converted_steady / seconds if seconds > 0 else 0.0,
        complete=end_pending == 0,
        startup_s=round(first[0] - launched, 2),
        samples=samples,
    )
    progressing = [s for s in samples if s[1] < backlog]
    if progressing:
        result.rss_start_mib = progressing[0][2]
        result.rss_mid_mib = next(s[2] for s in progressing if s[1] <= backlog / 2 or s is progressing[-1])
        result.rss_end_mib = progressing[-1][2]
    return result
