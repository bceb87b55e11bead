"""Per-session operations: copy, token counts, processing status, flush, events, tasks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post

from acx import rendering, tokens
from acx.db import events as event_store
from acx.db import messages as message_store
from acx.db import renderings as render_store
from acx.db.session_copy import copy_session
from acx.db.sessions import require_session
from acx.errors import InvalidRequestError
from acx.pipeline import render_and_store
from acx_gateway.auth import project_id_of
from acx_gateway.envelope import ok
from acx_gateway.params import parse_bool, parse_limit, parse_uuid
from acx_gateway.routes._common import decode_body, gateway_state, reject_nul_text

__all__ = ["SessionOpsController"]


class EventBody(msgspec.Struct):
    """`POST /session/{id}/events` body."""

    type: str | None = None
    data: msgspec.Raw = msgspec.Raw(b"")


class SessionOpsController(Controller):
    """Operations on one session beyond its messages."""

    path = "/session/{session_id:str}"

    @post("/copy", status_code=200)
    async def copy(self, request: Request[Any, Any, Any], session_id: str) -> Response[bytes]:
        """Fork the session: same user and configs, every message in the same order with new ids."""
        sid = parse_uuid("session_id", session_id)
        state = gateway_state(request)
        async with state.pool.connection() as conn:
            new_id = await copy_session(conn, project_id_of(request), sid)
        return ok({"old_session_id": str(sid), "new_session_id": str(new_id)})

    @get("/token_counts")
    async def token_counts(self, request: Request[Any, Any, Any], session_id: str) -> Response[bytes]:
        """Total tokens of the session from the stored per-message counts."""
        sid = parse_uuid("session_id", session_id)
        state = gateway_state(request)
        async with state.pool.connection() as conn:
            total = await message_store.token_total(conn, project_id_of(request), sid)
        uncounted = sum(tokens.count_tokens(rendering.decode_stored(parts)) for parts in total.uncounted_parts)
        return ok({"total_tokens": total.counted + uncounted})

    @get("/observing_status")
    async def observing_status(self, request: Request[Any, Any, Any], session_id: str) -> Response[bytes]:
        """The converter's progress on this session: rendered, being rendered, waiting."""
        sid = parse_uuid("session_id", session_id)
        state = gateway_state(request)
        async with state.pool.connection() as conn:
            await require_session(conn, project_id_of(request), sid)
            progress = await render_store.render_progress(conn, sid)
        return ok(
            {
                "observed": progress["done"],
                "in_process": progress["running"],
                "pending": progress["pending"],
                "failed": progress["failed"],
                "updated_at": datetime.now(UTC),
            }
        )

    @post("/flush", status_code=200)
    async def flush(self, request: Request[Any, Any, Any], session_id: str) -> Response[bytes]:
        """Render the session's pending messages now; returns once their renderings are stored."""
        sid = parse_uuid("session_id", session_id)
        state = gateway_state(request)
        async with state.pool.connection() as conn:
            await require_session(conn, project_id_of(request), sid)
            pending = await render_store.pending_in_session(conn, sid)
            await render_and_store(conn, await render_store.claim_for_render(conn, pending))
        return ok({"status": 0, "errmsg": ""})

    @post("/events", status_code=200)
    async def add_event(self, request: Request[Any, Any, Any], session_id: str) -> Response[bytes]:
        """Append an event `{type, data}` to the session."""
        sid = parse_uuid("session_id", session_id)
        body = await decode_body(request, EventBody)
        if not body.type or not body.type.strip():
            raise InvalidRequestError("invalid_body", "type is required and must be a non-empty string")
        if not body.data or not isinstance(msgspec.json.decode(body.data), dict):
            raise InvalidRequestError("invalid_body", "data is required and must be a JSON object")
        reject_nul_text("type", body.type)
        state = gateway_state(request)
        async with state.pool.connection() as conn:
            event = await event_store.add_event(conn, project_id_of(request), sid, body.type, bytes(body.data).decode())
        return ok(event)

    @get("/events")
    async def list_events(
        self,
        request: Request[Any, Any, Any],
        session_id: str,
        limit: str | None = None,
        cursor: str | None = None,
        time_desc: str | None = None,
    ) -> Response[bytes]:
        """A page of the session's events."""
        sid = parse_uuid("session_id", session_id)
        state = gateway_state(request)
        async with state.pool.connection() as conn:
            page = await event_store.list_events(
                conn,
                project_id_of(request),
                sid,
                limit=parse_limit(limit, default=50, low=1, high=200),
                cursor=cursor or None,
                time_desc=parse_bool("time_desc", time_desc, False),
            )
        return ok(page)

    @get("/task")
    async def tasks(
        self,
        request: Request[Any, Any, Any],
        session_id: str,
        limit: str | None = None,
        cursor: str | None = None,
        time_desc: str | None = None,
    ) -> Response[bytes]:
        """Always an empty page: this product does not extract tasks with an LLM (see README)."""
        sid = parse_uuid("session_id", session_id)
        parse_limit(limit, default=20, low=1, high=200)
        parse_bool("time_desc", time_desc, False)
        if cursor:
            raise InvalidRequestError("invalid_cursor", "invalid cursor")
        state = gateway_state(request)
        async with state.pool.connection() as conn:
            await require_session(conn, project_id_of(request), sid)
        return ok({"items": [], "has_more": False})
