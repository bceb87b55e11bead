"""Per-project rate limiting, shared by every gateway process and replica (off unless configured).

GCRA (generic cell rate algorithm) in one Redis Lua script: each project has one key holding its
"theoretical arrival time"; the script reads and advances it atomically using Redis' own clock, so
the limit holds exactly however many processes share it (unlike a per-process limiter, or
Litestar's built-in one, which keys on the client IP and lets about twice the limit through once
several processes share Redis). When Redis is unreachable the limiter fails open: availability of
stores matters more than enforcing a quota.

To keep Redis off the hot path a process takes requests from Redis in leases, and a lease is
sized by demand: while one refill is in flight, the requests that arrive for the same project wait
for it and the next refill asks for all of them at once. The script grants part of a lease when
only part fits, so a herd on a fresh bucket gets the whole burst (each request taking a lease of
its own used to waste most of it), and unspent requests only ever make the limit stricter.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid

import structlog
from redis.asyncio import Redis

__all__ = ["RateLimiter"]

_log = structlog.get_logger("acx.gateway")
_LEASE_SECONDS = 0.1

# KEYS[1] = key; ARGV[1] = emission interval (µs); ARGV[2] = burst tolerance (µs); ARGV[3] = wanted.
# Returns {granted, µs to wait before one more request would be allowed (when none was granted)}.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval, tolerance, wanted = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local granted = math.min(wanted, math.floor((now + tolerance - tat) / interval))
if granted < 1 then return {0, tat + interval - tolerance - now} end
local new_tat = tat + interval * granted
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000) + 1000)
return {granted, 0}
"""


class _Lease:
    __slots__ = ("expires", "filled_at", "left", "refill", "waiting")

    def __init__(self) -> None:
        self.left = 0
        self.expires = 0.0
        self.filled_at = 0.0
        self.waiting = 0
        self.refill: asyncio.Future[int] | None = None


class RateLimiter:
    """`rate` requests per second per project, with bursts of up to `burst` requests."""

    def __init__(self, redis: Redis, rate: float, burst: int) -> None:
        self._script = redis.register_script(_GCRA)
        self._interval = max(1, round(1_000_000 / rate))
        self._tolerance = self._interval * burst
        self._burst = burst
        self._lease_size = max(1, min(16, burst // 16))
        self._leases: dict[uuid.UUID, _Lease] = {}

    async def retry_after(self, project_id: uuid.UUID) -> int:
        """0 when the request may proceed, else whole seconds until it would be allowed."""
        lease = self._leases.get(project_id)
        if lease is None:
            if len(self._leases) > 10_000:
                self._leases.clear()  # bounded memory; dropping leases only makes the limit stricter
            lease = self._leases[project_id] = _Lease()
        lease.waiting += 1
        arrived = time.monotonic()
        try:
            while True:
                # A lease serves requests that were waiting when it came (however long a big herd
                # takes to run through it on a busy loop), and later ones while it is fresh.
                if lease.left > 0 and (arrived <= lease.filled_at or time.monotonic() < lease.expires):
                    lease.left -= 1
                    return 0
                if lease.refill is None:
                    wanted = min(self._burst, max(self._lease_size, lease.waiting))
                    lease.refill = asyncio.ensure_future(self._refill(project_id, lease, wanted))
                wait = await asyncio.shield(lease.refill)
                if wait:
                    return max(1, math.ceil(wait / 1_000_000))
        finally:
            lease.waiting -= 1

    async def _refill(self, project_id: uuid.UUID, lease: _Lease, wanted: int) -> int:
        try:
            granted, wait = await self._take(project_id, wanted)
            lease.filled_at = time.monotonic()
            lease.left, lease.expires = granted, lease.filled_at + _LEASE_SECONDS
            return wait
        finally:
            lease.refill = None

    async def _take(self, project_id: uuid.UUID, wanted: int) -> tuple[int, int]:
        try:
            granted, wait = await self._script(
                keys=[f"acx:rate:{project_id}"], args=[self._interval, self._tolerance, wanted]
            )
            return int(granted), int(wait)
        except Exception as exc:  # noqa: BLE001 - fail open: a Redis outage must not stop the API
            _log.warning("rate limiter unavailable, allowing requests", error=type(exc).__name__)
            return wanted, 0
