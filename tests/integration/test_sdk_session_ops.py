"""Per-session operations through the published `acontext` SDK (0.1.22): edit strategies, token
counts, copy, message meta, events, processing status / flush, tasks.

Expected token counts are computed here independently of the server, from acontext-api.md §9:
per message, text-like parts contribute `text + "\\n"`, a tool call contributes the sorted-key JSON
`{"arguments": <string>, "name": <name>}` + `"\\n"`, and the string is counted with o200k_base.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import acontext
import httpx
import psycopg
import pytest
from acontext.errors import APIError
from acontext.event import DiskEvent, TextEvent
from acontext.types.session import SessionEvent

from acx.tokens import get_encoding  # the vendored o200k vocabulary (tiktoken would download it)
from tests.integration._helpers import (
    FORMATS,
    PROVIDER_FORMATS,
    assert_api_error,
    assert_error_response,
    sdk_client,
    validate_items,
)
from tests.integration.conftest import Stack, unique_user

pytestmark = pytest.mark.integration


@pytest.fixture
def client(stack: Stack) -> Iterator[acontext.AcontextClient]:
    """SDK client of the root project."""
    with sdk_client(stack.api_url, stack.root_key) as c:
        yield c


@pytest.fixture
def other(stack: Stack, other_project_key: str) -> Iterator[acontext.AcontextClient]:
    """SDK client of a second project."""
    with sdk_client(stack.api_url, other_project_key) as c:
        yield c


# --------------------------------------------------------------------------------------------
# Token arithmetic (§9), independent of the server code paths
# --------------------------------------------------------------------------------------------


def _count(text: str) -> int:
    """o200k_base tokens of a string (0 for the empty string)."""
    return len(get_encoding().encode(text)) if text else 0


def text_tokens(*texts: str) -> int:
    """§9 count of a message made of these text (or tool-result) parts."""
    return _count("".join(t + "\n" for t in texts if t))


def call_tokens(*calls: tuple[str, str]) -> int:
    """§9 count of a message made of tool calls given as (name, arguments string)."""
    return _count(
        "".join(json.dumps({"arguments": a, "name": n}, sort_keys=True, separators=(",", ":")) + "\n" for n, a in calls)
    )


def words(prefix: str, n: int) -> str:
    """A text of `n` distinct words (roughly 2n tokens)."""
    return " ".join(f"{prefix}{i}" for i in range(n))


@dataclass
class Conv:
    """A session filled through the SDK (OpenAI format), remembering each message's §9 tokens."""

    client: acontext.AcontextClient
    session_id: str
    ids: list[str] = field(default_factory=list)
    tokens: dict[str, int] = field(default_factory=dict)

    @classmethod
    def new(cls, client: acontext.AcontextClient, **kwargs: Any) -> Conv:
        """A conversation in a fresh session."""
        return cls(client, client.sessions.create(**kwargs).id)

    def _store(self, blob: dict[str, Any], tokens: int, meta: dict[str, Any] | None = None) -> str:
        message = self.client.sessions.store_message(self.session_id, blob=blob, meta=meta)  # type: ignore[arg-type]
        self.ids.append(message.id)
        self.tokens[message.id] = tokens
        return message.id

    def user(self, text: str, meta: dict[str, Any] | None = None) -> str:
        """A user text message."""
        return self._store({"role": "user", "content": text}, text_tokens(text), meta)

    def assistant(self, text: str) -> str:
        """An assistant text message."""
        return self._store({"role": "assistant", "content": text}, text_tokens(text))

    def calls(self, *calls: tuple[str, str, str]) -> str:
        """An assistant message with tool calls given as (id, name, arguments string)."""
        tool_calls = [
            {"id": cid, "type": "function", "function": {"name": name, "arguments": args}} for cid, name, args in calls
        ]
        blob = {"role": "assistant", "content": None, "tool_calls": tool_calls}
        return self._store(blob, call_tokens(*((name, args) for _, name, args in calls)))

    def result(self, call_id: str, text: str) -> str:
        """A tool message answering `call_id`."""
        return self._store({"role": "tool", "tool_call_id": call_id, "content": text}, text_tokens(text))

    def total(self, ids: list[str] | None = None) -> int:
        """Sum of the expected per-message tokens of `ids` (default: all)."""
        return sum(self.tokens[mid] for mid in (self.ids if ids is None else ids))


