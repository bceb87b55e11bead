"""The OpenAPI document, built by Litestar from the handlers, and the `Allow` header fix.

Every parameter, body and response of the document comes from the handlers' signatures and the
Structs they return (`acx_gateway.envelope.error_responses` adds the error statuses); nothing
restates the API by hand. It is served at `GET /openapi.json` (and Litestar's own
`/schema/openapi.json`).
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request, get
from litestar.enums import ScopeType
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BEARER", "allow_header_middleware", "openapi_config", "openapi_document"]

#: The security requirement of every `/api/v1` route but the public material URL.
BEARER: dict[str, list[str]] = {"bearer": []}


def openapi_config() -> OpenAPIConfig:
    """The document's metadata and security scheme; JSON only, no UI pages."""
    return OpenAPIConfig(
        title="acx — Acontext-compatible message store",
        version="1.0.0",
        render_plugins=[JsonRenderPlugin()],
        use_handler_docstrings=True,
        components=Components(
            security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer", description="sk-ac-… project key")}
        ),
    )


@get("/openapi.json", include_in_schema=False, media_type="application/json", sync_to_thread=False)
def openapi_document(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The OpenAPI document (public), where clients and schemathesis look for it."""
    return request.app.openapi_schema.to_schema()


def _allowed_methods(app: Litestar) -> dict[str, bytes]:
    allowed: dict[str, set[str]] = {}
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            allowed.setdefault(route.path_format, {"OPTIONS"}).update(route.methods)
    return {path: ", ".join(sorted(methods)).encode() for path, methods in allowed.items()}


def allow_header_middleware(app: ASGIApp) -> ASGIApp:
    """Answer OPTIONS with every method of the path.

    Litestar builds its automatic OPTIONS handler before merging handlers that share a path from
    different declarations, so its `Allow` lists only some methods; this corrects the header
    from the app's routes.
    """
    cache: dict[str, bytes] = {}

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope.get("method") != "OPTIONS":
            await app(scope, receive, send)
            return
        if not cache:
            cache.update(_allowed_methods(scope["litestar_app"]))
        allow = cache.get(_path_format(scope.get("path_template", "")))

        async def send_with_allow(message: Message) -> None:
            if allow is not None and message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                message["headers"] = [*headers, (b"allow", allow)]
            await send(message)

        await app(scope, receive, send_with_allow)

    return middleware


def _path_format(template: str) -> str:
    # `/a/{session:str}/b` → `/a/{session}/b`, the form of `HTTPRoute.path_format`.
    return template.replace(":str}", "}")
