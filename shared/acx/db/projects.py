"""SQL for projects and their API keys."""

from __future__ import annotations

import uuid

from acx.db.pool import Conn

__all__ = ["ensure_default_project", "project_by_token_hmac"]


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
