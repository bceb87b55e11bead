"""Process-wide resources of the gateway, opened in the app lifespan."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

import structlog
from arq.connections import ArqRedis

from acx import jobs
from acx.config import Settings
from acx.db.pool import Pool

__all__ = ["GatewayState"]

_log = structlog.get_logger("acx.gateway")
_ENQUEUE_TIMEOUT = 2.0


@dataclass
class GatewayState:
    """What request handlers share: settings, the DB pool, the job queue."""

    settings: Settings
    pool: Pool
    queue: ArqRedis
    tokens: dict[str, tuple[uuid.UUID | None, float]] = field(default_factory=dict)

    async def enqueue_render(self, message_id: uuid.UUID) -> None:
        """Queue the render job of a committed message.

        Failure is logged, never raised: the message is already durable, and the converter's
        sweep picks up anything whose job was lost (Redis down, flushed, timed out).
        """
        key = str(message_id)
        try:
            await asyncio.wait_for(
                self.queue.enqueue_job(jobs.RENDER_MESSAGE, key, _job_id=jobs.render_job_id(key)),
                _ENQUEUE_TIMEOUT,
            )
        except (OSError, TimeoutError, ConnectionError) as exc:
            _log.warning("enqueue failed; the sweep will render it", message_id=key, error=type(exc).__name__)
        except Exception as exc:  # redis-py raises its own error tree
            _log.warning("enqueue failed; the sweep will render it", message_id=key, error=type(exc).__name__)
