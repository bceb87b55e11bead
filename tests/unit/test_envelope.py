"""acx_gateway.envelope: the success envelopes' bytes, and every error family mapped to HTTP once."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import psycopg
import psycopg_pool
import pytest
from litestar import Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from redis.exceptions import ConnectionError as RedisConnectionError

from acx.errors import (
    ConflictError,
    DecodeError,
    InvalidRequestError,
    SessionNotFound,
    TooLargeError,
    UnavailableError,
    UnprocessableError,
)
from acx_gateway.envelope import ApiError, Envelope, Reply, envelope, exception_handlers


class _Data(msgspec.Struct):
    id: uuid.UUID
    n: int


def test_success_envelopes_keep_upstreams_bytes() -> None:
    """Field order code, msg, data; no `data` key at all for a Reply (the SDKs read these bytes)."""
    some = uuid.UUID(int=1)
    assert msgspec.json.encode(envelope(_Data(some, 2))) == (
        b'{"code":0,"msg":"","data":{"id":"00000000-0000-0000-0000-000000000001","n":2}}'
    )
    assert msgspec.json.encode(Envelope(data=[1])) == b'{"code":0,"msg":"","data":[1]}'
    assert msgspec.json.encode(Reply()) == b'{"code":0,"msg":""}'
    assert msgspec.json.encode(Reply(msg="pong")) == b'{"code":0,"msg":"pong"}'


def _handle(exc: Exception) -> Response[Any]:
    handler = next(
        handler for kind, handler in exception_handlers.items() if isinstance(kind, type) and isinstance(exc, kind)
    )
    return handler(None, exc)  # type: ignore[arg-type]  # no handler but the catch-all reads the request


ERRORS: list[tuple[Exception, int, dict[str, Any]]] = [
    (
        InvalidRequestError("invalid_parameter", "bad"),
        400,
        {"code": 400, "msg": "bad", "data": {"error_code": "invalid_parameter"}},
    ),
    (
        DecodeError("unknown_role", "no such role", "role"),
        400,
        {"code": 400, "msg": "no such role (at role)", "data": {"error_code": "unknown_role", "path": "role"}},
    ),
    (SessionNotFound(), 404, {"code": 404, "msg": "session not found", "data": {"error_code": "session_not_found"}}),
    (
        ConflictError("session_exists", "taken"),
        409,
        {"code": 409, "msg": "taken", "data": {"error_code": "session_exists"}},
    ),
    (
        TooLargeError("meta_too_large", "big"),
        413,
        {"code": 413, "msg": "big", "data": {"error_code": "meta_too_large"}},
    ),
    (
        UnprocessableError("key_reused", "other"),
        422,
        {"code": 422, "msg": "other", "data": {"error_code": "key_reused"}},
    ),
    (UnavailableError("store_busy", "busy"), 503, {"code": 503, "msg": "busy", "data": {"error_code": "store_busy"}}),
    (ApiError(401, "Unauthorized"), 401, {"code": 401, "msg": "Unauthorized"}),
    (NotFoundException(), 404, {"code": 404, "msg": "not found"}),
    (HTTPException(status_code=405), 405, {"code": 405, "msg": "method not allowed"}),
    (
        ValidationException(extra=[{"message": "Expected `int`, got `str`", "key": "limit", "source": "query"}]),
        400,
        {"code": 400, "msg": "invalid limit: Expected `int`, got `str`", "data": {"error_code": "invalid_parameter"}},
    ),
    (
        psycopg.OperationalError("down"),
        503,
        {"code": 503, "msg": "database unavailable, retry shortly", "data": {"error_code": "database_unavailable"}},
    ),
    (
        psycopg_pool.PoolTimeout("busy"),
        503,
        {"code": 503, "msg": "database unavailable, retry shortly", "data": {"error_code": "database_unavailable"}},
    ),
    (
        RedisConnectionError("down"),
        503,
        {"code": 503, "msg": "redis unavailable, retry shortly", "data": {"error_code": "redis_unavailable"}},
    ),
]


@pytest.mark.parametrize(("exc", "status", "body"), ERRORS, ids=[type(e).__name__ for e, _, _ in ERRORS])
def test_each_error_family_has_one_status_and_envelope(exc: Exception, status: int, body: dict[str, Any]) -> None:
    response = _handle(exc)
    assert response.status_code == status
    assert msgspec.json.decode(response.content) == body
    if status == 503:
        assert response.headers["Retry-After"] == "1"
