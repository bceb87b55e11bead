"""Converter jobs: precompute messages' renderings in every format, and sweep up messages whose job was lost."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import psycopg
import psycopg_pool
import structlog
from arq import Retry

from acx import jobs, metrics
from acx.config import Settings
from acx.db import idempotency
from acx.db import renderings as store
from acx.db.pool import Pool
from acx.pipeline import precompute_renderings

__all__ = ["convert_messages", "purge_idempotency_keys", "sweep_overdue", "update_gauges_forever"]

_log = structlog.get_logger("acx.converter")
SWEEP_BATCH = 5000
SWEEP_MAX_PER_RUN = 500_000


async def convert_messages(ctx: dict[str, Any], message_ids: list[str], request_ids: list[str] | None = None) -> None:
    """The conversion job: precompute a batch of stored messages' renderings in every format and
    count their tokens, storing both (idempotent). Registered as `jobs.CONVERSION_JOB`.

    `request_ids` are the ids of the store requests, so their log lines and the job's line up.
    """
    with structlog.contextvars.bound_contextvars(request_ids=request_ids or [], messages=len(message_ids)):
        await _convert(ctx, [uuid.UUID(message_id) for message_id in message_ids])


async def _convert(ctx: dict[str, Any], message_ids: list[uuid.UUID]) -> None:
    pool: Pool = ctx["pool"]
    try:
        async with pool.connection() as conn:
            messages = await store.claim_pending(conn, message_ids)
            with metrics.CONVERSION_DURATION.time():
                converted, failed = await precompute_renderings(conn, messages)
        metrics.CONVERSION_JOBS.labels("done").inc(converted)
        metrics.CONVERSION_JOBS.labels("failed").inc(failed)
    except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as exc:
        tries: int = ctx.get("job_try", 1)
        _log.warning("database unavailable, retrying", tries=tries, error=str(exc))
        raise Retry(defer=min(2**tries, 30)) from exc


async def sweep_overdue(ctx: dict[str, Any]) -> int:
    """Re-enqueue overdue messages, whose conversion job was lost (Redis down or flushed, worker killed).

    Pages through all of them by keyset (up to `SWEEP_MAX_PER_RUN`; the next run goes on), so a
    backlog of 100 000 after a Redis loss is queued again within one run, not 1 000 per 15 s.
    """
    pool: Pool = ctx["pool"]
    settings: Settings = ctx["settings"]
    swept = 0
    after = None
    while swept < SWEEP_MAX_PER_RUN:
        async with pool.connection() as conn:
            found = await store.overdue_message_ids(
                conn, settings.sweep_grace_seconds, settings.render_job_timeout_seconds * 2, SWEEP_BATCH, after
            )
        if not found:
            break
        keys = [str(message_id) for message_id, _ in found]
        for start in range(0, len(keys), jobs.CONVERSION_BATCH_MAX):
            chunk = keys[start : start + jobs.CONVERSION_BATCH_MAX]
            await ctx["redis"].enqueue_job(jobs.CONVERSION_JOB, chunk, _job_id=jobs.conversion_job_id(chunk))
        swept += len(found)
        after = found[-1][1], found[-1][0]
        if len(found) < SWEEP_BATCH:
            break
    if swept:
        _log.info("sweep re-enqueued messages", count=swept)
    return swept


async def purge_idempotency_keys(ctx: dict[str, Any]) -> int:
    """Drop idempotency keys past their retention."""
    pool: Pool = ctx["pool"]
    async with pool.connection() as conn:
        return await idempotency.purge_expired(conn)


GAUGE_INTERVAL_SECONDS = 5.0


async def update_gauges_forever(ctx: dict[str, Any]) -> None:
    """Refresh the pool, queue-depth and conversion-lag gauges every few seconds (errors only skip a round)."""
    pool: Pool = ctx["pool"]
    while True:
        try:
            metrics.record_pool_stats(pool.get_stats())
            metrics.QUEUE_DEPTH.set(await ctx["redis"].zcard(jobs.QUEUE_NAME))
            async with pool.connection() as conn:
                metrics.OLDEST_PENDING_AGE.set(await store.oldest_pending_age(conn))
        except Exception as exc:  # noqa: BLE001 - a metrics refresh must never kill the worker
            _log.warning("gauge refresh failed", error=type(exc).__name__)
        await asyncio.sleep(GAUGE_INTERVAL_SECONDS)
