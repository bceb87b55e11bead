"""What message stores and reads reject, through the published `acontext` SDK (0.1.22): bad
parameters, missing sessions, bad blobs, and how tool results pair with their calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import acontext
import httpx
import pytest
from acontext.errors import APIError

from tests.integration._helpers import assert_api_error, assert_error_response, message_count, store_raw, turn_of
from tests.integration._message_cases import new_session
from tests.sdk_types import validate_items

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("limit", [-1, 201, "abc", "1.5"])
def test_limit_out_of_range(client: acontext.AcontextClient, session_id: str, limit: Any) -> None:
    """limit must be an integer in 0..200."""
    with pytest.raises(APIError) as exc:
        client.sessions.get_messages(session_id, limit=limit)
    assert_api_error(exc.value, 400)


def test_invalid_format_read(client: acontext.AcontextClient, session_id: str) -> None:
    """An unknown format is 400 for reads."""
    with pytest.raises(APIError) as exc:
        client.sessions.get_messages(session_id, format="xml")  # type: ignore[arg-type]
    assert_api_error(exc.value, 400)


def test_invalid_format_store(http: httpx.Client, session_id: str) -> None:
    """An unknown format is 400 for stores, and nothing is stored."""
    assert_error_response(store_raw(http, session_id, {"role": "user", "content": "x"}, fmt="xml"), 400)
    assert message_count(http, session_id) == 0


SESSIONS_CURSOR = "<a cursor of the sessions listing>"


@pytest.mark.parametrize("desc", [False, True], ids=["oldest-first", "newest-first"])
@pytest.mark.parametrize(
    "bad",
    [
        pytest.param("garbage!", id="garbage"),
        pytest.param("Zm9vfGJhcg", id="foreign-base64"),
        pytest.param("%%%", id="not-base64"),
        pytest.param(SESSIONS_CURSOR, id="sessions-cursor"),
    ],
)
def test_invalid_cursor(
    client: acontext.AcontextClient, http: httpx.Client, session_id: str, bad: str, desc: bool
) -> None:
    """A garbage cursor, or one issued by the sessions listing, is 400."""
    for text in ("a", "b"):
        client.sessions.store_message(session_id, blob={"role": "user", "content": text})
    if bad == SESSIONS_CURSOR:
        bad = http.get("/session", params={"limit": 1}).json()["data"]["next_cursor"]
        assert bad
    with pytest.raises(APIError) as exc:
        client.sessions.get_messages(session_id, limit=1, cursor=bad, time_desc=desc)
    assert_api_error(exc.value, 400)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda sdk, sid: sdk.sessions.get_messages(sid), id="read"),
        pytest.param(
            lambda sdk, sid: sdk.sessions.store_message(sid, blob={"role": "user", "content": "x"}), id="store"
        ),
    ],
)
def test_missing_session(
    client: acontext.AcontextClient, call: Callable[[acontext.AcontextClient, str], object]
) -> None:
    """Reading or storing into a session that does not exist is 404."""
    with pytest.raises(APIError) as exc:
        call(client, "00000000-0000-4000-8000-000000000000")
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


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"json": {"format": "openai"}}, id="no-blob"),
        pytest.param({"json": {"blob": None}}, id="null-blob"),
        pytest.param({"content": b"{nope", "headers": {"Content-Type": "application/json"}}, id="not-json"),
    ],
)
def test_missing_blob(http: httpx.Client, session_id: str, body: dict[str, Any]) -> None:
    """A body without blob (or with a null one, or not JSON) is 400, and nothing is stored."""
    assert_error_response(http.post(f"/session/{session_id}/messages", **body), 400)
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
