"""Property tests over generated conversations (text, system, tool calls/results, parallel calls).

Any source format → any provider format → back keeps texts, roles, system texts, tool calls,
result pairing and (where no Gemini hop drops them) call ids; every encoding passes the SDK
validators (official types, no unknown keys, semantics).
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acx.codecs import IngestState, decode_blob, encode_request
from acx.model import Message, TextPart, ToolCallPart, ToolResultPart

PROVIDERS = ("openai", "anthropic", "gemini")
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

texts = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12)
ids = st.text("abcXYZ019_-", min_size=1, max_size=8)
names = st.sampled_from(["get_weather", "lookup", "search"])
json_scalars = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=5)
arguments = st.dictionaries(st.text(min_size=1, max_size=4), json_scalars, max_size=3)


@st.composite
def assistant_turn(draw: st.DrawFn) -> dict[str, Any]:
    n_calls = draw(st.integers(0, 3))
    call_ids = draw(st.lists(ids, min_size=n_calls, max_size=n_calls, unique=True))
    calls = [(cid, draw(names), draw(arguments)) for cid in call_ids]
    text = draw(st.lists(texts, min_size=0 if calls else 1, max_size=2))
    order = draw(st.permutations(list(range(n_calls))))
    results = [draw(st.text(max_size=10)) for _ in calls]
    after = draw(st.lists(texts, max_size=1)) if calls else []
    return {"kind": "assistant", "text": text, "calls": calls, "order": order, "results": results, "after": after}


def _unique_ids(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Call ids unique across the conversation ('Q' is outside the id alphabet)."""
    for i, turn in enumerate(turns):
        if turn["kind"] == "assistant":
            turn["calls"] = [(f"{cid}Q{i}", name, args) for cid, name, args in turn["calls"]]
    return turns


user_turn = st.builds(
    lambda t, s: {"kind": "user", "text": t, "string": s}, st.lists(texts, min_size=1, max_size=2), st.booleans()
)
system_turn = st.builds(lambda t: {"kind": "system", "text": t}, st.lists(texts, min_size=1, max_size=2))
conversations = st.tuples(
    st.lists(system_turn, max_size=1),
    st.lists(user_turn | assistant_turn() | system_turn, min_size=1, max_size=6).map(_unique_ids),
)


def _openai(turns: list[dict[str, Any]]) -> list[Any]:
    out: list[Any] = []
    for t in turns:
        if t["kind"] in ("system", "user"):
            role = "system" if t["kind"] == "system" else "user"
            one = len(t["text"]) == 1 and t.get("string", True)
            out.append(
                {"role": role, "content": t["text"][0] if one else [{"type": "text", "text": x} for x in t["text"]]}
            )
            continue
        calls = [
            {"id": i, "type": "function", "function": {"name": n, "arguments": json.dumps(a)}} for i, n, a in t["calls"]
        ]
        msg: dict[str, Any] = {"role": "assistant", "content": "".join(t["text"][:1]) or None}
        msg["content"] = [{"type": "text", "text": x} for x in t["text"]] if len(t["text"]) > 1 else msg["content"]
        if calls:
            msg["tool_calls"] = calls
        out.append(msg)
        out += [{"role": "tool", "tool_call_id": t["calls"][k][0], "content": t["results"][k]} for k in t["order"]]
        out += [{"role": "user", "content": x} for x in t["after"]]
    return out


def _anthropic(turns: list[dict[str, Any]]) -> list[Any]:
    out: list[Any] = []
    for t in turns:
        if t["kind"] in ("system", "user"):
            one = len(t["text"]) == 1 and t.get("string", True)
            out.append(
                {
                    "role": t["kind"],
                    "content": t["text"][0] if one else [{"type": "text", "text": x} for x in t["text"]],
                }
            )
            continue
        blocks = [{"type": "text", "text": x} for x in t["text"]]
        blocks += [{"type": "tool_use", "id": i, "name": n, "input": a} for i, n, a in t["calls"]]
        out.append({"role": "assistant", "content": blocks})
        user = [
            {"type": "tool_result", "tool_use_id": t["calls"][k][0], "content": t["results"][k]} for k in t["order"]
        ]
        user += [{"type": "text", "text": x} for x in t["after"]]
        if user:
            out.append({"role": "user", "content": user})
    return out


def _gemini(turns: list[dict[str, Any]]) -> list[Any]:
    out: list[Any] = []
    for t in turns:
        if t["kind"] == "system":
            out.append({"systemInstruction": {"parts": [{"text": x} for x in t["text"]]}})
        elif t["kind"] == "user":
            out.append({"role": "user", "parts": [{"text": x} for x in t["text"]]})
        else:
            parts: list[Any] = [{"text": x} for x in t["text"]]
            parts += [{"functionCall": {"id": i, "name": n, "args": a}} for i, n, a in t["calls"]]
            out.append({"role": "model", "parts": parts})
            resp = [
                {
                    "functionResponse": {
                        "id": t["calls"][k][0],
                        "name": t["calls"][k][1],
                        "response": {"output": t["results"][k]},
                    }
                }
                for k in t["order"]
            ]
            resp += [{"text": x} for x in t["after"]]
            if resp:
                out.append({"role": "user", "parts": resp})
    return out