def _get(client: acontext.AcontextClient, session_id: str, strategies: list[dict[str, Any]] | None, **kw: Any) -> Any:
    """get_messages with edit strategies (typed loosely: the SDK's TypedDicts are strict)."""
    return client.sessions.get_messages(session_id, edit_strategies=strategies, **kw)  # type: ignore[arg-type]


def _tool_texts(items: list[Any]) -> dict[str, str]:
    """OpenAI items: tool_call_id -> tool message content."""
    return {item["tool_call_id"]: item["content"] for item in items if item["role"] == "tool"}


def _call_args(items: list[Any]) -> dict[str, str]:
    """OpenAI items: tool call id -> arguments string."""
    return {
        call["id"]: call["function"]["arguments"]
        for item in items
        if item["role"] == "assistant"
        for call in item.get("tool_calls") or []
    }


def _tool_session(client: acontext.AcontextClient) -> tuple[Conv, dict[str, str], dict[str, str]]:
    """user, 5 x (call, result), assistant. Calls c0..c4 (c2 is `calc`, the rest `search`).

    Even-numbered results are long (> 40 tokens), odd ones short; c0 and c3 have long arguments.
    Returns the conversation, call id -> result text, call id -> arguments.
    """
    conv = Conv.new(client)
    conv.user("Research the topic, please.")
    results: dict[str, str] = {}
    args: dict[str, str] = {}
    for i in range(5):
        cid = f"c{i}"
        args[cid] = json.dumps({"q": words(f"arg{i}x", 30) if i in (0, 3) else f"q{i}"})
        results[cid] = words(f"res{i}y", 40) if i % 2 == 0 else f"short result {i}"
        conv.calls((cid, "calc" if i == 2 else "search", args[cid]))
        conv.result(cid, results[cid])
    conv.assistant("All done, here is the summary.")
    client.sessions.flush(conv.session_id)  # render states settle: acontext items stay comparable
    return conv, results, args


# --------------------------------------------------------------------------------------------
# Edit strategies
# --------------------------------------------------------------------------------------------


def test_remove_tool_result(client: acontext.AcontextClient) -> None:
    """Oldest tool results beyond keep_recent_n become the placeholder; keep_tools and gt_token filter."""
    conv, results, args = _tool_session(client)
    original = client.sessions.get_messages(conv.session_id)
    assert _tool_texts(original.items) == results
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
        page = _get(client, conv.session_id, [strategy])
        validate_items("openai", page.items)
        expected = {cid: (placeholder if cid in replaced else results[cid]) for cid in ids}
        assert _tool_texts(page.items) == expected, params
        assert _call_args(page.items) == args, params  # calls untouched
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
        acx = _get(client, conv.session_id, [strategy], format="acontext")
        parts = [p for item in acx.items for p in item["parts"] if p["type"] == "tool-result"]
        assert [(p["meta"]["tool_call_id"], p["text"]) for p in parts] == list(expected.items())
    # a read never changes storage
    again = client.sessions.get_messages(conv.session_id)
    assert again.items == original.items
    assert client.sessions.get_token_counts(conv.session_id).total_tokens == conv.total()


