"""Request-level view of a conversation (conversion.md §2.3, §3, §4.7, §4.8).

What a client sends to the provider: Anthropic/Gemini system prompts hoisted into
``system``/``systemInstruction``, consecutive same-role turns merged (tool results first),
Gemini function responses in call order, OpenAI tool-result media moved behind the run of
tool messages. Same-format messages are used verbatim unless they have to be merged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from acx.codecs import anthropic, gemini, openai
from acx.codecs._items import Item, ItemKind
from acx.codecs.gemini.encode import system_parts as gemini_system_parts
from acx.model import Message, Provider, ToolCallPart, ToolResultPart

__all__ = ["ENCODERS", "EncodedRequest", "encode_request", "gemini_system_value", "items_for"]

ProviderFormat = Provider
Conversation = Sequence[tuple[str, Message, bytes]]

ENCODERS: dict[str, Callable[[Message], list[Item]]] = {
    "openai": openai.encode,
    "anthropic": anthropic.encode,
    "gemini": gemini.encode,
}


class EncodedRequest(msgspec.Struct):
    """An encoded request and, per output message, the source message ids."""

    payload: Any
    ids: list[list[str]]
    system_ids: list[str]


def gemini_system_value(raw: dict[str, Any]) -> dict[str, Any]:
    """The ``systemInstruction`` object of a stored Gemini system blob."""
    value = raw.get("systemInstruction", raw.get("system_instruction"))
    assert isinstance(value, dict)
    return value


def _verbatim(target: str, message: Message, payload: dict[str, Any]) -> Item:
    if message.role == "system":
        return Item(payload, kind="system", verbatim=True)
    if target == "openai":
        kind: ItemKind = "tool" if payload.get("role") in ("tool", "function") else "message"
        return Item(payload, kind=kind, verbatim=True)
    if target == "gemini":
        # The k-th functionResponse part is the k-th tool result of the decoded message.
        results = iter([p.call_id for p in message.parts if isinstance(p, ToolResultPart)])
        answers = [
            next(results, None) if ("functionResponse" in p or "function_response" in p) else None
            for p in payload.get("parts", [])
        ]
        calls = [p.id for p in message.parts if isinstance(p, ToolCallPart)]
        return Item(payload, answers=answers, calls=calls, verbatim=True)
    return Item(payload, verbatim=True)


def items_for(target: str, message: Message, raw: bytes) -> list[Item]:
    """Encoded items of one stored message; the stored blob itself for its own format.

    An empty ``raw`` means the message was edited (context-editing strategies): encode it from
    its parts even in its own format.
    """
    if raw and message.source_format == target:
        return [_verbatim(target, message, msgspec.json.decode(raw))]
    return ENCODERS[target](message)


def encode_request(target: ProviderFormat, messages: Conversation) -> EncodedRequest:
    """The request-level encoding of ``(id, message, raw blob)`` triples, in order."""
    if target == "openai":
        return _openai(messages)
    if target == "anthropic":
        return _anthropic(messages)
    return _gemini(messages)


def _is_blank(value: Any) -> bool:
    """``value in ("", [])`` for decoded JSON, without building a list per call."""
    return not value and (value.__class__ is str or value.__class__ is list)


def _openai_empty(payload: dict[str, Any]) -> bool:
    """An encoded message that carries nothing (an empty assistant or system turn, §7.1)."""
    role = payload.get("role")
    if role == "assistant":
        return not (
            payload.get("content")
            or payload.get("tool_calls")
            or payload.get("function_call")
            or payload.get("refusal")
        )
    return role in ("user", "system", "developer") and _is_blank(payload.get("content"))


def _openai(messages: Conversation) -> EncodedRequest:
    out: list[Any] = []
    ids: list[list[str]] = []
    # Media moved out of tool results waits until the run of tool messages ends.
    pending: tuple[dict[str, Any], list[str]] | None = None
    encode = openai.encode
    for mid, message, raw in messages:
        items = encode(message) if not raw or message.source_format != "openai" else items_for("openai", message, raw)
        for item in items:
            if item.kind == "tool":
                out.append(item.payload)
                ids.append([mid])
                continue
            if item.kind == "followup":
                if pending is None:
                    pending = (item.payload, [mid])
                else:
                    pending[0]["content"].extend(item.payload["content"])
                    pending[1].append(mid)
                continue
            if pending is not None:
                out.append(pending[0])
                ids.append(pending[1])
                pending = None
            # Stored OpenAI blobs stay verbatim, even empty ones (same-format reads are the original).
            if item.verbatim or not _openai_empty(item.payload):
                out.append(item.payload)
                ids.append([mid])
    if pending is not None:
        out.append(pending[0])
        ids.append(pending[1])
    return EncodedRequest(payload=out, ids=ids, system_ids=[])


def _blocks(content: Any) -> list[Any]:
    """Content as a block list (for merging); an empty string has no block."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return list(content)


