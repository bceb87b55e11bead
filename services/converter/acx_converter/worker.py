"""arq worker settings for the converter."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from typing import Any, ClassVar

from arq import cron, func
from arq.connections import RedisSettings
from arq.worker import Function
from redis import exceptions as redis_errors
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from acx import jobs, tokens
from acx.config import Settings
from acx.db.migrate import migrate
from acx.db.pool import open_pool
from acx_converter.tasks import convert_messages, purge_idempotency_keys, sweep_overdue, update_gauges_forever

__all__ = ["worker_options"]

# The ready key outlives a killed worker by at most this long.
_READY_TTL = 24 * 3600


async def _startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx["settings"]
    assert settings.database_url is not None
    migrate(settings.database_url)
    ctx["pool"] = await open_pool(
        settings.database_url,
        min_size=1,
        max_size=settings.db_pool_max,
        acquire_timeout=settings.db_pool_timeout,
    )
    tokens.warm_up()
    ctx["gauges"] = asyncio.create_task(update_gauges_forever(ctx))
    # Redis is connected (arq did it before this hook) and so is PostgreSQL (the pool is open).
    await ctx["redis"].set(jobs.worker_ready_key(socket.gethostname(), os.getpid()), "1", ex=_READY_TTL)


async def _shutdown(ctx: dict[str, Any]) -> None:
    with contextlib.suppress(redis_errors.RedisError, OSError):
        await ctx["redis"].delete(jobs.worker_ready_key(socket.gethostname(), os.getpid()))
    gauges = ctx.get("gauges")
    if gauges is not None:
        gauges.cancel()
    pool = ctx.get("pool")
    if pool is not None:
        await pool.close()


class WorkerSettings:
    """Static part of the worker configuration (arq reads these attributes)."""

    # Registered under the job's wire name (jobs.CONVERSION_JOB), not the function's own name, so
    # jobs queued by any gateway version run; the sweep's cron name stays the one Redis already knows.
    functions: ClassVar[list[Function]] = [func(convert_messages, name=jobs.CONVERSION_JOB)]
    cron_jobs: ClassVar[list[Any]] = [
        cron(sweep_overdue, name="cron:sweep_unrendered", second={0, 15, 30, 45}, run_at_startup=True, unique=True),
        cron(purge_idempotency_keys, minute=17, second=0, unique=True),
    ]
    on_startup = _startup
    on_shutdown = _shutdown
    queue_name = jobs.QUEUE_NAME
    job_serializer = jobs.serialize_job
    job_deserializer = jobs.deserialize_job
    # arq's default 0.5 s poll caps a worker near 200 jobs/s and adds up to 0.5 s latency.
    poll_delay = 0.01
    max_jobs = 50
    max_tries = 8
    keep_result = 0
    handle_signals = True
    # On SIGTERM stop taking jobs and let running ones finish (each is one short transaction;
    # a cancelled one is simply re-run later, conversion jobs being idempotent).
    job_completion_wait = 20


def worker_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `arq.worker.Worker` / `run_worker` with runtime settings."""
    assert settings.redis_url is not None
    redis = RedisSettings.from_dsn(settings.redis_url)
    # Survive Redis restarts: retry commands with backoff instead of letting the worker exit.
    redis.retry_on_error = [redis_errors.ConnectionError, redis_errors.TimeoutError]
    redis.retry = Retry(ExponentialBackoff(cap=2.0, base=0.05), retries=8)
    redis.conn_retries = 30
    return {
        "redis_settings": redis,
        "ctx": {"settings": settings},
        "job_timeout": settings.render_job_timeout_seconds,
    }
