"""`python -m acx_gateway`: serve the gateway with granian."""

from __future__ import annotations

import os
import sys

from granian.constants import Interfaces
from granian.server import Server

from acx.config import ConfigError, load_settings

__all__ = ["main"]


def main() -> None:
    """Validate settings, then run granian on HOST:PORT (WEB_WORKERS processes, default 1)."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        sys.exit(f"acx-gateway: {exc}")
    Server(
        "acx_gateway.app:create_app_from_env",
        factory=True,
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=int(os.environ.get("WEB_WORKERS", "1")),
        log_access=False,
    ).serve()


if __name__ == "__main__":
    main()
