"""Per-session operations: copy, token counts, processing status, flush, events, tasks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Controller, get, post
from litestar.params import JSONBody

from acx import rendering, tokens
from acx.db import events as event_store
from acx.db import messages as message_store
from acx.db import renderings as renderings_db
from acx.db.session_copy import copy_session
from acx.db.sessions import require_session
from acx.errors import InvalidRequestError
from acx.limits import MAX_EVENT_TYPE_CHARS, check_text
from acx.pipeline import precompute_renderings
from acx_gateway.dependencies import (
    SESSION_DEPENDENCIES,
    AddressedSession,
    Connection,
    Keyset,
    keyset_dependencies,
)
from acx_gateway.envelope import Envelope, envelope, error_responses
from acx_gateway.routes._common import reject_nul

__all__ = [
    "CopyResult",
    "FlushResult",
    "ObservingStatus",
    "SessionOpsController",
    "TaskPage",
    "TokenCounts",
]


class EventBody(msgspec.Struct):
    """`POST /session/{id}/events` body."""

    type: str | None = None
    data: dict[str, Any] | None = None


class CopyResult(msgspec.Struct):
    """The source and the new session of a copy."""

    old_session_id: uuid.UUID
    new_session_id: uuid.UUID


class TokenCounts(msgspec.Struct):
    """Token total of a session."""

    total_tokens: int


class ObservingStatus(msgspec.Struct):
    """The converter's progress on a session's messages."""

    observed: int
    in_process: int
    pending: int
    failed: int
    updated_at: datetime


class FlushResult(msgspec.Struct):
    """Upstream's flush answer: `status` 0 and no `errmsg` once done."""

    status: int
    errmsg: str


class TaskPage(msgspec.Struct):
    """A page of tasks (always empty here)."""

    items: list[dict[str, Any]]
    has_more: bool


class SessionOpsController(Controller):
    """Operations on one session beyond its messages."""

    path = "/session/{session:str}"
    dependencies = SESSION_DEPENDENCIES

    @post("/copy", status_code=200, responses=error_responses(400, 404, 413))
    async def copy(self, session_ref: AddressedSession, conn: Connection) -> Envelope[CopyResult]:
        """Fork the session: same user and configs, every message in the same order with new ids."""
        new_id = await copy_session(conn, session_ref.project_id, session_ref.key)
        return envelope(CopyResult(session_ref.id, new_id))

    @get("/token_counts", responses=error_responses(400, 404))
    async def token_counts(self, session_ref: AddressedSession, conn: Connection) -> Envelope[TokenCounts]:
        """Total tokens of the session from the stored per-message counts."""
        total = await message_store.token_total(conn, session_ref.project_id, session_ref.key)
        uncounted = sum(tokens.count_tokens(rendering.decode_stored(parts)) for parts in total.uncounted_parts)
        return envelope(TokenCounts(total.counted + uncounted))

    @get("/observing_status", responses=error_responses(400, 404))
    async def observing_status(self, session_ref: AddressedSession, conn: Connection) -> Envelope[ObservingStatus]:
        """The converter's progress on this session: converted, being converted, waiting."""
        await require_session(conn, session_ref.project_id, session_ref.key)
        progress = await renderings_db.conversion_progress(conn, session_ref.key)
        return envelope(
            ObservingStatus(
                observed=progress["done"],
                in_process=progress["running"],
                pending=progress["pending"],
                failed=progress["failed"],
                updated_at=datetime.now(UTC),
            )
        )

    @post("/flush", status_code=200, responses=error_responses(400, 404))
    async def flush(self, session_ref: AddressedSession, conn: Connection) -> Envelope[FlushResult]:
        """Precompute the renderings of the session's pending messages now; returns once their renderings are stored."""
        await require_session(conn, session_ref.project_id, session_ref.key)
        pending = await renderings_db.pending_in_session(conn, session_ref.key)
        await precompute_renderings(conn, await renderings_db.claim_pending(conn, pending))
        return envelope(FlushResult(status=0, errmsg=""))

    @post("/events", status_code=200, responses=error_responses(400, 404))
    async def add_event(
        self, session_ref: AddressedSession, conn: Connection, data: JSONBody[EventBody | None] = None
    ) -> Envelope[event_store.EventRecord]:
        """Append an event `{type, data}` to the session."""
        body = data or EventBody()
        if not body.type or not body.type.strip():
            raise InvalidRequestError("invalid_body", "type is required and must be a non-empty string")
        if body.data is None:
            raise InvalidRequestError("invalid_body", "data is required and must be a JSON object")
        check_text("type", body.type, MAX_EVENT_TYPE_CHARS)
        encoded = msgspec.json.encode(body.data)
        reject_nul("data", encoded)
        event = await event_store.add_event(conn, session_ref.project_id, session_ref.key, body.type, encoded.decode())
        return envelope(event)

    @get("/events", dependencies=keyset_dependencies(50), responses=error_responses(400, 404))
    async def list_events(
        self, session_ref: AddressedSession, keyset: Keyset, conn: Connection
    ) -> Envelope[event_store.EventPage]:
        """A page of the session's events."""
        page = await event_store.list_events(
            conn,
            session_ref.project_id,
            session_ref.key,
            limit=keyset.limit,
            cursor=keyset.cursor,
            time_desc=keyset.time_desc,
        )
        return envelope(page)

    # `limit` and `time_desc` are validated and accepted as upstream does; the page is empty.
    @get("/task", dependencies=keyset_dependencies(20), responses=error_responses(400, 404))
    async def tasks(self, session_ref: AddressedSession, keyset: Keyset, conn: Connection) -> Envelope[TaskPage]:
        """Always an empty page: this product does not extract tasks with an LLM (see README)."""
        if keyset.cursor:
            raise InvalidRequestError("invalid_cursor", "invalid cursor")
        await require_session(conn, session_ref.project_id, session_ref.key)
        return envelope(TaskPage(items=[], has_more=False))
