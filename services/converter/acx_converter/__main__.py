"""`python -m acx_converter`: run the converter worker."""

from __future__ import annotations

import sys

from arq.worker import run_worker

from acx.config import ConfigError, load_settings
from acx.log import configure_logging
from acx_converter.worker import WorkerSettings, worker_options

__all__ = ["main"]


def main() -> None:
    """Validate settings, then run the arq worker until SIGINT/SIGTERM."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        sys.exit(f"acx-converter: {exc}")
    if not settings.database_url or not settings.redis_url:
        sys.exit("acx-converter: DATABASE_URL and REDIS_URL are required (`make run` sets them)")
    configure_logging(settings.log_level, settings.log_format)
    run_worker(WorkerSettings, **worker_options(settings))  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
