"""`python -m acx_converter`: run the converter worker."""

from __future__ import annotations

import logging
import sys
import time

import psycopg
import psycopg_pool
import structlog
from arq.worker import run_worker
from prometheus_client import start_http_server
from redis.exceptions import RedisError

from acx import metrics
from acx.config import ConfigError, load_settings
from acx.log import configure_logging
from acx_converter.worker import WorkerSettings, worker_options

__all__ = ["main"]

_log = structlog.get_logger("acx.converter")
_RESTART_DELAY = 2.0


def main() -> None:
    """Validate settings, then run the arq worker until SIGINT/SIGTERM."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        sys.exit(f"acx-converter: {exc}")
    if not settings.database_url or not settings.redis_url:
        sys.exit("acx-converter: DATABASE_URL and REDIS_URL are required (`make run` sets them)")
    configure_logging(settings.log_level, settings.log_format)
    if settings.log_level.upper() != "DEBUG":
        # arq logs two lines per job at INFO: thousands a second under load, and no news.
        logging.getLogger("arq.worker").setLevel(logging.WARNING)
    metrics.announce("converter")
    if settings.worker_metrics_port:
        # Once per process: the worker below may be restarted after an outage, the port stays bound.
        try:
            start_http_server(settings.worker_metrics_port, addr=settings.host)
        except OSError as exc:
            sys.exit(
                f"acx-converter: cannot serve metrics on {settings.host}:{settings.worker_metrics_port}"
                f" ({exc.strerror}); set WORKER_METRICS_PORT to a free port (0 disables metrics)"
            )
    while True:
        try:
            run_worker(WorkerSettings, **worker_options(settings))  # type: ignore[arg-type]
        except (RedisError, OSError, psycopg.OperationalError, psycopg_pool.PoolTimeout) as exc:
            # Redis or PostgreSQL went away for longer than retries cover (or at start-up): start over
            # once they are back rather than exiting; the sweep re-enqueues whatever was lost.
            _log.warning("worker lost a backing service, restarting", error=type(exc).__name__, retry_in=_RESTART_DELAY)
            time.sleep(_RESTART_DELAY)
            continue
        return  # a signal stopped the worker


if __name__ == "__main__":
    main()
