"""acx_gateway.pages: a page spliced from cached renderings, items aligned with ids and metas."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec
import pytest

from acx.db.messages import MessageRow, Page
from acx_gateway.pages import PageQuery, build_page, edit_page

_AT = datetime(2026, 1, 1, tzinfo=UTC)
_NO_EDITS = PageQuery(limit=0, cursor=None, time_desc=False, strategies=[], pin=None)


def _cached(message_id: str, body: str, items: int, tokens: int, meta: str = "{}") -> MessageRow:
    """A row whose rendering in the requested format is cached (no stored form fetched)."""
    return MessageRow(
        id=message_id,
        seq=1,
        raw=None,
        parts=None,
        meta=meta,
        tokens=tokens,
        created_at=_AT,
        body=body,
        item_count=items,
        parent_id=None,
        task_status=None,
        updated_at=None,
    )


ROWS = [
    _cached("m1", '[{"role":"user","content":"hi"}]', 1, 3, '{"a":1}'),
    # One stored message that encodes to two items (e.g. a tool result split in OpenAI format).
    _cached("m2", '[{"role":"tool","tool_call_id":"x","content":"1"},{"role":"user","content":"2"}]', 2, 5),
    _cached("m3", "[]", 0, 0),  # nothing to send in this format
]


def test_cached_rows_are_spliced_without_decoding() -> None:
    page = Page(ROWS, has_more=True, next_cursor="next")
    entries, edit_at = edit_page(page.rows, _NO_EDITS)
    assert [entry.edited for entry in entries] == [None, None, None]
    assert edit_at == "m3"  # no strategy: the last message of the page
    data = build_page(uuid.UUID(int=7), "openai", entries, page, edit_at)
    items = msgspec.json.decode(bytes(data.items))
    assert [item["role"] for item in items] == ["user", "tool", "user"]
    assert data.ids == ["m1", "m2", "m2"]  # one id per item
    assert msgspec.json.decode(bytes(data.metas)) == [{"a": 1}, {}, {}]
    assert data.this_time_tokens == 8
    assert (data.has_more, data.next_cursor) == (True, "next")


@pytest.mark.parametrize("rows", [[], ROWS[2:]], ids=["empty page", "only an itemless message"])
def test_pages_without_items_are_empty_arrays(rows: list[MessageRow]) -> None:
    page = Page(rows, has_more=False, next_cursor=None)
    entries, edit_at = edit_page(rows, _NO_EDITS)
    data = build_page(uuid.UUID(int=7), "anthropic", entries, page, edit_at)
    assert (bytes(data.items), bytes(data.metas), data.ids) == (b"[]", b"[]", [])
    assert edit_at == (rows[-1].id if rows else None)