def _anthropic(messages: Conversation) -> EncodedRequest:
    system: list[Any] = []  # each entry: the content of one system message
    system_ids: list[str] = []
    turns: list[tuple[dict[str, Any], list[str], bool]] = []  # (payload, ids, verbatim)
    leading = True
    encode = anthropic.encode
    for mid, message, raw in messages:
        same = raw and message.source_format == "anthropic"
        items = items_for("anthropic", message, raw) if same else encode(message)
        if message.role == "system":
            if message.source_format == "anthropic" and not leading:
                # An in-place system message stays where it is for same-format reads.
                turns.append((items[0].payload, [mid], True))
                continue
            content = items[0].payload["content"]
            if same or not _is_blank(content):  # a stored blank `system` is returned as it was
                system.append(content)
                system_ids.append(mid)
            continue
        leading = False
        for item in items:
            payload = item.payload
            content = payload.get("content")
            if (content is None or _is_blank(content)) and not item.verbatim:
                continue  # an empty turn carries nothing (stored blobs stay verbatim)
            # Same-format blobs stay verbatim, so two of them are never merged together.
            if turns and turns[-1][0].get("role") == payload["role"] and not (turns[-1][2] and item.verbatim):
                prev, prev_ids, _ = turns[-1]
                merged = _blocks(prev["content"]) + _blocks(payload["content"])
                if payload["role"] == "user":
                    merged.sort(key=lambda b: not (isinstance(b, dict) and b.get("type") == "tool_result"))
                turns[-1] = ({"role": payload["role"], "content": merged}, [*prev_ids, mid], False)
            else:
                turns.append((payload, [mid], item.verbatim))
    body: dict[str, Any] = {}
    value = _anthropic_system(system)
    if len(system) == 1 or not _is_blank(value):
        body["system"] = value
    body["messages"] = [t[0] for t in turns]
    return EncodedRequest(payload=body, ids=[t[1] for t in turns], system_ids=system_ids)


def _anthropic_system(system: list[Any]) -> Any:
    """One system message keeps its form; several give all their blocks, in order."""
    if len(system) == 1:
        return system[0]
    return [b for c in system for b in _blocks(c)]


class _Content:
    __slots__ = ("answers", "ids", "merged", "parts", "payload", "role", "verbatim")

    def __init__(self, role: str, item: Item, mid: str) -> None:
        self.role = role
        self.payload = item.payload
        self.parts: list[Any] = list(item.payload.get("parts", ()))  # a stored model content may have none
        self.answers = list(item.answers) or [None] * len(self.parts)
        self.ids = [mid]
        self.merged = False
        self.verbatim = item.verbatim


def _gemini(messages: Conversation) -> EncodedRequest:
    system_parts: list[Any] = []
    system_values: list[dict[str, Any]] = []
    system_ids: list[str] = []
    contents: list[_Content] = []
    call_order: dict[str, int] = {}
    encode = gemini.encode
    for mid, message, raw in messages:
        if message.role == "system":
            if message.source_format == "gemini":
                system_values.append(gemini_system_value(msgspec.json.decode(raw)))
                system_parts.extend(system_values[-1].get("parts", []))
            else:
                system_parts.extend(gemini_system_parts(message))
            system_ids.append(mid)
            continue
        items = encode(message) if not raw or message.source_format != "gemini" else items_for("gemini", message, raw)
        for item in items:
            if not item.payload.get("parts") and not item.verbatim:
                continue
            for call_id in item.calls:
                call_order.setdefault(call_id, len(call_order))
            role = "model" if item.payload.get("role") == "model" else "user"
            if contents and contents[-1].role == role and not (contents[-1].verbatim and item.verbatim):
                last = contents[-1]
                parts = item.payload.get("parts", ())
                last.parts.extend(parts)
                last.answers.extend(item.answers or [None] * len(parts))
                last.ids.append(mid)
                last.merged = True
                last.verbatim = False
            else:
                contents.append(_Content(role, item, mid))
    out = [_gemini_content(c, call_order) for c in contents]
    body: dict[str, Any] = {}
    if len(system_ids) == 1 and len(system_values) == 1:
        body["systemInstruction"] = system_values[0]  # the stored one, verbatim (even if empty)
    elif system_parts:
        body["systemInstruction"] = {"parts": system_parts}
    body["contents"] = out
    return EncodedRequest(payload=body, ids=[c.ids for c in contents], system_ids=system_ids)


def _gemini_content(content: _Content, call_order: dict[str, int]) -> dict[str, Any]:
    if content.verbatim:
        return content.payload
    reordered = _call_order(content, call_order)
    if content.merged or reordered:
        return {"role": content.role, "parts": content.parts}
    return content.payload


def _call_order(content: _Content, call_order: dict[str, int]) -> bool:
    """Sort functionResponse parts into call order, in their own slots. True if anything moved."""
    slots = [i for i, a in enumerate(content.answers) if a is not None]
    if len(slots) < 2:
        return False
    unknown = len(call_order)
    order = sorted(slots, key=lambda i: (call_order.get(content.answers[i] or "", unknown), i))
    if order == slots:
        return False
    parts, answers = list(content.parts), list(content.answers)
    for slot, src in zip(slots, order, strict=True):
        content.parts[slot] = parts[src]
        content.answers[slot] = answers[src]
    return True
