"""acx_gateway.ratelimit: GCRA limits per project on the session's real Redis, failing open."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from acx_gateway.ratelimit import RateLimiter


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


async def _allowed(limiter: RateLimiter, project_id: uuid.UUID, requests: int) -> int:
    return sum([await limiter.retry_after(project_id) == 0 for _ in range(requests)])


async def test_a_burst_is_allowed_then_limited(redis_client: Redis) -> None:
    """With a rate far below the request pace, about `burst` requests pass, then come waits."""
    limiter = RateLimiter(redis_client, rate=1.0, burst=20)
    project = uuid.uuid4()
    allowed = await _allowed(limiter, project, 60)
    assert 18 <= allowed <= 21
    assert await limiter.retry_after(project) >= 1  # whole seconds, for Retry-After


async def test_projects_are_limited_separately(redis_client: Redis) -> None:
    limiter = RateLimiter(redis_client, rate=1.0, burst=5)
    first, second = uuid.uuid4(), uuid.uuid4()
    await _allowed(limiter, first, 20)
    assert await limiter.retry_after(first) >= 1
    assert await limiter.retry_after(second) == 0


async def test_processes_share_the_limit(redis_client: Redis) -> None:
    """Two limiters (two gateway processes) spend one project's allowance together."""
    one, two = RateLimiter(redis_client, rate=1.0, burst=16), RateLimiter(redis_client, rate=1.0, burst=16)
    project = uuid.uuid4()
    allowed = await _allowed(one, project, 12) + await _allowed(two, project, 12)
    assert 15 <= allowed <= 17


async def test_fails_open_when_redis_is_unreachable() -> None:
    """An outage must not stop the API: every request is allowed."""
    unreachable = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    try:
        limiter = RateLimiter(unreachable, rate=1.0, burst=1)
        assert await _allowed(limiter, uuid.uuid4(), 5) == 5
    finally:
        await unreachable.aclose()
