"""Request metrics and request ids, as one pure ASGI middleware, plus the `/metrics` route."""

from __future__ import annotations

import time
import uuid
from typing import Any

import structlog
from litestar import Request, Response, get
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from acx import metrics
from acx_gateway.routes._common import gateway_state

__all__ = ["metrics_endpoint", "observability_middleware"]


def observability_middleware(app: ASGIApp) -> ASGIApp:
    """Count and time every routed request by route template; bind a request id for logs.

    The request id comes from `X-Request-ID` when the client sends one (so it can be traced
    end to end) and is echoed back; it is also passed to render jobs.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await app(scope, receive, send_wrapper)
            finally:
                route = scope.get("path_template", "unmatched")
                method = scope.get("method", "GET")
                metrics.HTTP_REQUESTS.labels(route, method, str(status)).inc()
                metrics.HTTP_DURATION.labels(route, method).observe(time.perf_counter() - started)

    return middleware


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id" and 0 < len(value) <= 64 and value.isascii():
            return str(value.decode())
    return uuid.uuid4().hex


@get("/metrics", media_type=metrics.CONTENT_TYPE, include_in_schema=False)
async def metrics_endpoint(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Prometheus exposition (unauthenticated; expose it only inside the cluster)."""
    stats: dict[str, Any] = gateway_state(request).pool.get_stats()
    size, available = stats.get("pool_size", 0), stats.get("pool_available", 0)
    metrics.DB_POOL_CONNECTIONS.labels("used").set(size - available)
    metrics.DB_POOL_CONNECTIONS.labels("idle").set(available)
    metrics.DB_POOL_MAX.set(stats.get("pool_max", 0))
    metrics.DB_POOL_WAITING.set(stats.get("requests_waiting", 0))
    return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)
