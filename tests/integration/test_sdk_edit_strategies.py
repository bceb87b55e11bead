"""Edit strategies through the published `acontext` SDK (0.1.22): each strategy, their order, the pin.
Bad strategies and the request-level view with strategies are in test_sdk_edit_strategy_requests.py.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import acontext
import httpx
import pytest

from tests.integration._helpers import FORMATS, sdk_client
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
from tests.integration.conftest import Stack
from tests.sdk_types import validate_items

pytestmark = pytest.mark.integration


# --------------------------------------------------------------------------------------------
# Edit strategies
# --------------------------------------------------------------------------------------------


@dataclass
class Tools:
    """`tool_session`: the conversation, call id -> result text, call id -> arguments."""

    conv: Conv
    results: dict[str, str]
    args: dict[str, str]


@pytest.fixture(scope="module")
def tools(stack: Stack) -> Iterator[Tools]:
    """One tool session for the module's strategy cases: reads never change it (each case checks that)."""
    with sdk_client(stack.api_url, stack.root_key) as client:
        yield Tools(*tool_session(client))


CALL_IDS = [f"c{i}" for i in range(5)]

REMOVE_TOOL_RESULT_CASES: list[Any] = [  # params, the calls whose results are replaced, the placeholder
    pytest.param(None, {"c0", "c1"}, "Done", id="defaults"),  # keep 3, placeholder "Done"
    pytest.param({}, {"c0", "c1"}, "Done", id="empty-params"),
    pytest.param(
        {"keep_recent_n_tool_results": 1, "tool_result_placeholder": "  Cleared  "},
        {"c0", "c1", "c2", "c3"},
        "Cleared",
        id="keep-1-own-placeholder",
    ),
    pytest.param(
        {"keep_recent_n_tool_results": 0, "tool_result_placeholder": "   "},
        set(CALL_IDS),
        "Done",
        id="blank-placeholder",
    ),
    pytest.param(
        {"keep_recent_n_tool_results": 0, "keep_tools": ["calc"]}, {"c0", "c1", "c3", "c4"}, "Done", id="keep-tools"
    ),
    pytest.param({"keep_recent_n_tool_results": 0, "gt_token": 40}, {"c0", "c2", "c4"}, "Done", id="gt-token"),
    pytest.param(  # candidates c0..c2, c1 short
        {"keep_recent_n_tool_results": 2, "gt_token": 40}, {"c0", "c2"}, "Done", id="keep-2-gt-token"
    ),
    pytest.param({"keep_recent_n_tool_results": 5}, set(), "Done", id="keep-all"),
    pytest.param(  # JSON numbers truncate
        {"keep_recent_n_tool_results": 2.9}, {"c0", "c1", "c2"}, "Done", id="fractional-keep"
    ),
]


def _strategy(kind: str, params: dict[str, Any] | None) -> dict[str, Any]:
    return {"type": kind} if params is None else {"type": kind, "params": params}


def test_tool_session_reads_back_unedited(client: acontext.AcontextClient, tools: Tools) -> None:
    """Without strategies the session reads as stored."""
    original = client.sessions.get_messages(tools.conv.session_id)
    assert tool_texts(original.items) == tools.results
    assert original.this_time_tokens == tools.conv.total()


@pytest.mark.parametrize(("params", "replaced", "placeholder"), REMOVE_TOOL_RESULT_CASES)
def test_remove_tool_result(
    client: acontext.AcontextClient, tools: Tools, params: dict[str, Any] | None, replaced: set[str], placeholder: str
) -> None:
    """Oldest tool results beyond keep_recent_n become the placeholder; keep_tools and gt_token filter."""
    conv, results, args = tools.conv, tools.results, tools.args
    original = client.sessions.get_messages(conv.session_id)
    strategy = _strategy("remove_tool_result", params)
    page = get_messages(client, conv.session_id, [strategy])
    validate_items("openai", page.items)
    expected = {cid: (placeholder if cid in replaced else results[cid]) for cid in CALL_IDS}
    assert tool_texts(page.items) == expected
    assert call_args(page.items) == args  # calls untouched
    assert page.ids == original.ids
    assert page.edit_at_message_id == conv.ids[-1]
    tool_ids = [mid for mid, item in zip(page.ids, page.items, strict=True) if item["role"] == "tool"]
    edited_total = conv.total() - sum(
        conv.tokens[mid] - text_tokens(placeholder)
        for mid, cid in zip(tool_ids, CALL_IDS, strict=True)
        if cid in replaced
    )
    assert page.this_time_tokens == edited_total
    # acontext view: text replaced, tool_call_id kept
    acx = get_messages(client, conv.session_id, [strategy], format="acontext")
    parts = [p for item in acx.items for p in item["parts"] if p["type"] == "tool-result"]
    assert [(p["meta"]["tool_call_id"], p["text"]) for p in parts] == list(expected.items())
    # a read never changes storage
    assert client.sessions.get_messages(conv.session_id).items == original.items
    assert client.sessions.get_token_counts(conv.session_id).total_tokens == conv.total()


REMOVE_TOOL_CALL_PARAMS_CASES: list[Any] = [  # params, the calls whose arguments become "{}"
    pytest.param(None, {"c0", "c1"}, id="defaults"),
    pytest.param({"keep_recent_n_tool_calls": 0}, set(CALL_IDS), id="keep-none"),
    pytest.param({"keep_recent_n_tool_calls": 0, "keep_tools": ["calc"]}, {"c0", "c1", "c3", "c4"}, id="keep-tools"),
    pytest.param({"keep_recent_n_tool_calls": 0, "gt_token": 30}, {"c0", "c3"}, id="gt-token"),
    pytest.param({"keep_recent_n_tool_calls": 4, "gt_token": 30}, {"c0"}, id="keep-4-gt-token"),
    pytest.param({"keep_recent_n_tool_calls": 9}, set(), id="keep-all"),
]


