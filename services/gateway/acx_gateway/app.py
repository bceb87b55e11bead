"""The Litestar application: `create_app(settings)`."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from arq import create_pool
from arq.connections import RedisSettings
from litestar import Litestar, Router
from litestar.config.app import AppConfig
from litestar.enums import ScopeType
from litestar.middleware import DefineMiddleware
from litestar.types import Receive, Scope, Send

from acx import jobs, metrics, tokens
from acx.apikeys import auth_secret, token_hmac
from acx.config import Settings, load_settings
from acx.db.migrate import migrate
from acx.db.pool import open_pool
from acx.db.projects import ensure_default_project
from acx.limits import MAX_MULTIPART_PARTS
from acx.log import configure_logging
from acx_gateway.auth import BearerAuthMiddleware
from acx_gateway.batcher import StoreBatcher
from acx_gateway.conversion_queue import ConversionQueue
from acx_gateway.decode_pool import DecodePool
from acx_gateway.dependencies import API_DEPENDENCIES
from acx_gateway.envelope import exception_handlers
from acx_gateway.observability import metrics_endpoint, observe, publish_pool_stats_forever
from acx_gateway.openapi import BEARER, allow_header_middleware, openapi_config, openapi_document
from acx_gateway.ratelimit import RateLimiter
from acx_gateway.request import BodyDeadlines, GatewayRequest
from acx_gateway.routes.assets import AssetController, public_material
from acx_gateway.routes.conversion import ConvertController, RequestViewController
from acx_gateway.routes.messages import MessageController, MessageMetaController
from acx_gateway.routes.project import ProjectController
from acx_gateway.routes.session_ops import SessionOpsController
from acx_gateway.routes.sessions import SessionController, SessionItemController
from acx_gateway.routes.system import healthz, ping, readyz
from acx_gateway.routes.users import UserController
from acx_gateway.state import GatewayState
from acx_gateway.ui import inspector_router

__all__ = ["Gateway", "create_app", "create_app_from_env"]

_log = structlog.get_logger("acx.gateway")


class Gateway(Litestar):
    """The Litestar app, entered through `observe` for HTTP (request ids, security headers, metrics).

    Outside the app rather than a middleware or a `before_send` hook: it sees every response
    (Litestar answers unknown routes and authentication errors outside the middleware stack) for
    one closure per request, where a hook cost a send wrapper and a coroutine per message.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # type: ignore[override]
        if scope["type"] == ScopeType.HTTP:
            await observe(super().__call__, scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def create_app(settings: Settings, *, start_decoder: bool = False) -> Litestar:
    """Build the gateway for `settings` (DATABASE_URL and REDIS_URL must be set by then).

    `start_decoder`: start the process that decodes large stores at start-up (the server does),
    rather than with the first large store (in-process apps of the tests, which rarely see one).
    """
    if not settings.database_url or not settings.redis_url:
        raise ValueError("create_app needs DATABASE_URL and REDIS_URL (the dev runner sets them)")
    database_url, redis_url = settings.database_url, settings.redis_url

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # Migrations take an advisory lock, so concurrent replicas apply them once.
        migrate(database_url)
        pool = await open_pool(
            database_url,
            min_size=settings.db_pool_min,
            max_size=settings.db_pool_max,
            acquire_timeout=settings.db_pool_timeout,
        )
        secret = auth_secret(settings.root_api_key)
        assert secret is not None
        async with pool.connection() as conn:
            await ensure_default_project(conn, token_hmac(secret, settings.secret_pepper))
        queue = await create_pool(
            RedisSettings.from_dsn(redis_url),
            job_serializer=jobs.serialize_job,
            job_deserializer=jobs.deserialize_job,
            default_queue_name=jobs.QUEUE_NAME,
        )
        tokens.warm_up()
        conversions = ConversionQueue(queue)
        batcher = StoreBatcher(
            pool, conversions.enqueue, flushers=max(1, settings.db_pool_max // 4), max_wait=settings.db_pool_timeout
        )
        limiter = (
            RateLimiter(queue, settings.rate_limit_rps, settings.rate_limit_burst) if settings.rate_limit_rps else None
        )
        decoder = DecodePool()
        if start_decoder:
            decoder.start_workers()
        body_deadlines = BodyDeadlines(settings.http_body_timeout_seconds)
        app.state.gateway = GatewayState(
            settings=settings,
            pool=pool,
            queue=queue,
            conversions=conversions,
            batcher=batcher,
            decoder=decoder,
            body_deadlines=body_deadlines,
            limiter=limiter,
        )
        metrics.announce("gateway")
        pool_stats = asyncio.create_task(publish_pool_stats_forever(pool))
        body_sweeps = asyncio.create_task(body_deadlines.run())
        # What start-up made (modules, the route table, signature models: ~80 000 objects) lives as long
        # as the process; frozen, the collector no longer walks it in every full collection (measured:
        # a store spent 7-13 % of its CPU there).
        gc.collect()
        gc.freeze()
        _log.info("gateway ready", base_url=settings.base_url)
        try:
            yield
        finally:
            pool_stats.cancel()
            body_sweeps.cancel()
            await batcher.close()
            await decoder.close()
            await queue.aclose()
            await pool.close()

    api = Router(
        path="/api/v1",
        route_handlers=[
            ping,
            SessionController,
            SessionItemController,
            SessionOpsController,
            MessageController,
            MessageMetaController,
            RequestViewController,
            ConvertController,
            AssetController,
            UserController,
            ProjectController,
        ],
        dependencies=API_DEPENDENCIES,
        middleware=[DefineMiddleware(BearerAuthMiddleware)],
        security=[BEARER],
    )
    return Gateway(
        route_handlers=[api, public_material, healthz, readyz, metrics_endpoint, openapi_document, inspector_router()],
        middleware=[allow_header_middleware],
        lifespan=[lifespan],
        exception_handlers=exception_handlers,
        request_max_body_size=settings.max_body_bytes,
        multipart_form_part_limit=MAX_MULTIPART_PARTS,
        request_class=GatewayRequest,
        openapi_config=openapi_config(),
        logging_config=None,  # structlog is configured once in create_app_from_env
        on_app_init=[_quiet_defaults],
    )


def _quiet_defaults(config: AppConfig) -> AppConfig:
    config.debug = False
    return config


def create_app_from_env() -> Litestar:
    """Factory for the ASGI server: settings and logging from the environment."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings, start_decoder=True)
