"""Process-wide resources of the gateway, opened in the app lifespan."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field

import structlog
from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix

from acx import jobs
from acx.config import Settings
from acx.db.pool import Pool
from acx_gateway.batcher import StoreBatcher
from acx_gateway.ratelimit import RateLimiter

__all__ = ["GatewayState"]

_log = structlog.get_logger("acx.gateway")
_ENQUEUE_TIMEOUT = 2.0
_ENQUEUE_BACKOFF = 5.0


@dataclass
class GatewayState:
    """What request handlers share: settings, the DB pool, the job queue."""

    settings: Settings
    pool: Pool
    queue: ArqRedis
    batcher: StoreBatcher
    limiter: RateLimiter | None = None
    tokens: dict[str, tuple[uuid.UUID | None, float]] = field(default_factory=dict)
    enqueue_paused_until: float = 0.0

    async def running_jobs(self, job_ids: list[str]) -> int:
        """How many of these jobs a converter is executing right now (arq in-progress keys)."""
        if not job_ids:
            return 0
        async with self.queue.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.exists(in_progress_key_prefix + job_id)
            found = await pipe.execute()
        return sum(1 for exists in found if exists)

    async def enqueue_render(self, message_id: uuid.UUID, request_id: str | None = None) -> None:
        """Queue the render job of a committed message.

        Failure is logged, never raised: the message is already durable, and the converter's
        sweep picks up anything whose job was lost (Redis down, flushed, timed out).
        """
        key = str(message_id)
        if time.monotonic() < self.enqueue_paused_until:
            return  # Redis failed recently: do not make every store wait for it; the sweep catches up
        try:
            await asyncio.wait_for(
                self.queue.enqueue_job(jobs.RENDER_MESSAGE, key, request_id, _job_id=jobs.render_job_id(key)),
                _ENQUEUE_TIMEOUT,
            )
        except Exception as exc:  # noqa: BLE001 - redis-py, asyncio and OS errors all mean "not queued"
            self.enqueue_paused_until = time.monotonic() + _ENQUEUE_BACKOFF
            _log.warning("enqueue failed; the sweep will render it", message_id=key, error=type(exc).__name__)
