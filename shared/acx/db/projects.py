"""SQL for projects: their API keys and their configs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, NamedTuple

import msgspec
from psycopg.types.json import Jsonb

from acx.db.pool import Conn
from acx.errors import TooLargeError

__all__ = [
    "ProjectRow",
    "create_project",
    "delete_project",
    "ensure_default_project",
    "get_project",
    "list_projects",
    "merge_project_configs",
    "project_by_token_hmac",
    "project_configs",
    "rekey_project",
]


async def ensure_default_project(conn: Conn, token_hmac: str) -> uuid.UUID:
    """Create the default (root-token) project, or re-key it when the root token changed.

    Safe when several replicas start at once: the partial unique index on `is_default` turns the
    race into an upsert.
    """
    row = await (
        await conn.execute(
            "INSERT INTO projects (token_hmac, is_default, name) VALUES (%s, true, 'default')"
            " ON CONFLICT (is_default) WHERE is_default"
            " DO UPDATE SET token_hmac = EXCLUDED.token_hmac, updated_at = clock_timestamp()"
            " RETURNING id",
            (token_hmac,),
        )
    ).fetchone()
    assert row is not None
    return row[0]  # type: ignore[return-value]


async def project_by_token_hmac(conn: Conn, token_hmac: str) -> uuid.UUID | None:
    """The project id a token's HMAC belongs to, if any."""
    row = await (await conn.execute("SELECT id FROM projects WHERE token_hmac = %s", (token_hmac,))).fetchone()
    return None if row is None else row[0]  # type: ignore[return-value]


async def project_configs(conn: Conn, project_id: uuid.UUID) -> dict[str, Any]:
    """The project's configs object (`{}` until something is set)."""
    row = await (await conn.execute("SELECT configs FROM projects WHERE id = %s", (project_id,))).fetchone()
    return {} if row is None else _configs(row[0])


async def merge_project_configs(
    conn: Conn, project_id: uuid.UUID, patch: dict[str, Any], *, max_bytes: int
) -> dict[str, Any]:
    """Shallow-merge `patch` into the project's configs (a null value deletes the key); return the result.

    The limit applies to the merged object, so repeated patches cannot grow it without bound. The
    row lock makes concurrent patches apply one after the other instead of losing keys.

    Raises:
        TooLargeError: the merged configs would exceed `max_bytes` as JSON; nothing is changed.
    """
    async with conn.transaction():
        row = await (
            await conn.execute("SELECT configs FROM projects WHERE id = %s FOR UPDATE", (project_id,))
        ).fetchone()
        merged = {} if row is None else _configs(row[0])
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        if len(msgspec.json.encode(merged)) > max_bytes:
            raise TooLargeError("configs_too_large", f"project configs would exceed the {max_bytes // 1024}KB limit")
        await conn.execute(
            "UPDATE projects SET configs = %s, updated_at = clock_timestamp() WHERE id = %s",
            (Jsonb(merged), project_id),
        )
    return merged


def _configs(value: object) -> dict[str, Any]:
    # The column is NOT NULL with an object default, and only this module writes it.
    assert isinstance(value, dict)
    return value


class ProjectRow(NamedTuple):
    """A project as operators see it (never its key: only the key's HMAC is stored)."""

    id: uuid.UUID
    name: str
    is_default: bool
    created_at: datetime
    updated_at: datetime


_PROJECT_COLUMNS = "id, name, is_default, created_at, updated_at"


def _project(row: tuple[Any, ...]) -> ProjectRow:
    return ProjectRow(row[0], row[1], row[2], row[3], row[4])


async def create_project(conn: Conn, name: str, token_hmac: str) -> ProjectRow:
    """Insert a project keyed by `token_hmac`."""
    row = await (
        await conn.execute(
            f"INSERT INTO projects (token_hmac, name) VALUES (%s, %s) RETURNING {_PROJECT_COLUMNS}", (token_hmac, name)
        )
    ).fetchone()
    assert row is not None
    return _project(row)


async def list_projects(conn: Conn) -> list[ProjectRow]:
    """Every project, oldest first."""
    rows = await (await conn.execute(f"SELECT {_PROJECT_COLUMNS} FROM projects ORDER BY created_at, id")).fetchall()
    return [_project(row) for row in rows]


async def get_project(conn: Conn, project_id: uuid.UUID) -> ProjectRow | None:
    """One project, if it exists."""
    row = await (await conn.execute(f"SELECT {_PROJECT_COLUMNS} FROM projects WHERE id = %s", (project_id,))).fetchone()
    return None if row is None else _project(row)


async def rekey_project(conn: Conn, project_id: uuid.UUID, token_hmac: str) -> bool:
    """Replace a project's key (the old key stops working); False when there is no such project."""
    cursor = await conn.execute(
        "UPDATE projects SET token_hmac = %s, updated_at = clock_timestamp() WHERE id = %s", (token_hmac, project_id)
    )
    return cursor.rowcount == 1


async def delete_project(conn: Conn, project_id: uuid.UUID) -> bool:
    """Delete a project and, by cascade, all its sessions, messages and assets."""
    cursor = await conn.execute("DELETE FROM projects WHERE id = %s", (project_id,))
    return cursor.rowcount == 1
