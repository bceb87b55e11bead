"""Recovery bounds (issue 12 item 7): a store never waits past the documented bound in an outage.

The batcher runs in-process on a real pool whose every connection the test holds, which is what
a database outage looks like from the gateway: no connection comes free.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from contextlib import AsyncExitStack

import psycopg_pool
import pytest

from acx.db.message_writes import StoreRequest
from acx.db.migrate import migrate
from acx.db.pool import open_pool
from acx.errors import UnavailableError
from acx.ingested import IngestResult
from acx_gateway.batcher import StoreBatcher

pytestmark = pytest.mark.integration

BOUND = 1.0  # DB_POOL_TIMEOUT for this test: the longest a store may wait for a connection
SLACK = 0.3


def _never_ingested(_state: str) -> IngestResult:
    raise AssertionError("no connection should ever be available")


async def _timed_store(batcher: StoreBatcher, delay: float) -> float:
    await asyncio.sleep(delay)
    request = StoreRequest(uuid.uuid4(), uuid.uuid4(), "openai", "{}", "{}", _never_ingested)
    started = time.monotonic()
    # Both answer 503 with Retry-After (acx_gateway.envelope).
    with pytest.raises((UnavailableError, psycopg_pool.PoolTimeout)):
        await batcher.store(request)
    return time.monotonic() - started


@pytest.mark.timeout(60)
async def test_stores_queued_behind_a_stuck_flush_still_answer_within_the_bound(database_url: str) -> None:
    migrate(database_url)
    pool = await open_pool(database_url, min_size=1, max_size=2, acquire_timeout=BOUND)

    async def committed(_ids: list[uuid.UUID], _request_ids: list[str]) -> None:
        return None

    batcher = StoreBatcher(pool, committed, flushers=1, max_wait=BOUND)
    try:
        async with AsyncExitStack() as held:
            for _ in range(2):
                await held.enter_async_context(pool.connection())
            # The second store arrives while the only flusher waits for a connection for the first.
            waits = await asyncio.gather(_timed_store(batcher, 0.0), _timed_store(batcher, BOUND / 2))
    finally:
        await batcher.close()
        await pool.close()
    assert max(waits) <= BOUND + SLACK, f"stores waited {waits} s, the bound is {BOUND} s"
