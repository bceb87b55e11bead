"""SQL for messages and their cached renderings."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from psycopg import AsyncConnection

from acx.cursor import decode_cursor, encode_cursor
from acx.errors import NotFoundError

__all__ = [
    "IngestResult",
    "MessageRow",
    "Page",
    "RenderInput",
    "StoredMessage",
    "load_for_render",
    "read_page",
    "save_renderings",
    "store_message",
    "unrendered_message_ids",
]

Conn = AsyncConnection[tuple[object, ...]]


class IngestResult(NamedTuple):
    """What the codec made of a blob, given the session's ingest state (all JSON text)."""

    role: str
    parts_json: bytes
    new_state_json: bytes


class StoredMessage(NamedTuple):
    """The row a store call created."""

    id: uuid.UUID
    session_id: uuid.UUID
    parent_id: uuid.UUID | None
    task_status: str
    created_at: datetime
    updated_at: datetime


class MessageRow(NamedTuple):
    """One message of a page, with its cached rendering in the requested format when present."""

    id: uuid.UUID
    seq: int
    parent_id: uuid.UUID | None
    role: str
    format: str
    raw: str
    parts: str
    meta: str
    tokens: int | None
    task_status: str
    render_state: str
    created_at: datetime
    updated_at: datetime
    body: str | None
    item_count: int | None


class Page(NamedTuple):
    """A page of messages in chronological order, with the paging outcome."""

    rows: list[MessageRow]
    has_more: bool
    next_cursor: str | None


class RenderInput(NamedTuple):
    """What the converter needs to render one message."""

    id: uuid.UUID
    format: str
    raw: str
    parts: str


def _not_found() -> NotFoundError:
    return NotFoundError("session_not_found", "session not found")


async def store_message(
    conn: Conn,
    project_id: uuid.UUID,
    session_id: uuid.UUID,
    *,
    fmt: str,
    raw: str,
    meta_json: str,
    ingest: Callable[[str], IngestResult],
) -> StoredMessage:
    """Persist one message in the session's strict order, in one transaction.

    The session row is locked for the duration, which serialises stores per session: the message
    gets the next sequence number, and `ingest` sees the ingest state (pending tool calls, position)
    left by the previous message. `ingest` raises DecodeError to reject the blob; nothing is
    written then.
    """
    async with conn.transaction():
        row = await (
            await conn.execute(
                "SELECT ingest_state, message_count, last_message_id, disable_task_tracking"
                " FROM sessions WHERE id = %s AND project_id = %s FOR UPDATE",
                (session_id, project_id),
            )
        ).fetchone()
        if row is None:
            raise _not_found()
        state, seq, parent_id, disable_tracking = row
        result = ingest(str(state))
        message_id = uuid.uuid4()
        task_status = "disable_tracking" if disable_tracking else "pending"
        inserted = await (
            await conn.execute(
                "WITH m AS (INSERT INTO messages"
                " (id, session_id, project_id, seq, parent_id, role, format, raw, parts, meta, task_status)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING created_at, updated_at),"
                " s AS (UPDATE sessions SET ingest_state = %s, message_count = message_count + 1,"
                " last_message_id = %s, updated_at = clock_timestamp() WHERE id = %s)"
                " SELECT created_at, updated_at FROM m",
                (
                    message_id,
                    session_id,
                    project_id,
                    seq,
                    parent_id,
                    result.role,
                    fmt,
                    raw,
                    result.parts_json.decode(),
                    meta_json,
                    task_status,
                    result.new_state_json.decode(),
                    message_id,
                    session_id,
                ),
            )
        ).fetchone()
    assert inserted is not None
    return StoredMessage(message_id, session_id, parent_id, task_status, inserted[0], inserted[1])  # type: ignore[arg-type]


_PAGE_SQL = """
WITH s AS (SELECT id FROM sessions WHERE id = %(session)s AND project_id = %(project)s)
SELECT m.id, m.seq, m.parent_id, m.role, m.format, m.raw, m.parts, m.meta, m.tokens, m.task_status,
       m.render_state, m.created_at, m.updated_at, r.body, r.item_count
FROM s
LEFT JOIN LATERAL (
    SELECT * FROM messages
    WHERE session_id = s.id AND seq {op} %(after)s
    ORDER BY seq {order} LIMIT %(limit)s
) m ON true
LEFT JOIN renderings r ON r.message_id = m.id AND r.format = %(format)s AND r.codec_version = %(version)s
ORDER BY m.seq {order}
"""
_PAGE_QUERIES = {
    (op, order): _PAGE_SQL.format(op=op, order=order).encode() for op, order in ((">", "ASC"), ("<", "DESC"))
}
_ALL = 2**62


