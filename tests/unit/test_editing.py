"""Context-editing strategies (acontext-api.md §8), including the §8.6 test vectors."""

from __future__ import annotations

import pytest

from acx.editing import apply_strategies, count_text_tokens, parse_strategies
from acx.errors import InvalidRequestError
from acx.model import Message, TextPart, ToolCallPart, ToolResultPart
from acx.tokens import count_tokens


def text(role: str, body: str) -> Message:
    return Message(role=role, parts=[TextPart(text=body)])  # type: ignore[arg-type]


def call(*ids: str, name: str = "get_weather") -> Message:
    return Message(role="assistant", parts=[ToolCallPart(id=i, name=name, arguments={"city": i}) for i in ids])


def result(call_id: str, body: str = "sunny and warm", name: str = "get_weather") -> Message:
    return Message(role="user", parts=[ToolResultPart(call_id=call_id, name=name, content=[TextPart(text=body)])])


def page(*messages: Message) -> list[tuple[str, Message]]:
    return [(f"m{i}", m) for i, m in enumerate(messages)]


def ids(result_page: list[tuple[str, Message]]) -> list[str]:
    return [message_id for message_id, _ in result_page]


def tokens_of(entries: list[tuple[str, Message]]) -> int:
    return sum(count_tokens(m) for _, m in entries)


def edit(raw: str, entries: list[tuple[str, Message]], pin: str | None = None) -> list[tuple[str, Message]]:
    return apply_strategies(entries, parse_strategies(raw), pin).messages


