"""Conversations built through the SDK for the session-operation tests, with their expected
token counts computed independently of the server from acontext-api.md §9: per message, text-like
parts contribute `text + "\\n"`, a tool call the sorted-key JSON `{"arguments": …, "name": …}` +
`"\\n"`, counted with o200k_base.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import acontext

from acx.tokens import get_encoding  # the vendored o200k vocabulary (tiktoken would download it)

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


def get_messages(
    client: acontext.AcontextClient, session_id: str, strategies: list[dict[str, Any]] | None, **kw: Any
) -> Any:
    """get_messages with edit strategies (typed loosely: the SDK's TypedDicts are strict)."""
    return client.sessions.get_messages(session_id, edit_strategies=strategies, **kw)  # type: ignore[arg-type]


def tool_texts(items: list[Any]) -> dict[str, str]:
    """OpenAI items: tool_call_id -> tool message content."""
    return {item["tool_call_id"]: item["content"] for item in items if item["role"] == "tool"}


def call_args(items: list[Any]) -> dict[str, str]:
    """OpenAI items: tool call id -> arguments string."""
    return {
        call["id"]: call["function"]["arguments"]
        for item in items
        if item["role"] == "assistant"
        for call in item.get("tool_calls") or []
    }


def tool_session(client: acontext.AcontextClient) -> tuple[Conv, dict[str, str], dict[str, str]]:
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
    client.sessions.flush(conv.session_id)  # conversion states settle: acontext items stay comparable
    return conv, results, args


def mixed_conversation(client: acontext.AcontextClient) -> Conv:
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