def test_remove_tool_call_params(client: acontext.AcontextClient) -> None:
    """Oldest tool calls beyond keep_recent_n get arguments "{}" (id and name kept); filters apply."""
    conv, results, args = _tool_session(client)
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
        page = _get(client, conv.session_id, [strategy])
        validate_items("openai", page.items)
        assert _call_args(page.items) == {cid: ("{}" if cid in replaced else args[cid]) for cid in ids}, params
        acx = _get(client, conv.session_id, [strategy], format="acontext")
        metas = [p["meta"] for item in acx.items for p in item["parts"] if p["type"] == "tool-call"]
        assert [(m["id"], m["arguments"]) for m in metas] == [
            (cid, "{}" if cid in replaced else args[cid]) for cid in ids
        ], params
        assert _tool_texts(page.items) == results
        names = [c["function"]["name"] for item in page.items for c in item.get("tool_calls") or []]
        assert names == ["search", "search", "calc", "search", "search"]
        expected_total = conv.total() - sum(
            call_tokens(("calc" if cid == "c2" else "search", args[cid]))
            - call_tokens(("calc" if cid == "c2" else "search", "{}"))
            for cid in replaced
        )
        assert page.this_time_tokens == expected_total, params
        for fmt in ("anthropic", "gemini"):
            other = _get(client, conv.session_id, [strategy], format=fmt)
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

    fits = _get(client, conv.session_id, [{"type": "token_limit", "params": {"limit_tokens": total}}])
    assert fits.ids == conv.ids
    assert fits.this_time_tokens == total

    # Removing only the call would already fit; the orphaned result must go with it.
    limit = total - conv.tokens[call]
    page = _get(client, conv.session_id, [{"type": "token_limit", "params": {"limit_tokens": limit}}])
    assert page.ids == [question, answer]
    assert page.this_time_tokens == conv.total([question, answer]) <= limit
    assert page.edit_at_message_id == answer
    for fmt in FORMATS:
        edited = _get(client, conv.session_id, [{"type": "token_limit", "params": {"limit_tokens": limit}}], format=fmt)
        assert edited.ids == [question, answer], fmt
        validate_items(fmt, edited.items)

    tight = conv.tokens[answer]
    page = _get(client, conv.session_id, [{"type": "token_limit", "params": {"limit_tokens": tight}}])
    assert page.ids == [answer]
    assert page.this_time_tokens <= tight

    nothing = _get(client, conv.session_id, [{"type": "token_limit", "params": {"limit_tokens": 1}}])
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
    page = _get(client, conv.session_id, strategies)
    assert page.ids == conv.ids, "token_limit ran before remove_tool_result"
    assert _tool_texts(page.items) == {"call_x": "Done", "call_y": "small payload"}
    assert page.this_time_tokens == after_removal
    reordered = _get(client, conv.session_id, list(reversed(strategies)))
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
    page = _get(client, conv2.session_id, mixed)
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
    """§8.6 test vectors end to end, on get_messages in every format and on the render view."""
    conv, target, expected = _middle_out_vector(client, vector)
    strategies = [{"type": "middle_out", "params": {"token_reduce_to": target}}]
    for fmt in FORMATS:
        page = _get(client, conv.session_id, strategies, format=fmt)
        assert list(dict.fromkeys(page.ids)) == expected, fmt
        assert page.this_time_tokens == conv.total(expected) <= target
        assert page.edit_at_message_id == conv.ids[-1]
        validate_items(fmt, page.items)
    float_target = [{"type": "middle_out", "params": {"token_reduce_to": float(target)}}]
    assert _get(client, conv.session_id, float_target).ids == _get(client, conv.session_id, strategies).ids
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

    pinned = _get(client, conv.session_id, strategies, pin_editing_strategies_at_message=pin)
    assert _tool_texts(pinned.items) == {"call_1": "Done", "call_2": "second output text"}
    assert pinned.edit_at_message_id == pin
    assert pinned.ids == conv.ids
    assert pinned.this_time_tokens == conv.total() - conv.tokens[pin] + text_tokens("Done")

    unpinned = _get(client, conv.session_id, strategies)
    assert _tool_texts(unpinned.items) == {"call_1": "Done", "call_2": "Done"}
    assert unpinned.edit_at_message_id == conv.ids[-1]

    unknown = _get(client, conv.session_id, strategies, pin_editing_strategies_at_message=str(uuid.uuid4()))
    assert _tool_texts(unknown.items) == {"call_1": "Done", "call_2": "Done"}
    assert unknown.edit_at_message_id == conv.ids[-1]

    # token_limit under a pin counts and trims the pinned prefix only.
    limit = conv.total(conv.ids[:3]) - conv.tokens[conv.ids[0]]
    token_limit = [{"type": "token_limit", "params": {"limit_tokens": limit}}]
    limited = _get(client, conv.session_id, token_limit, pin_editing_strategies_at_message=pin)
    assert limited.ids == conv.ids[1:]
    assert limited.this_time_tokens == conv.total() - conv.tokens[conv.ids[0]]
    assert limited.edit_at_message_id == pin
    whole = _get(client, conv.session_id, token_limit)
    assert len(whole.ids) < len(limited.ids)
    assert whole.this_time_tokens <= limit

    # without strategies the pin changes nothing and edit_at is the last id
    plain = client.sessions.get_messages(conv.session_id, pin_editing_strategies_at_message=pin)
    assert plain.edit_at_message_id == conv.ids[-1]
    assert _tool_texts(plain.items) == {"call_1": "first output text", "call_2": "second output text"}


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
        _get(client, session_id, [{"type": "foo", "params": {}}])
    assert_api_error(exc.value, 400)
    assert "unknown strategy type: foo" in str(exc.value.message)


