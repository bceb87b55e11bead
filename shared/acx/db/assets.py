"""SQL for uploaded assets and their reference counts."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import NamedTuple

from acx.assets import Upload
from acx.db.pool import Conn

__all__ = [
    "AssetBytes",
    "add_references",
    "assets_of_messages",
    "copy_references",
    "get_asset",
    "release_session",
    "release_sessions",
    "session_asset",
]


class AssetBytes(NamedTuple):
    """An asset's type and content."""

    mime: str
    data: bytes


def _asset_bytes(row: tuple[object, ...] | None) -> AssetBytes | None:
    if row is None:
        return None
    mime, data = row
    assert isinstance(mime, str)
    assert isinstance(data, bytes | memoryview)
    return AssetBytes(mime, bytes(data))


async def add_references(conn: Conn, rows: Iterable[tuple[uuid.UUID, uuid.UUID, uuid.UUID, Upload]]) -> None:
    """Store each (project, session, message, upload) and count one reference per message and file."""
    unique = {(row[2], row[3].sha256): row for row in rows}
    if not unique:
        return
    counts: dict[tuple[uuid.UUID, str], tuple[Upload, int]] = {}
    for project_id, _, _, upload in unique.values():
        known = counts.get((project_id, upload.sha256))
        counts[(project_id, upload.sha256)] = (upload, known[1] + 1 if known else 1)
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO assets (project_id, sha256, mime, size_b, data, ref_count) VALUES (%s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (project_id, sha256) DO UPDATE SET ref_count = assets.ref_count + EXCLUDED.ref_count",
            [(p, sha, u.mime, len(u.data), u.data, n) for (p, sha), (u, n) in counts.items()],
        )
        await cur.executemany(
            "INSERT INTO message_assets (session_id, message_id, project_id, sha256, filename)"
            " VALUES (%s, %s, %s, %s, %s)",
            [(s, m, p, u.sha256, u.filename) for p, s, m, u in unique.values()],
        )


async def release_session(conn: Conn, project_id: uuid.UUID, session_id: uuid.UUID) -> None:
    """Drop the references a session's messages hold; delete assets nobody references any more.

    Call inside the transaction that deletes the session, before the delete.
    """
    await release_sessions(conn, project_id, [session_id])


async def release_sessions(conn: Conn, project_id: uuid.UUID, session_ids: list[uuid.UUID]) -> None:
    """`release_session` for several sessions of one project at once (a user's, when it is deleted)."""
    if not session_ids:
        return
    released = await (
        await conn.execute(
            "WITH refs AS (SELECT sha256, count(*) AS n FROM message_assets"
            " WHERE session_id = ANY(%s) GROUP BY sha256)"
            " UPDATE assets a SET ref_count = a.ref_count - refs.n FROM refs"
            " WHERE a.project_id = %s AND a.sha256 = refs.sha256 RETURNING a.sha256",
            (session_ids, project_id),
        )
    ).fetchall()
    if released:
        await conn.execute(
            "DELETE FROM assets WHERE project_id = %s AND sha256 = ANY(%s) AND ref_count = 0",
            (project_id, [row[0] for row in released]),
        )


async def copy_references(conn: Conn, project_id: uuid.UUID, source_id: uuid.UUID, copy_id: uuid.UUID) -> None:
    """Share a copied session's assets: uses the `copy_ids` mapping of the running copy."""
    await conn.execute(
        "INSERT INTO message_assets (session_id, message_id, project_id, sha256, filename)"
        " SELECT %s, c.new_id, ma.project_id, ma.sha256, ma.filename"
        " FROM message_assets ma JOIN copy_ids c ON c.old_id = ma.message_id WHERE ma.session_id = %s",
        (copy_id, source_id),
    )
    await conn.execute(
        "UPDATE assets a SET ref_count = a.ref_count + r.n FROM"
        " (SELECT sha256, count(*) AS n FROM message_assets WHERE session_id = %s GROUP BY sha256) r"
        " WHERE a.project_id = %s AND a.sha256 = r.sha256",
        (copy_id, project_id),
    )


async def get_asset(conn: Conn, project_id: uuid.UUID, sha256: str) -> AssetBytes | None:
    """An asset of the project, if it exists."""
    row = await (
        await conn.execute("SELECT mime, data FROM assets WHERE project_id = %s AND sha256 = %s", (project_id, sha256))
    ).fetchone()
    return _asset_bytes(row)


async def session_asset(conn: Conn, project_id: uuid.UUID, session_id: uuid.UUID, sha256: str) -> AssetBytes | None:
    """An asset referenced by a message of this session of the project."""
    row = await (
        await conn.execute(
            "SELECT a.mime, a.data FROM assets a WHERE a.project_id = %s AND a.sha256 = %s AND EXISTS ("
            " SELECT 1 FROM message_assets ma WHERE ma.session_id = %s AND ma.project_id = %s AND ma.sha256 = %s)",
            (project_id, sha256, session_id, project_id, sha256),
        )
    ).fetchone()
    return _asset_bytes(row)


async def assets_of_messages(conn: Conn, message_ids: list[str]) -> list[str]:
    """Distinct asset hashes referenced by these messages."""
    rows = await (
        await conn.execute(
            "SELECT DISTINCT sha256 FROM message_assets WHERE message_id = ANY(%s::uuid[]) ORDER BY sha256",
            (message_ids,),
        )
    ).fetchall()
    return [str(row[0]) for row in rows]
