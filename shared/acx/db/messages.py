"""SQL for messages and their cached renderings."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, NamedTuple

import msgspec

from acx.cursor import decode_cursor, encode_cursor
from acx.db.pool import Conn
from acx.db.sessions import require_session
from acx.errors import NotFoundError, SessionNotFound
from acx.limits import check_object_size

__all__ = [
    "MessageRow",
    "Page",
    "TokenTotal",
    "patch_user_meta",
    "read_page",
    "token_total",
]


class MessageRow(NamedTuple):
    """One message of a page, with its cached rendering in the requested format when present.

    Ids come back as text: they are only ever written into responses. The acontext item fields
    (`parent_id`, `task_status`, `updated_at`) are fetched only for that format.
    """

    id: str
    seq: int
    raw: str | None
    parts: str | None
    meta: str
    tokens: int | None
    created_at: datetime
    body: str | None
    item_count: int | None
    parent_id: str | None
    task_status: str | None
    updated_at: datetime | None

    @property
    def stored(self) -> tuple[str, str]:
        """(raw blob, parts JSON); only for rows the query fetched them for."""
        if self.raw is None or self.parts is None:
            raise LookupError(f"stored form of message {self.id} was not fetched")
        return self.raw, self.parts


class Page(NamedTuple):
    """A page of messages in chronological order, with the paging outcome."""

    rows: list[MessageRow]
    has_more: bool
    next_cursor: str | None


_PAGE_SQL = """
WITH s AS (
    SELECT id, disable_task_tracking FROM sessions WHERE id = %(session)s AND project_id = %(project)s
)
SELECT m.id::text, m.seq, {stored}, m.meta, m.tokens, m.created_at, r.body, r.item_count, {head}
FROM s
LEFT JOIN LATERAL (
    SELECT * FROM messages
    WHERE session_id = s.id AND seq {op} %(after)s
    ORDER BY seq {order} LIMIT %(limit)s
) m ON true
LEFT JOIN renderings r ON r.session_id = m.session_id AND r.message_id = m.id
    AND r.format = %(format)s AND r.codec_version = %(version)s
ORDER BY m.seq {order}
"""
# `session_task_process_status` reports this product's own pipeline: the converter's progress.
TASK_STATUS_SQL = (
    "CASE WHEN s.disable_task_tracking THEN 'disable_tracking' WHEN m.render_state = 'done' THEN 'success'"
    " WHEN m.render_state IN ('failed', 'running') THEN m.render_state ELSE 'pending' END"
)
# The stored form (raw blob, parts) is large: fetched only where a rendering or a token count is
# missing, unless the caller needs every message decoded (edit strategies, the request view).
_STORED_ALWAYS = "m.raw, m.parts"
_STORED_IF_UNCACHED = (
    "CASE WHEN r.body IS NULL OR m.tokens IS NULL THEN m.raw END,"
    " CASE WHEN r.body IS NULL OR m.tokens IS NULL THEN m.parts END"
)
_ACONTEXT_HEAD = f"m.parent_id::text, {TASK_STATUS_SQL}, m.updated_at"
_NO_HEAD = "NULL, NULL, NULL"
_PAGE_QUERIES = {
    (op, order, always, head): _PAGE_SQL.format(
        op=op,
        order=order,
        stored=_STORED_ALWAYS if always else _STORED_IF_UNCACHED,
        head=_ACONTEXT_HEAD if head else _NO_HEAD,
    ).encode()
    for op, order in ((">", "ASC"), ("<", "DESC"))
    for always in (True, False)
    for head in (True, False)
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
    with_stored: bool = False,
) -> Page:
    """One page of a session in one query (keyset on the sequence, renderings joined).

    Rows carry `raw` and `parts` when `with_stored`, otherwise only where the rendering or the
    token count is not cached (None elsewhere).

    `limit == 0` returns every message after the cursor (the whole session without one). With
    `time_desc` the page is the newest window before the cursor, returned chronologically; the
    probe row that detects `has_more` is the oldest one fetched and is cut before reordering, so
    pages never skip or repeat a message.
    """
    if not limit and not cursor:
        time_desc = False  # the whole session, oldest first
    after = decode_cursor("m", cursor, session_id).key if cursor else (_ALL if time_desc else -1)
    direction = ("<", "DESC") if time_desc else (">", "ASC")
    query = _PAGE_QUERIES[(*direction, with_stored, fmt == "acontext")]
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
        raise SessionNotFound()
    # `_make` builds the tuple in C; `MessageRow(*row)` goes through a generated Python `__new__`.
    messages = [MessageRow._make(row) for row in rows if row[0] is not None]
    has_more = bool(limit) and len(messages) > limit
    if has_more:
        messages = messages[:limit]
    if time_desc:
        messages.reverse()
    next_cursor = None
    if has_more:
        edge = messages[0] if time_desc else messages[-1]
        next_cursor = encode_cursor("m", edge.seq, edge.id, session_id)
    return Page(messages, has_more, next_cursor)


async def patch_user_meta(
    conn: Conn, project_id: uuid.UUID, session_id: uuid.UUID, message_id: uuid.UUID, patch: dict[str, Any]
) -> dict[str, Any]:
    """Shallow-merge `patch` into a message's user meta (a null value deletes the key).

    Raises:
        NotFoundError: no such session in the project, or no such message in it.
        TooLargeError: the merged meta would exceed `MAX_OBJECT_BYTES` (nothing is changed).
    """
    async with conn.transaction():
        row = await (
            await conn.execute(
                "SELECT m.meta FROM messages m JOIN sessions s ON s.id = m.session_id"
                " WHERE m.id = %s AND m.session_id = %s AND s.project_id = %s FOR UPDATE OF m",
                (message_id, session_id, project_id),
            )
        ).fetchone()
        if row is None:
            await require_session(conn, project_id, session_id)
            raise NotFoundError("message_not_found", "message not found")
        meta: dict[str, Any] = msgspec.json.decode(str(row[0]))
        for key, value in patch.items():
            if value is None:
                meta.pop(key, None)
            else:
                meta[key] = value
        encoded = msgspec.json.encode(meta)
        check_object_size("meta", len(encoded))  # the merged result, not just this patch
        await conn.execute(
            "UPDATE messages SET meta = %s, updated_at = clock_timestamp() WHERE id = %s",
            (encoded.decode(), message_id),
        )
    return meta


class TokenTotal(NamedTuple):
    """Stored token total of a session, plus the parts of messages not counted yet."""

    counted: int
    uncounted_parts: list[str]


async def token_total(conn: Conn, project_id: uuid.UUID, session_id: uuid.UUID) -> TokenTotal:
    """Sum of the stored per-message counts (no re-tokenising), and what still needs counting."""
    await require_session(conn, project_id, session_id)
    row = await (
        await conn.execute(
            "SELECT coalesce(sum(tokens), 0),"
            " coalesce(array_agg(parts ORDER BY seq) FILTER (WHERE tokens IS NULL), '{}')"
            " FROM messages WHERE session_id = %s",
            (session_id,),
        )
    ).fetchone()
    assert row is not None
    return TokenTotal(int(str(row[0])), list(row[1]))  # type: ignore[call-overload]
