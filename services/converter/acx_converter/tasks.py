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
from acx.db import idempotency
from acx.db import renderings as store
from acx.db.pool import Pool
from acx.pipeline import render_and_store

__all__ = ["purge_idempotency_keys", "render_message", "sweep_unrendered", "update_gauges_forever"]

_log = structlog.get_logger("acx.converter")
SWEEP_BATCH = 1000


async def render_message(ctx: dict[str, Any], message_id: str, request_id: str | None = None) -> None:
    """Render one stored message in all formats, count its tokens, and store both (idempotent).

    `request_id` is the id of the store request, so its log lines and the job's line up.
    """
    with structlog.contextvars.bound_contextvars(request_id=request_id, message_id=message_id):
        await _render(ctx, message_id)


async def _render(ctx: dict[str, Any], message_id: str) -> None:
    pool: Pool = ctx["pool"]
    try:
        async with pool.connection() as conn:
            for message in await store.load_for_render(conn, [uuid.UUID(message_id)]):
                with metrics.RENDER_DURATION.time():
                    rendered = await render_and_store(conn, message)
                metrics.RENDER_JOBS.labels("done" if rendered else "failed").inc()
    except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as exc:
        tries: int = ctx.get("job_try", 1)
        _log.warning("database unavailable, retrying", message_id=message_id, tries=tries, error=str(exc))
        raise Retry(defer=min(2**tries, 30)) from exc


async def sweep_unrendered(ctx: dict[str, Any]) -> int:
    """Re-enqueue messages still pending after a grace period (lost enqueue, flushed Redis, killed worker)."""
    pool: Pool = ctx["pool"]
    async with pool.connection() as conn:
        ids = await store.unrendered_message_ids(conn, ctx["settings"].sweep_grace_seconds, SWEEP_BATCH)
    for message_id in ids:
        key = str(message_id)
        await ctx["redis"].enqueue_job(jobs.RENDER_MESSAGE, key, _job_id=jobs.render_job_id(key))
    if ids:
        _log.info("sweep re-enqueued messages", count=len(ids))
    return len(ids)


async def purge_idempotency_keys(ctx: dict[str, Any]) -> int:
    """Drop idempotency keys past their retention."""
    pool: Pool = ctx["pool"]
    async with pool.connection() as conn:
        return await idempotency.purge_expired(conn)


GAUGE_INTERVAL_SECONDS = 5.0


async def update_gauges_forever(ctx: dict[str, Any]) -> None:
    """Refresh the queue-depth and render-lag gauges every few seconds (errors only skip a round)."""
    pool: Pool = ctx["pool"]
    while True:
        try:
            metrics.QUEUE_DEPTH.set(await ctx["redis"].zcard(jobs.QUEUE_NAME))
            async with pool.connection() as conn:
                metrics.OLDEST_UNRENDERED_AGE.set(await store.oldest_unrendered_age(conn))
        except Exception as exc:  # noqa: BLE001 - a metrics refresh must never kill the worker
            _log.warning("gauge refresh failed", error=type(exc).__name__)
        await asyncio.sleep(GAUGE_INTERVAL_SECONDS)
