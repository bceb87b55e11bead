"""Converter jobs: render a message in every format, and sweep up messages whose job was lost."""

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
from acx.pipeline import render_and_store

__all__ = ["purge_idempotency_keys", "render_messages", "sweep_unrendered", "update_gauges_forever"]

_log = structlog.get_logger("acx.converter")
SWEEP_BATCH = 5000
SWEEP_MAX_PER_RUN = 500_000


async def render_messages(ctx: dict[str, Any], message_ids: list[str], request_ids: list[str] | None = None) -> None:
    """Render a batch of stored messages in all formats, count their tokens, store both (idempotent).

    `request_ids` are the ids of the store requests, so their log lines and the job's line up.
    """
    with structlog.contextvars.bound_contextvars(request_ids=request_ids or [], messages=len(message_ids)):
        await _render(ctx, [uuid.UUID(message_id) for message_id in message_ids])


async def _render(ctx: dict[str, Any], message_ids: list[uuid.UUID]) -> None:
    pool: Pool = ctx["pool"]
    try:
        async with pool.connection() as conn:
            messages = await store.claim_for_render(conn, message_ids)
            with metrics.RENDER_DURATION.time():
                rendered, failed = await render_and_store(conn, messages)
        metrics.RENDER_JOBS.labels("done").inc(rendered)
        metrics.RENDER_JOBS.labels("failed").inc(failed)
    except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as exc:
        tries: int = ctx.get("job_try", 1)
        _log.warning("database unavailable, retrying", tries=tries, error=str(exc))
        raise Retry(defer=min(2**tries, 30)) from exc


async def sweep_unrendered(ctx: dict[str, Any]) -> int:
    """Re-enqueue messages whose render job was lost (Redis down or flushed, worker killed).

    Pages through all of them by keyset (up to `SWEEP_MAX_PER_RUN`; the next run goes on), so a
    backlog of 100 000 after a Redis loss is queued again within one run, not 1 000 per 15 s.
    """
    pool: Pool = ctx["pool"]
    settings: Settings = ctx["settings"]
    swept = 0
    after = None
    while swept < SWEEP_MAX_PER_RUN:
        async with pool.connection() as conn:
            found = await store.unrendered_message_ids(
                conn, settings.sweep_grace_seconds, settings.render_job_timeout_seconds * 2, SWEEP_BATCH, after
            )
        if not found:
            break
        keys = [str(message_id) for message_id, _ in found]
        for start in range(0, len(keys), jobs.RENDER_BATCH_MAX):
            chunk = keys[start : start + jobs.RENDER_BATCH_MAX]
            await ctx["redis"].enqueue_job(jobs.RENDER_MESSAGES, chunk, _job_id=jobs.render_job_id(chunk))
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
    """Refresh the pool, queue-depth and render-lag gauges every few seconds (errors only skip a round)."""
    pool: Pool = ctx["pool"]
    while True:
        try:
            metrics.record_pool_stats(pool.get_stats())
            metrics.QUEUE_DEPTH.set(await ctx["redis"].zcard(jobs.QUEUE_NAME))
            async with pool.connection() as conn:
                metrics.OLDEST_UNRENDERED_AGE.set(await store.oldest_unrendered_age(conn))
        except Exception as exc:  # noqa: BLE001 - a metrics refresh must never kill the worker
            _log.warning("gauge refresh failed", error=type(exc).__name__)
        await asyncio.sleep(GAUGE_INTERVAL_SECONDS)
