"""Sessions the browser tests look at, stored through the HTTP API like any client would."""

from __future__ import annotations

import json
import struct
import uuid
import zlib
from dataclasses import dataclass
from typing import Any

import httpx

# Stored text that would run script if the page ever put it into HTML.
XSS_TEXT = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


def png_bytes(width: int = 24, height: int = 12) -> bytes:
    """A real (decodable) PNG, so the browser can show its preview."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\0" + bytes((40, 120, 220)) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def ok(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()["data"]


def new_session(http: httpx.Client, **body: Any) -> str:
    return str(ok(http.post("/session", json=body))["id"])


def store(http: httpx.Client, session_id: str, fmt: str, blob: Any, meta: dict[str, Any] | None = None) -> str:
    body: dict[str, Any] = {"format": fmt, "blob": blob}
    if meta is not None:
        body["meta"] = meta
    return str(ok(http.post(f"/session/{session_id}/messages", json=body))["id"])


@dataclass
class Conversation:
    """A session of messages stored in all four formats, with an uploaded image."""

    session_id: str
    marker: str
    message_ids: list[str]


def four_format_session(http: httpx.Client) -> Conversation:
    """system (openai), user (anthropic), tool call + result (openai), answer (gemini), image (acontext)."""
    marker = uuid.uuid4().hex
    sid = new_session(http, configs={"e2e": marker, "agent": "weather"}, user=f"{marker}@example.com")
    ids = [
        store(http, sid, "openai", {"role": "system", "content": "You are a terse weather assistant."}),
        store(
            http,
            sid,
            "anthropic",
            {"role": "user", "content": [{"type": "text", "text": "Weather in Paris? " + XSS_TEXT}]},
            meta={"source": "web", XSS_TEXT: XSS_TEXT},
        ),
        store(
            http,
            sid,
            "openai",
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    }
                ],
            },
        ),
        store(http, sid, "openai", {"role": "tool", "tool_call_id": "call_1", "content": "22 degrees, sunny"}),
        store(http, sid, "gemini", {"role": "model", "parts": [{"text": "It is 22 degrees and sunny in Paris."}]}),
    ]
    payload = {
        "format": "acontext",
        "blob": {
            "role": "user",
            "parts": [{"type": "text", "text": "And this chart?"}, {"type": "image", "file_field": "img"}],
        },
    }
    uploaded = http.post(
        f"/session/{sid}/messages",
        data={"payload": json.dumps(payload)},
        files={"img": (XSS_TEXT[:19] + ".png", png_bytes(), "image/png")},
    )
    ids.append(str(ok(uploaded)["id"]))
    ok(http.post(f"/session/{sid}/events", json={"type": "deploy", "data": {"version": marker}}))
    return Conversation(sid, marker, ids)
