"""Rate limiter (issue 12 row 6, item 5): a herd gets the whole burst, replicas share one limit.

The limiter runs on the real Redis; each `RateLimiter` stands for one gateway replica.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from acx.config import load_settings
from acx_gateway.ratelimit import RateLimiter

pytestmark = pytest.mark.integration


@pytest.fixture
async def redis_clients(redis_url: str) -> AsyncIterator[list[Redis]]:
    clients = [Redis.from_url(redis_url) for _ in range(2)]
    yield clients
    for client in clients:
        await client.aclose()


async def _herd(limiter: RateLimiter, project: uuid.UUID, size: int) -> int:
    waits = await asyncio.gather(*(limiter.retry_after(project) for _ in range(size)))
    return sum(1 for wait in waits if wait == 0)


async def test_a_herd_on_a_fresh_bucket_gets_the_burst(redis_clients: list[Redis]) -> None:
    """Defaults of the issue: 1000 rps, burst 2000; 1000 at once used to get 264 through."""
    limiter = RateLimiter(redis_clients[0], 1000, 2000)
    accepted = await _herd(limiter, uuid.uuid4(), 1000)
    assert accepted >= 900, f"{accepted} of 1000 accepted"


async def test_a_herd_larger_than_the_burst_gets_about_the_burst(redis_clients: list[Redis]) -> None:
    limiter = RateLimiter(redis_clients[0], 1, 500)
    accepted = await _herd(limiter, uuid.uuid4(), 800)
    assert 450 <= accepted <= 501, accepted


async def test_replicas_share_one_limit(redis_clients: list[Redis]) -> None:
    project = uuid.uuid4()
    first, second = (RateLimiter(client, 1, 500) for client in redis_clients)
    accepted = await asyncio.gather(_herd(first, project, 400), _herd(second, project, 400))
    assert 450 <= sum(accepted) <= 501, accepted
    assert min(accepted) > 0
    # Once spent, every replica refuses with a Retry-After.
    assert await first.retry_after(project) >= 1
    assert await second.retry_after(project) >= 1


def test_rate_limiting_is_off_unless_configured() -> None:
    assert load_settings({}).rate_limit_rps == 0
    assert load_settings({"RATE_LIMIT_RPS": "50"}).rate_limit_rps == 50
