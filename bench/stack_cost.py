"""CPU per request of the gateway's HTTP stack, in process: `/api/v1/ping` through the whole
gateway app, with layers removed one at a time, against the bare Litestar baseline app.

No sockets and no server: requests are driven straight through each ASGI app, and CPU time
(`process_time`, best of several rounds) is what is compared, so the figures hold on a busy
machine where wall-clock throughput does not. The app's lifespan is not run: the token is put in
the auth cache beforehand, so a ping touches neither PostgreSQL nor Redis.
"""

from __future__ import annotations

import asyncio
import functools
import time
import uuid
from collections.abc import Callable
from typing import Any

from litestar import Litestar

import acx_gateway.app as gateway_app
from acx.apikeys import auth_secret, token_hmac
from acx.config import load_settings
from acx_gateway.request import BodyDeadlines
from acx_gateway.state import GatewayState
from bench.api import ROOT_KEY
from bench.baselines.litestar_app import create_app as bare_app
from bench.instr_driver import http_scope

__all__ = ["stack_costs"]


class _PassAuth:
    """Stands in for the bearer auth middleware: sets the project, checks nothing."""

    def __init__(self, app: Any, **_: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        scope["auth"] = uuid.UUID(int=1)
        await self.app(scope, receive, send)


def _unobserved(app: Any) -> Any:
    """The gateway entered past `observe` (no request id, security headers or metrics)."""
    return functools.partial(Litestar.__call__, app)


def _gateway(**replace: Any) -> Any:
    settings = load_settings(
        {"DATABASE_URL": "postgresql://bench/none", "REDIS_URL": "redis://bench", "RATE_LIMIT_RPS": "0"}
    )
    saved = {name: getattr(gateway_app, name) for name in replace}
    for name, value in replace.items():
        setattr(gateway_app, name, value)
    try:
        app = gateway_app.create_app(settings)
    finally:
        for name, value in saved.items():
            setattr(gateway_app, name, value)
    state = GatewayState(
        settings=settings,
        pool=None,  # type: ignore[arg-type]
        queue=None,  # type: ignore[arg-type]
        conversions=None,  # type: ignore[arg-type]
        batcher=None,  # type: ignore[arg-type]
        decoder=None,  # type: ignore[arg-type]
        body_deadlines=BodyDeadlines(settings.http_body_timeout_seconds),
    )
    secret = auth_secret(ROOT_KEY)
    assert secret is not None
    state.tokens[token_hmac(secret, settings.secret_pepper)] = (uuid.UUID(int=1), time.monotonic() + 1e9)
    app.state.gateway = state
    return app


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _cpu_us(app: Any, path: str, n: int) -> float:
    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    started = time.process_time()
    for _ in range(n):
        await app(http_scope("GET", path), _receive, send)
    elapsed = time.process_time() - started
    if set(statuses) != {200}:
        raise RuntimeError(f"{path} answered {set(statuses)}")
    return elapsed / n * 1e6


def stack_costs(requests: int = 3000, rounds: int = 5) -> dict[str, float]:
    """CPU microseconds per ping for the bare app, the gateway, and the gateway minus each layer."""
    variants: dict[str, Callable[[], Any]] = {
        "bare Litestar": bare_app,
        "gateway": _gateway,
        "gateway without request metrics/ids": lambda: _unobserved(_gateway()),
        "gateway without bearer auth": lambda: _gateway(BearerAuthMiddleware=_PassAuth),
        "gateway without either": lambda: _unobserved(_gateway(BearerAuthMiddleware=_PassAuth)),
    }
    apps = {name: (make(), "/ping" if name == "bare Litestar" else "/api/v1/ping") for name, make in variants.items()}

    async def measure() -> dict[str, float]:
        best = dict.fromkeys(apps, float("inf"))
        for _ in range(rounds):  # interleaved, best of: the machine's noise only ever adds
            for name, (app, path) in apps.items():
                best[name] = min(best[name], await _cpu_us(app, path, requests))
        return best

    return asyncio.run(measure())
