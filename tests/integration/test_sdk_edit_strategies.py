"""Edit strategies through the published `acontext` SDK (0.1.22): each strategy, their order, the pin,
bad strategies, and the request-level view with strategies.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import acontext
import httpx
import pytest
from acontext.errors import APIError

from tests.integration._helpers import (
    FORMATS,
    PROVIDER_FORMATS,
    assert_api_error,
    assert_error_response,
    validate_items,
)
from tests.integration._session_conversations import (
    Conv,
    call_args,
    call_tokens,
    get_messages,
    text_tokens,
    tool_session,
    tool_texts,
    words,
)

pytestmark = pytest.mark.integration


# --------------------------------------------------------------------------------------------
# Edit strategies
# --------------------------------------------------------------------------------------------


def test_remove_tool_result(client: acontext.AcontextClient) -> None:
    """Oldest tool results beyond keep_recent_n become the placeholder; keep_tools and gt_token filter."""
    conv, results, args = tool_session(client)
    original = client.sessions.get_messages(conv.session_id)
    assert tool_texts(original.items) == results
    assert original.this_time_tokens == conv.total()
    ids = [f"c{i}" for i in range(5)]
    cases: list[tuple[dict[str, Any] | None, set[str], str]] = [
        (None, {"c0", "c1"}, "Done"),  # defaults: keep 3, placeholder "Done"
        ({}, {"c0", "c1"}, "Done"),
        (
            {"keep_recent_n_tool_results": 1, "tool_result_placeholder": "  Cleared  "},
            {"c0", "c1", "c2", "c3"},
            "Cleared",
        ),
        ({"keep_recent_n_tool_results": 0, "tool_result_placeholder": "   "}, set(ids), "Done"),
        ({"keep_recent_n_tool_results": 0, "keep_tools": ["calc"]}, {"c0", "c1", "c3", "c4"}, "Done"),
        ({"keep_recent_n_tool_results": 0, "gt_token": 40}, {"c0", "c2", "c4"}, "Done"),
        ({"keep_recent_n_tool_results": 2, "gt_token": 40}, {"c0", "c2"}, "Done"),  # candidates c0..c2, c1 short
        ({"keep_recent_n_tool_results": 5}, set(), "Done"),
        ({"keep_recent_n_tool_results": 2.9}, {"c0", "c1", "c2"}, "Done"),  # JSON numbers truncate
    ]
    for params, replaced, placeholder in cases:
        strategy: dict[str, Any] = {"type": "remove_tool_result"}
        if params is not None:
            strategy["params"] = params
        page = get_messages(client, conv.session_id, [strategy])
        validate_items("openai", page.items)
        expected = {cid: (placeholder if cid in replaced else results[cid]) for cid in ids}
        assert tool_texts(page.items) == expected, params
        assert call_args(page.items) == args, params  # calls untouched
        assert page.ids == original.ids
        assert page.edit_at_message_id == conv.ids[-1]
        tool_ids = [mid for mid, item in zip(page.ids, page.items, strict=True) if item["role"] == "tool"]
        edited_total = conv.total() - sum(
            conv.tokens[mid] - text_tokens(placeholder)
            for mid, cid in zip(tool_ids, ids, strict=True)
            if cid in replaced
        )
        assert page.this_time_tokens == edited_total, params
        # acontext view: text replaced, tool_call_id kept
        acx = get_messages(client, conv.session_id, [strategy], format="acontext")
        parts = [p for item in acx.items for p in item["parts"] if p["type"] == "tool-result"]
        assert [(p["meta"]["tool_call_id"], p["text"]) for p in parts] == list(expected.items())
    # a read never changes storage
    again = client.sessions.get_messages(conv.session_id)
    assert again.items == original.items
    assert client.sessions.get_token_counts(conv.session_id).total_tokens == conv.total()


def test_remove_tool_call_params(client: acontext.AcontextClient) -> None:
    """Oldest tool calls beyond keep_recent_n get arguments "{}" (id and name kept); filters apply."""
    conv, results, args = tool_session(client)
    ids = [f"c{i}" for i in range(5)]
    cases: list[tuple[dict[str, Any] | None, set[str]]] = [
        (None, {"c0", "c1"}),
        ({"keep_recent_n_tool_calls": 0}, set(ids)),
        ({"keep_recent_n_tool_calls": 0, "keep_tools": ["calc"]}, {"c0", "c1", "c3", "c4"}),
        ({"keep_recent_n_tool_calls": 0, "gt_token": 30}, {"c0", "c3"}),
        ({"keep_recent_n_tool_calls": 4, "gt_token": 30}, {"c0"}),
        ({"keep_recent_n_tool_calls": 9}, set()),
    ]
    original = client.sessions.get_messages(conv.session_id, format="acontext")
    for params, replaced in cases:
        strategy: dict[str, Any] = {"type": "remove_tool_call_params"}
        if params is not None:
            strategy["params"] = params
        page = get_messages(client, conv.session_id, [strategy])
        validate_items("openai", page.items)
        assert call_args(page.items) == {cid: ("{}" if cid in replaced else args[cid]) for cid in ids}, params
        acx = get_messages(client, conv.session_id, [strategy], format="acontext")
        metas = [p["meta"] for item in acx.items for p in item["parts"] if p["type"] == "tool-call"]
        assert [(m["id"], m["arguments"]) for m in metas] == [
            (cid, "{}" if cid in replaced else args[cid]) for cid in ids
        ], params
        assert tool_texts(page.items) == results
        names = [c["function"]["name"] for item in page.items for c in item.get("tool_calls") or []]
        assert names == ["search", "search", "calc", "search", "search"]
        expected_total = conv.total() - sum(
            call_tokens(("calc" if cid == "c2" else "search", args[cid]))
            - call_tokens(("calc" if cid == "c2" else "search", "{}"))
            for cid in replaced
        )
        assert page.this_time_tokens == expected_total, params
        for fmt in ("anthropic", "gemini"):
            other = get_messages(client, conv.session_id, [strategy], format=fmt)
            validate_items(fmt, other.items)
            dumped = json.dumps(other.items)
            for cid in ids:
                inner = json.loads(args[cid])["q"]
                assert (inner in dumped) == (cid not in replaced), (fmt, cid, params)
    assert client.sessions.get_messages(conv.session_id, format="acontext").items == original.items


def test_token_limit_removes_oldest_with_their_pairs(client: acontext.AcontextClient) -> None:
    """token_limit drops the oldest messages, a tool call together with its result, until it fits."""
    conv = Conv.new(client)
    call = conv.calls(("call_a", "lookup", '{"key": "alpha"}'))
    result = conv.result("call_a", "alpha is the first letter")
    question = conv.user("And what comes after alpha?")
    answer = conv.assistant("Beta comes after alpha.")
    total = conv.total()

    fits = get_messages(client, conv.session_id, [{"type": "token_limit", "params": {"limit_tokens": total}}])
    assert fits.ids == conv.ids
    assert fits.this_time_tokens == total

    # Removing only the call would already fit; the orphaned result must go with it.
    limit = total - conv.tokens[call]
    page = get_messages(client, conv.session_id, [{"type": "token_limit", "params": {"limit_tokens": limit}}])
    assert page.ids == [question, answer]
    assert page.this_time_tokens == conv.total([question, answer]) <= limit
    assert page.edit_at_message_id == answer
    for fmt in FORMATS:
        edited = get_messages(
            client, conv.session_id, [{"type": "token_limit", "params": {"limit_tokens": limit}}], format=fmt
        )
        assert edited.ids == [question, answer], fmt
        validate_items(fmt, edited.items)

    tight = conv.tokens[answer]
    page = get_messages(client, conv.session_id, [{"type": "token_limit", "params": {"limit_tokens": tight}}])
    assert page.ids == [answer]
    assert page.this_time_tokens <= tight

    nothing = get_messages(client, conv.session_id, [{"type": "token_limit", "params": {"limit_tokens": 1}}])
    assert (nothing.items, nothing.ids, nothing.this_time_tokens) == ([], [], 0)
    assert nothing.edit_at_message_id == answer  # the last id of the page before editing
    assert client.sessions.get_messages(conv.session_id).ids == [call, result, question, answer]


def test_strategies_apply_in_priority_order(client: acontext.AcontextClient) -> None:
    """token_limit listed first still runs after remove_tool_result (priority, not list order)."""
    conv = Conv.new(client)
    conv.user("Start the job.")
    conv.calls(("call_x", "fetch", '{"n": 1}'))
    big = conv.result("call_x", words("payload", 150))
    conv.calls(("call_y", "fetch", '{"n": 2}'))
    conv.result("call_y", "small payload")
    conv.assistant("Job finished.")
    after_removal = conv.total() - conv.tokens[big] + text_tokens("Done")
    strategies = [
        {"type": "token_limit", "params": {"limit_tokens": after_removal}},
        {"type": "remove_tool_result", "params": {"keep_recent_n_tool_results": 1}},
    ]
    page = get_messages(client, conv.session_id, strategies)
    assert page.ids == conv.ids, "token_limit ran before remove_tool_result"
    assert tool_texts(page.items) == {"call_x": "Done", "call_y": "small payload"}
    assert page.this_time_tokens == after_removal
    reordered = get_messages(client, conv.session_id, list(reversed(strategies)))
    assert (reordered.ids, reordered.items) == (page.ids, page.items)

    # middle_out (50) also runs before token_limit (100): it drops the middle first.
    conv2 = Conv.new(client)
    first = conv2.user(words("first", 10))
    conv2.assistant(words("middle", 60))
    last = conv2.user(words("last", 10))
    target = conv2.total([first, last])
    mixed = [
        {"type": "token_limit", "params": {"limit_tokens": target}},
        {"type": "middle_out", "params": {"token_reduce_to": target}},
    ]
    page = get_messages(client, conv2.session_id, mixed)
    assert page.ids == [first, last]  # token_limit alone would have dropped `first`


def _middle_out_vector(client: acontext.AcontextClient, name: str) -> tuple[Conv, int, list[str]]:
    """The acontext-api.md §8.6 vectors: (conversation, token_reduce_to, expected surviving ids)."""
    conv = Conv.new(client)
    if name == "four":
        m = [conv.user(words("m0w", 5)), conv.assistant(words("m1w", 6)), conv.user(words("m2w", 7))]
        m.append(conv.assistant(words("m3w", 8)))
        return conv, conv.total() - conv.tokens[m[2]], [m[0], m[1], m[3]]
    if name == "three":
        first, middle, last = conv.user("first one"), conv.assistant("middle one here"), conv.user("last one")
        return conv, conv.total() - conv.tokens[middle], [first, last]
    if name == "two":
        _old, new = conv.user("the old message"), conv.assistant("the new message")
        return conv, conv.tokens[new], [new]
    assert name == "tool-cascade"
    s = conv.user("start here")
    conv.calls(("call_a", "fa", '{"a": 1}'), ("call_b", "fb", '{"b": 2}'))
    conv.result("call_a", "result a")
    conv.result("call_b", "result b")
    e = conv.assistant("the end")
    return conv, conv.total([s, e]), [s, e]


@pytest.mark.parametrize("vector", ["four", "three", "two", "tool-cascade"])
def test_middle_out_vectors(client: acontext.AcontextClient, http: httpx.Client, vector: str) -> None:
    """§8.6 test vectors end to end, on get_messages in every format and on the request view (/render)."""
    conv, target, expected = _middle_out_vector(client, vector)
    strategies = [{"type": "middle_out", "params": {"token_reduce_to": target}}]
    for fmt in FORMATS:
        page = get_messages(client, conv.session_id, strategies, format=fmt)
        assert list(dict.fromkeys(page.ids)) == expected, fmt
        assert page.this_time_tokens == conv.total(expected) <= target
        assert page.edit_at_message_id == conv.ids[-1]
        validate_items(fmt, page.items)
    float_target = [{"type": "middle_out", "params": {"token_reduce_to": float(target)}}]
    assert (
        get_messages(client, conv.session_id, float_target).ids == get_messages(client, conv.session_id, strategies).ids
    )
    view = http.get(
        f"/session/{conv.session_id}/render", params={"format": "openai", "edit_strategies": json.dumps(strategies)}
    )
    assert view.status_code == 200, view.text
    data = view.json()["data"]
    assert list(dict.fromkeys(mid for group in data["ids"] for mid in group)) == expected
    assert data["this_time_tokens"] == conv.total(expected)
    assert client.sessions.get_messages(conv.session_id).ids == conv.ids


def test_pin_limits_editing_to_a_prefix(client: acontext.AcontextClient) -> None:
    """With a pin, strategies edit messages up to and including it; later ones pass unchanged."""
    conv = Conv.new(client)
    conv.user("Go.")
    conv.calls(("call_1", "step", '{"i": 1}'))
    pin = conv.result("call_1", "first output text")
    conv.calls(("call_2", "step", '{"i": 2}'))
    conv.result("call_2", "second output text")
    conv.assistant("Finished both steps.")
    strategies = [{"type": "remove_tool_result", "params": {"keep_recent_n_tool_results": 0}}]

    pinned = get_messages(client, conv.session_id, strategies, pin_editing_strategies_at_message=pin)
    assert tool_texts(pinned.items) == {"call_1": "Done", "call_2": "second output text"}
    assert pinned.edit_at_message_id == pin
    assert pinned.ids == conv.ids
    assert pinned.this_time_tokens == conv.total() - conv.tokens[pin] + text_tokens("Done")

    unpinned = get_messages(client, conv.session_id, strategies)
    assert tool_texts(unpinned.items) == {"call_1": "Done", "call_2": "Done"}
    assert unpinned.edit_at_message_id == conv.ids[-1]

    unknown = get_messages(client, conv.session_id, strategies, pin_editing_strategies_at_message=str(uuid.uuid4()))
    assert tool_texts(unknown.items) == {"call_1": "Done", "call_2": "Done"}
    assert unknown.edit_at_message_id == conv.ids[-1]

    # token_limit under a pin counts and trims the pinned prefix only.
    limit = conv.total(conv.ids[:3]) - conv.tokens[conv.ids[0]]
    token_limit = [{"type": "token_limit", "params": {"limit_tokens": limit}}]
    limited = get_messages(client, conv.session_id, token_limit, pin_editing_strategies_at_message=pin)
    assert limited.ids == conv.ids[1:]
    assert limited.this_time_tokens == conv.total() - conv.tokens[conv.ids[0]]
    assert limited.edit_at_message_id == pin
    whole = get_messages(client, conv.session_id, token_limit)
    assert len(whole.ids) < len(limited.ids)
    assert whole.this_time_tokens <= limit

    # without strategies the pin changes nothing and edit_at is the last id
    plain = client.sessions.get_messages(conv.session_id, pin_editing_strategies_at_message=pin)
    assert plain.edit_at_message_id == conv.ids[-1]
    assert tool_texts(plain.items) == {"call_1": "first output text", "call_2": "second output text"}


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


@pytest.mark.parametrize(("raw", "named"), BAD_STRATEGIES, ids=[n for _, n in BAD_STRATEGIES])
def test_bad_strategy_is_400_naming_it(http: httpx.Client, session_id: str, raw: str, named: str) -> None:
    """An unknown strategy or bad parameter is a 400 whose message names it, on both read endpoints."""
    http.post(f"/session/{session_id}/messages", json={"blob": {"role": "user", "content": "hi there"}})
    for path, fmt in ((f"/session/{session_id}/messages", "openai"), (f"/session/{session_id}/render", "gemini")):
        response = http.get(path, params={"format": fmt, "edit_strategies": raw})
        assert_error_response(response, 400)
        assert named in response.json()["msg"], response.text


def test_bad_strategy_through_sdk(client: acontext.AcontextClient, session_id: str) -> None:
    """The SDK surfaces the 400 as an APIError carrying the message."""
    with pytest.raises(APIError) as exc:
        get_messages(client, session_id, [{"type": "foo", "params": {}}])
    assert_api_error(exc.value, 400)
    assert "unknown strategy type: foo" in str(exc.value.message)


def test_request_view_with_strategies(client: acontext.AcontextClient, http: httpx.Client) -> None:
    """GET /render: request-level payload in each provider format, edited like get_messages."""
    conv = Conv.new(client)
    conv.user("Look these up.")
    first_call = conv.calls(("call_1", "lookup", '{"k": "one"}'))
    first_result = conv.result("call_1", words("answer", 30))
    conv.calls(("call_2", "lookup", '{"k": "two"}'))
    conv.result("call_2", "second answer")
    last = conv.assistant("Both looked up.")
    removal = [{"type": "remove_tool_result", "params": {"keep_recent_n_tool_results": 1}}]
    expected_tokens = conv.total() - conv.tokens[first_result] + text_tokens("Done")
    for fmt in PROVIDER_FORMATS:
        response = http.get(
            f"/session/{conv.session_id}/render", params={"format": fmt, "edit_strategies": json.dumps(removal)}
        )
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert set(data) >= {"format", "payload", "ids", "system_ids", "this_time_tokens", "has_more"}
        assert data["format"] == fmt
        assert data["has_more"] is False
        assert not data.get("next_cursor")
        assert data["edit_at_message_id"] == last
        assert all(isinstance(group, list) and group for group in data["ids"])
        flat = [mid for group in data["ids"] for mid in group]
        assert list(dict.fromkeys(flat)) == conv.ids, fmt
        assert data["system_ids"] == []
        assert data["this_time_tokens"] == expected_tokens, fmt
        dumped = json.dumps(data["payload"])
        assert "answer0" not in dumped, fmt
        assert "second answer" in dumped
        assert "Done" in dumped

        plain = http.get(f"/session/{conv.session_id}/render", params={"format": fmt}).json()["data"]
        assert "answer0" in json.dumps(plain["payload"])
        assert plain["this_time_tokens"] == conv.total()

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
