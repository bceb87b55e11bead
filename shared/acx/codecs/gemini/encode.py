"""Internal model → Gemini ``Content`` (cross-format encoding, camelCase keys)."""

from __future__ import annotations

from typing import Any

from acx.codecs._items import Item
from acx.codecs._media import describe, mime_from_uri, placeholder
from acx.model import (
    DataPart,
    MediaPart,
    Message,
    Part,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
    UnsupportedPart,
)

__all__ = ["encode", "system_parts"]


def _media(part: MediaPart) -> dict[str, Any]:
    out = _media_data(part)
    if part.reasoning and "text" not in out:
        out["thought"] = True
    return out


def _media_data(part: MediaPart) -> dict[str, Any]:
    if part.data is not None:
        return {"inlineData": {"mimeType": part.mime or "application/octet-stream", "data": part.data}}
    # A Gemini Files API URI is Gemini's own file: native fileData here.
    uri = part.file_id if part.file_provider == "gemini" else part.url
    if uri is not None:
        file: dict[str, Any] = {}
        mime = part.mime or mime_from_uri(uri)
        if mime:
            file["mimeType"] = mime
        file["fileUri"] = uri
        return {"fileData": file}
    return {"text": placeholder(describe(part))}


def _response(part: ToolResultPart) -> dict[str, Any]:
    texts: list[str] = []
    media: list[dict[str, Any]] = []
    for item in part.content:
        if isinstance(item, TextPart):
            texts.append(item.text)
        elif isinstance(item, UnsupportedPart):
            texts.append(placeholder(item.what))
        else:
            encoded = _media_data(item)
            if "text" in encoded:
                texts.append(encoded["text"])
            else:
                media.append(encoded)
    if part.response is not None:
        response: dict[str, Any] = part.response
    else:
        # Strings are never parsed as JSON, so they round-trip byte for byte.
        response = {"error" if part.is_error else "output": "\n".join(texts)}
    body: dict[str, Any] = {"name": part.name, "response": response}
    if media:
        body["parts"] = media
    return {"functionResponse": body}


def _part(part: Part) -> dict[str, Any] | None:  # noqa: PLR0911 - one branch per part type
    if isinstance(part, TextPart):
        return {"text": part.text} if part.text else None
    if isinstance(part, MediaPart):
        return _media(part)
    if isinstance(part, ToolCallPart):
        # No ids: Gemini before 3 rejects them and pairs calls by position and name.
        return {"functionCall": {"name": part.name, "args": part.arguments}}
    if isinstance(part, ToolResultPart):
        return _response(part)
    if isinstance(part, ThinkingPart):
        thought: dict[str, Any] = {"text": part.text, "thought": True}
        if part.provider == "gemini" and part.signature:
            thought["thoughtSignature"] = part.signature
        return thought if part.text else None
    if isinstance(part, UnsupportedPart):
        return part.raw if part.provider == "gemini" else {"text": placeholder(part.what)}
    if isinstance(part, DataPart):
        return {"text": placeholder(f"data {part.data_type}")}
    return None  # redacted thinking has no Gemini form


def system_parts(message: Message) -> list[dict[str, Any]]:
    """Text parts of a system message (for ``systemInstruction``)."""
    return [{"text": p.text} for p in message.parts if isinstance(p, TextPart) and p.text]


def encode(message: Message) -> list[Item]:
    """Encode one stored message as one ``Content`` (system → a ``user`` content)."""
    if message.role == "system":
        return [Item({"role": "user", "parts": system_parts(message)}, kind="system")]
    parts: list[dict[str, Any]] = []
    answers: list[str | None] = []
    calls: list[str] = []
    for part in message.parts:
        if type(part) is TextPart:  # the usual part, inline
            if part.text:
                parts.append({"text": part.text})
                answers.append(None)
            continue
        encoded = _part(part)
        if encoded is None:
            continue
        parts.append(encoded)
        if isinstance(part, ToolResultPart):
            answers.append(part.call_id)
        else:
            answers.append(None)
            if isinstance(part, ToolCallPart):
                calls.append(part.id)
    role = "model" if message.role == "assistant" else "user"
    return [Item({"role": role, "parts": parts}, answers=answers, calls=calls)]