def test_priority_order_puts_token_limit_last() -> None:
    parsed = parse_strategies(
        '[{"type":"token_limit","params":{"limit_tokens":5}},{"type":"middle_out","params":{"token_reduce_to":9}},'
        '{"type":"remove_tool_call_params"},{"type":"remove_tool_result"}]'
    )
    assert [s.type for s in parsed] == ["remove_tool_result", "remove_tool_call_params", "middle_out", "token_limit"]


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("not json", "invalid edit_strategies JSON"),
        ('{"type":"token_limit"}', "must be a JSON array"),
        ('[{"type":"foo"}]', "unknown strategy type: foo"),
        ('[{"type":"token_limit"}]', "requires 'limit_tokens'"),
        ('[{"type":"token_limit","params":{"limit_tokens":0}}]', "limit_tokens must be >= 1"),
        ('[{"type":"remove_tool_result","params":{"keep_recent_n_tool_results":-1}}]', ">= 0"),
        ('[{"type":"remove_tool_result","params":{"tool_result_placeholder":5}}]', "must be a string"),
        ('[{"type":"remove_tool_result","params":{"keep_tools":"x"}}]', "keep_tools"),
        ('[{"type":"remove_tool_call_params","params":{"gt_token":0}}]', "gt_token must be >= 1"),
        ('[{"type":"middle_out","params":{"token_reduce_to":2.5}}]', "must be an integer"),
        ('[{"type":"middle_out","params":{"token_reduce_to":0}}]', "must be > 0"),
        ("[5]", "must be an object"),
    ],
)
def test_invalid_strategies_name_the_problem(raw: str, fragment: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_strategies(raw)
    assert fragment in info.value.msg


def test_remove_tool_result_keeps_recent_and_never_touches_input() -> None:
    entries = page(call("a", "b", "c", "d", "e"), *(result(i) for i in "abcde"))
    before = [m for _, m in entries]
    edited = edit('[{"type":"remove_tool_result","params":{"keep_recent_n_tool_results":3}}]', entries)
    texts = [p.content[0].text for _, m in edited for p in m.parts if isinstance(p, ToolResultPart)]  # type: ignore[union-attr]
    assert texts == ["Done", "Done", "sunny and warm", "sunny and warm", "sunny and warm"]
    assert [m for _, m in entries] == before  # inputs are not mutated


def test_remove_tool_result_keep_tools_and_gt_token_and_placeholder() -> None:
    long = "word " * 50
    entries = page(
        call("a", "b", "c"),
        result("a", long, name="search"),
        result("b", "short"),
        result("c", long),
    )
    raw = (
        '[{"type":"remove_tool_result","params":{"keep_recent_n_tool_results":0,'
        '"keep_tools":["search"],"gt_token":10,"tool_result_placeholder":"  [gone] "}}]'
    )
    edited = edit(raw, entries)
    texts = [p.content[0].text for _, m in edited for p in m.parts if isinstance(p, ToolResultPart)]  # type: ignore[union-attr]
    assert texts == [long, "short", "[gone]"]
    assert count_text_tokens(long) > 10


def test_remove_tool_call_params_blanks_oldest_arguments() -> None:
    entries = page(call("a"), result("a"), call("b"), result("b"))
    edited = edit('[{"type":"remove_tool_call_params","params":{"keep_recent_n_tool_calls":1}}]', entries)
    calls = [p for _, m in edited for p in m.parts if isinstance(p, ToolCallPart)]
    assert [c.arguments for c in calls] == [{}, {"city": "b"}]
    assert [c.id for c in calls] == ["a", "b"]


def test_token_limit_removes_oldest_with_their_tool_pairs() -> None:
    entries = page(
        text("user", "hello there " * 10), call("a"), text("user", "interleaved"), result("a"), text("user", "bye")
    )
    limit = count_tokens(entries[4][1]) + count_tokens(entries[2][1])
    edited = edit(f'[{{"type":"token_limit","params":{{"limit_tokens":{limit}}}}}]', entries)
    assert ids(edited) == ["m2", "m4"]
    assert tokens_of(edited) <= limit


def test_token_limit_under_budget_is_unchanged() -> None:
    entries = page(text("user", "a"), text("assistant", "b"))
    assert ids(edit('[{"type":"token_limit","params":{"limit_tokens":1000}}]', entries)) == ["m0", "m1"]


def test_middle_out_vectors() -> None:
    four = page(text("user", "zero"), text("assistant", "one one"), text("user", "two two two"), text("assistant", "3"))
    target = tokens_of(four) - count_tokens(four[2][1])
    assert ids(edit(f'[{{"type":"middle_out","params":{{"token_reduce_to":{target}}}}}]', four)) == ["m0", "m1", "m3"]

    three = page(text("user", "first"), text("assistant", "middle"), text("user", "last"))
    target = tokens_of(three) - count_tokens(three[1][1])
    assert ids(edit(f'[{{"type":"middle_out","params":{{"token_reduce_to":{target}}}}}]', three)) == ["m0", "m2"]

    two = page(text("user", "old message"), text("assistant", "new"))
    target = count_tokens(two[1][1])
    assert ids(edit(f'[{{"type":"middle_out","params":{{"token_reduce_to":{target}}}}}]', two)) == ["m1"]

    cascade = page(text("user", "s"), call("call_a", "call_b"), result("call_a"), result("call_b"), text("user", "e"))
    target = tokens_of(cascade) - 1
    assert ids(edit(f'[{{"type":"middle_out","params":{{"token_reduce_to":{target}}}}}]', cascade)) == ["m0", "m4"]


def test_pin_limits_editing_to_the_prefix() -> None:
    entries = page(call("a", "b"), result("a"), result("b"), text("user", "after"))
    strategies = parse_strategies('[{"type":"remove_tool_result","params":{"keep_recent_n_tool_results":0}}]')
    pinned = apply_strategies(entries, strategies, "m1")
    assert pinned.edit_at_message_id == "m1"
    assert pinned.changed == {"m1"}
    unpinned = apply_strategies(entries, strategies, "not-there")
    assert unpinned.edit_at_message_id == "m3"
    assert unpinned.changed == {"m1", "m2"}
    assert apply_strategies(entries, [], "m1").edit_at_message_id == "m3"