def test_render_view_with_strategies(client: acontext.AcontextClient, http: httpx.Client) -> None:
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


# --------------------------------------------------------------------------------------------
# Token counts
# --------------------------------------------------------------------------------------------


def _mixed_conversation(client: acontext.AcontextClient) -> Conv:
    """Text, unicode, multi-call and tool-result messages."""
    conv = Conv.new(client)
    conv.user("Hello, world!")
    conv.assistant("How can I help you?")
    conv.user("Schreib mir ein Gedicht über Kühe 🐄, bitte.")
    conv.calls(("call_w", "get_weather", '{"city": "Paris", "unit": "c"}'), ("call_t", "get_time", "{}"))
    conv.result("call_w", "18 degrees and sunny")
    conv.result("call_t", "09:30")
    conv.assistant(words("reply", 25))
    return conv


def test_token_counts_match_section_9(client: acontext.AcontextClient) -> None:
    """get_token_counts is the sum of per-message §9 counts; this_time_tokens matches on every page."""
    conv = _mixed_conversation(client)
    total = client.sessions.get_token_counts(conv.session_id).total_tokens
    assert total == conv.total()
    for fmt in FORMATS:
        assert _get(client, conv.session_id, None, format=fmt).this_time_tokens == total, fmt
    seen = 0
    cursor = None
    while True:
        page = client.sessions.get_messages(conv.session_id, limit=2, cursor=cursor)
        unique_ids = list(dict.fromkeys(page.ids))
        assert page.this_time_tokens == conv.total(unique_ids)
        seen += page.this_time_tokens
        if not page.has_more:
            break
        cursor = page.next_cursor
    assert seen == total
    empty = client.sessions.create().id
    assert client.sessions.get_token_counts(empty).total_tokens == 0
    assert client.sessions.get_messages(empty).this_time_tokens == 0


def test_token_counts_missing_or_foreign_session(
    client: acontext.AcontextClient, other: acontext.AcontextClient, session_id: str
) -> None:
    """token_counts of a missing or another project's session is 404."""
    for sdk, sid in ((client, str(uuid.uuid4())), (other, session_id)):
        with pytest.raises(APIError) as exc:
            sdk.sessions.get_token_counts(sid)
        assert_api_error(exc.value, 404)


# --------------------------------------------------------------------------------------------
# Copy
# --------------------------------------------------------------------------------------------


