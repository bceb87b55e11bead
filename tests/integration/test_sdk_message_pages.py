"""Reading messages page by page through the published `acontext` SDK (0.1.22): cursors, the async
client, alignment of split messages, reads without the converter, verbatim same-format reads.
What stores and reads reject is in test_sdk_message_rejects.py."""

from __future__ import annotations

import json
from typing import Any

import acontext
import httpx
import pytest

from acx.tokens import get_encoding
from tests.integration._helpers import FORMATS, poll, rendering_formats, sdk_client, store_raw, turn_of
from tests.integration._message_cases import (
    CONVERSATIONS,
    Expect,
    check_items,
    new_session,
)
from tests.integration.conftest import Stack
from tests.sdk_types import validate_items

pytestmark = pytest.mark.integration


def _token_count(texts: list[str]) -> int:
    """o200k tokens of text-only messages, per acontext-api.md §9 (each text + newline, summed)."""
    encoding = get_encoding()
    return sum(len(encoding.encode(text + "\n")) for text in texts)


def _walk_session(client: acontext.AcontextClient) -> tuple[str, list[str], list[str]]:
    """23 alternating user/assistant messages with meta {"i": i}: (session id, texts, ids)."""
    session_id = new_session(client)
    texts = [f"message {i:02d}" for i in range(23)]
    ids = [
        client.sessions.store_message(
            session_id,
            blob={"role": "user" if i % 2 == 0 else "assistant", "content": text},  # type: ignore[arg-type]
            meta={"i": i},
        ).id
        for i, text in enumerate(texts)
    ]
    return session_id, texts, ids


@pytest.mark.parametrize("desc", [False, True], ids=["oldest-first", "newest-first"])
@pytest.mark.parametrize("limit", [1, 2, 7])
def test_cursor_walk(client: acontext.AcontextClient, limit: int, desc: bool) -> None:
    """Paging 23 messages: union is everything, no duplicates, chronological pages."""
    total = 23
    session_id, texts, ids = _walk_session(client)
    pages: list[list[str]] = []
    cursor = None
    while True:
        page = client.sessions.get_messages(session_id, limit=limit, cursor=cursor, time_desc=desc, format="openai")
        assert len(page.items) == len(page.ids) == len(page.metas) <= limit
        positions = [ids.index(mid) for mid in page.ids]
        assert positions == sorted(positions), "page not chronological"
        assert [item["content"] for item in page.items] == [texts[p] for p in positions]
        assert page.metas == [{"i": p} for p in positions]
        assert page.this_time_tokens == _token_count([texts[p] for p in positions])
        assert page.edit_at_message_id == page.ids[-1]
        pages.append(page.ids)
        if not page.has_more:
            assert not page.next_cursor
            break
        assert len(page.ids) == limit
        assert page.next_cursor
        cursor = page.next_cursor
    seen = [mid for chunk in pages for mid in chunk]
    assert len(seen) == len(set(seen)) == total, pages
    assert len(pages) == -(-total // limit)
    if desc:
        assert pages[0] == ids[-limit:], "first time_desc page must be the newest window"
        assert [mid for chunk in reversed(pages) for mid in chunk] == ids
    else:
        assert seen == ids


@pytest.mark.parametrize("desc", [False, True], ids=["oldest-first", "newest-first"])
def test_read_without_a_limit_is_everything(client: acontext.AcontextClient, desc: bool) -> None:
    """No limit, limit=0 and limit=200 read the whole session, chronologically, either way."""
    session_id, _, ids = _walk_session(client)
    everything = client.sessions.get_messages(session_id, time_desc=desc)
    assert everything.ids == ids
    assert everything.has_more is False
    assert client.sessions.get_messages(session_id, limit=0, time_desc=desc).ids == ids
    assert client.sessions.get_messages(session_id, limit=200, time_desc=desc).ids == ids


@pytest.mark.parametrize("fmt", FORMATS)
async def test_async_client_store_and_read(stack: Stack, fmt: str) -> None:
    """The async SDK client stores in each format, reads in `fmt` and pages with time_desc."""
    async with acontext.AcontextAsyncClient(api_key=stack.root_key, base_url=stack.api_url) as client:
        session = await client.sessions.create()
        ids = []
        for source in FORMATS:
            blob, _ = CONVERSATIONS[source][0]
            ids.append((await client.sessions.store_message(session.id, blob=blob, format=source)).id)  # type: ignore[arg-type]
        page = await client.sessions.get_messages(session.id, format=fmt)  # type: ignore[arg-type]
        assert page.ids == ids
        check_items(fmt, page.items, [CONVERSATIONS[s][0][1] for s in FORMATS])
        newest = await client.sessions.get_messages(session.id, limit=3, time_desc=True)
        assert newest.ids == ids[1:]
        assert newest.has_more is True
        rest = await client.sessions.get_messages(session.id, limit=3, time_desc=True, cursor=newest.next_cursor)
        assert rest.ids == ids[:1]
        assert rest.has_more is False


def _split_turn(client: acontext.AcontextClient) -> tuple[str, str, str]:
    """An OpenAI call turn, then an Anthropic turn with two tool results and text: (session, call id, results id)."""
    session_id = new_session(client)
    call = client.sessions.store_message(
        session_id,
        blob={
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"n": 1}'}},
                {"id": "call_2", "type": "function", "function": {"name": "g", "arguments": '{"n": 2}'}},
            ],
        },
        meta={"turn": "call"},
    )
    results = client.sessions.store_message(
        session_id,
        blob={
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "one"},
                {"type": "tool_result", "tool_use_id": "call_2", "content": [{"type": "text", "text": "two"}]},
                {"type": "text", "text": "thanks"},
            ],
        },
        format="anthropic",
        meta={"turn": "results"},
    )
    return session_id, call.id, results.id


