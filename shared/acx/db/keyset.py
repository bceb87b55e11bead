"""Keyset pagination over `(created_at, id)`, shared by the listings ordered by time."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from acx.cursor import KeysetPage, decode_cursor, encode_time_cursor
from acx.db.pool import Conn

__all__ = ["fetch_time_page", "page_after", "time_keyset"]


class _Timed(Protocol):
    @property
    def created_at(self) -> datetime: ...

    @property
    def id(self) -> uuid.UUID: ...


T = TypeVar("T", bound=_Timed)


def time_keyset(
    kind: str,
    cursor: str | None,
    time_desc: bool,
    alias: str = "",
    scope: uuid.UUID | None = None,
    id_column: str = "id",
) -> tuple[str, dict[str, Any], str]:
    """The WHERE condition after `cursor` (TRUE without one), its parameters, and the ORDER BY.

    `scope`: the session a per-session listing belongs to (see `acx.cursor`). `id_column` is the
    tie-break column, the one whose value the records expose as `id`.
    """
    order = "DESC" if time_desc else "ASC"
    order_by = f"{alias}created_at {order}, {alias}{id_column} {order}"
    if not cursor:
        return "TRUE", {}, order_by
    position = decode_cursor(kind, cursor, scope)
    condition = f"({alias}created_at, {alias}{id_column}) {'<' if time_desc else '>'} (%(after_at)s, %(after_id)s)"
    return condition, {"after_at": position.time, "after_id": position.id}, order_by


def page_after(kind: str, records: list[T], limit: int, scope: uuid.UUID | None = None) -> KeysetPage[T]:
    """A page from `limit + 1` fetched records: the probe record only tells that more follow."""
    items = records[:limit]
    has_more = len(records) > limit
    next_cursor = encode_time_cursor(kind, items[-1].created_at, items[-1].id, scope) if has_more else None
    return KeysetPage(items=items, has_more=has_more, next_cursor=next_cursor)


async def fetch_time_page(
    conn: Conn,
    kind: str,
    select: str,
    params: dict[str, Any],
    record: Callable[[tuple[Any, ...]], T],
    *,
    limit: int,
    cursor: str | None,
    time_desc: bool,
    alias: str = "",
    scope: uuid.UUID | None = None,
    id_column: str = "id",
) -> KeysetPage[T]:
    """One page of a listing ordered by time: `select` is its `SELECT … WHERE <condition>` (with
    `params`); the condition after `cursor`, the order and the limit are added here.

    `alias`, `scope` and `id_column` are `time_keyset`'s.
    """
    after, after_params, order_by = time_keyset(kind, cursor, time_desc, alias, scope, id_column)
    rows = await (
        await conn.execute(
            f"{select} AND {after} ORDER BY {order_by} LIMIT %(limit)s",
            {**params, **after_params, "limit": limit + 1},
        )
    ).fetchall()
    return page_after(kind, [record(row) for row in rows], limit, scope)
