"""Request ids, request metrics and security headers, plus the `/metrics` route.

`observe` serves each HTTP request from outside the Litestar app (`acx_gateway.app.Gateway` calls
it), because Litestar answers some requests outside any middleware (unknown routes, and errors
raised by route-level middleware such as authentication, which its outer exception handler turns
into responses): from there it sees every response, binds the request id for the logs, stamps it
and the security headers on the answer and counts it with the status actually sent.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from typing import Any

import structlog
from litestar import Request, Response, get
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

from acx import metrics
from acx.db.pool import Pool
from acx_gateway.state import gateway_state

__all__ = ["metrics_endpoint", "observe", "publish_pool_stats_forever", "stamped_headers"]

POOL_STATS_INTERVAL_SECONDS = 5.0

# API answers are JSON and never displayed as pages: nothing may run, load or frame them. Responses that
# set their own policy (the inspector under /ui/, stored files) keep it.
_API_CSP = b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
_SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"content-security-policy", _API_CSP),
)
_NO_STORE = (b"cache-control", b"no-store")
_API_HEADERS = (*_SECURITY_HEADERS, _NO_STORE)
#: The headers a response may set itself, which then win over the defaults above.
_OWN_POLICY = frozenset(name for name, _ in _API_HEADERS)


async def observe(app: ASGIApp, scope: HTTPScope, receive: Receive, send: Send) -> None:
    """Serve one HTTP request through `app` with a request id, the security headers and metrics.

    The request id comes from `X-Request-ID` when the client sends one (so it can be traced end to
    end), is bound for the request's logs, echoed back and passed to conversion jobs.
    """
    state = scope.setdefault("state", {})
    request_id = state["request_id"] = _request_id(scope)
    started = time.perf_counter()

    async def stamped_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = stamped_headers(message.get("headers") or (), request_id, scope["path"])
            counter, histogram = _series(scope.get("path_template", "unmatched"), scope["method"], message["status"])
            counter.inc()
            histogram.observe(time.perf_counter() - started)
        await send(message)

    # bind/reset rather than the `bound_contextvars` context manager: same effect, a third of the cost.
    tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
    try:
        await app(scope, receive, stamped_send)
    finally:
        structlog.contextvars.reset_contextvars(**tokens)


def stamped_headers(headers: Any, request_id: str, path: str) -> list[tuple[bytes, bytes]]:
    """`headers` of an answer plus the request id and the security headers it does not set itself
    (and `Cache-Control: no-store` under /api/)."""
    stamped = [*headers, (b"x-request-id", request_id.encode())]
    own = [lowered for name, _ in headers if (lowered := name.lower()) in _OWN_POLICY]
    defaults = _API_HEADERS if path.startswith("/api/") else _SECURITY_HEADERS
    stamped.extend(defaults if not own else [header for header in defaults if header[0] not in own])
    return stamped


# Labelled children, looked up once per (route, method, status): `labels()` validates and locks
# on every call, which was a measurable part of a small request's cost. Keys are bounded by the
# route table (templates, never raw paths) times methods and statuses.
_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
_MAX_CACHED = 4096


# Methods are labelled by name only when HTTP defines them: a client may send any token as a method,
# and every distinct label value is a series kept for ever (2 000 made-up methods added 34 000
# lines to /metrics).
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})


def _series(route: str, method: str, status: int) -> tuple[Any, Any]:
    method = method if method in _METHODS else "other"
    key = (route, method, status)
    found = _children.get(key)
    if found is None:
        found = (metrics.HTTP_REQUESTS.labels(route, method, str(status)), metrics.HTTP_DURATION.labels(route, method))
        if len(_children) < _MAX_CACHED:
            _children[key] = found
    return found


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id" and 0 < len(value) <= 64 and value.isascii() and value.decode().isprintable():
            return str(value.decode())
    # A random per-process prefix and a counter: unique across processes and replicas like a
    # uuid4, without a getrandom() call and a UUID object per request (ids need no secrecy).
    return f"{_ID_PREFIX}{next(_id_counter):012x}"


_ID_PREFIX = os.urandom(10).hex()
_id_counter = itertools.count()


def _new_id_prefix() -> None:
    global _ID_PREFIX  # noqa: PLW0603 - per process, renewed in a forked worker
    _ID_PREFIX = os.urandom(10).hex()


os.register_at_fork(after_in_child=_new_id_prefix)


@get("/metrics", media_type=metrics.CONTENT_TYPE, include_in_schema=False)
async def metrics_endpoint(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Prometheus exposition (unauthenticated; expose it only inside the cluster)."""
    state = gateway_state(request)
    metrics.record_pool_stats(state.pool.get_stats())
    return Response(metrics.exposition(state.settings.prometheus_multiproc_dir), media_type=metrics.CONTENT_TYPE)


async def publish_pool_stats_forever(pool: Pool) -> None:
    """Refresh this process's pool gauges every few seconds, until cancelled.

    A scrape reaches one of the WEB_WORKERS processes (the same one, over Prometheus' kept-alive
    connection), so updating at scrape time alone would leave the others' gauges frozen in the
    aggregated exposition, and pool saturation of those processes invisible.
    """
    while True:
        metrics.record_pool_stats(pool.get_stats())
        await asyncio.sleep(POOL_STATS_INTERVAL_SECONDS)
