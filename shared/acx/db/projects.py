"""SQL for projects: their API keys and their configs."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from psycopg.types.json import Jsonb

from acx.db.pool import Conn
from acx.errors import TooLargeError

__all__ = ["ensure_default_project", "merge_project_configs", "project_by_token_hmac", "project_configs"]


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
