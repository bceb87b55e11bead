"""SQL for sessions: create, list, read, delete, configs.

A session has two ids (migration 0007): the public id clients see and choose, unique per project,
and the storage key every table references, `session_key(project_id, public_id)`. The HTTP layer
turns a path's session id into its key once; functions here take keys and return public ids.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any

import msgspec
from psycopg.types.json import Jsonb

from acx.cursor import KeysetPage
from acx.db.assets import release_session
from acx.db.keyset import fetch_time_page
from acx.db.pool import Conn
from acx.errors import ConflictError, SessionNotFound
from acx.limits import check_object_size

__all__ = [
    "SessionPage",
    "SessionRecord",
    "create_session",
    "delete_session",
    "get_session",
    "list_sessions",
    "merge_configs",
    "replace_configs",
    "require_session",
    "session_key",
]

_COLUMNS = "public_id, project_id, user_id, disable_task_tracking, configs, created_at, updated_at"


class SessionRecord(msgspec.Struct, kw_only=True):
    """A session as the API returns it (`space_id` is kept null for the 0.0.x SDKs)."""

    id: uuid.UUID
    project_id: uuid.UUID
    user_id: uuid.UUID | None
    disable_task_tracking: bool
    configs: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    space_id: None = None


SessionPage = KeysetPage[SessionRecord]


def _record(row: tuple[Any, ...]) -> SessionRecord:
    return SessionRecord(
        id=row[0],
        project_id=row[1],
        user_id=row[2],
        disable_task_tracking=row[3],
        configs=row[4],
        created_at=row[5],
        updated_at=row[6],
    )


def session_key(project_id: uuid.UUID, session_id: uuid.UUID) -> uuid.UUID:
    """The storage key of a project's session id (the SQL twin is in migration 0007).

    A hash, so no project can choose an id that collides with another project's session.
    """
    return uuid.UUID(bytes=hashlib.sha256(project_id.bytes + session_id.bytes).digest()[:16])


async def create_session(
    conn: Conn,
    project_id: uuid.UUID,
    *,
    session_id: uuid.UUID | None,
    user: str | None,
    disable_task_tracking: bool,
    configs: dict[str, Any] | None,
) -> SessionRecord:
    """Insert a session (and get-or-create its user); `session_id` is the public id.

    Raises:
        ConflictError: the project already has a session with `session_id`.
    """
    public_id = session_id or uuid.uuid4()
    async with conn.transaction():
        user_id = None
        if user:
            row = await (
                await conn.execute(
                    "INSERT INTO users (project_id, identifier) VALUES (%s, %s)"
                    " ON CONFLICT (project_id, identifier) DO UPDATE SET identifier = EXCLUDED.identifier"
                    " RETURNING id",
                    (project_id, user),
                )
            ).fetchone()
            assert row is not None
            user_id = row[0]
        row = await (
            await conn.execute(
                "INSERT INTO sessions (id, public_id, project_id, user_id, disable_task_tracking, configs)"
                f" VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING {_COLUMNS}",
                (
                    session_key(project_id, public_id),
                    public_id,
                    project_id,
                    user_id,
                    disable_task_tracking,
                    None if configs is None else Jsonb(configs),
                ),
            )
        ).fetchone()
        if row is None:  # raised inside the transaction: the user made for this session is rolled back
            raise ConflictError("session_exists", "session with this UUID already exists")
    return _record(row)


async def get_session(conn: Conn, project_id: uuid.UUID, session_id: uuid.UUID) -> SessionRecord:
    """The session if it belongs to the project.

    Raises:
        SessionNotFound: missing or another project's (indistinguishable on purpose).
    """
    row = await (
        await conn.execute(
            f"SELECT {_COLUMNS} FROM sessions WHERE id = %s AND project_id = %s", (session_id, project_id)
        )
    ).fetchone()
    if row is None:
        raise SessionNotFound()
    return _record(row)


async def require_session(conn: Conn, project_id: uuid.UUID, session_id: uuid.UUID, *, lock: bool = False) -> None:
    """Raise SessionNotFound unless the session exists in the project (`lock`: FOR UPDATE)."""
    row = await (
        await conn.execute(
            "SELECT 1 FROM sessions WHERE id = %s AND project_id = %s" + (" FOR UPDATE" if lock else ""),
            (session_id, project_id),
        )
    ).fetchone()
    if row is None:
        raise SessionNotFound()


async def list_sessions(
    conn: Conn,
    project_id: uuid.UUID,
    *,
    user: str | None,
    configs_filter: dict[str, Any] | None,
    limit: int,
    cursor: str | None,
    time_desc: bool,
) -> SessionPage:
    """A keyset page of the project's sessions ordered by (created_at, id)."""
    where = ["s.project_id = %(project)s"]
    params: dict[str, Any] = {"project": project_id}
    if user:
        where.append("s.user_id = (SELECT id FROM users WHERE project_id = %(project)s AND identifier = %(user)s)")
        params["user"] = user
    if configs_filter:
        where.append("s.configs @> %(filter)s")
        params["filter"] = Jsonb(configs_filter)
    columns = ", ".join(f"s.{c.strip()}" for c in _COLUMNS.split(","))
    return await fetch_time_page(
        conn,
        "s",
        f"SELECT {columns} FROM sessions s WHERE {' AND '.join(where)}",
        params,
        _record,
        limit=limit,
        cursor=cursor,
        time_desc=time_desc,
        alias="s.",
        id_column="public_id",
    )


async def delete_session(conn: Conn, project_id: uuid.UUID, session_id: uuid.UUID) -> None:
    """Delete a session with its messages and renderings (FK cascade), releasing its assets."""
    async with conn.transaction():
        await require_session(conn, project_id, session_id, lock=True)
        await release_session(conn, project_id, session_id)
        await conn.execute("DELETE FROM sessions WHERE id = %s", (session_id,))


async def replace_configs(
    conn: Conn, project_id: uuid.UUID, session_id: uuid.UUID, configs: dict[str, Any]
) -> SessionRecord:
    """Replace the configs object."""
    row = await (
        await conn.execute(
            f"UPDATE sessions SET configs = %s, updated_at = clock_timestamp()"
            f" WHERE id = %s AND project_id = %s RETURNING {_COLUMNS}",
            (Jsonb(configs), session_id, project_id),
        )
    ).fetchone()
    if row is None:
        raise SessionNotFound()
    return _record(row)


async def merge_configs(
    conn: Conn, project_id: uuid.UUID, session_id: uuid.UUID, patch: dict[str, Any]
) -> dict[str, Any]:
    """Shallow-merge `patch` into configs (a null value deletes the key); return the result.

    Raises:
        NotFoundError: no such session in the project.
        TooLargeError: the merged configs would exceed `MAX_OBJECT_BYTES` (nothing is changed).
    """
    async with conn.transaction():
        row = await (
            await conn.execute(
                "SELECT configs FROM sessions WHERE id = %s AND project_id = %s FOR UPDATE", (session_id, project_id)
            )
        ).fetchone()
        if row is None:
            raise SessionNotFound()
        configs: dict[str, Any] = dict(row[0] or {})  # type: ignore[call-overload]
        for key, value in patch.items():
            if value is None:
                configs.pop(key, None)
            else:
                configs[key] = value
        # The limit holds for what is stored, so twenty 60 KB patches cannot grow it to 1.2 MB.
        check_object_size("configs", len(msgspec.json.encode(configs)))
        await conn.execute(
            "UPDATE sessions SET configs = %s, updated_at = clock_timestamp() WHERE id = %s",
            (Jsonb(configs), session_id),
        )
    return configs
