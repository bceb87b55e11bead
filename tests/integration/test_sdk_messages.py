"""Storing and reading messages through the published `acontext` SDK (0.1.22): every format in and
out, the store response, acontext items, meta."""

from __future__ import annotations

import json
from typing import Any

import acontext
import httpx
import openai.types.chat
import pytest
from acontext.types.session import Message

from tests.integration._helpers import FORMATS, assert_error_response, message_count, store_raw, turn_of
from tests.integration._message_cases import (
    CONVERSATIONS,
    check_items,
    new_session,
    tool_call_blob,
)
from tests.sdk_types import validate_items

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("source", list(CONVERSATIONS))
def test_store_and_read_in_every_format(client: acontext.AcontextClient, source: str, fmt: str) -> None:
    """A conversation stored in `source` reads back in `fmt` with roles, text and tools intact."""
    conversation = CONVERSATIONS[source]
    session_id = new_session(client)
    ids = [client.sessions.store_message(session_id, blob=blob, format=source).id for blob, _ in conversation]  # type: ignore[arg-type]
    page = client.sessions.get_messages(session_id, format=fmt)  # type: ignore[arg-type]
    assert page.ids == ids
    assert page.metas == [{}] * len(ids)
    assert page.has_more is False
    assert not page.next_cursor
    assert page.edit_at_message_id == ids[-1]
    assert page.this_time_tokens > 0
    if fmt == source and fmt != "acontext":
        assert json.dumps(page.items) == json.dumps([blob for blob, _ in conversation]), "not verbatim"
    check_items(fmt, page.items, [exp for _, exp in conversation])


def test_store_response_shape(client: acontext.AcontextClient, http: httpx.Client) -> None:
    """The store response is an acontext Message: normalised role, acontext parts, user meta only."""
    session_id = new_session(client)
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
        blob=tool_call_blob("c9", "f", ""),  # type: ignore[arg-type]
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
    session_id = new_session(client, disable_task_tracking=True)
    stored = client.sessions.store_message(session_id, blob={"role": "user", "content": "hi"})
    assert stored.session_task_process_status == "disable_tracking"


def test_acontext_items_are_full_messages(client: acontext.AcontextClient) -> None:
    """format=acontext items are Message objects with user meta, system_meta and a parent chain."""
    session_id = new_session(client)
    first = client.sessions.store_message(session_id, blob={"role": "system", "content": "sys"})
    second = client.sessions.store_message(
        session_id,
        blob={"role": "user", "parts": [{"text": "hi"}]},  # type: ignore[arg-type]
        format="gemini",
        meta={"k": "v"},
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


@pytest.mark.parametrize("fmt", ["anthropic", "gemini", "acontext"])
def test_pydantic_blob_with_nulls(client: acontext.AcontextClient, fmt: str) -> None:
    """An OpenAI ChatCompletionMessage model (dumped with nulls by the SDK) is accepted and converts."""
    message = openai.types.chat.ChatCompletionMessage(
        role="assistant",
        content=None,
        tool_calls=[
            openai.types.chat.ChatCompletionMessageFunctionToolCall(
                id="call_m1",
                type="function",
                function={"name": "lookup", "arguments": '{"id": 7}'},  # type: ignore[arg-type]
            )
        ],
    )
    session_id = new_session(client)
    stored = client.sessions.store_message(session_id, blob=message)  # type: ignore[arg-type]
    assert stored.role == "assistant"
    page = client.sessions.get_messages(session_id, format=fmt)  # type: ignore[arg-type]
    validate_items(fmt, page.items)
    assert [(n, a) for _, n, a in turn_of(fmt, page.items[0]).calls] == [("lookup", {"id": 7})]


META: dict[str, Any] = {
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


def _store_metas(client: acontext.AcontextClient, http: httpx.Client) -> str:
    """A session of four messages: with META, without meta, with a null meta, with {}."""
    session_id = new_session(client)
    with_meta = client.sessions.store_message(session_id, blob={"role": "user", "content": "a"}, meta=META)
    assert with_meta.meta == META
    without = client.sessions.store_message(session_id, blob={"role": "assistant", "content": "b"})
    assert without.meta == {}
    null_meta = store_raw(http, session_id, {"role": "user", "content": "c"}, meta=None)
    assert null_meta.status_code == 201, null_meta.text
    assert null_meta.json()["data"]["meta"] == {}
    empty = client.sessions.store_message(session_id, blob={"role": "user", "content": "d"}, meta={})
    assert empty.meta == {}
    return session_id


@pytest.mark.parametrize("fmt", FORMATS)
def test_meta_round_trip(client: acontext.AcontextClient, http: httpx.Client, fmt: str) -> None:
    """User meta round-trips exactly (nested, floats, bools, unicode) in every format; {} when absent."""
    session_id = _store_metas(client, http)
    expected = [META, {}, {}, {}]
    page = client.sessions.get_messages(session_id, format=fmt)  # type: ignore[arg-type]
    assert page.metas == expected
    assert len(page.items) == 4
    if fmt == "acontext":
        assert [item["meta"] for item in page.items] == expected


def test_meta_keeps_json_number_types(client: acontext.AcontextClient, http: httpx.Client) -> None:
    """Floats stay floats and integers integers on the wire."""
    session_id = _store_metas(client, http)
    raw = http.get(f"/session/{session_id}/messages", params={"format": "openai"}).json()
    assert raw["data"]["metas"][0] == META
    assert isinstance(raw["data"]["metas"][0]["float"], float)
    assert isinstance(raw["data"]["metas"][0]["int"], int)


@pytest.mark.parametrize(
    ("meta", "status"),
    [
        pytest.param([1, 2], 400, id="list"),
        pytest.param("text", 400, id="string"),
        pytest.param(3, 400, id="number"),
        pytest.param({"blob": "x" * 70_000}, 413, id="over-64KB"),
    ],
)
def test_meta_validation(http: httpx.Client, session_id: str, meta: Any, status: int) -> None:
    """meta must be an object (400) of at most 64 KB (413); nothing is stored."""
    assert_error_response(store_raw(http, session_id, {"role": "user", "content": "x"}, meta=meta), status)
    assert message_count(http, session_id) == 0