def _strip_ids(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("id", "session_id", "parent_id")}


def test_copy_session(client: acontext.AcontextClient, other: acontext.AcontextClient) -> None:
    """copy: 23 messages in the same order with new ids, same user/configs, identical items everywhere."""
    user = unique_user()
    conv = Conv.new(client, user=user, configs={"agent": "bot", "n": 1})
    for i in range(7):
        conv.user(f"question {i}", meta={"i": i})
        conv.calls((f"call_{i}", "tool", json.dumps({"i": i})))
        conv.result(f"call_{i}", f"answer {i}")
    client.sessions.store_message(
        conv.session_id, blob={"role": "user", "content": [{"type": "text", "text": "anthropic"}]}, format="anthropic"
    )
    gemini_blob: dict[str, Any] = {"role": "model", "parts": [{"text": "gem"}]}
    client.sessions.store_message(conv.session_id, blob=gemini_blob, format="gemini")  # type: ignore[arg-type]
    client.sessions.add_event(conv.session_id, TextEvent(text="copied event"))
    assert client.sessions.flush(conv.session_id).status == 0  # settle render states before the snapshot
    before = {fmt: client.sessions.get_messages(conv.session_id, format=fmt) for fmt in FORMATS}  # type: ignore[arg-type]
    source_ids = before["acontext"].ids
    assert len(source_ids) == 23

    result = client.sessions.copy(conv.session_id)
    assert result.old_session_id == conv.session_id
    assert result.new_session_id != conv.session_id
    new_id = result.new_session_id

    src_session, new_session = client.sessions.get_configs(conv.session_id), client.sessions.get_configs(new_id)
    assert new_session.user_id == src_session.user_id is not None
    assert new_session.configs == {"agent": "bot", "n": 1}
    assert new_session.disable_task_tracking == src_session.disable_task_tracking

    for fmt in FORMATS:
        copy_page = client.sessions.get_messages(new_id, format=fmt)  # type: ignore[arg-type]
        source_page = before[fmt]
        assert len(copy_page.ids) == len(source_page.ids)
        assert not set(copy_page.ids) & set(source_ids), "copied messages must get new ids"
        assert copy_page.metas == source_page.metas
        assert (
            copy_page.this_time_tokens
            == source_page.this_time_tokens
            == conv.total() + text_tokens("anthropic") + text_tokens("gem")
        )
        if fmt == "acontext":
            assert [_strip_ids(i) for i in copy_page.items] == [_strip_ids(i) for i in source_page.items]
            assert all(i["session_id"] == new_id for i in copy_page.items)
            parents = [i["parent_id"] for i in copy_page.items]
            assert parents == [None, *copy_page.ids[:-1]], "parent chain must be remapped"
        else:
            assert copy_page.items == source_page.items, fmt
    assert [e.data for e in client.sessions.get_events(new_id).items] == [{"text": "copied event"}]

    # the source is unchanged, and the copy is independent
    client.sessions.store_message(new_id, blob={"role": "user", "content": "only in the copy"})
    after = client.sessions.get_messages(conv.session_id, format="acontext")
    assert after.ids == source_ids
    assert after.items == before["acontext"].items
    copy_now = client.sessions.get_messages(new_id, format="openai")
    assert copy_now.items[-1] == {"role": "user", "content": "only in the copy"}

    for sdk, sid in ((other, conv.session_id), (client, str(uuid.uuid4()))):
        with pytest.raises(APIError) as exc:
            sdk.sessions.copy(sid)
        assert_api_error(exc.value, 404)


