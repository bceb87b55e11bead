"""Reading messages page by page, and what stores and reads reject, through the published `acontext`
SDK (0.1.22): cursors, alignment of split messages, bad parameters, bad blobs, tool-result pairing,
reads without the converter."""

from __future__ import annotations

import json
from typing import Any

import acontext
import httpx
import pytest
from acontext.errors import APIError

from acx.tokens import get_encoding
from tests.integration._helpers import (
    FORMATS,
    assert_api_error,
    assert_error_response,
    message_count,
    poll,
    rendering_formats,
    sdk_client,
    store_raw,
    turn_of,
    validate_items,
)
from tests.integration._message_cases import (
    CONVERSATIONS,
    Expect,
    check_items,
    new_session,
)
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration


def _token_count(texts: list[str]) -> int:
    """o200k tokens of text-only messages, per acontext-api.md §9 (each text + newline, summed)."""
    encoding = get_encoding()
    return sum(len(encoding.encode(text + "\n")) for text in texts)


@pytest.mark.parametrize("limit", [1, 2, 7])
def test_cursor_walk(client: acontext.AcontextClient, limit: int) -> None:
    """Paging 23 messages either way: union is everything, no duplicates, chronological pages."""
    total = 23
    session_id = new_session(client)
    texts = [f"message {i:02d}" for i in range(total)]
    ids = [
        client.sessions.store_message(
            session_id,
            blob={"role": "user" if i % 2 == 0 else "assistant", "content": text},  # type: ignore[arg-type]
            meta={"i": i},
        ).id
        for i, text in enumerate(texts)
    ]
    for desc in (False, True):
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
        assert len(seen) == len(set(seen)) == total, (desc, pages)
        assert len(pages) == -(-total // limit)
        if desc:
            assert pages[0] == ids[-limit:], "first time_desc page must be the newest window"
            assert [mid for chunk in reversed(pages) for mid in chunk] == ids
        else:
            assert seen == ids

    for desc in (False, True):
        everything = client.sessions.get_messages(session_id, time_desc=desc)
        assert everything.ids == ids
        assert everything.has_more is False
        assert client.sessions.get_messages(session_id, limit=0, time_desc=desc).ids == ids
    assert client.sessions.get_messages(session_id, limit=200).ids == ids


async def test_async_client_store_and_read(stack: Stack) -> None:
    """The async SDK client stores in each format and pages with time_desc."""
    async with acontext.AcontextAsyncClient(api_key=stack.root_key, base_url=stack.api_url) as client:
        session = await client.sessions.create()
        ids = []
        for source in FORMATS:
            blob, _ = CONVERSATIONS[source][0]
            ids.append((await client.sessions.store_message(session.id, blob=blob, format=source)).id)  # type: ignore[arg-type]
        for fmt in FORMATS:
            page = await client.sessions.get_messages(session.id, format=fmt)  # type: ignore[arg-type]
            assert page.ids == ids
            check_items(fmt, page.items, [CONVERSATIONS[s][0][1] for s in FORMATS])
        newest = await client.sessions.get_messages(session.id, limit=3, time_desc=True)
        assert newest.ids == ids[1:]
        assert newest.has_more is True
        rest = await client.sessions.get_messages(session.id, limit=3, time_desc=True, cursor=newest.next_cursor)
        assert rest.ids == ids[:1]
        assert rest.has_more is False


def test_split_message_keeps_alignment(client: acontext.AcontextClient) -> None:
    """An Anthropic turn with two tool results and text becomes 3 OpenAI items sharing one id."""
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
    page = client.sessions.get_messages(session_id, format="openai")
    validate_items("openai", page.items)
    assert page.ids == [call.id, results.id, results.id, results.id]
    assert page.metas == [{"turn": "call"}] + [{"turn": "results"}] * 3
    tool_1, tool_2, user = (turn_of("openai", item) for item in page.items[1:])
    assert (tool_1.role, tool_1.results) == ("tool", [("call_1", "one")])
    assert (tool_2.role, tool_2.results) == ("tool", [("call_2", "two")])
    assert (user.role, user.texts) == ("user", ["thanks"])

    second = client.sessions.get_messages(session_id, format="openai", limit=1, cursor=None, time_desc=True)
    assert second.ids == [results.id] * 3
    assert len(second.items) == 3
    for fmt in ("anthropic", "gemini", "acontext"):
        other = client.sessions.get_messages(session_id, format=fmt)
        validate_items(fmt, other.items)
        assert other.ids == [call.id, results.id], fmt
        turn = turn_of(fmt, other.items[1])
        assert turn.texts == ["thanks"]
        assert [text for _, text in turn.results] == ["one", "two"]


@pytest.mark.parametrize("limit", [-1, 201, "abc", "1.5"])
def test_limit_out_of_range(client: acontext.AcontextClient, session_id: str, limit: Any) -> None:
    """limit must be an integer in 0..200."""
    with pytest.raises(APIError) as exc:
        client.sessions.get_messages(session_id, limit=limit)
    assert_api_error(exc.value, 400)


def test_invalid_format(client: acontext.AcontextClient, http: httpx.Client, session_id: str) -> None:
    """An unknown format is 400 for reads and stores."""
    with pytest.raises(APIError) as exc:
        client.sessions.get_messages(session_id, format="xml")  # type: ignore[arg-type]
    assert_api_error(exc.value, 400)
    assert_error_response(store_raw(http, session_id, {"role": "user", "content": "x"}, fmt="xml"), 400)
    assert message_count(http, session_id) == 0


def test_invalid_cursor(client: acontext.AcontextClient, http: httpx.Client, session_id: str) -> None:
    """A garbage cursor, or one issued by the sessions listing, is 400."""
    for text in ("a", "b"):
        client.sessions.store_message(session_id, blob={"role": "user", "content": text})
    sessions_cursor = http.get("/session", params={"limit": 1}).json()["data"]["next_cursor"]
    assert sessions_cursor
    for bad in ("garbage!", "Zm9vfGJhcg", "%%%", sessions_cursor):
        for desc in (False, True):
            with pytest.raises(APIError) as exc:
                client.sessions.get_messages(session_id, limit=1, cursor=bad, time_desc=desc)
            assert_api_error(exc.value, 400)


def test_missing_session(client: acontext.AcontextClient) -> None:
    """Reading or storing into a session that does not exist is 404."""
    missing = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(APIError) as exc:
        client.sessions.get_messages(missing)
    assert_api_error(exc.value, 404)
    with pytest.raises(APIError) as exc:
        client.sessions.store_message(missing, blob={"role": "user", "content": "x"})
    assert_api_error(exc.value, 404)


BAD_BLOBS: list[tuple[str, Any, str]] = [
    ("openai", {"role": "bot", "content": "x"}, "unknown_role"),
    ("openai", "just a string", "blob_not_object"),
    ("openai", [{"role": "user", "content": "x"}], "blob_not_object"),
    ("openai", {"role": "user", "content": [{"type": "bogus", "bogus": 1}]}, "unknown_part_type"),
    ("openai", {"role": "tool", "content": "x"}, "missing_tool_call_id"),
    ("openai", {"role": "tool", "tool_call_id": "call_nowhere", "content": "x"}, "orphan_tool_result"),
    (
        "openai",
        {
            "role": "assistant",
            "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": 7}}],
        },
        "invalid_tool_arguments",
    ),
    (
        "openai",
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png,abc"}}]},
        "invalid_data_url",
    ),
    ("anthropic", {"role": "tool", "content": [{"type": "text", "text": "x"}]}, "unknown_role"),
    ("anthropic", {"role": "user", "content": [{"type": "bogus"}]}, "unknown_part_type"),
    ("anthropic", {"role": "user", "content": []}, "empty_content"),
    (
        "anthropic",
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_x", "content": "r"}]},
        "orphan_tool_result",
    ),
    (
        "anthropic",
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": "str"}]},
        "invalid_tool_arguments",
    ),
    (
        "anthropic",
        {
            "role": "user",
            "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "!!!"}}],
        },
        "invalid_base64",
    ),
    ("gemini", {"role": "assistant", "parts": [{"text": "x"}]}, "unknown_role"),
    ("gemini", {"role": "user", "parts": [{}]}, "empty_part"),
    ("gemini", {"role": "user", "parts": ["text"]}, "blob_not_object"),
    (
        "gemini",
        {"role": "user", "parts": [{"text": "a", "inlineData": {"mimeType": "image/png", "data": "AAAA"}}]},
        "multiple_part_data_fields",
    ),
    ("gemini", {"role": "user", "parts": [{"inlineData": {"data": "AAAA"}}]}, "missing_mime_type"),
    ("gemini", {"role": "user", "parts": [{"inlineData": {"mimeType": "image/png", "data": "@@@"}}]}, "invalid_base64"),
    (
        "gemini",
        {"role": "user", "parts": [{"functionResponse": {"name": "nope", "response": {"output": "x"}}}]},
        "orphan_tool_result",
    ),
    ("acontext", {"role": "system", "parts": [{"type": "text", "text": "x"}]}, "unknown_role"),
    (
        "acontext",
        {"role": "user", "parts": [{"type": "tool-result", "text": "x", "meta": {"tool_call_id": "nope"}}]},
        "orphan_tool_result",
    ),
]


