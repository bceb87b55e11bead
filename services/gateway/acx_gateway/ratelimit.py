"""Per-project rate limiting, shared by every gateway process and replica.

GCRA (generic cell rate algorithm) in one Redis Lua script: each project has one key holding its
"theoretical arrival time"; the script reads and advances it atomically using Redis' own clock, so
the limit holds exactly however many processes share it (unlike a per-process limiter, or
Litestar's built-in one, which keys on the client IP and lets about twice the limit through once
several processes share Redis). When Redis is unreachable the limiter fails open: availability of
stores matters more than enforcing a quota.
"""

from __future__ import annotations

import math
import uuid

import structlog
from redis.asyncio import Redis

__all__ = ["RateLimiter"]

_log = structlog.get_logger("acx.gateway")

# KEYS[1] = key; ARGV[1] = emission interval (µs); ARGV[2] = burst tolerance (µs).
# Returns 0 when allowed, else the µs to wait before the request would be allowed.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + tonumber(ARGV[1])
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

    async def retry_after(self, project_id: uuid.UUID) -> int:
        """0 when the request may proceed, else whole seconds until it would be allowed."""
        try:
            wait = int(await self._script(keys=[f"acx:rate:{project_id}"], args=[self._interval, self._tolerance]))
        except Exception as exc:  # noqa: BLE001 - fail open: a Redis outage must not stop the API
            _log.warning("rate limiter unavailable, allowing request", error=type(exc).__name__)
            return 0
        return max(1, math.ceil(wait / 1_000_000)) if wait > 0 else 0
