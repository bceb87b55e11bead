"""Session endpoints: create, list, delete, configs."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.params import FromQuery, JSONBody, QueryParameter

from acx.db import sessions as store
from acx.db.idempotency import StoredResponse
from acx.errors import InvalidRequestError
from acx.limits import MAX_USER_CHARS, check_object_keys, check_object_size, check_text
from acx_gateway.dependencies import SESSION_DEPENDENCIES, AddressedSession, Connection, ProjectId
from acx_gateway.envelope import Envelope, Reply, envelope, envelope_bytes, error_responses
from acx_gateway.idempotency import idempotency_key, run_idempotent
from acx_gateway.params import (
    AcceptsIdempotencyKey,
    Cursor,
    PageLimit,
    TimeDesc,
    is_true,
    parse_json_object,
    parse_uuid,
)
from acx_gateway.routes._common import reject_nul
from acx_gateway.state import gateway_state

__all__ = ["ConfigsResult", "SessionController", "SessionItemController"]


class CreateSession(msgspec.Struct):
    """`POST /session` body; every field optional (older SDKs send no body at all)."""

    user: str | None = None
    disable_task_tracking: bool | None = None
    configs: dict[str, Any] | None = None
    use_uuid: Annotated[str | None, msgspec.Meta(description="empty means a server-generated id")] = None


class ConfigsBody(msgspec.Struct):
    """`PUT|PATCH /session/{id}/configs` body."""

    configs: dict[str, Any] | None = None


class ConfigsResult(msgspec.Struct):
    """The configs after a merge."""

    configs: dict[str, Any]


def _checked_configs(body: ConfigsBody | None) -> dict[str, Any]:
    configs = body.configs if body is not None else None
    if configs is None:
        raise InvalidRequestError("invalid_body", "configs is required and must be an object")
    check_object_keys("configs", configs)
    encoded = msgspec.json.encode(configs)
    check_object_size("configs", len(encoded))
    reject_nul("configs", encoded)
    return configs


class SessionController(Controller):
    """`/session`: create and list."""

    path = "/session"

    @post("/", status_code=201, responses=error_responses(400, 409, 413, 422), operation_class=AcceptsIdempotencyKey)
    async def create(
        self,
        request: Request[Any, Any, Any],
        project_id: ProjectId,
        data: JSONBody[CreateSession | None] = None,
    ) -> Response[Envelope[store.SessionRecord]]:
        """Create a session (optionally with a caller-chosen id: 409 if the project already has it)."""
        body = data or CreateSession()
        check_text("user", body.user, MAX_USER_CHARS)
        session_id = parse_uuid("use_uuid", body.use_uuid) if body.use_uuid else None
        configs = None if body.configs is None else _checked_configs(ConfigsBody(body.configs))

        async def create(conn: Connection) -> store.SessionRecord:
            return await store.create_session(
                conn,
                project_id,
                session_id=session_id,
                user=body.user,
                disable_task_tracking=bool(body.disable_task_tracking),
                configs=configs,
            )

        pool = gateway_state(request).pool
        key = idempotency_key(request)
        # No `conn` dependency here: the idempotent path takes its own connection for its transaction.
        if key is None:
            async with pool.connection() as conn:
                return Response(envelope(await create(conn)), status_code=201)

        async def perform(conn: Connection) -> StoredResponse:
            return StoredResponse(201, envelope_bytes(await create(conn)))

        response, _ = await run_idempotent(pool, request, key, perform)
        return response  # type: ignore[return-value]  # the recorded bytes of the same envelope

    @get("/", responses=error_responses(400))
    async def list(
        self,
        project_id: ProjectId,
        conn: Connection,
        user: FromQuery[str | None] = None,
        filter_by_configs: Annotated[
            str | None, QueryParameter(description="JSON object the configs must contain")
        ] = None,
        limit: PageLimit = 20,
        cursor: Cursor = None,
        time_desc: TimeDesc = None,
    ) -> Envelope[store.SessionPage]:
        """List the project's sessions, keyset-paginated."""
        check_text("user", user, MAX_USER_CHARS)
        configs_filter = parse_json_object("filter_by_configs", filter_by_configs)
        if configs_filter:
            reject_nul("filter_by_configs", msgspec.json.encode(configs_filter))
        page = await store.list_sessions(
            conn,
            project_id,
            user=user or None,
            configs_filter=configs_filter,
            limit=limit,
            cursor=cursor or None,
            time_desc=is_true(time_desc),
        )
        return envelope(page)


class SessionItemController(Controller):
    """`/session/{session}`: one session and its configs."""

    path = "/session/{session:str}"
    dependencies = SESSION_DEPENDENCIES

    @delete("/", status_code=200, responses=error_responses(400, 404))
    async def delete(self, session_ref: AddressedSession, conn: Connection) -> Reply:
        """Delete a session and everything in it."""
        await store.delete_session(conn, session_ref.project_id, session_ref.key)
        return Reply()

    @get("/configs", responses=error_responses(400, 404))
    async def get_configs(self, session_ref: AddressedSession, conn: Connection) -> Envelope[store.SessionRecord]:
        """The whole session (there is no `GET /session/{id}` upstream)."""
        return envelope(await store.get_session(conn, session_ref.project_id, session_ref.key))

    @put("/configs", responses=error_responses(400, 404, 413))
    async def replace_configs(
        self, session_ref: AddressedSession, conn: Connection, data: JSONBody[ConfigsBody | None] = None
    ) -> Reply:
        """Replace the configs object."""
        await store.replace_configs(conn, session_ref.project_id, session_ref.key, _checked_configs(data))
        return Reply()

    @patch("/configs", responses=error_responses(400, 404, 413))
    async def patch_configs(
        self, session_ref: AddressedSession, conn: Connection, data: JSONBody[ConfigsBody | None] = None
    ) -> Envelope[ConfigsResult]:
        """Shallow-merge configs; a null value deletes its key."""
        merged = await store.merge_configs(conn, session_ref.project_id, session_ref.key, _checked_configs(data))
        return envelope(ConfigsResult(merged))
