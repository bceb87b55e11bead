"""Per-project rate limiting, shared by every gateway process and replica.

GCRA (generic cell rate algorithm) in one Redis Lua script: each project has one key holding its
"theoretical arrival time"; the script reads and advances it atomically using Redis' own clock, so
the limit holds exactly however many processes share it (unlike a per-process limiter, or
Litestar's built-in one, which keys on the client IP and lets about twice the limit through once
several processes share Redis). When Redis is unreachable the limiter fails open: availability of
stores matters more than enforcing a quota.

To keep Redis off the hot path, a process takes a small lease of requests at once (at most a
sixteenth of the burst, spent within 100 ms or dropped), so it asks Redis about once per lease;
unspent leases only make the limit slightly stricter.
"""

from __future__ import annotations

import math
import time
import uuid

import structlog
from redis.asyncio import Redis

__all__ = ["RateLimiter"]

_log = structlog.get_logger("acx.gateway")
_LEASE_SECONDS = 0.1

# KEYS[1] = key; ARGV[1] = emission interval (µs); ARGV[2] = burst tolerance (µs); ARGV[3] = cost.
# Returns 0 when allowed, else the µs to wait before the request would be allowed.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + tonumber(ARGV[1]) * tonumber(ARGV[3])
local wait = new_tat - tonumber(ARGV[2]) - now
if wait > 0 then return wait end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000) + 1000)
return 0
"""


class RateLimiter:
    """`rate` requests per second per project, with bursts of up to `burst` requests."""

    def __init__(self, redis: Redis, rate: float, burst: int) -> None:
        self._script = redis.register_script(_GCRA)
        self._interval = round(1_000_000 / rate)
        self._tolerance = self._interval * burst
        self._lease_size = max(1, min(16, burst // 16))
        self._leases: dict[uuid.UUID, tuple[int, float]] = {}

    async def retry_after(self, project_id: uuid.UUID) -> int:
        """0 when the request may proceed, else whole seconds until it would be allowed."""
        now = time.monotonic()
        left, expires = self._leases.get(project_id, (0, 0.0))
        if left > 0 and now < expires:
            self._leases[project_id] = (left - 1, expires)
            return 0
        wait = await self._take(project_id, self._lease_size)
        if wait == 0:
            self._leases[project_id] = (self._lease_size - 1, now + _LEASE_SECONDS)
            return 0
        if self._lease_size > 1:
            wait = await self._take(project_id, 1)  # a whole lease is too much, one request may fit
            if wait == 0:
                return 0
        return max(1, math.ceil(wait / 1_000_000))

    async def _take(self, project_id: uuid.UUID, cost: int) -> int:
        try:
            return int(
                await self._script(keys=[f"acx:rate:{project_id}"], args=[self._interval, self._tolerance, cost])
            )
        except Exception as exc:  # noqa: BLE001 - fail open: a Redis outage must not stop the API
            _log.warning("rate limiter unavailable, allowing request", error=type(exc).__name__)
            return 0
