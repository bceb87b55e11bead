"""SQL for the converter's side: claiming pending messages, caching their renderings, progress."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import NamedTuple

from acx.db.pool import Conn

__all__ = [
    "MessageRenderings",
    "PendingMessage",
    "claim_pending",
    "conversion_progress",
    "mark_failed",
    "oldest_pending_age",
    "overdue_message_ids",
    "pending_in_session",
    "save_renderings",
]


class PendingMessage(NamedTuple):
    """A claimed message: what the converter needs to build its renderings."""

    id: uuid.UUID
    session_id: uuid.UUID
    format: str
    raw: str
    parts: str


async def claim_pending(conn: Conn, message_ids: list[uuid.UUID]) -> list[PendingMessage]:
    """Mark the pending ones among `message_ids` as running and return their stored form.

    Converted (or deleted) messages are skipped, so a job that runs twice does its work once.
    """
    rows = await (
        await conn.execute(
            "UPDATE messages SET render_state = 'running', render_started_at = clock_timestamp()"
            " WHERE id = ANY(%s) AND render_state IN ('pending', 'running')"
            " RETURNING id, session_id, format, raw, parts",
            (message_ids,),
        )
    ).fetchall()
    return [PendingMessage(*row) for row in rows]  # type: ignore[arg-type]


class MessageRenderings(NamedTuple):
    """A message's renderings (format → (body, item count)) and token count, ready to store."""

    message: PendingMessage
    tokens: int
    bodies: dict[str, tuple[str, int]]


async def save_renderings(
    conn: Conn, converted: list[MessageRenderings], *, codec_version: int
) -> list[MessageRenderings]:
    """Upsert the renderings and token counts of many messages in one transaction; returns those stored.

    A message deleted since it was claimed (its session deleted meanwhile) is nothing to store: it
    is left out of the result instead of failing the batch. The messages still there are locked
    FOR KEY SHARE first, so a concurrent delete waits for this transaction rather than removing a
    row between the check and the insert (which would fail the foreign key).

    Idempotent: re-running a job rewrites identical rows; a rendering from an older codec
    version never overwrites a newer one.
    """
    if not converted:
        return []
    async with conn.transaction(), conn.cursor() as cur:
        await cur.execute(
            "SELECT id FROM messages WHERE id = ANY(%s) AND session_id = ANY(%s) FOR KEY SHARE",
            ([r.message.id for r in converted], list({r.message.session_id for r in converted})),
        )
        present = {row[0] for row in await cur.fetchall()}
        stored = [r for r in converted if r.message.id in present]
        if not stored:
            return []
        await cur.executemany(
            "INSERT INTO renderings (session_id, message_id, format, codec_version, body, item_count)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (session_id, message_id, format) DO UPDATE"
            " SET codec_version = EXCLUDED.codec_version, body = EXCLUDED.body,"
            " item_count = EXCLUDED.item_count"
            " WHERE renderings.codec_version <= EXCLUDED.codec_version",
            [
                (r.message.session_id, r.message.id, fmt, codec_version, body, count)
                for r in stored
                for fmt, (body, count) in r.bodies.items()
            ],
        )
        await cur.executemany(
            "UPDATE messages SET tokens = %s, render_state = 'done', render_error = NULL"
            " WHERE session_id = %s AND id = %s",
            [(r.tokens, r.message.session_id, r.message.id) for r in stored],
        )
    return stored


async def mark_failed(conn: Conn, message: PendingMessage, error: str) -> None:
    """Record a permanent conversion failure so the sweep stops retrying it."""
    await conn.execute(
        "UPDATE messages SET render_state = 'failed', render_error = %s WHERE session_id = %s AND id = %s",
        (error[:500], message.session_id, message.id),
    )


async def overdue_message_ids(
    conn: Conn,
    older_than_seconds: float,
    stuck_after_seconds: float,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None = None,
) -> list[tuple[uuid.UUID, datetime]]:
    """Messages whose job was lost: pending after a grace period, or running for longer than a
    job may run (its worker died). Ordered by (created_at, id), after the keyset `after`."""
    rows = await (
        await conn.execute(
            "SELECT id, created_at FROM messages WHERE render_state IN ('pending', 'running')"
            " AND created_at < clock_timestamp() - make_interval(secs => %s)"
            " AND (render_state = 'pending' OR render_started_at < clock_timestamp() - make_interval(secs => %s))"
            " AND (%s::timestamptz IS NULL OR (created_at, id) > (%s, %s))"
            " ORDER BY created_at, id LIMIT %s",
            (
                older_than_seconds,
                stuck_after_seconds,
                after and after[0],
                after and after[0],
                after and after[1],
                limit,
            ),
        )
    ).fetchall()
    return [(row[0], row[1]) for row in rows]  # type: ignore[misc]


async def pending_in_session(conn: Conn, session_id: uuid.UUID) -> list[uuid.UUID]:
    """Ids of the session's messages the converter has not converted yet, in order."""
    rows = await (
        await conn.execute(
            "SELECT id FROM messages WHERE session_id = %s AND render_state IN ('pending', 'running') ORDER BY seq",
            (session_id,),
        )
    ).fetchall()
    return [row[0] for row in rows]  # type: ignore[misc]


async def conversion_progress(conn: Conn, session_id: uuid.UUID) -> dict[str, int]:
    """Message counts of a session by conversion state (`messages.render_state`: `pending`,
    `running`, `done`, `failed`)."""
    rows = await (
        await conn.execute(
            "SELECT render_state, count(*) FROM messages WHERE session_id = %s GROUP BY render_state",
            (session_id,),
        )
    ).fetchall()
    counts = {"pending": 0, "running": 0, "done": 0, "failed": 0}
    counts.update({str(state): int(str(count)) for state, count in rows})
    return counts


async def oldest_pending_age(conn: Conn) -> float:
    """Seconds since the oldest still-pending message was stored (0 when none)."""
    row = await (
        await conn.execute(
            "SELECT coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0)"
            " FROM messages WHERE render_state IN ('pending', 'running')"
        )
    ).fetchone()
    return float(str(row[0])) if row else 0.0
