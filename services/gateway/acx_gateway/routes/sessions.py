"""Session endpoints: create, list, delete, configs."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post, put

from acx.db import sessions as store
from acx.db.idempotency import StoredResponse
from acx.db.pool import Conn
from acx.errors import InvalidRequestError, TooLargeError
from acx_gateway.auth import project_id_of
from acx_gateway.envelope import envelope_bytes, ok
from acx_gateway.idempotency import idempotency_key, run_idempotent
from acx_gateway.params import parse_bool, parse_json_object, parse_limit, parse_uuid
from acx_gateway.routes._common import decode_body, gateway_state, reject_nul, reject_nul_text

__all__ = ["SessionController"]

_CONFIGS_MAX_BYTES = 64 * 1024


class CreateSession(msgspec.Struct):
    """`POST /session` body; every field optional."""

    user: str | None = None
    disable_task_tracking: bool | None = None
    configs: dict[str, Any] | None = None
    use_uuid: str | None = None


class ConfigsBody(msgspec.Struct):
    """`PUT|PATCH /session/{id}/configs` body."""

    configs: dict[str, Any] | None = None


def _checked_configs(configs: dict[str, Any] | None) -> dict[str, Any]:
    if configs is None:
        raise InvalidRequestError("invalid_body", "configs is required and must be an object")
    encoded = msgspec.json.encode(configs)
    if len(encoded) > _CONFIGS_MAX_BYTES:
        raise TooLargeError("configs_too_large", "configs size exceeds 64KB limit")
    reject_nul("configs", encoded)
    return configs


class SessionController(Controller):
    """`/session` resource."""

    path = "/session"

    @post("/", status_code=201)
    async def create(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Create a session (optionally with a caller-chosen id: 409 if it is taken)."""
        body = await decode_body(request, CreateSession)
        reject_nul_text("user", body.user)
        session_id = parse_uuid("use_uuid", body.use_uuid) if body.use_uuid else None
        configs = None if body.configs is None else _checked_configs(body.configs)
        state = gateway_state(request)

        async def create(conn: Conn) -> store.SessionRecord:
            return await store.create_session(
                conn,
                project_id_of(request),
                session_id=session_id,
                user=body.user,
                disable_task_tracking=bool(body.disable_task_tracking),
                configs=configs,
            )

        key = idempotency_key(request)
        if key is not None:

            async def perform(conn: Conn) -> StoredResponse:
                return StoredResponse(201, envelope_bytes(await create(conn)))

            response, _ = await run_idempotent(state.pool, request, key, perform)
            return response
        async with state.pool.connection() as conn:
            session = await create(conn)
        return ok(session, status=201)

    @get("/")
    async def list(
        self,
        request: Request[Any, Any, Any],
        user: str | None = None,
        filter_by_configs: str | None = None,
        limit: str | None = None,
        cursor: str | None = None,
        time_desc: str | None = None,
    ) -> Response[bytes]:
        """List the project's sessions, keyset-paginated."""
        reject_nul_text("user", user)
        configs_filter = parse_json_object("filter_by_configs", filter_by_configs)
        if configs_filter:
            reject_nul("filter_by_configs", msgspec.json.encode(configs_filter))
        state = gateway_state(request)
        async with state.pool.connection() as conn:
            page = await store.list_sessions(
                conn,
                project_id_of(request),
                user=user or None,
                configs_filter=configs_filter,
                limit=parse_limit(limit, default=20, low=1, high=200),
                cursor=cursor or None,
                time_desc=parse_bool("time_desc", time_desc, False),
            )
        return ok(page)

    @delete("/{session_id:str}", status_code=200)
    async def delete(self, request: Request[Any, Any, Any], session_id: str) -> Response[bytes]:
        """Delete a session and everything in it."""
        state = gateway_state(request)
        async with state.pool.connection() as conn:
            await store.delete_session(conn, project_id_of(request), parse_uuid("session_id", session_id))
        return ok()

    @get("/{session_id:str}/configs")
    async def get_configs(self, request: Request[Any, Any, Any], session_id: str) -> Response[bytes]:
        """The whole session (there is no `GET /session/{id}` upstream)."""
        state = gateway_state(request)
        async with state.pool.connection() as conn:
            session = await store.get_session(conn, project_id_of(request), parse_uuid("session_id", session_id))
        return ok(session)

    @put("/{session_id:str}/configs")
    async def replace_configs(self, request: Request[Any, Any, Any], session_id: str) -> Response[bytes]:
        """Replace the configs object."""
        sid = parse_uuid("session_id", session_id)
        configs = _checked_configs((await decode_body(request, ConfigsBody)).configs)
        state = gateway_state(request)
        async with state.pool.connection() as conn:
            await store.replace_configs(conn, project_id_of(request), sid, configs)
        return ok()

    @patch("/{session_id:str}/configs")
    async def patch_configs(self, request: Request[Any, Any, Any], session_id: str) -> Response[bytes]:
        """Shallow-merge configs; a null value deletes its key."""
        sid = parse_uuid("session_id", session_id)
        configs = _checked_configs((await decode_body(request, ConfigsBody)).configs)
        state = gateway_state(request)
        async with state.pool.connection() as conn:
            merged = await store.merge_configs(conn, project_id_of(request), sid, configs)
        return ok({"configs": merged})
