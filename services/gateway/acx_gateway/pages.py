"""Assembling a page of messages: edit strategies, cached renderings, inline fallback.

Cached renderings are ready JSON: a page is spliced together from them without decoding. A
message the converter has not converted yet, or that an edit strategy changed, is encoded here
with the same codecs the converter uses.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, NamedTuple

import msgspec
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter

from acx import codecs, metrics, rendering, tokens
from acx.db.events import EventRecord
from acx.db.messages import MessageRow, Page, read_page
from acx.db.pool import Conn
from acx.editing import Strategy, apply_strategies, parse_strategies
from acx.model import Message
from acx_gateway.params import Cursor, TimeDesc, is_true

__all__ = [
    "MessagesPage",
    "PageEntry",
    "PageQuery",
    "PublicUrl",
    "build_page",
    "edit_page",
    "provide_page_query",
    "read_session_page",
]

_encoder = msgspec.json.Encoder()


class PageQuery(NamedTuple):
    """Paging and editing parameters shared by both views of a session."""

    limit: int
    cursor: str | None
    time_desc: bool
    strategies: list[Strategy]
    pin: str | None


def provide_page_query(
    session_ref: NamedDependency[Any],  # resolved after it (see acx_gateway.dependencies), value unused
    limit: Annotated[int, QueryParameter(ge=0, le=200, description="0 or absent: the whole session")] = 0,
    cursor: Cursor = None,
    time_desc: TimeDesc = None,
    edit_strategies: Annotated[str | None, QueryParameter(description="JSON array of {type, params}")] = None,
    pin_editing_strategies_at_message: FromQuery[str | None] = None,
) -> PageQuery:
    """Litestar dependency: the page and edit parameters of a read of a session."""
    return PageQuery(
        limit=limit,
        cursor=cursor or None,
        time_desc=is_true(time_desc),
        strategies=parse_strategies(edit_strategies),
        pin=pin_editing_strategies_at_message or None,
    )


async def read_session_page(
    conn: Conn, project_id: uuid.UUID, session_id: uuid.UUID, fmt: str, query: PageQuery, *, decode_all: bool = False
) -> Page:
    """One page of a session with its cached renderings in `fmt`.

    The stored form of every message is fetched when edit strategies (or `decode_all`) need it;
    otherwise only where a rendering is missing.
    """
    return await read_page(
        conn,
        project_id,
        session_id,
        fmt=fmt,
        codec_version=codecs.CODEC_VERSION,
        limit=query.limit,
        cursor=query.cursor,
        time_desc=query.time_desc,
        with_stored=decode_all or bool(query.strategies),
    )


class PageEntry(NamedTuple):
    """A message of the page; `edited` holds its edited form when a strategy changed it."""

    row: MessageRow
    edited: Message | None = None


class AcontextItemHead(msgspec.Struct):
    """Row fields of an acontext-format item; the cached body supplies role, parts, system_meta."""

    id: str
    session_id: uuid.UUID
    parent_id: str | None
    meta: msgspec.Raw
    session_task_process_status: str
    created_at: datetime
    updated_at: datetime
    task_id: None = None


class PublicUrl(msgspec.Struct):
    """A signed public URL of an asset."""

    url: str
    expire_at: datetime


class MessagesPage(msgspec.Struct, omit_defaults=True):
    """`GET /session/{id}/messages` data; `items` and `metas` are spliced from cached JSON.

    `message_tokens[i]` is the token count of the message `ids[i]` belongs to (an addition to
    upstream's shape, which the SDKs ignore; the inspector shows it per message).
    """

    items: msgspec.Raw
    ids: list[str]
    metas: msgspec.Raw
    has_more: bool
    this_time_tokens: int
    message_tokens: list[int]
    next_cursor: str | None = None
    edit_at_message_id: str | None = None
    events: list[EventRecord] | None = None
    public_urls: dict[str, PublicUrl] | None = None


def edit_page(rows: list[MessageRow], query: PageQuery) -> tuple[list[PageEntry], str | None]:
    """Apply the query's edit strategies to a page; without strategies nothing is decoded."""
    if not query.strategies:
        return [PageEntry(row) for row in rows], (rows[-1].id if rows else None)
    by_id = {row.id: row for row in rows}
    result = apply_strategies(
        [(message_id, rendering.decode_stored(row.stored[1])) for message_id, row in by_id.items()],
        query.strategies,
        query.pin,
    )
    entries = [
        PageEntry(by_id[message_id], message if message_id in result.changed else None)
        for message_id, message in result.messages
    ]
    return entries, result.edit_at_message_id


def build_page(
    session_id: uuid.UUID, fmt: str, entries: list[PageEntry], page: Page, edit_at: str | None
) -> MessagesPage:
    """The response data for a page: items aligned with ids and metas, and the token total.

    Cached bodies are spliced as text and encoded once: no JSON is parsed on this path.
    """
    items: list[str] = []
    ids: list[str] = []
    metas: list[str] = []
    message_tokens: list[int] = []
    total_tokens = hits = 0
    for row, edited in entries:
        body: str
        if edited is None and row.body is not None and row.tokens is not None:
            body, count, tokens_of_message = row.body, row.item_count or 0, row.tokens
            hits += 1
        else:
            body, count, tokens_of_message = _encode_inline(fmt, row, edited)
        total_tokens += tokens_of_message
        if fmt == "acontext":
            # read_page fetched the acontext fields for this format.
            assert row.task_status is not None
            assert row.updated_at is not None
            head = AcontextItemHead(
                id=row.id,
                session_id=session_id,
                parent_id=row.parent_id,
                meta=msgspec.Raw(row.meta.encode()),
                session_task_process_status=row.task_status,
                created_at=row.created_at,
                updated_at=row.updated_at,
            )
            items.append(_encoder.encode(head)[:-1].decode() + "," + body[1:])
        elif count:
            items.append(body[1:-1])
        ids.extend([row.id] * count)
        metas.extend([row.meta] * count)
        message_tokens.extend([tokens_of_message] * count)
    metrics.MESSAGES_READ.labels(fmt).inc(len(entries))
    metrics.RENDERING_CACHE.labels("hit").inc(hits)
    metrics.RENDERING_CACHE.labels("miss").inc(len(entries) - hits)
    return MessagesPage(
        items=msgspec.Raw(("[" + ",".join(items) + "]").encode()),
        ids=ids,
        metas=msgspec.Raw(("[" + ",".join(metas) + "]").encode()),
        has_more=page.has_more,
        this_time_tokens=total_tokens,
        message_tokens=message_tokens,
        next_cursor=page.next_cursor,
        edit_at_message_id=edit_at,
    )


def _encode_inline(fmt: str, row: MessageRow, edited: Message | None) -> tuple[str, int, int]:
    """(body, item count, tokens) of a message the cache cannot serve: edited, or not converted yet."""
    if edited is not None:
        # An edited message is no longer the stored blob: never the verbatim copy.
        result = rendering.rendering_of(fmt, edited, "")
        return result.body, result.item_count, tokens.count_tokens(edited)
    raw, parts = row.stored
    message = rendering.decode_stored(parts)
    if row.body is None:
        result = rendering.rendering_of(fmt, message, raw)
        body, count = result.body, result.item_count
    else:
        body, count = row.body, row.item_count or 0
    return body, count, row.tokens if row.tokens is not None else tokens.count_tokens(message)
