"""Process-wide resources of the gateway, opened in the app lifespan."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

from arq.connections import ArqRedis
from litestar.connection import ASGIConnection

from acx.config import Settings
from acx.db.pool import Pool
from acx_gateway.batcher import StoreBatcher
from acx_gateway.conversion_queue import ConversionQueue
from acx_gateway.decode_pool import DecodePool
from acx_gateway.ratelimit import RateLimiter
from acx_gateway.request import BodyDeadlines

__all__ = ["GatewayState", "gateway_state"]


@dataclass
class GatewayState:
    """What request handlers share: settings, the DB pool, the job queue, the store batcher, the
    processes that decode large stores, the deadlines of body reads."""

    settings: Settings
    pool: Pool
    queue: ArqRedis
    conversions: ConversionQueue
    batcher: StoreBatcher
    decoder: DecodePool
    body_deadlines: BodyDeadlines
    limiter: RateLimiter | None = None
    tokens: dict[str, tuple[uuid.UUID | None, float]] = field(default_factory=dict)
    #: Key lookups under way, by key HMAC: concurrent requests with one key share one query.
    token_lookups: dict[str, asyncio.Task[uuid.UUID | None]] = field(default_factory=dict)


def gateway_state(connection: ASGIConnection[Any, Any, Any, Any]) -> GatewayState:
    """The gateway's state, as the lifespan stored it (the one typed way in to `app.state`)."""
    state: GatewayState = connection.app.state.gateway
    return state
