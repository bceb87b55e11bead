"""Unauthenticated probes and the authenticated ping."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from acx_gateway.envelope import ok
from acx_gateway.routes._common import gateway_state

__all__ = ["healthz", "ping", "readyz"]


@get("/ping")
async def ping() -> Response[bytes]:
    """`{"code":0,"msg":"pong"}`: the SDK's `ping()` returns `msg`."""
    return ok(msg="pong")


@get("/healthz")
async def healthz() -> Response[bytes]:
    """The process is alive."""
    return ok(msg="ok")


@get("/readyz")
async def readyz(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The database and Redis answer (503 otherwise, through the envelope's error mapping)."""
    state = gateway_state(request)
    async with state.pool.connection() as conn:
        await conn.execute("SELECT 1")
    await state.queue.ping()
    return ok(msg="ready")