@pytest.mark.parametrize(
    ("fmt", "blob", "error_code"), BAD_BLOBS, ids=[f"{f}-{c}-{i}" for i, (f, _, c) in enumerate(BAD_BLOBS)]
)
def test_bad_blob_is_rejected_and_not_stored(
    http: httpx.Client, session_id: str, fmt: str, blob: Any, error_code: str
) -> None:
    """Each malformed blob is a 400 with its conversion error code, and nothing is stored."""
    first = store_raw(http, session_id, {"role": "user", "content": "before"})
    assert first.status_code == 201, first.text
    assert_error_response(store_raw(http, session_id, blob, fmt=fmt), 400, error_code)
    assert message_count(http, session_id) == 1
    after = store_raw(http, session_id, {"role": "assistant", "content": "after"})
    assert after.status_code == 201, after.text
    assert after.json()["data"]["parent_id"] == first.json()["data"]["id"]


def test_missing_blob(http: httpx.Client, session_id: str) -> None:
    """A body without blob (or with a null one, or not JSON) is 400."""
    assert_error_response(http.post(f"/session/{session_id}/messages", json={"format": "openai"}), 400)
    assert_error_response(http.post(f"/session/{session_id}/messages", json={"blob": None}), 400)
    assert_error_response(
        http.post(f"/session/{session_id}/messages", content=b"{nope", headers={"Content-Type": "application/json"}),
        400,
    )
    assert message_count(http, session_id) == 0


