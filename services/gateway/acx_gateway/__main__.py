"""`python -m acx_gateway`: serve the gateway with granian."""

from __future__ import annotations

import sys

import structlog
from granian.constants import Interfaces
from granian.http import HTTP1Settings
from granian.server import Server

from acx.config import DOCUMENTED_PEPPERS, PLACEHOLDER_ROOT_TOKENS, ConfigError, Settings, load_settings
from acx.log import configure_logging

__all__ = ["main"]

# granian's own loggers propagate to the root logger that `configure_logging` sets up, so its start and
# shutdown lines come out in LOG_FORMAT too (JSON in containers) instead of granian's plain text.
_GRANIAN_LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {"_granian": {"propagate": True}, "granian.access": {"propagate": True}},
}


# Linux caps the accept queue at net.core.somaxconn (4096 on current kernels).
_BACKLOG = 4096


def main() -> None:
    """Validate settings, then run granian on HOST:PORT (WEB_WORKERS processes, default 1).

    Slow clients are bounded by granian itself: a connection must send its whole request header
    within HTTP_HEADER_TIMEOUT_SECONDS or it is closed, and each worker serves up to
    HTTP_MAX_CONNECTIONS connections at once (granian's `backpressure`; its default, backlog /
    workers, let ~2 000 stalled connections lock everyone out).
    """
    try:
        settings = load_settings()
    except ConfigError as exc:
        sys.exit(f"acx-gateway: {exc}")
    if settings.secret_pepper in DOCUMENTED_PEPPERS:
        sys.exit(
            "acx-gateway: SECRET_PEPPER is unset or the documented placeholder, so anyone could forge"
            " API-key lookups and file links; set it to a random secret (e.g. `openssl rand -hex 32`)."
            " `make run` makes one under DATA_DIR."
        )
    if settings.root_api_bearer_token in PLACEHOLDER_ROOT_TOKENS:
        sys.exit(
            "acx-gateway: ROOT_API_BEARER_TOKEN is the manifests' placeholder, so anyone who read them could"
            " use the default project; set it to a random secret (e.g. `openssl rand -hex 32`)."
        )
    configure_logging(settings.log_level, settings.log_format)
    if settings.root_api_bearer_token == Settings().root_api_bearer_token:
        structlog.get_logger("acx.gateway").warning(
            "ROOT_API_BEARER_TOKEN is the README's default: anyone who read it can use the default project;"
            " set a random one outside development"
        )
    Server(
        "acx_gateway.app:create_app_from_env",
        factory=True,
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=settings.web_workers,
        log_access=False,
        log_dictconfig=_GRANIAN_LOGGING,
        backlog=_BACKLOG,
        backpressure=settings.http_max_connections,
        http1_settings=HTTP1Settings(header_read_timeout=round(settings.http_header_timeout_seconds * 1000)),
    ).serve()


if __name__ == "__main__":
    main()
