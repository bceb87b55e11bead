"""The served OpenAPI 3.1 document (`GET /openapi.json`).

Handlers parse bodies themselves (raw blobs must persist byte for byte, multipart and JSON share a
route), so the document is declared here from one compact table instead of being inferred from
handler signatures. Response schemas come from the same msgspec Structs the handlers encode, via
`msgspec.json.schema_components`, so they cannot drift from what is sent. Every status a route
can answer is listed; schemathesis checks the running server against this document.
"""

from __future__ import annotations

import functools
from typing import Any

import msgspec
from litestar import Response, get
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from acx_gateway.openapi_routes import DATA_TYPES, PUBLIC_ROUTES, ROUTES, STATUS_TEXT

__all__ = ["allow_header_middleware", "openapi_document", "openapi_endpoint"]


def _envelope(data_ref: str | None) -> dict[str, Any]:
    properties: dict[str, Any] = {"code": {"type": "integer"}, "msg": {"type": "string"}}
    if data_ref:
        properties["data"] = {"$ref": f"#/components/schemas/{data_ref}"}
    return {"type": "object", "required": ["code", "msg"], "properties": properties}


def _json(schema: dict[str, Any], description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


_RETRY_AFTER = {"Retry-After": {"schema": {"type": "string"}, "description": "seconds"}}


def _responses(status: int, data: str | None, errors: list[int], *, public: bool = False) -> dict[str, Any]:
    if data == "bytes":
        success = {"description": "the file", "content": {"application/octet-stream": {"schema": {}}}}
    else:
        success = _json(_envelope(data), STATUS_TEXT[status])
    responses = {str(status): success}
    statuses = set(errors) | ({503} if public else {401, 429, 503})
    for code in sorted(statuses):
        headers = _RETRY_AFTER if code in (429, 503) else None
        responses[str(code)] = _json(_envelope("ErrorData"), STATUS_TEXT[code], headers)
    return responses


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the gateway."""
    refs, components = msgspec.json.schema_components(
        list(DATA_TYPES.values()), ref_template="#/components/schemas/{name}"
    )
    for name, ref in zip(DATA_TYPES, refs, strict=True):
        if ref.get("$ref") != f"#/components/schemas/{name}":
            components[name] = ref
    paths: dict[str, dict[str, Any]] = {}
    for method, path, summary, params, body, status, data, errors in ROUTES:
        operation: dict[str, Any] = {
            "summary": summary,
            "operationId": f"{method}_{path.strip('/').replace('/', '_').replace('{', '').replace('}', '')}",
            "parameters": params,
            "responses": _responses(status, data, errors),
        }
        if body is not None:
            # Every field of a session is optional, and older SDKs send no body at all.
            required = path != "/api/v1/session"
            operation["requestBody"] = {"required": required, "content": {"application/json": {"schema": body}}}
        paths.setdefault(path, {})[method] = operation
    for path, summary in PUBLIC_ROUTES:
        paths[path] = {
            "get": {
                "summary": summary,
                "operationId": path.strip("/"),
                "security": [],
                "responses": _responses(200, None, [], public=True),
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": "acx — Acontext-compatible message store", "version": "1.0.0"},
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "sk-ac-… project key"}},
        },
    }


@functools.cache
def _allowed_methods() -> dict[str, bytes]:
    allowed: dict[str, set[str]] = {}
    for method, path, *_ in ROUTES:
        allowed.setdefault(path, {"OPTIONS"}).add(method.upper())
    return {path: ", ".join(sorted(methods)).encode() for path, methods in allowed.items()}


def allow_header_middleware(app: ASGIApp) -> ASGIApp:
    """Answer OPTIONS with every method of the path.

    Litestar builds its automatic OPTIONS handler before merging handlers that share a path from
    different declarations, so its `Allow` lists only some methods; this corrects the header
    from the routing table the OpenAPI document is built from.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope.get("method") != "OPTIONS":
            await app(scope, receive, send)
            return
        allow = _allowed_methods().get(scope.get("path_template", "").replace(":str}", "}"))

        async def send_with_allow(message: Message) -> None:
            if allow is not None and message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                message["headers"] = [*headers, (b"allow", allow)]
            await send(message)

        await app(scope, receive, send_with_allow)

    return middleware


@get("/openapi.json", include_in_schema=False)
async def openapi_endpoint() -> Response[bytes]:
    """The OpenAPI document (public)."""
    return Response(msgspec.json.encode(openapi_document()), media_type="application/json")
