"""SQL for session events."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from acx.cursor import KeysetPage
from acx.db.keyset import fetch_time_page
from acx.db.pool import Conn
from acx.db.sessions import require_session
from acx.errors import SessionNotFound

__all__ = ["EventPage", "EventRecord", "add_event", "events_between", "list_events"]

# Events show their session's public id, not its storage key.
_COLUMNS = (
    "id, (SELECT s.public_id FROM sessions s WHERE s.id = session_events.session_id),"
    " project_id, type, data, created_at, updated_at"
)


class EventRecord(msgspec.Struct, kw_only=True):
    """A session event as the API returns it (`data` is the object as sent)."""

    id: uuid.UUID
    session_id: uuid.UUID
    project_id: uuid.UUID
    type: str
    data: msgspec.Raw
    created_at: datetime
    updated_at: datetime


EventPage = KeysetPage[EventRecord]


def _record(row: tuple[Any, ...]) -> EventRecord:
    return EventRecord(
        id=row[0],
        session_id=row[1],
        project_id=row[2],
        type=row[3],
        data=msgspec.Raw(row[4].encode()),
        created_at=row[5],
        updated_at=row[6],
    )


async def add_event(
    conn: Conn, project_id: uuid.UUID, session_id: uuid.UUID, event_type: str, data_json: str
) -> EventRecord:
    """Append an event to a session of the project."""
    row = await (
        await conn.execute(
            f"INSERT INTO session_events (id, session_id, project_id, type, data)"
            f" SELECT %s, id, project_id, %s, %s FROM sessions WHERE id = %s AND project_id = %s"
            f" RETURNING {_COLUMNS}",
            (uuid.uuid4(), event_type, data_json, session_id, project_id),
        )
    ).fetchone()
    if row is None:
        raise SessionNotFound()
    return _record(row)


async def list_events(
    conn: Conn,
    project_id: uuid.UUID,
    session_id: uuid.UUID,
    *,
    limit: int,
    cursor: str | None,
    time_desc: bool,
) -> EventPage:
    """A keyset page of a session's events ordered by (created_at, id)."""
    await require_session(conn, project_id, session_id)
    return await fetch_time_page(
        conn,
        "e",
        f"SELECT {_COLUMNS} FROM session_events WHERE session_id = %(session)s",
        {"session": session_id},
        _record,
        limit=limit,
        cursor=cursor,
        time_desc=time_desc,
        scope=session_id,
    )


async def events_between(conn: Conn, session_id: uuid.UUID, start: datetime, end: datetime) -> list[EventRecord]:
    """Events whose time falls within a page's first and last message, in order."""
    rows = await (
        await conn.execute(
            f"SELECT {_COLUMNS} FROM session_events WHERE session_id = %s AND created_at BETWEEN %s AND %s"
            " ORDER BY created_at, id",
            (session_id, start, end),
        )
    ).fetchall()
    return [_record(row) for row in rows]
