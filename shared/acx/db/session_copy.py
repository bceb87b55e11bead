"""SQL for copying (forking) a session with its messages, renderings and events."""

from __future__ import annotations

import uuid

from acx.db.assets import copy_references
from acx.db.pool import Conn
from acx.db.sessions import session_key
from acx.errors import SessionNotFound, TooLargeError

__all__ = ["MAX_COPY_MESSAGES", "copy_session"]

MAX_COPY_MESSAGES = 5000


async def copy_session(conn: Conn, project_id: uuid.UUID, session_id: uuid.UUID) -> uuid.UUID:
    """Copy a session (by key) in one transaction; return the new session's public id.

    Messages keep their sequence numbers (so the order is exactly the source's, unlike upstream,
    which re-stamps timestamps per batch and lets random ids decide), get new ids, and have
    `parent_id` remapped; timestamps are kept so `with_events` windows still line up. Cached
    renderings and token counts are copied, so the copy needs no converter work.

    Raises:
        SessionNotFound: missing or another project's session.
        TooLargeError: more than MAX_COPY_MESSAGES messages (`SESSION_TOO_LARGE`).
    """
    new_public_id = uuid.uuid4()
    new_id = session_key(project_id, new_public_id)
    async with conn.transaction():
        # FOR SHARE: concurrent stores to the source wait until the copy is consistent.
        row = await (
            await conn.execute(
                "SELECT message_count FROM sessions WHERE id = %s AND project_id = %s FOR SHARE",
                (session_id, project_id),
            )
        ).fetchone()
        if row is None:
            raise SessionNotFound()
        if int(str(row[0])) > MAX_COPY_MESSAGES:
            raise TooLargeError(
                "SESSION_TOO_LARGE", f"Session exceeds maximum copyable size ({MAX_COPY_MESSAGES} messages)."
            )
        await conn.execute(
            "CREATE TEMP TABLE copy_ids ON COMMIT DROP AS"
            " SELECT id AS old_id, gen_random_uuid() AS new_id FROM messages WHERE session_id = %s",
            (session_id,),
        )
        await conn.execute(
            "INSERT INTO sessions (id, public_id, project_id, user_id, disable_task_tracking, configs, ingest_state,"
            " message_count, last_message_id)"
            " SELECT %s, %s, s.project_id, s.user_id, s.disable_task_tracking, s.configs, s.ingest_state,"
            " s.message_count, c.new_id FROM sessions s LEFT JOIN copy_ids c ON c.old_id = s.last_message_id"
            " WHERE s.id = %s",
            (new_id, new_public_id, session_id),
        )
        await conn.execute(
            "INSERT INTO messages (id, session_id, project_id, seq, parent_id, role, format, raw, parts, meta,"
            " tokens, render_state, render_error, created_at, updated_at)"
            " SELECT c.new_id, %s, m.project_id, m.seq, p.new_id, m.role, m.format, m.raw, m.parts, m.meta,"
            " m.tokens, m.render_state, m.render_error, m.created_at, m.updated_at"
            " FROM messages m JOIN copy_ids c ON c.old_id = m.id LEFT JOIN copy_ids p ON p.old_id = m.parent_id"
            " ORDER BY m.seq",
            (new_id,),
        )
        await conn.execute(
            "INSERT INTO renderings (session_id, message_id, format, codec_version, body, item_count)"
            " SELECT %s, c.new_id, r.format, r.codec_version, r.body, r.item_count"
            " FROM renderings r JOIN copy_ids c ON c.old_id = r.message_id WHERE r.session_id = %s",
            (new_id, session_id),
        )
        await copy_references(conn, project_id, session_id, new_id)
        await conn.execute(
            "INSERT INTO session_events (id, session_id, project_id, type, data, created_at, updated_at)"
            " SELECT gen_random_uuid(), %s, project_id, type, data, created_at, updated_at"
            " FROM session_events WHERE session_id = %s",
            (new_id, session_id),
        )
    return new_public_id
