"""The conversion job's wire name: a job queued as `render_messages` runs in today's worker.

That is the name gateways of earlier versions queue (jobs already in Redis, or queued during a
rolling upgrade), whatever the Python function is called now. A converter of this version runs
in-process on a private queue, with the session's converter stopped.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import psycopg
import pytest
from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.worker import Worker

from acx import jobs
from acx.db.pool import open_pool
from acx_converter.worker import WorkerSettings
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration

#: What earlier versions queue; must never change (not `jobs.CONVERSION_JOB`: that is what is tested).
WIRE_NAME = "render_messages"


@pytest.fixture
async def private_queue(redis_url: str) -> AsyncIterator[ArqRedis]:
    """An arq pool on a queue only this test consumes."""
    redis = await create_pool(
        RedisSettings.from_dsn(redis_url),
        job_serializer=jobs.serialize_job,
        job_deserializer=jobs.deserialize_job,
        default_queue_name=f"acx:test-jobs:{uuid.uuid4().hex[:8]}",
    )
    try:
        yield redis
    finally:
        await redis.delete(redis.default_queue_name)
        await redis.aclose()


async def test_a_job_queued_under_the_old_name_runs(
    worker_stopped: Stack, ahttp: httpx.AsyncClient, private_queue: ArqRedis
) -> None:
    session_id = (await ahttp.post("/session", json={})).json()["data"]["id"]
    stored = await ahttp.post(f"/session/{session_id}/messages", json={"blob": {"role": "user", "content": "hi"}})
    assert stored.status_code == 201, stored.text
    message_id = stored.json()["data"]["id"]
    await private_queue.enqueue_job(WIRE_NAME, [message_id], ["request-1"], _job_id=f"test:{message_id}")
    pool = await open_pool(worker_stopped.database_url, min_size=1, max_size=2, acquire_timeout=10)
    worker = Worker(
        functions=WorkerSettings.functions,
        queue_name=private_queue.default_queue_name,
        redis_pool=private_queue,
        ctx={"pool": pool},
        burst=True,
        handle_signals=False,
        poll_delay=0.01,
        job_serializer=jobs.serialize_job,
        job_deserializer=jobs.deserialize_job,
        keep_result=0,
    )
    try:
        await worker.main()  # burst: returns once the queue is empty
    finally:
        await pool.close()  # the Redis pool is the fixture's (Worker.close would use redis' deprecated close)
    assert (worker.jobs_complete, worker.jobs_failed) == (1, 0)
    with psycopg.connect(worker_stopped.database_url) as conn:
        row = conn.execute(
            "SELECT m.render_state, count(r.format) FROM messages m LEFT JOIN renderings r"
            " ON r.session_id = m.session_id AND r.message_id = m.id WHERE m.id = %s GROUP BY m.render_state",
            (uuid.UUID(message_id),),
        ).fetchone()
    assert row == ("done", 4)


def test_the_sweep_keeps_its_cron_name() -> None:
    """arq's unique cron lock is keyed by the name: workers of two versions must share it."""
    assert "cron:sweep_unrendered" in {job.name for job in WorkerSettings.cron_jobs}
