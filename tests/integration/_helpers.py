"""Shared helpers for the SDK integration tests: clients, item inspection, polling."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import acontext
import httpx
import psycopg

# Re-exported for the integration tests: one definition serves both layers.
from tests.http._helpers import assert_error_response as assert_error_response  # noqa: PLC0414

FORMATS: tuple[str, ...] = ("openai", "anthropic", "gemini", "acontext")
PROVIDER_FORMATS: tuple[str, ...] = ("openai", "anthropic", "gemini")


@contextmanager
def sdk_client(api_url: str, api_key: str) -> Iterator[acontext.AcontextClient]:
    """A sync SDK client, closed afterwards."""
    client = acontext.AcontextClient(api_key=api_key, base_url=api_url)
    try:
        yield client
    finally:
        client.close()


@dataclass
class Turn:
    """What one item says, independent of its wire format."""

    role: str
    texts: list[str] = field(default_factory=list)
    calls: list[tuple[str | None, str, dict[str, Any]]] = field(default_factory=list)  # (id, name, args)
    results: list[tuple[str | None, str]] = field(default_factory=list)  # (call id or name, text)


def _text_of(content: Any) -> str:
    """Text of a tool-result content (string or list of text blocks/parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(block.get("text", "")) for block in content if isinstance(block, dict))
    return ""


def _args(arguments: Any) -> dict[str, Any]:
    parsed = json.loads(arguments) if isinstance(arguments, str) else arguments
    assert isinstance(parsed, dict), f"tool arguments are not an object: {arguments!r}"
    return parsed


def _gemini_response_text(response: Any) -> str:
    if isinstance(response, dict) and set(response) in ({"output"}, {"error"}):
        value = next(iter(response.values()))
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return json.dumps(response, separators=(",", ":"))


def turn_of(fmt: str, item: dict[str, Any]) -> Turn:
    """Summarise one item of `fmt` (role, texts, tool calls, tool results)."""
    turn = Turn(role=str(item.get("role")))
    if fmt == "openai":
        content = item.get("content")
        if item["role"] == "tool":
            turn.results.append((item.get("tool_call_id"), _text_of(content)))
        elif isinstance(content, str):
            turn.texts.append(content)
        elif isinstance(content, list):
            turn.texts.extend(p["text"] for p in content if p.get("type") == "text")
        for call in item.get("tool_calls") or []:
            fn = call["function"]
            turn.calls.append((call.get("id"), fn["name"], _args(fn["arguments"])))
    elif fmt == "anthropic":
        content = item["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        for block in blocks:
            if block["type"] == "text":
                turn.texts.append(block["text"])
            elif block["type"] == "tool_use":
                turn.calls.append((block["id"], block["name"], _args(block["input"])))
            elif block["type"] == "tool_result":
                turn.results.append((block["tool_use_id"], _text_of(block.get("content", ""))))
    elif fmt == "gemini":
        for part in item.get("parts") or []:
            if "text" in part and not part.get("thought"):
                turn.texts.append(part["text"])
            elif "functionCall" in part:
                call = part["functionCall"]
                turn.calls.append((call.get("id"), call["name"], dict(call.get("args") or {})))
            elif "functionResponse" in part:
                resp = part["functionResponse"]
                turn.results.append((resp["name"], _gemini_response_text(resp.get("response"))))
    elif fmt == "acontext":
        for part in item["parts"]:
            meta = part.get("meta") or {}
            if part["type"] == "text":
                turn.texts.append(part["text"])
            elif part["type"] == "tool-call":
                turn.calls.append((meta.get("id"), meta["name"], _args(meta.get("arguments") or {})))
            elif part["type"] == "tool-result":
                turn.results.append((meta.get("tool_call_id"), part.get("text") or ""))
    else:
        raise ValueError(fmt)
    return turn


def store_raw(http: httpx.Client, session_id: str, blob: Any, fmt: str = "openai", **extra: Any) -> httpx.Response:
    """POST one message with a plain HTTP client (for inputs the SDK would refuse)."""
    return http.post(f"/session/{session_id}/messages", json={"blob": blob, "format": fmt, **extra})


def message_count(http: httpx.Client, session_id: str) -> int:
    """How many stored messages a session has (distinct ids of a full read)."""
    response = http.get(f"/session/{session_id}/messages", params={"format": "acontext"})
    assert response.status_code == 200, response.text
    return len(set(response.json()["data"]["ids"]))


def assert_api_error(exc: BaseException, status: int) -> None:
    """`exc` is an SDK APIError with HTTP `status`."""
    assert isinstance(exc, acontext.errors.APIError), repr(exc)
    assert exc.status_code == status, f"expected {status}, got {exc.status_code}: {exc.payload}"


def poll(check: Callable[[], bool], timeout: float = 20.0, interval: float = 0.1) -> bool:
    """Call `check` until it is true or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)


def rendering_formats(database_url: str, message_ids: Sequence[str]) -> dict[str, set[str]]:
    """message id -> formats cached in the `renderings` table."""
    out: dict[str, set[str]] = {mid: set() for mid in message_ids}
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT message_id::text, format FROM renderings WHERE message_id = ANY(%s::uuid[])",
            (list(message_ids),),
        ).fetchall()
    for message_id, fmt in rows:
        out[message_id].add(fmt)
    return out