def test_copy_too_large(client: acontext.AcontextClient, stack: Stack) -> None:
    """A session of 5000 messages copies; 5001 is 413 SESSION_TOO_LARGE (rows inserted with SQL)."""
    session_id = client.sessions.create().id
    seed = client.sessions.store_message(session_id, blob={"role": "user", "content": "seed"}).id
    with psycopg.connect(stack.database_url, autocommit=True) as conn:

        def grow(extra: int) -> None:
            conn.execute(
                "INSERT INTO messages"
                " (id, session_id, project_id, seq, role, format, raw, parts, meta, render_state, tokens)"
                " SELECT gen_random_uuid(), m.session_id, m.project_id,"
                " (SELECT max(seq) FROM messages WHERE session_id = m.session_id) + g,"
                " m.role, m.format, m.raw, m.parts, m.meta, 'done', 2"
                " FROM messages m, generate_series(1, %s) g WHERE m.id = %s",
                (extra, seed),
            )
            conn.execute(
                "UPDATE sessions SET message_count = (SELECT count(*) FROM messages WHERE session_id = %s)"
                " WHERE id = %s",
                (session_id, session_id),
            )

        grow(4999)
        copied = client.sessions.copy(session_id).new_session_id
        row = conn.execute("SELECT count(*) FROM messages WHERE session_id = %s", (copied,)).fetchone()
        assert row is not None
        assert row[0] == 5000
        grow(1)
        with pytest.raises(APIError) as exc:
            client.sessions.copy(session_id)
        assert_api_error(exc.value, 413)
        assert "SESSION_TOO_LARGE" in json.dumps(exc.value.payload)
    client.sessions.delete(copied)
    client.sessions.delete(session_id)


# --------------------------------------------------------------------------------------------
# Message meta
# --------------------------------------------------------------------------------------------


def test_patch_message_meta(client: acontext.AcontextClient, other: acontext.AcontextClient) -> None:
    """Shallow merge, null deletes, the whole meta returned and reflected in metas; 404s otherwise."""
    conv = Conv.new(client)
    first = conv.user("one", meta={"keep": 1, "drop": "x", "nested": {"a": 1}})
    second = conv.assistant("two")
    merged = client.sessions.patch_message_meta(
        conv.session_id, first, meta={"drop": None, "nested": {"b": 2}, "new": [1, 2]}
    )
    assert merged == {"keep": 1, "nested": {"b": 2}, "new": [1, 2]}
    assert client.sessions.patch_message_meta(conv.session_id, second, meta={"tag": "t"}) == {"tag": "t"}
    assert client.sessions.patch_message_meta(conv.session_id, second, meta={"absent": None}) == {"tag": "t"}
    for fmt in FORMATS:
        page = client.sessions.get_messages(conv.session_id, format=fmt)  # type: ignore[arg-type]
        assert page.metas == [merged, {"tag": "t"}], fmt
    acx = client.sessions.get_messages(conv.session_id, format="acontext")
    assert [item["meta"] for item in acx.items] == [merged, {"tag": "t"}]
    assert acx.items[0]["system_meta"]["source_format"] == "openai"  # system meta untouched

    attempts = [
        (client, conv.session_id, str(uuid.uuid4())),  # unknown message
        (client, client.sessions.create().id, first),  # message of another session
        (client, str(uuid.uuid4()), first),  # unknown session
        (other, conv.session_id, first),  # another project
    ]
    for sdk, sid, mid in attempts:
        with pytest.raises(APIError) as exc:
            sdk.sessions.patch_message_meta(sid, mid, meta={"x": 1})
        assert_api_error(exc.value, 404)
    assert client.sessions.get_messages(conv.session_id).metas == [merged, {"tag": "t"}]


def test_patch_message_meta_validation(client: acontext.AcontextClient, http: httpx.Client) -> None:
    """meta must be an object; bad ids are 400."""
    conv = Conv.new(client)
    mid = conv.user("x")
    path = f"/session/{conv.session_id}/messages/{mid}/meta"
    for body in ({}, {"meta": None}, {"meta": [1]}, {"meta": "s"}):
        assert_error_response(http.patch(path, json=body), 400)
    assert_error_response(http.patch(f"/session/{conv.session_id}/messages/nope/meta", json={"meta": {}}), 400)
    assert client.sessions.get_messages(conv.session_id).metas == [{}]


