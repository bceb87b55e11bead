"""Conversations and expectations shared by the SDK message tests: one conversation per source
format, what each format must encode, and small blob builders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import acontext
from acontext.messages import build_acontext_message

from tests.integration._helpers import turn_of
from tests.sdk_types import validate_items

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


def tool_call_blob(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    """An OpenAI assistant message with one function call."""
    function = {"name": name, "arguments": arguments}
    return {"role": "assistant", "tool_calls": [{"id": call_id, "type": "function", "function": function}]}


def acontext_blob(role: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    """An acontext blob as the SDK helper builds it (with nulls), as a plain dict."""
    message = build_acontext_message(role=role, parts=parts)  # type: ignore[arg-type]
    return {
        "role": message.role,
        "parts": [{"type": p.type, "text": p.text, "meta": p.meta, "file_field": p.file_field} for p in message.parts],
        "meta": message.meta,
    }


ACONTEXT_CONVERSATION: list[tuple[dict[str, Any], Expect]] = [
    (acontext_blob("user", [{"type": "text", "text": "Search for cats"}]), Expect("user", ["Search for cats"])),
    (
        acontext_blob(
            "assistant",
            [{"type": "tool-call", "meta": {"id": "call_s1", "name": "search", "arguments": '{"q": "cats"}'}}],
        ),
        Expect("assistant", calls=[("call_s1", "search", {"q": "cats"})]),
    ),
    (
        acontext_blob("user", [{"type": "tool-result", "text": "3 results", "meta": {"tool_call_id": "call_s1"}}]),
        Expect("tool", results=[("call_s1", "search", "3 results")]),
    ),
    (
        acontext_blob("assistant", [{"type": "text", "text": "Found 3 results."}]),
        Expect("assistant", ["Found 3 results."]),
    ),
]

CONVERSATIONS = {
    "openai": OPENAI_CONVERSATION,
    "anthropic": ANTHROPIC_CONVERSATION,
    "gemini": GEMINI_CONVERSATION,
    "acontext": ACONTEXT_CONVERSATION,
}


def new_session(client: acontext.AcontextClient, **kwargs: Any) -> str:
    return client.sessions.create(**kwargs).id


def check_items(fmt: str, items: list[Any], expects: list[Expect]) -> None:
    """Roles, texts, tool calls and tool results of `items` match `expects` (one item per message)."""
    validate_items(fmt, items)
    assert len(items) == len(expects), items
    call_ids: dict[str, str | None] = {}  # call name -> id seen in these items
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