async def read_page(
    conn: Conn,
    project_id: uuid.UUID,
    session_id: uuid.UUID,
    *,
    fmt: str,
    codec_version: int,
    limit: int,
    cursor: str | None,
    time_desc: bool,
) -> Page:
    """One page of a session in one query (keyset on the sequence, renderings joined).

    `limit == 0` returns the whole session. With `time_desc` the page is the newest window before
    the cursor, returned chronologically; the probe row that detects `has_more` is the oldest one
    fetched and is cut before reordering, so pages never skip or repeat a message.
    """
    after = decode_cursor("m", cursor).key if cursor and limit else (_ALL if time_desc else -1)
    if not limit:
        time_desc = False
        after = -1
    query = _PAGE_QUERIES[("<", "DESC") if time_desc else (">", "ASC")]
    params: dict[str, Any] = {
        "session": session_id,
        "project": project_id,
        "after": after,
        "limit": limit + 1 if limit else None,
        "format": fmt,
        "version": codec_version,
    }
    rows = await (await conn.execute(query, params)).fetchall()
    if not rows:
        raise _not_found()
    messages = [MessageRow(*row) for row in rows if row[0] is not None]  # type: ignore[arg-type]
    has_more = bool(limit) and len(messages) > limit
    if has_more:
        messages = messages[:limit]
    if time_desc:
        messages.reverse()
    next_cursor = None
    if has_more:
        edge = messages[0] if time_desc else messages[-1]
        next_cursor = encode_cursor("m", edge.seq, edge.id)
    return Page(messages, has_more, next_cursor)


async def load_for_render(conn: Conn, message_ids: list[uuid.UUID]) -> list[RenderInput]:
    """The stored form of messages that still need rendering (missing ids are skipped)."""
    rows = await (
        await conn.execute("SELECT id, format, raw, parts FROM messages WHERE id = ANY(%s)", (message_ids,))
    ).fetchall()
    return [RenderInput(*row) for row in rows]  # type: ignore[arg-type]


async def save_renderings(
    conn: Conn,
    message_id: uuid.UUID,
    *,
    codec_version: int,
    tokens: int,
    bodies: dict[str, tuple[str, int]],
) -> None:
    """Upsert a message's renderings (format → (body, item count)) and token count.

    Idempotent: re-running a job rewrites identical rows; a rendering from an older codec
    version never overwrites a newer one.
    """
    async with conn.transaction():
        async with conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO renderings (message_id, format, codec_version, body, item_count)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (message_id, format) DO UPDATE"
                " SET codec_version = EXCLUDED.codec_version, body = EXCLUDED.body,"
                " item_count = EXCLUDED.item_count"
                " WHERE renderings.codec_version <= EXCLUDED.codec_version",
                [(message_id, fmt, codec_version, body, count) for fmt, (body, count) in bodies.items()],
            )
        await conn.execute(
            "UPDATE messages SET tokens = %s, render_state = 'done', render_error = NULL WHERE id = %s",
            (tokens, message_id),
        )


async def mark_render_failed(conn: Conn, message_id: uuid.UUID, error: str) -> None:
    """Record a permanent render failure so the sweep stops retrying it."""
    await conn.execute(
        "UPDATE messages SET render_state = 'failed', render_error = %s WHERE id = %s",
        (error[:500], message_id),
    )


async def unrendered_message_ids(conn: Conn, older_than_seconds: float, limit: int) -> list[uuid.UUID]:
    """Messages still pending after a grace period (their job was lost or is stuck)."""
    rows = await (
        await conn.execute(
            "SELECT id FROM messages WHERE render_state = 'pending'"
            " AND created_at < clock_timestamp() - make_interval(secs => %s) ORDER BY created_at LIMIT %s",
            (older_than_seconds, limit),
        )
    ).fetchall()
    return [row[0] for row in rows]  # type: ignore[misc]