# --------------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------------


def test_events(client: acontext.AcontextClient, http: httpx.Client, stack: Stack) -> None:
    """add_event returns the event (200, as upstream), get_events pages both ways, with_events windows by page."""
    conv = Conv.new(client)
    early = client.sessions.add_event(conv.session_id, TextEvent(text="before any message"))
    assert isinstance(early, SessionEvent)
    assert (early.type, early.data, early.session_id) == ("text_event", {"text": "before any message"}, conv.session_id)
    m1 = conv.user("first")
    inside = client.sessions.add_event(conv.session_id, DiskEvent(disk_id=str(uuid.uuid4()), path="/a.txt", note="n"))
    assert inside.type == "disk_event"
    assert inside.data["path"] == "/a.txt"
    assert inside.data["note"] == "n"
    response = http.post(f"/session/{conv.session_id}/events", json={"type": "custom", "data": {"k": [1, {"z": None}]}})
    assert response.status_code == 200, response.text
    raw_event = SessionEvent.model_validate(response.json()["data"])
    assert raw_event.data == {"k": [1, {"z": None}]}
    m2 = conv.assistant("second")
    late = client.sessions.add_event(conv.session_id, TextEvent(text="after the last message"))
    order = [early.id, inside.id, raw_event.id, late.id]

    pages: list[list[str]] = []
    cursor = None
    while True:
        page = client.sessions.get_events(conv.session_id, limit=2, cursor=cursor)
        pages.append([e.id for e in page.items])
        if not page.has_more:
            assert not page.next_cursor
            break
        cursor = page.next_cursor
    assert pages == [order[:2], order[2:]]
    desc = client.sessions.get_events(conv.session_id, limit=3, time_desc=True)
    assert [e.id for e in desc.items] == order[::-1][:3]
    assert desc.has_more is True
    rest = client.sessions.get_events(conv.session_id, limit=3, time_desc=True, cursor=desc.next_cursor)
    assert [e.id for e in rest.items] == [order[0]]
    assert rest.has_more is False
    assert [e.id for e in client.sessions.get_events(conv.session_id).items] == order

    window = client.sessions.get_messages(conv.session_id, with_events=True)
    assert window.ids == [m1, m2]
    assert window.events is not None
    assert [e.id for e in window.events] == [inside.id, raw_event.id]
    only_first = client.sessions.get_messages(conv.session_id, with_events=True, limit=1)
    assert only_first.ids == [m1]
    assert not only_first.events
    assert not client.sessions.get_messages(conv.session_id).events  # not requested

    bad_events: list[dict[str, Any]] = [
        {"data": {}},
        {"type": "", "data": {}},
        {"type": "t"},
        {"type": "t", "data": [1]},
        {"type": 3, "data": {}},
        {"type": "t", "data": None},
    ]
    for bad in bad_events:
        assert_error_response(http.post(f"/session/{conv.session_id}/events", json=bad), 400)
    for bad_limit in (0, 201):
        assert_error_response(http.get(f"/session/{conv.session_id}/events", params={"limit": bad_limit}), 400)
    with pytest.raises(APIError) as exc:
        client.sessions.add_event(str(uuid.uuid4()), TextEvent(text="nowhere"))
    assert_api_error(exc.value, 404)

    client.sessions.delete(conv.session_id)
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM session_events WHERE session_id = %s", (conv.session_id,)).fetchone()
    assert row is not None
    assert row[0] == 0


def test_events_of_another_project(
    client: acontext.AcontextClient, other: acontext.AcontextClient, session_id: str
) -> None:
    """Another project can neither add nor list events of the session (404)."""
    client.sessions.add_event(session_id, TextEvent(text="private"))
    for call in (
        lambda: other.sessions.add_event(session_id, TextEvent(text="intrusion")),
        lambda: other.sessions.get_events(session_id),
    ):
        with pytest.raises(APIError) as exc:
            call()
        assert_api_error(exc.value, 404)
    assert [e.data for e in client.sessions.get_events(session_id).items] == [{"text": "private"}]


