"""HTTP ceiling: a minimal Litestar app on the gateway's server stack (granian, ASGI, same workers).

`python -m bench.baselines.litestar_app` serves it on HOST:PORT with WEB_WORKERS processes, started
exactly like `python -m acx_gateway`; its `async def` handler matches the gateway's handlers.
"""

from __future__ import annotations

import os

from granian.constants import Interfaces
from granian.server import Server
from litestar import Litestar, Response, get

__all__ = ["create_app", "main"]

_PONG = b'{"code":0,"msg":"pong"}'


@get("/ping")
async def ping() -> Response[bytes]:
    """The smallest useful JSON answer."""
    return Response(_PONG, media_type="application/json")


def create_app() -> Litestar:
    """The baseline app (no middleware, no auth, no database)."""
    return Litestar(route_handlers=[ping], openapi_config=None)


def main() -> None:
    """Serve the app with granian like the gateway does."""
    Server(
        "bench.baselines.litestar_app:create_app",
        factory=True,
        address=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8030")),
        interface=Interfaces.ASGI,
        workers=int(os.environ.get("WEB_WORKERS", "1")),
        log_access=False,
    ).serve()


if __name__ == "__main__":
    main()
