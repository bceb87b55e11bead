"""Message endpoints driven by the published `acontext` SDK (0.1.22): store, read, convert, page."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import acontext
import httpx
import openai.types.chat
import pytest
from acontext.errors import APIError
from acontext.messages import build_acontext_message
from acontext.types.session import Message

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
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration

ROLES: dict[str, dict[str, str]] = {
    "system": {"openai": "system", "anthropic": "system", "gemini": "user", "acontext": "user"},
    "user": {"openai": "user", "anthropic": "user", "gemini": "user", "acontext": "user"},
    "assistant": {"openai": "assistant", "anthropic": "assistant", "gemini": "model", "acontext": "assistant"},
    "tool": {"openai": "tool", "anthropic": "user", "gemini": "user", "acontext": "user"},
}


@dataclass
class Expect:
    """What a stored message must say in every format."""

    kind: str
    texts: list[str] = field(default_factory=list)
    calls: list[tuple[str | None, str, dict[str, Any]]] = field(default_factory=list)
    results: list[tuple[str | None, str, str]] = field(default_factory=list)  # (call id, call name, text)


OPENAI_CONVERSATION: list[tuple[dict[str, Any], Expect]] = [
    ({"role": "system", "content": "You are terse."}, Expect("system", ["You are terse."])),
    ({"role": "user", "content": "What's the weather in Paris?"}, Expect("user", ["What's the weather in Paris?"])),
    (
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_abc123",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris", "unit": "c"}'},
                }
            ],
        },
        Expect("assistant", calls=[("call_abc123", "get_weather", {"city": "Paris", "unit": "c"})]),
    ),
    (
        {"role": "tool", "tool_call_id": "call_abc123", "content": "18 degrees and sunny"},
        Expect("tool", results=[("call_abc123", "get_weather", "18 degrees and sunny")]),
    ),
    (
        {"role": "assistant", "content": "It is 18°C and sunny in Paris."},
        Expect("assistant", ["It is 18°C and sunny in Paris."]),
    ),
]

ANTHROPIC_CONVERSATION: list[tuple[dict[str, Any], Expect]] = [
    (
        {"role": "user", "content": [{"type": "text", "text": "Look up the time in Tokyo"}]},
        Expect("user", ["Look up the time in Tokyo"]),
    ),
    (
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_01A", "name": "get_time", "input": {"tz": "Asia/Tokyo"}},
            ],
        },
        Expect("assistant", ["Checking."], calls=[("toolu_01A", "get_time", {"tz": "Asia/Tokyo"})]),
    ),
    (
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01A", "content": "09:30"}]},
        Expect("tool", results=[("toolu_01A", "get_time", "09:30")]),
    ),
    (
        {"role": "assistant", "content": [{"type": "text", "text": "It is 09:30 in Tokyo."}]},
        Expect("assistant", ["It is 09:30 in Tokyo."]),
    ),
]

GEMINI_CONVERSATION: list[tuple[dict[str, Any], Expect]] = [
    ({"role": "user", "parts": [{"text": "Add 2 and 3"}]}, Expect("user", ["Add 2 and 3"])),
    (
        {"role": "model", "parts": [{"functionCall": {"name": "add", "args": {"a": 2, "b": 3}}}]},
        Expect("assistant", calls=[(None, "add", {"a": 2, "b": 3})]),
    ),
    (
        {"role": "user", "parts": [{"functionResponse": {"name": "add", "response": {"output": "5"}}}]},
        Expect("tool", results=[(None, "add", "5")]),
    ),
    ({"role": "model", "parts": [{"text": "2 + 3 = 5"}]}, Expect("assistant", ["2 + 3 = 5"])),
]


def _tool_call_blob(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    """An OpenAI assistant message with one function call."""
    function = {"name": name, "arguments": arguments}
    return {"role": "assistant", "tool_calls": [{"id": call_id, "type": "function", "function": function}]}


def _acontext_blob(role: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    """An acontext blob as the SDK helper builds it (with nulls), as a plain dict."""
    message = build_acontext_message(role=role, parts=parts)  # type: ignore[arg-type]
    return {
        "role": message.role,
        "parts": [{"type": p.type, "text": p.text, "meta": p.meta, "file_field": p.file_field} for p in message.parts],
        "meta": message.meta,
    }


ACONTEXT_CONVERSATION: list[tuple[dict[str, Any], Expect]] = [
    (_acontext_blob("user", [{"type": "text", "text": "Search for cats"}]), Expect("user", ["Search for cats"])),
    (
        _acontext_blob(
            "assistant",
            [{"type": "tool-call", "meta": {"id": "call_s1", "name": "search", "arguments": '{"q": "cats"}'}}],
        ),
        Expect("assistant", calls=[("call_s1", "search", {"q": "cats"})]),
    ),
    (
        _acontext_blob("user", [{"type": "tool-result", "text": "3 results", "meta": {"tool_call_id": "call_s1"}}]),
        Expect("tool", results=[("call_s1", "search", "3 results")]),
    ),
    (
        _acontext_blob("assistant", [{"type": "text", "text": "Found 3 results."}]),
        Expect("assistant", ["Found 3 results."]),
    ),
]

CONVERSATIONS = {
    "openai": OPENAI_CONVERSATION,
    "anthropic": ANTHROPIC_CONVERSATION,
    "gemini": GEMINI_CONVERSATION,
    "acontext": ACONTEXT_CONVERSATION,
}


def _new_session(client: acontext.AcontextClient, **kwargs: Any) -> str:
    return client.sessions.create(**kwargs).id


def _check_rendering(fmt: str, items: list[Any], expects: list[Expect]) -> None:
    """Roles, texts, tool calls and tool results of `items` match `expects` (one item per message)."""
    validate_items(fmt, items)
    assert len(items) == len(expects), items
    call_ids: dict[str, str | None] = {}  # call name -> id seen in this rendering
    for item, exp in zip(items, expects, strict=True):
        turn = turn_of(fmt, item)
        assert turn.role == ROLES[exp.kind][fmt], (fmt, item)
        assert turn.texts == exp.texts, (fmt, item)
        assert [(name, args) for _, name, args in turn.calls] == [(n, a) for _, n, a in exp.calls], (fmt, item)
        for (got_id, name, _), (want_id, _, _) in zip(turn.calls, exp.calls, strict=True):
            if fmt != "gemini":
                assert got_id, (fmt, item)
                if want_id is not None:
                    assert got_id == want_id, (fmt, item)
            call_ids[name] = got_id
        assert len(turn.results) == len(exp.results), (fmt, item)
        for (got_ref, got_text), (_, name, text) in zip(turn.results, exp.results, strict=True):
            assert got_text == text, (fmt, item)
            assert got_ref == (name if fmt == "gemini" else call_ids[name]), (fmt, item, call_ids)


@pytest.mark.parametrize("source", list(CONVERSATIONS))
def test_store_and_read_in_every_format(client: acontext.AcontextClient, source: str) -> None:
    """A conversation stored in `source` reads back in all four formats with roles, text and tools intact."""
    conversation = CONVERSATIONS[source]
    session_id = _new_session(client)
    ids = [client.sessions.store_message(session_id, blob=blob, format=source).id for blob, _ in conversation]  # type: ignore[arg-type]
    expects = [exp for _, exp in conversation]
    for fmt in FORMATS:
        page = client.sessions.get_messages(session_id, format=fmt)  # type: ignore[arg-type]
        assert page.ids == ids, fmt
        assert page.metas == [{}] * len(ids)
        assert page.has_more is False
        assert not page.next_cursor
        assert page.edit_at_message_id == ids[-1]
        assert page.this_time_tokens > 0
        if fmt == source and fmt != "acontext":
            assert json.dumps(page.items) == json.dumps([blob for blob, _ in conversation]), "not verbatim"
        _check_rendering(fmt, page.items, expects)


def test_store_response_shape(client: acontext.AcontextClient, http: httpx.Client) -> None:
    """The store response is an acontext Message: normalised role, acontext parts, user meta only."""
    session_id = _new_session(client)
    response = store_raw(http, session_id, {"role": "system", "content": "Be brief."})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["code"] == 0
    stored = Message.model_validate(body["data"])
    assert stored.session_id == session_id
    assert stored.parent_id is None
    assert stored.role == "user"
    assert stored.meta == {}
    assert [(p.type, p.text) for p in stored.parts] == [("text", "Be brief.")]
    assert stored.session_task_process_status == "pending"
    assert "task_id" in body["data"]

    call = client.sessions.store_message(
        session_id,
        blob=_tool_call_blob("c9", "f", ""),
    )
    assert call.role == "assistant"
    assert call.parent_id == stored.id
    assert [p.type for p in call.parts] == ["tool-call"]
    assert call.parts[0].meta is not None
    assert call.parts[0].meta["id"] == "c9"
    assert call.parts[0].meta["name"] == "f"
    result = client.sessions.store_message(session_id, blob={"role": "tool", "tool_call_id": "c9", "content": "ok"})
    assert result.role == "user"
    assert result.parent_id == call.id
    assert [(p.type, p.text) for p in result.parts] == [("tool-result", "ok")]
    assert result.parts[0].meta is not None
    assert result.parts[0].meta["tool_call_id"] == "c9"


def test_disabled_tracking_status(client: acontext.AcontextClient) -> None:
    """Messages of a session with task tracking disabled carry status disable_tracking."""
    session_id = _new_session(client, disable_task_tracking=True)
    stored = client.sessions.store_message(session_id, blob={"role": "user", "content": "hi"})
    assert stored.session_task_process_status == "disable_tracking"


def test_acontext_items_are_full_messages(client: acontext.AcontextClient) -> None:
    """format=acontext items are Message objects with user meta, system_meta and a parent chain."""
    session_id = _new_session(client)
    first = client.sessions.store_message(session_id, blob={"role": "system", "content": "sys"})
    second = client.sessions.store_message(
        session_id, blob={"role": "user", "parts": [{"text": "hi"}]}, format="gemini", meta={"k": "v"}
    )
    page = client.sessions.get_messages(session_id, format="acontext")
    assert page.ids == [first.id, second.id]
    keys = {
        "id", "session_id", "parent_id", "role", "parts", "meta", "system_meta",
        "session_task_process_status", "task_id", "created_at", "updated_at",
    }  # fmt: skip
    for item in page.items:
        assert keys <= set(item), item
        Message.model_validate(item)
    a, b = page.items
    assert (a["id"], a["parent_id"], a["session_id"]) == (first.id, None, session_id)
    assert (b["id"], b["parent_id"]) == (second.id, first.id)
    assert a["role"] == "user"
    assert a["meta"] == {}
    assert a["system_meta"]["source_format"] == "openai"
    assert a["system_meta"]["original_role"] == "system"
    assert b["meta"] == {"k": "v"}
    assert b["system_meta"]["source_format"] == "gemini"
    assert "__user_meta__" not in json.dumps(page.items)


def test_pydantic_blob_with_nulls(client: acontext.AcontextClient) -> None:
    """An OpenAI ChatCompletionMessage model (dumped with nulls by the SDK) is accepted and converts."""
    message = openai.types.chat.ChatCompletionMessage(
        role="assistant",
        content=None,
        tool_calls=[
            openai.types.chat.ChatCompletionMessageFunctionToolCall(
                id="call_m1", type="function", function={"name": "lookup", "arguments": '{"id": 7}'}
            )
        ],
    )
    session_id = _new_session(client)
    stored = client.sessions.store_message(session_id, blob=message)  # type: ignore[arg-type]
    assert stored.role == "assistant"
    for fmt in ("anthropic", "gemini", "acontext"):
        page = client.sessions.get_messages(session_id, format=fmt)  # type: ignore[arg-type]
        validate_items(fmt, page.items)
        assert [(n, a) for _, n, a in turn_of(fmt, page.items[0]).calls] == [("lookup", {"id": 7})]


def test_meta_round_trip(client: acontext.AcontextClient, http: httpx.Client) -> None:
    """User meta round-trips exactly (nested, floats, bools, unicode) in every format; {} when absent."""
    meta = {
        "nested": {"a": [1, 2, {"b": None}], "deep": {"deeper": {"x": "y"}}},
        "float": 1.25,
        "tiny": 1e-9,
        "neg": -0.5,
        "int": 12345678901,
        "yes": True,
        "no": False,
        "none": None,
        "unicode": "héllo 世界 🚀 <&>",
        "empty": {},
        "list": [],
    }
    session_id = _new_session(client)
    with_meta = client.sessions.store_message(session_id, blob={"role": "user", "content": "a"}, meta=meta)
    assert with_meta.meta == meta
    without = client.sessions.store_message(session_id, blob={"role": "assistant", "content": "b"})
    assert without.meta == {}
    null_meta = store_raw(http, session_id, {"role": "user", "content": "c"}, meta=None)
    assert null_meta.status_code == 201, null_meta.text
    assert null_meta.json()["data"]["meta"] == {}
    empty = client.sessions.store_message(session_id, blob={"role": "user", "content": "d"}, meta={})
    assert empty.meta == {}
    expected = [meta, {}, {}, {}]
    for fmt in FORMATS:
        page = client.sessions.get_messages(session_id, format=fmt)  # type: ignore[arg-type]
        assert page.metas == expected, fmt
        assert len(page.items) == 4
        if fmt == "acontext":
            assert [item["meta"] for item in page.items] == expected
    raw = http.get(f"/session/{session_id}/messages", params={"format": "openai"}).json()
    assert raw["data"]["metas"][0] == meta
    assert isinstance(raw["data"]["metas"][0]["float"], float)
    assert isinstance(raw["data"]["metas"][0]["int"], int)


def test_meta_validation(http: httpx.Client, session_id: str) -> None:
    """meta must be an object (400) of at most 64 KB (413); nothing is stored."""
    for bad in ([1, 2], "text", 3):
        assert_error_response(store_raw(http, session_id, {"role": "user", "content": "x"}, meta=bad), 400)
    too_big = {"blob": "x" * 70_000}
    assert_error_response(store_raw(http, session_id, {"role": "user", "content": "x"}, meta=too_big), 413)
    assert message_count(http, session_id) == 0


def _token_count(texts: list[str]) -> int:
    """o200k tokens of text-only messages, per acontext-api.md §9 (each text + newline, summed)."""
    encoding = get_encoding()
    return sum(len(encoding.encode(text + "\n")) for text in texts)


@pytest.mark.parametrize("limit", [1, 2, 7])
def test_cursor_walk(client: acontext.AcontextClient, limit: int) -> None:
    """Paging 23 messages either way: union is everything, no duplicates, chronological pages."""
    total = 23
    session_id = _new_session(client)
    texts = [f"message {i:02d}" for i in range(total)]
    ids = [
        client.sessions.store_message(
            session_id, blob={"role": "user" if i % 2 == 0 else "assistant", "content": text}, meta={"i": i}
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
            _check_rendering(fmt, page.items, [CONVERSATIONS[s][0][1] for s in FORMATS])
        newest = await client.sessions.get_messages(session.id, limit=3, time_desc=True)
        assert newest.ids == ids[1:]
        assert newest.has_more is True
        rest = await client.sessions.get_messages(session.id, limit=3, time_desc=True, cursor=newest.next_cursor)
        assert rest.ids == ids[:1]
        assert rest.has_more is False


def test_split_message_keeps_alignment(client: acontext.AcontextClient) -> None:
    """An Anthropic turn with two tool results and text becomes 3 OpenAI items sharing one id."""
    session_id = _new_session(client)
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
        other = client.sessions.get_messages(session_id, format=fmt)  # type: ignore[arg-type]
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
    session_id = _new_session(client)
    client.sessions.store_message(
        session_id,
        blob={
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
        blob={
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
    """With the converter down, messages render inline; once it is back, renderings get cached."""
    stack = worker_stopped
    with sdk_client(stack.api_url, stack.root_key) as client:
        session_id = _new_session(client)
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
            _check_rendering(fmt, page.items, expects)
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
    session_id = _new_session(client)
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
