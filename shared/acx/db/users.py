"""SQL for a project's users: list, resource counts, delete with everything they own.

A user is a `(project, identifier)` row created on the fly by `POST /session {"user": …}`; it owns
sessions, and through them messages, renderings, events and asset references.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
from psycopg import errors as pg_errors

from acx.cursor import KeysetPage
from acx.db.assets import release_sessions
from acx.db.keyset import fetch_time_page
from acx.db.pool import Conn
from acx.errors import NotFoundError

__all__ = ["UserPage", "UserRecord", "count_user_sessions", "delete_user", "list_users"]

_COLUMNS = "id, project_id, identifier, created_at"
_CURSOR_KIND = "u"
# A deadlock with a concurrent session copy (see delete_user) is retried this often.
_DEADLOCK_ATTEMPTS = 3


class UserRecord(msgspec.Struct, kw_only=True):
    """A user as the API returns it. Users never change, so `updated_at` is `created_at`."""

    id: uuid.UUID
    project_id: uuid.UUID
    identifier: str
    created_at: datetime
    updated_at: datetime


UserPage = KeysetPage[UserRecord]


def _record(row: tuple[Any, ...]) -> UserRecord:
    return UserRecord(id=row[0], project_id=row[1], identifier=row[2], created_at=row[3], updated_at=row[3])


def _not_found() -> NotFoundError:
    return NotFoundError("user_not_found", "user not found")


async def list_users(conn: Conn, project_id: uuid.UUID, *, limit: int, cursor: str | None, time_desc: bool) -> UserPage:
    """A keyset page of the project's users ordered by (created_at, id)."""
    return await fetch_time_page(
        conn,
        _CURSOR_KIND,
        f"SELECT {_COLUMNS} FROM users WHERE project_id = %(project)s",
        {"project": project_id},
        _record,
        limit=limit,
        cursor=cursor,
        time_desc=time_desc,
    )


async def count_user_sessions(conn: Conn, project_id: uuid.UUID, identifier: str) -> int:
    """How many sessions the project's user `identifier` owns.

    Raises:
        NotFoundError: no such user in this project (another project's users are invisible).
    """
    row = await (
        await conn.execute(
            "SELECT (SELECT count(*) FROM sessions s WHERE s.user_id = u.id) FROM users u"
            " WHERE u.project_id = %s AND u.identifier = %s",
            (project_id, identifier),
        )
    ).fetchone()
    if row is None:
        raise _not_found()
    return int(str(row[0]))


async def delete_user(conn: Conn, project_id: uuid.UUID, identifier: str) -> int:
    """Delete a user with its sessions in one transaction; return how many sessions went.

    Messages, renderings, events and message-asset links go by FK cascade; assets no other
    message references are deleted. Lock order: the user's sessions first (as message stores and
    copies do), then the user row, which stops new sessions being created for it; sessions created
    in between are then locked too. A copy of one of those late sessions can still deadlock with
    this; PostgreSQL aborts one side and this side retries.

    Raises:
        NotFoundError: no such user in this project.
    """
    for attempt in range(_DEADLOCK_ATTEMPTS):
        try:
            async with conn.transaction():
                return await _delete_locked(conn, project_id, identifier)
        except pg_errors.DeadlockDetected:
            if attempt == _DEADLOCK_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


async def _delete_locked(conn: Conn, project_id: uuid.UUID, identifier: str) -> int:
    first = await _lock_sessions(
        conn,
        "s.user_id = (SELECT id FROM users WHERE project_id = %s AND identifier = %s)",
        (project_id, identifier),
    )
    row = await (
        await conn.execute(
            "SELECT id FROM users WHERE project_id = %s AND identifier = %s FOR UPDATE", (project_id, identifier)
        )
    ).fetchone()
    if row is None:
        raise _not_found()
    user_id = row[0]
    late = await _lock_sessions(conn, "s.user_id = %s AND NOT (s.id = ANY(%s))", (user_id, first))
    sessions = first + late
    await release_sessions(conn, project_id, sessions)
    await conn.execute("DELETE FROM sessions WHERE id = ANY(%s)", (sessions,))
    await conn.execute("DELETE FROM users WHERE id = %s", (user_id,))
    return len(sessions)


async def _lock_sessions(conn: Conn, condition: str, params: tuple[object, ...]) -> list[uuid.UUID]:
    # ORDER BY id: the same order as the message batcher, so the two never deadlock.
    rows = await (
        await conn.execute(f"SELECT s.id FROM sessions s WHERE {condition} ORDER BY s.id FOR UPDATE", params)
    ).fetchall()
    return [row[0] for row in rows]  # type: ignore[misc]