def test_tool_result_pairing(http: httpx.Client, session_id: str) -> None:
    """A result must answer an earlier unanswered call: wrong id and second answer are orphans."""
    call = {
        "role": "assistant",
        "tool_calls": [{"id": "call_p", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
    }
    assert store_raw(http, session_id, call).status_code == 201
    wrong = store_raw(http, session_id, {"role": "tool", "tool_call_id": "call_q", "content": "x"})
    assert_error_response(wrong, 400, "orphan_tool_result")
    right = store_raw(http, session_id, {"role": "tool", "tool_call_id": "call_p", "content": "x"})
    assert right.status_code == 201, right.text
    again = store_raw(
        http,
        session_id,
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_p", "content": "y"}]},
        fmt="anthropic",
    )
    assert_error_response(again, 400, "orphan_tool_result")
    assert message_count(http, session_id) == 2


def test_gemini_results_pair_by_name_in_order(client: acontext.AcontextClient, http: httpx.Client) -> None:
    """Id-less Gemini responses answer the earliest unanswered call of that name; ids stay paired."""
    session_id = new_session(client)
    client.sessions.store_message(
        session_id,
        blob={  # type: ignore[arg-type]
            "role": "model",
            "parts": [
                {"functionCall": {"name": "f", "args": {"n": 1}}},
                {"functionCall": {"name": "f", "args": {"n": 2}}},
            ],
        },
        format="gemini",
    )
    client.sessions.store_message(
        session_id,
        blob={  # type: ignore[arg-type]
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "f", "response": {"output": "r1"}}},
                {"functionResponse": {"name": "f", "response": {"output": "r2"}}},
            ],
        },
        format="gemini",
    )
    extra = {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"output": "r3"}}}]}
    assert_error_response(store_raw(http, session_id, extra, fmt="gemini"), 400, "orphan_tool_result")
    page = client.sessions.get_messages(session_id, format="openai")
    validate_items("openai", page.items)
    calls = turn_of("openai", page.items[0]).calls
    results = [turn_of("openai", item).results[0] for item in page.items[1:]]
    assert [args for _, _, args in calls] == [{"n": 1}, {"n": 2}]
    assert results == [(calls[0][0], "r1"), (calls[1][0], "r2")]
    assert calls[0][0] != calls[1][0]


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


def test_same_format_reads_are_verbatim(client: acontext.AcontextClient, http: httpx.Client) -> None:
    """Provider-only details (key order, extra fields, names) survive a same-format read."""
    session_id = new_session(client)
    blobs = {
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
    for fmt, blob in blobs.items():
        response = store_raw(http, session_id, blob, fmt=fmt)
        assert response.status_code == 201, response.text
    for position, (fmt, blob) in enumerate(blobs.items()):
        raw = http.get(f"/session/{session_id}/messages", params={"format": fmt})
        assert raw.status_code == 200, raw.text
        item = raw.json()["data"]["items"][position]
        assert json.dumps(item) == json.dumps(blob), fmt
        validate_items(fmt, raw.json()["data"]["items"])
