"""The gateway's route table for the OpenAPI document: operations, parameters, statuses, and the
response Structs of routes whose handlers encode plain dicts.

Kept apart from the document builder (`acx_gateway.openapi`) because it is data: one row per route.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from acx.db.events import EventPage, EventRecord
from acx.db.sessions import SessionPage, SessionRecord
from acx_gateway.pages import MessagesPage
from acx_gateway.routes.conversion import RequestView
from acx_gateway.routes.messages import StoredMessageOut

__all__ = ["DATA_TYPES", "PUBLIC_ROUTES", "ROUTES", "STATUS_TEXT", "ErrorData", "Route"]


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


DATA_TYPES: dict[str, Any] = {
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
STATUS_TEXT = {
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

#: (method, path, summary, parameters, request body schema, success status, data type, error statuses)
Route = tuple[str, str, str, list[dict[str, Any]], dict[str, Any] | None, int, str | None, list[int]]
ROUTES: list[Route] = [
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
        200,
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
PUBLIC_ROUTES = [
    ("/healthz", "Liveness"),
    ("/readyz", "Readiness: database and Redis reachable"),
]
