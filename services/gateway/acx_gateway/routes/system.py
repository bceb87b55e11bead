"""Unauthenticated probes and the authenticated ping."""

from __future__ import annotations

from typing import Any

from litestar import Request, get

from acx_gateway.envelope import Reply, error_responses
from acx_gateway.state import gateway_state

__all__ = ["healthz", "ping", "readyz"]


@get("/ping", responses=error_responses())
async def ping() -> Reply:
    """`{"code":0,"msg":"pong"}`: the SDK's `ping()` returns `msg`."""
    return Reply(msg="pong")


@get("/healthz", security=[], responses=error_responses(public=True))
async def healthz() -> Reply:
    """The process is alive."""
    return Reply(msg="ok")


@get("/readyz", security=[], responses=error_responses(public=True))
async def readyz(request: Request[Any, Any, Any]) -> Reply:
    """The database and Redis answer (503 otherwise, through the envelope's error mapping)."""
    state = gateway_state(request)
    async with state.pool.connection() as conn:
        await conn.execute("SELECT 1")
    await state.queue.ping()
    return Reply(msg="ready")