# --------------------------------------------------------------------------------------------
# Processing status and flush
# --------------------------------------------------------------------------------------------


def test_observing_status_and_flush(worker_stopped: Stack, http: httpx.Client) -> None:
    """With the converter stopped everything is pending; flush renders it synchronously."""
    with sdk_client(worker_stopped.api_url, worker_stopped.root_key) as client:
        tracked = _mixed_conversation(client)
        untracked = Conv.new(client, disable_task_tracking=True)
        untracked.user("no tracking here")
        untracked.assistant("fine")
        for conv, status in ((tracked, "success"), (untracked, "disable_tracking")):
            count = len(conv.ids)
            before = client.sessions.messages_observing_status(conv.session_id)
            assert (before.observed, before.in_process, before.pending) == (0, 0, count)
            assert before.updated_at
            raw = http.get(f"/session/{conv.session_id}/observing_status").json()["data"]
            assert raw.get("failed", 0) == 0
            assert client.sessions.get_token_counts(conv.session_id).total_tokens == conv.total()
            if status == "success":
                items = client.sessions.get_messages(conv.session_id, format="acontext").items
                assert {i["session_task_process_status"] for i in items} == {"pending"}

            flag = client.sessions.flush(conv.session_id)
            assert (flag.status, flag.errmsg) == (0, "")
            after = client.sessions.messages_observing_status(conv.session_id)
            assert (after.observed, after.in_process, after.pending) == (count, 0, 0)
            items = client.sessions.get_messages(conv.session_id, format="acontext").items
            assert [i["session_task_process_status"] for i in items] == [status] * count
            assert client.sessions.get_token_counts(conv.session_id).total_tokens == conv.total()
            assert client.sessions.flush(conv.session_id).status == 0  # nothing left: still fine

        empty = client.sessions.create().id
        status_empty = client.sessions.messages_observing_status(empty)
        assert (status_empty.observed, status_empty.in_process, status_empty.pending) == (0, 0, 0)
        for call in (
            lambda: client.sessions.flush(str(uuid.uuid4())),
            lambda: client.sessions.messages_observing_status(str(uuid.uuid4())),
        ):
            with pytest.raises(APIError) as exc:
                call()
            assert_api_error(exc.value, 404)


# --------------------------------------------------------------------------------------------
# Tasks
# --------------------------------------------------------------------------------------------


def test_tasks_are_empty(client: acontext.AcontextClient, http: httpx.Client, other: acontext.AcontextClient) -> None:
    """get_tasks is an empty page, the summary is ""; bad limits 400; missing/foreign session 404."""
    conv = Conv.new(client)
    conv.user("Plan a trip to Rome.")
    tasks = client.sessions.get_tasks(conv.session_id)
    assert (tasks.items, tasks.has_more) == ([], False)
    assert not tasks.next_cursor
    assert client.sessions.get_tasks(conv.session_id, limit=200, time_desc=True).items == []
    assert client.sessions.get_session_summary(conv.session_id) == ""
    assert client.sessions.get_session_summary(conv.session_id, limit=5) == ""
    for bad in (0, 201):
        with pytest.raises(APIError) as exc:
            client.sessions.get_tasks(conv.session_id, limit=bad)
        assert_api_error(exc.value, 400)
    assert_error_response(http.get(f"/session/{conv.session_id}/task", params={"limit": "x"}), 400)
    for sdk, sid in ((client, str(uuid.uuid4())), (other, conv.session_id)):
        with pytest.raises(APIError) as exc:
            sdk.sessions.get_tasks(sid)
        assert_api_error(exc.value, 404)
        with pytest.raises(APIError) as exc:
            sdk.sessions.get_session_summary(sid)
        assert_api_error(exc.value, 404)
