"""The served OpenAPI 3.1 document (`GET /openapi.json`).

Handlers parse bodies themselves (raw blobs must persist byte for byte, multipart and JSON share a
route), so the document is declared here from one compact table instead of being inferred from
handler signatures. Response schemas come from the same msgspec Structs the handlers encode, via
`msgspec.json.schema_components`, so they cannot drift from what is sent. Every status a route
can answer is listed; schemathesis checks the running server against this document.
"""

from __future__ import annotations

import functools
import uuid
from datetime import datetime
from typing import Any

import msgspec
from litestar import Response, get
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from acx.db.events import EventPage, EventRecord
from acx.db.sessions import SessionPage, SessionRecord
from acx_gateway.pages import MessagesPage
from acx_gateway.routes.conversion import RequestView
from acx_gateway.routes.messages import StoredMessageOut

__all__ = ["allow_header_middleware", "openapi_document", "openapi_endpoint"]


class ErrorData(msgspec.Struct, omit_defaults=True):
    """Machine-readable detail of a rejected request."""

    error_code: str
    path: str | None = None


class TokenCounts(msgspec.Struct):
    total_tokens: int


class ObservingStatus(msgspec.Struct):
    observed: int
    in_process: int
    pending: int
    failed: int
    updated_at: datetime


class FlagResponse(msgspec.Struct):
    status: int
    errmsg: str


class CopyResult(msgspec.Struct):
    old_session_id: uuid.UUID
    new_session_id: uuid.UUID


class ConfigsResult(msgspec.Struct):
    configs: dict[str, Any]


class MetaResult(msgspec.Struct):
    meta: dict[str, Any]


class TaskPage(msgspec.Struct):
    items: list[dict[str, Any]]
    has_more: bool


_DATA_TYPES: dict[str, Any] = {
    "Session": SessionRecord,
    "SessionPage": SessionPage,
    "Message": StoredMessageOut,
    "MessagesPage": MessagesPage,
    "RequestView": RequestView,
    "Event": EventRecord,
    "EventPage": EventPage,
    "TokenCounts": TokenCounts,
    "ObservingStatus": ObservingStatus,
    "FlagResponse": FlagResponse,
    "CopyResult": CopyResult,
    "ConfigsResult": ConfigsResult,
    "MetaResult": MetaResult,
    "TaskPage": TaskPage,
    "ErrorData": ErrorData,
}
_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    400: "Invalid parameter, body or blob (`data.error_code` says which)",
    401: "Missing or invalid API key",
    404: "Not found (also for another project's resources)",
    409: "Conflict (id taken, or the same Idempotency-Key still running)",
    413: "Too large",
    422: "Idempotency-Key reused with a different request",
    429: "Rate limit exceeded (see Retry-After)",
    503: "Database unavailable (see Retry-After)",
}
_FORMATS = ["openai", "anthropic", "gemini", "acontext"]
_PROVIDERS = ["openai", "anthropic", "gemini"]


def _query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


