"""Recovery bound (issue 12 item 7): 100 000 messages whose jobs Redis lost are queued again in one sweep.

The sweep runs in-process against a database and a queue of this test alone, so the session's
converter neither sees these rows nor takes these jobs.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from psycopg import sql

from acx import jobs
from acx.config import load_settings
from acx.db.migrate import migrate
from acx.db.pool import Pool, open_pool
from acx.db.sessions import session_key
from acx_converter.tasks import sweep_overdue

pytestmark = pytest.mark.integration

BACKLOG = 100_000
RECOVERY_BOUND_SECONDS = 60.0


@pytest.fixture
async def backlog_database(database_url: str) -> AsyncIterator[str]:
    """A fresh database holding `BACKLOG` pending messages, created an hour ago."""
    name = f"acx_sweep_{uuid.uuid4().hex[:10]}"
    url = urlunsplit(urlsplit(database_url)._replace(path=f"/{name}"))
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        migrate(url)
        project, public = uuid.uuid4(), uuid.uuid4()
        key = session_key(project, public)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("INSERT INTO projects (id, token_hmac, name) VALUES (%s, %s, 'sweep')", (project, "x"))
            conn.execute(
                "INSERT INTO sessions (id, public_id, project_id, message_count) VALUES (%s, %s, %s, %s)",
                (key, public, project, BACKLOG),
            )
            conn.execute(
                "INSERT INTO messages (id, session_id, project_id, seq, role, format, raw, parts, created_at)"
                " SELECT gen_random_uuid(), %s, %s, i, 'user', 'openai', '{}', '{}',"
                " clock_timestamp() - interval '1 hour' FROM generate_series(0, %s - 1) i",
                (key, project, BACKLOG),
            )
        yield url
    finally:
        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
async def private_queue(redis_url: str) -> AsyncIterator[ArqRedis]:
    """An arq pool enqueueing to a queue name nobody consumes."""
    queue = f"acx:test-sweep:{uuid.uuid4().hex[:8]}"
    redis = await create_pool(
        RedisSettings.from_dsn(redis_url),
        job_serializer=jobs.serialize_job,
        job_deserializer=jobs.deserialize_job,
        default_queue_name=queue,
    )
    try:
        yield redis
    finally:
        for job in await redis.queued_jobs(queue_name=queue):
            await redis.delete(f"arq:job:{job.job_id}")
        await redis.delete(queue)
        await redis.aclose()


@pytest.mark.timeout(180)
async def test_one_sweep_requeues_a_100k_backlog_within_a_minute(
    backlog_database: str, private_queue: ArqRedis
) -> None:
    settings = load_settings({"DATABASE_URL": backlog_database})
    pool: Pool = await open_pool(backlog_database, min_size=1, max_size=2, acquire_timeout=10)
    try:
        started = time.monotonic()
        swept = await sweep_overdue({"pool": pool, "settings": settings, "redis": private_queue})
        elapsed = time.monotonic() - started
    finally:
        await pool.close()
    assert swept == BACKLOG
    queued = await private_queue.queued_jobs(queue_name=private_queue.default_queue_name)
    queued_ids = {message_id for job in queued for message_id in job.args[0]}
    assert len(queued_ids) == BACKLOG
    assert elapsed < RECOVERY_BOUND_SECONDS, f"sweep took {elapsed:.1f} s"
