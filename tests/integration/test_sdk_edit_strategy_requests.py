"""Edit strategies as request parameters through the published `acontext` SDK (0.1.22): bad
strategies (a 400 naming them, on both read endpoints) and the request-level view (/render) edited
like get_messages.
"""

from __future__ import annotations

import json

import acontext
import httpx
import pytest
from acontext.errors import APIError

from tests.integration._helpers import PROVIDER_FORMATS, assert_api_error, assert_error_response
from tests.integration._session_conversations import Conv, get_messages, text_tokens, words

pytestmark = pytest.mark.integration


BAD_STRATEGIES: list[tuple[str, str]] = [
    ('[{"type": "foo"}]', "unknown strategy type: foo"),
    ('[{"type": "remove_tool_result", "params": {"keep_recent_n_tool_results": -1}}]', "keep_recent_n_tool_results"),
    ('[{"type": "remove_tool_result", "params": {"keep_recent_n_tool_results": "3"}}]', "keep_recent_n_tool_results"),
    ('[{"type": "remove_tool_result", "params": {"tool_result_placeholder": 5}}]', "tool_result_placeholder"),
    ('[{"type": "remove_tool_result", "params": {"keep_tools": "calc"}}]', "keep_tools"),
    ('[{"type": "remove_tool_result", "params": {"gt_token": 0}}]', "gt_token"),
    ('[{"type": "remove_tool_call_params", "params": {"keep_recent_n_tool_calls": -2}}]', "keep_recent_n_tool_calls"),
    ('[{"type": "remove_tool_call_params", "params": {"keep_tools": [1]}}]', "keep_tools"),
    ('[{"type": "remove_tool_call_params", "params": {"gt_token": -5}}]', "gt_token"),
    ('[{"type": "token_limit"}]', "limit_tokens"),
    ('[{"type": "token_limit", "params": {"limit_tokens": 0}}]', "limit_tokens"),
    ('[{"type": "middle_out", "params": {}}]', "token_reduce_to"),
    ('[{"type": "middle_out", "params": {"token_reduce_to": 1.5}}]', "token_reduce_to"),
    ('[{"type": "middle_out", "params": {"token_reduce_to": 0}}]', "token_reduce_to"),
    ('[{"type": "token_limit", "params": {"limit_tokens": 10}}, {"type": "bar"}]', "unknown strategy type: bar"),
    ("[{not json", "edit_strategies"),
    ('{"type": "token_limit"}', "edit_strategies"),
]


@pytest.mark.parametrize(
    ("endpoint", "fmt"),
    [pytest.param("messages", "openai", id="messages"), pytest.param("render", "gemini", id="render")],
)
@pytest.mark.parametrize(("raw", "named"), BAD_STRATEGIES, ids=[n for _, n in BAD_STRATEGIES])
def test_bad_strategy_is_400_naming_it(
    http: httpx.Client, session_id: str, raw: str, named: str, endpoint: str, fmt: str
) -> None:
    """An unknown strategy or bad parameter is a 400 whose message names it, on both read endpoints."""
    http.post(f"/session/{session_id}/messages", json={"blob": {"role": "user", "content": "hi there"}})
    response = http.get(f"/session/{session_id}/{endpoint}", params={"format": fmt, "edit_strategies": raw})
    assert_error_response(response, 400)
    assert named in response.json()["msg"], response.text


def test_bad_strategy_through_sdk(client: acontext.AcontextClient, session_id: str) -> None:
    """The SDK surfaces the 400 as an APIError carrying the message."""
    with pytest.raises(APIError) as exc:
        get_messages(client, session_id, [{"type": "foo", "params": {}}])
    assert_api_error(exc.value, 400)
    assert "unknown strategy type: foo" in str(exc.value.message)


def _lookups(client: acontext.AcontextClient) -> tuple[Conv, str, str]:
    """user, two (call, result) pairs (the first result long), assistant: (conversation, first call, first result)."""
    conv = Conv.new(client)
    conv.user("Look these up.")
    first_call = conv.calls(("call_1", "lookup", '{"k": "one"}'))
    first_result = conv.result("call_1", words("answer", 30))
    conv.calls(("call_2", "lookup", '{"k": "two"}'))
    conv.result("call_2", "second answer")
    conv.assistant("Both looked up.")
    return conv, first_call, first_result


@pytest.mark.parametrize("fmt", PROVIDER_FORMATS)
def test_request_view_with_strategies(client: acontext.AcontextClient, http: httpx.Client, fmt: str) -> None:
    """GET /render: request-level payload in each provider format, edited like get_messages."""
    conv, _, first_result = _lookups(client)
    removal = [{"type": "remove_tool_result", "params": {"keep_recent_n_tool_results": 1}}]
    response = http.get(
        f"/session/{conv.session_id}/render", params={"format": fmt, "edit_strategies": json.dumps(removal)}
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert set(data) >= {"format", "payload", "ids", "system_ids", "this_time_tokens", "has_more"}
    assert data["format"] == fmt
    assert data["has_more"] is False
    assert not data.get("next_cursor")
    assert data["edit_at_message_id"] == conv.ids[-1]
    assert all(isinstance(group, list) and group for group in data["ids"])
    flat = [mid for group in data["ids"] for mid in group]
    assert list(dict.fromkeys(flat)) == conv.ids
    assert data["system_ids"] == []
    assert data["this_time_tokens"] == conv.total() - conv.tokens[first_result] + text_tokens("Done")
    dumped = json.dumps(data["payload"])
    assert "answer0" not in dumped
    assert "second answer" in dumped
    assert "Done" in dumped

    plain = http.get(f"/session/{conv.session_id}/render", params={"format": fmt}).json()["data"]
    assert "answer0" in json.dumps(plain["payload"])
    assert plain["this_time_tokens"] == conv.total()


def test_request_view_with_a_pinned_token_limit(client: acontext.AcontextClient, http: httpx.Client) -> None:
    """GET /render: token_limit under a pin trims the pinned prefix, a call together with its result."""
    conv, first_call, first_result = _lookups(client)
    prefix = [conv.ids[0], first_call, first_result]
    limit = conv.total(prefix) - conv.tokens[conv.ids[0]] - 1  # drops the user turn, then the pair
    limited = http.get(
        f"/session/{conv.session_id}/render",
        params={
            "format": "anthropic",
            "edit_strategies": json.dumps([{"type": "token_limit", "params": {"limit_tokens": limit}}]),
            "pin_editing_strategies_at_message": first_result,
        },
    ).json()["data"]
    flat = [mid for group in limited["ids"] for mid in group]
    assert list(dict.fromkeys(flat)) == conv.ids[3:]
    assert limited["this_time_tokens"] == conv.total(conv.ids[3:])
    assert limited["edit_at_message_id"] == first_result