_BOOL = {
    "type": "string",
    "enum": ["true", "false", "1", "0", "t", "f", "True", "False", "TRUE", "FALSE", "T", "F", ""],
    "description": "Go ParseBool spellings; empty means the default",
}
_SESSION_ID = {"name": "session_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
_MESSAGE_ID = {"name": "message_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
_CURSOR = _query("cursor", {"type": "string"}, "`next_cursor` of the previous page")
_TIME_DESC = _query("time_desc", _BOOL, "newest first")
_PAGE = [_CURSOR, _TIME_DESC]
_EDITING = [
    _query("edit_strategies", {"type": "string"}, "JSON array of {type, params}"),
    _query("pin_editing_strategies_at_message", {"type": "string"}),
]
_IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
}
_OBJECT = {"type": "object"}
_CONFIGS_BODY = {"type": "object", "required": ["configs"], "properties": {"configs": _OBJECT}}
_STORE_BODY = {
    "type": "object",
    "required": ["blob"],
    "properties": {
        "blob": {"description": "one message in the given format"},
        "format": {"type": "string", "enum": _FORMATS, "default": "openai"},
        "meta": {"type": ["object", "null"]},
    },
}

# (method, path, summary, parameters, request body schema, success status, data type, error statuses)
_ROUTES: list[tuple[str, str, str, list[dict[str, Any]], dict[str, Any] | None, int, str | None, list[int]]] = [
    ("get", "/api/v1/ping", "Ping (returns msg=pong)", [], None, 200, None, []),
    (
        "post",
        "/api/v1/session",
        "Create a session",
        [_IDEMPOTENCY],
        {
            "type": "object",
            "properties": {
                "user": {"type": ["string", "null"]},
                "disable_task_tracking": {"type": ["boolean", "null"]},
                "configs": {"type": ["object", "null"]},
                "use_uuid": {
                    "anyOf": [
                        {"type": "string", "format": "uuid"},
                        {"type": "string", "maxLength": 0},
                        {"type": "null"},
                    ],
                    "description": "empty means a server-generated id",
                },
            },
        },
        201,
        "Session",
        [400, 409, 413, 422],
    ),
    (
        "get",
        "/api/v1/session",
        "List sessions",
        [
            _query("user", {"type": "string"}),
            _query("filter_by_configs", {"type": "string"}, "JSON object matched by containment"),
            _query("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 20}),
            *_PAGE,
        ],
        None,
        200,
        "SessionPage",
        [400],
    ),
    ("delete", "/api/v1/session/{session_id}", "Delete a session", [_SESSION_ID], None, 200, None, [400, 404]),
    ("get", "/api/v1/session/{session_id}/configs", "Get a session", [_SESSION_ID], None, 200, "Session", [400, 404]),
    (
        "put",
        "/api/v1/session/{session_id}/configs",
        "Replace configs",
        [_SESSION_ID],
        _CONFIGS_BODY,
        200,
        None,
        [400, 404, 413],
    ),
    (
        "patch",
        "/api/v1/session/{session_id}/configs",
        "Merge configs (null deletes a key)",
        [_SESSION_ID],
        _CONFIGS_BODY,
        200,
        "ConfigsResult",
        [400, 404, 413],
    ),
    (
        "post",
        "/api/v1/session/{session_id}/messages",
        "Store one message (JSON, or multipart with a `payload` field and files)",
        [_SESSION_ID, _IDEMPOTENCY],
        _STORE_BODY,
        201,
        "Message",
        [400, 404, 409, 413, 422],
    ),
    (
        "get",
        "/api/v1/session/{session_id}/messages",
        "A page of messages in any format",
        [
            _SESSION_ID,
            _query("format", {"type": "string", "enum": _FORMATS, "default": "openai"}),
            _query("limit", {"type": "integer", "minimum": 0, "maximum": 200}, "0 or absent: all"),
            _query("with_asset_public_url", _BOOL),
            _query("with_events", _BOOL),
            *_PAGE,
            *_EDITING,
        ],
        None,
        200,
        "MessagesPage",
        [400, 404],
    ),
    (
        "patch",
        "/api/v1/session/{session_id}/messages/{message_id}/meta",
        "Merge a message's meta",
        [_SESSION_ID, _MESSAGE_ID],
        {"type": "object", "required": ["meta"], "properties": {"meta": _OBJECT}},
        200,
        "MetaResult",
        [400, 404, 413],
    ),
    (
        "get",
        "/api/v1/session/{session_id}/render",
        "Request-level view: what a client sends to the provider",
        [
            _SESSION_ID,
            _query("format", {"type": "string", "enum": _PROVIDERS, "default": "openai"}),
            _query("limit", {"type": "integer", "minimum": 0, "maximum": 200}),
            *_PAGE,
            *_EDITING,
        ],
        None,
        200,
        "RequestView",
        [400, 404],
    ),
    (
        "post",
        "/api/v1/convert",
        "Stateless conversion of a conversation",
        [],
        {
            "type": "object",
            "required": ["from", "to", "input"],
            "properties": {
                "from": {"type": "string", "enum": _PROVIDERS},
                "to": {"type": "string", "enum": _PROVIDERS},
                "input": {"description": "openai: list of messages; anthropic/gemini: request object"},
            },
        },
        200,
        None,
        [400],
    ),
    (
        "post",
        "/api/v1/session/{session_id}/copy",
        "Copy a session",
        [_SESSION_ID],
        None,
        200,
        "CopyResult",
        [400, 404, 413],
    ),
    (
        "get",
        "/api/v1/session/{session_id}/token_counts",
        "Token total",
        [_SESSION_ID],
        None,
        200,
        "TokenCounts",
        [400, 404],
    ),
    (
        "get",
        "/api/v1/session/{session_id}/observing_status",
        "Converter progress",
        [_SESSION_ID],
        None,
        200,
        "ObservingStatus",
        [400, 404],
    ),
    (
        "post",
        "/api/v1/session/{session_id}/flush",
        "Render pending messages now",
        [_SESSION_ID],
        None,
        200,
        "FlagResponse",
        [400, 404],
    ),
    (
        "post",
        "/api/v1/session/{session_id}/events",
        "Add an event",
        [_SESSION_ID],
        {
            "type": "object",
            "required": ["type", "data"],
            "properties": {"type": {"type": "string", "minLength": 1}, "data": _OBJECT},
        },
        201,
        "Event",
        [400, 404],
    ),
    (
        "get",
        "/api/v1/session/{session_id}/events",
        "List events",
        [_SESSION_ID, _query("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}), *_PAGE],
        None,
        200,
        "EventPage",
        [400, 404],
    ),
    (
        "get",
        "/api/v1/session/{session_id}/task",
        "Tasks (always empty: no LLM task extraction)",
        [_SESSION_ID, _query("limit", {"type": "integer", "minimum": 1, "maximum": 200}), *_PAGE],
        None,
        200,
        "TaskPage",
        [400, 404],
    ),
    (
        "get",
        "/api/v1/session/{session_id}/asset/download",
        "Download an asset used in the session",
        [
            _SESSION_ID,
            {
                "name": "s3_key",
                "in": "query",
                "required": True,
                "schema": {"type": "string", "pattern": "^assets/[0-9a-f]{64}$"},
            },
        ],
        None,
        200,
        "bytes",
        [400, 404],
    ),
]
_PUBLIC = [
    ("/healthz", "Liveness"),
    ("/readyz", "Readiness: database and Redis reachable"),
]


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
        success = _json(_envelope(data), _STATUS_TEXT[status])
    responses = {str(status): success}
    statuses = set(errors) | ({503} if public else {401, 429, 503})
    for code in sorted(statuses):
        headers = _RETRY_AFTER if code in (429, 503) else None
        responses[str(code)] = _json(_envelope("ErrorData"), _STATUS_TEXT[code], headers)
    return responses


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the gateway."""
    refs, components = msgspec.json.schema_components(
        list(_DATA_TYPES.values()), ref_template="#/components/schemas/{name}"
    )
    for name, ref in zip(_DATA_TYPES, refs, strict=True):
        if ref.get("$ref") != f"#/components/schemas/{name}":
            components[name] = ref
    paths: dict[str, dict[str, Any]] = {}
    for method, path, summary, params, body, status, data, errors in _ROUTES:
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
    for path, summary in _PUBLIC:
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
    for method, path, *_ in _ROUTES:
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