@pytest.mark.parametrize(("params", "replaced"), REMOVE_TOOL_CALL_PARAMS_CASES)
def test_remove_tool_call_params(
    client: acontext.AcontextClient, tools: Tools, params: dict[str, Any] | None, replaced: set[str]
) -> None:
    """Oldest tool calls beyond keep_recent_n get arguments "{}" (id and name kept); filters apply."""
    conv, results, args = tools.conv, tools.results, tools.args
    original = client.sessions.get_messages(conv.session_id, format="acontext")
    strategy = _strategy("remove_tool_call_params", params)
    page = get_messages(client, conv.session_id, [strategy])
    validate_items("openai", page.items)
    assert call_args(page.items) == {cid: ("{}" if cid in replaced else args[cid]) for cid in CALL_IDS}
    acx = get_messages(client, conv.session_id, [strategy], format="acontext")
    metas = [p["meta"] for item in acx.items for p in item["parts"] if p["type"] == "tool-call"]
    assert [(m["id"], m["arguments"]) for m in metas] == [
        (cid, "{}" if cid in replaced else args[cid]) for cid in CALL_IDS
    ]
    assert tool_texts(page.items) == results
    names = [c["function"]["name"] for item in page.items for c in item.get("tool_calls") or []]
    assert names == ["search", "search", "calc", "search", "search"]
    expected_total = conv.total() - sum(
        call_tokens(("calc" if cid == "c2" else "search", args[cid]))
        - call_tokens(("calc" if cid == "c2" else "search", "{}"))
        for cid in replaced
    )
    assert page.this_time_tokens == expected_total
    assert client.sessions.get_messages(conv.session_id, format="acontext").items == original.items


@pytest.mark.parametrize("fmt", ["anthropic", "gemini"])
@pytest.mark.parametrize(("params", "replaced"), REMOVE_TOOL_CALL_PARAMS_CASES)
def test_remove_tool_call_params_in_provider_formats(
    client: acontext.AcontextClient, tools: Tools, params: dict[str, Any] | None, replaced: set[str], fmt: str
) -> None:
    """The removed arguments are gone from the Anthropic and Gemini views too, the kept ones still there."""
    other = get_messages(client, tools.conv.session_id, [_strategy("remove_tool_call_params", params)], format=fmt)
    validate_items(fmt, other.items)
    dumped = json.dumps(other.items)
    kept = {cid for cid in CALL_IDS if json.loads(tools.args[cid])["q"] in dumped}
    assert kept == set(CALL_IDS) - replaced


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

    tight = conv.tokens[answer]
    page = get_messages(client, conv.session_id, [{"type": "token_limit", "params": {"limit_tokens": tight}}])
    assert page.ids == [answer]
    assert page.this_time_tokens <= tight

    nothing = get_messages(client, conv.session_id, [{"type": "token_limit", "params": {"limit_tokens": 1}}])
    assert (nothing.items, nothing.ids, nothing.this_time_tokens) == ([], [], 0)
    assert nothing.edit_at_message_id == answer  # the last id of the page before editing
    assert client.sessions.get_messages(conv.session_id).ids == [call, result, question, answer]


@pytest.mark.parametrize("fmt", FORMATS)
def test_token_limit_drops_the_pair_in_every_format(client: acontext.AcontextClient, fmt: str) -> None:
    """The call and its orphaned result are dropped together whatever the output format."""
    conv = Conv.new(client)
    call = conv.calls(("call_a", "lookup", '{"key": "alpha"}'))
    conv.result("call_a", "alpha is the first letter")
    question = conv.user("And what comes after alpha?")
    answer = conv.assistant("Beta comes after alpha.")
    limit = conv.total() - conv.tokens[call]
    edited = get_messages(
        client, conv.session_id, [{"type": "token_limit", "params": {"limit_tokens": limit}}], format=fmt
    )
    assert edited.ids == [question, answer]
    validate_items(fmt, edited.items)


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


VECTORS = ["four", "three", "two", "tool-cascade"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("vector", VECTORS)
def test_middle_out_vectors(client: acontext.AcontextClient, vector: str, fmt: str) -> None:
    """§8.6 test vectors end to end, on get_messages in every format."""
    conv, target, expected = _middle_out_vector(client, vector)
    strategies = [{"type": "middle_out", "params": {"token_reduce_to": target}}]
    page = get_messages(client, conv.session_id, strategies, format=fmt)
    assert list(dict.fromkeys(page.ids)) == expected
    assert page.this_time_tokens == conv.total(expected) <= target
    assert page.edit_at_message_id == conv.ids[-1]
    validate_items(fmt, page.items)
    assert client.sessions.get_messages(conv.session_id).ids == conv.ids


@pytest.mark.parametrize("vector", VECTORS)
def test_middle_out_vectors_on_the_request_view(
    client: acontext.AcontextClient, http: httpx.Client, vector: str
) -> None:
    """§8.6 test vectors on the request view (/render); a float target means the same."""
    conv, target, expected = _middle_out_vector(client, vector)
    strategies = [{"type": "middle_out", "params": {"token_reduce_to": target}}]
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
