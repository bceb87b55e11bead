"""Enqueueing conversion jobs for committed messages."""

from __future__ import annotations

import asyncio
import time
import uuid

import structlog
from arq.connections import ArqRedis

from acx import jobs

__all__ = ["ConversionQueue"]

_log = structlog.get_logger("acx.gateway")
_ENQUEUE_TIMEOUT = 2.0
_ENQUEUE_BACKOFF = 5.0


class ConversionQueue:
    """Queues one conversion job per committed batch of messages."""

    def __init__(self, redis: ArqRedis) -> None:
        self._redis = redis
        self._paused_until = 0.0

    async def enqueue(self, message_ids: list[uuid.UUID], request_ids: list[str]) -> None:
        """Queue the conversion job of committed messages.

        Failure is logged, never raised: the messages are already durable, and the converter's
        sweep picks up anything whose job was lost (Redis down, flushed, timed out). After a
        failure, enqueues pause briefly so stores do not each wait on a dead Redis.
        """
        if not message_ids or time.monotonic() < self._paused_until:
            return
        keys = [str(message_id) for message_id in message_ids]
        try:
            await asyncio.wait_for(
                self._redis.enqueue_job(jobs.CONVERSION_JOB, keys, request_ids, _job_id=jobs.conversion_job_id(keys)),
                _ENQUEUE_TIMEOUT,
            )
        except Exception as exc:  # noqa: BLE001 - redis-py, asyncio and OS errors all mean "not queued"
            self._paused_until = time.monotonic() + _ENQUEUE_BACKOFF
            _log.warning("enqueue failed; the sweep will queue it again", messages=len(keys), error=type(exc).__name__)
