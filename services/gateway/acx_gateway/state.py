"""Process-wide resources of the gateway, opened in the app lifespan."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from arq.connections import ArqRedis

from acx.config import Settings
from acx.db.pool import Pool
from acx_gateway.batcher import StoreBatcher
from acx_gateway.ratelimit import RateLimiter
from acx_gateway.render_queue import RenderQueue

__all__ = ["GatewayState"]


@dataclass
class GatewayState:
    """What request handlers share: settings, the DB pool, the job queue, the store batcher."""

    settings: Settings
    pool: Pool
    queue: ArqRedis
    renders: RenderQueue
    batcher: StoreBatcher
    limiter: RateLimiter | None = None
    tokens: dict[str, tuple[uuid.UUID | None, float]] = field(default_factory=dict)