def test_split_message_keeps_alignment(client: acontext.AcontextClient) -> None:
    """An Anthropic turn with two tool results and text becomes 3 OpenAI items sharing one id."""
    session_id, call_id, results_id = _split_turn(client)
    page = client.sessions.get_messages(session_id, format="openai")
    validate_items("openai", page.items)
    assert page.ids == [call_id, results_id, results_id, results_id]
    assert page.metas == [{"turn": "call"}] + [{"turn": "results"}] * 3
    tool_1, tool_2, user = (turn_of("openai", item) for item in page.items[1:])
    assert (tool_1.role, tool_1.results) == ("tool", [("call_1", "one")])
    assert (tool_2.role, tool_2.results) == ("tool", [("call_2", "two")])
    assert (user.role, user.texts) == ("user", ["thanks"])

    second = client.sessions.get_messages(session_id, format="openai", limit=1, cursor=None, time_desc=True)
    assert second.ids == [results_id] * 3
    assert len(second.items) == 3


@pytest.mark.parametrize("fmt", ["anthropic", "gemini", "acontext"])
def test_unsplit_message_in_other_formats(client: acontext.AcontextClient, fmt: str) -> None:
    """The same turn is one item in the other formats, results and text together."""
    session_id, call_id, results_id = _split_turn(client)
    other = client.sessions.get_messages(session_id, format=fmt)  # type: ignore[arg-type]
    validate_items(fmt, other.items)
    assert other.ids == [call_id, results_id]
    turn = turn_of(fmt, other.items[1])
    assert turn.texts == ["thanks"]
    assert [text for _, text in turn.results] == ["one", "two"]


SAMPLES: list[tuple[str, dict[str, Any], Expect]] = [
    ("openai", {"role": "user", "content": "stopped worker one"}, Expect("user", ["stopped worker one"])),
    (
        "anthropic",
        {"role": "assistant", "content": [{"type": "text", "text": "stopped worker two"}]},
        Expect("assistant", ["stopped worker two"]),
    ),
    ("gemini", {"role": "user", "parts": [{"text": "stopped worker three"}]}, Expect("user", ["stopped worker three"])),
    (
        "acontext",
        {"role": "assistant", "parts": [{"type": "text", "text": "stopped worker four"}]},
        Expect("assistant", ["stopped worker four"]),
    ),
]


def _stable(page: dict[str, Any]) -> dict[str, Any]:
    """A page without the per-message fields processing may legitimately change (status, updated_at)."""
    volatile = {"session_task_process_status", "updated_at"}
    items = [{k: v for k, v in item.items() if k not in volatile} for item in page["items"]]
    return {**page, "items": items}


def test_readable_without_worker_then_cached(worker_stopped: Stack) -> None:
    """With the converter down, messages are encoded inline; once it is back, renderings get cached."""
    stack = worker_stopped
    with sdk_client(stack.api_url, stack.root_key) as client:
        session_id = new_session(client)
        ids = [
            client.sessions.store_message(session_id, blob=blob, format=fmt, meta={"n": i}).id  # type: ignore[arg-type]
            for i, (fmt, blob, _) in enumerate(SAMPLES)
        ]
        expects = [exp for _, _, exp in SAMPLES]
        inline: dict[str, Any] = {}
        for fmt in FORMATS:
            page = client.sessions.get_messages(session_id, format=fmt)  # type: ignore[arg-type]
            assert page.ids == ids
            assert page.metas == [{"n": i} for i in range(len(ids))]
            assert page.this_time_tokens == _token_count([exp.texts[0] for exp in expects])
            check_items(fmt, page.items, expects)
            inline[fmt] = page.model_dump()

        stack.worker.start()
        want = set(FORMATS)
        cached = poll(lambda: all(f >= want for f in rendering_formats(stack.database_url, ids).values()))
        assert cached, (
            f"renderings not cached after restart: {rendering_formats(stack.database_url, ids)}\n"
            f"{stack.worker.log_tail()}"
        )
        for fmt in FORMATS:
            page = client.sessions.get_messages(session_id, format=fmt)  # type: ignore[arg-type]
            assert _stable(page.model_dump()) == _stable(inline[fmt]), f"cached {fmt} differs from the inline one"


VERBATIM_BLOBS: dict[str, dict[str, Any]] = {
    "openai": {"content": "hi", "name": "alice", "role": "user"},
    "anthropic": {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "sig=="},
            {"type": "text", "text": "ok", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
        ],
    },
    "gemini": {"parts": [{"text": "yo", "thoughtSignature": "c2ln"}], "role": "user"},
}


@pytest.mark.parametrize("fmt", list(VERBATIM_BLOBS))
def test_same_format_reads_are_verbatim(http: httpx.Client, session_id: str, fmt: str) -> None:
    """Provider-only details (key order, extra fields, names) survive a same-format read in a mixed session."""
    for source, blob in VERBATIM_BLOBS.items():
        response = store_raw(http, session_id, blob, fmt=source)
        assert response.status_code == 201, response.text
    raw = http.get(f"/session/{session_id}/messages", params={"format": fmt})
    assert raw.status_code == 200, raw.text
    item = raw.json()["data"]["items"][list(VERBATIM_BLOBS).index(fmt)]
    assert json.dumps(item) == json.dumps(VERBATIM_BLOBS[fmt])
    validate_items(fmt, raw.json()["data"]["items"])