def _acontext(turns: list[dict[str, Any]]) -> list[Any]:
    out: list[Any] = []
    for t in turns:
        text_parts = [{"type": "text", "text": x} for x in t["text"]]
        if t["kind"] == "system":
            out.append({"role": "user", "parts": text_parts, "meta": {"original_role": "system"}})
        elif t["kind"] == "user":
            out.append({"role": "user", "parts": text_parts})
        else:
            calls = [{"type": "tool-call", "meta": {"id": i, "name": n, "arguments": a}} for i, n, a in t["calls"]]
            out.append({"role": "assistant", "parts": text_parts + calls})
            results = [
                {"type": "tool-result", "text": t["results"][k], "meta": {"tool_call_id": t["calls"][k][0]}}
                for k in t["order"]
            ]
            results += [{"type": "text", "text": x} for x in t["after"]]
            if results:
                out.append({"role": "user", "parts": results})
    return out


BUILDERS = {"openai": _openai, "anthropic": _anthropic, "gemini": _gemini, "acontext": _acontext}


def store(fmt: str, blobs: list[Any]) -> list[tuple[str, Message, bytes]]:
    state = IngestState()
    stored = []
    for i, blob in enumerate(blobs):
        raw = msgspec.json.encode(blob)
        message, state = decode_blob(fmt, json.loads(raw), state)  # type: ignore[arg-type]
        stored.append((str(i), msgspec.json.decode(msgspec.json.encode(message), type=Message), raw))
    return stored


def payload_blobs(fmt: str, payload: Any) -> list[Any]:
    if fmt == "openai":
        return list(payload)
    if fmt == "anthropic":
        system = [{"role": "system", "content": payload["system"]}] if "system" in payload else []
        return [*system, *payload["messages"]]
    system = [{"systemInstruction": payload["systemInstruction"]}] if "systemInstruction" in payload else []
    return [*system, *payload["contents"]]


def summary(messages: list[tuple[str, Message, bytes]], with_ids: bool) -> tuple[list[str], list[Any]]:
    """System texts, and the ordered events (results within one run sorted by call)."""
    systems: list[str] = []
    events: list[Any] = []
    calls: dict[str, int] = {}
    for _, message, _ in messages:
        for part in message.parts:
            if message.role == "system":
                assert isinstance(part, TextPart)
                systems.append(part.text)
            elif isinstance(part, TextPart):
                events.append((message.role, "text", part.text))
            elif isinstance(part, ToolCallPart):
                calls[part.id] = len(calls)
                events.append(("call", calls[part.id], part.name, part.arguments, part.id if with_ids else None))
            elif isinstance(part, ToolResultPart):
                text = "\n".join(c.text for c in part.content if isinstance(c, TextPart))
                events.append(("result", calls[part.call_id], part.name, text, part.call_id if with_ids else None))
    # Gemini re-orders responses to call order; compare each run of results as a sorted group.
    grouped: list[Any] = []
    for event in events:
        if event[0] == "result" and grouped and isinstance(grouped[-1], list):
            grouped[-1].append(event)
        else:
            grouped.append([event] if event[0] == "result" else event)
    return systems, [sorted(g, key=lambda e: e[1]) if isinstance(g, list) else g for g in grouped]


SOURCES = ("openai", "anthropic", "gemini", "acontext")


@pytest.mark.parametrize("target", PROVIDERS)
@pytest.mark.parametrize("fmt", SOURCES)
@SETTINGS
@given(conversation=conversations)
def test_round_trips(fmt: str, target: str, conversation: tuple[list[Any], list[Any]], sdk: Any) -> None:
    """`fmt` -> `target` keeps the summary; a provider source also comes back from `target` unchanged."""
    leading, rest = conversation
    if fmt != "openai":  # only OpenAI keeps system messages inline
        rest = [t for t in rest if t["kind"] != "system"]
    stored = store(fmt, BUILDERS[fmt](leading + rest))
    encoded = encode_request(target, stored)  # type: ignore[arg-type]
    sdk.request(target, encoded.payload, cross_format=target != fmt)
    there = store(target, payload_blobs(target, encoded.payload))
    keeps_ids = "gemini" not in (fmt, target)
    assert summary(there, keeps_ids) == summary(stored, keeps_ids)
    if fmt in PROVIDERS:
        back = encode_request(fmt, there)  # type: ignore[arg-type]
        sdk.request(fmt, back.payload, cross_format=target != fmt)
        assert summary(store(fmt, payload_blobs(fmt, back.payload)), keeps_ids) == summary(stored, keeps_ids)
