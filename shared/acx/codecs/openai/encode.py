"""Internal model → OpenAI Chat Completions messages (cross-format encoding)."""

from __future__ import annotations

from typing import Any

from acx.codecs._items import Item
from acx.codecs._media import (
    DOCUMENT_MIMES,
    OPENAI_AUDIO_FORMATS,
    data_url,
    default_filename,
    describe,
    is_http,
    placeholder,
)
from acx.codecs._wire import arguments_text
from acx.model import (
    AudioPart,
    DataPart,
    DocumentPart,
    ImagePart,
    MediaPart,
    Message,
    Part,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    UnsupportedPart,
)

__all__ = ["encode"]

_BREAKPOINT = {"mode": "explicit"}


def encode(message: Message) -> list[Item]:
    """Encode one stored message; several items only when tool results must split."""
    if message.role == "system":
        return [_system(message)]
    if message.role == "assistant":
        return [_assistant(message)]
    return _user(message)


def _text(text: str, cache: bool = False) -> dict[str, Any]:
    part: dict[str, Any] = {"type": "text", "text": text}
    if cache:
        part["prompt_cache_breakpoint"] = dict(_BREAKPOINT)
    return part


def _content(parts: list[dict[str, Any]], string_ok: bool) -> str | list[dict[str, Any]]:
    """Collapse ``[{"type":"text","text":t}]`` to ``t`` when the form allows it."""
    if string_ok and len(parts) == 1 and set(parts[0]) == {"type", "text"} and parts[0]["type"] == "text":
        return str(parts[0]["text"])
    return parts


def _with_name(payload: dict[str, Any], message: Message) -> dict[str, Any]:
    if message.name is not None:
        payload["name"] = message.name
    return payload


def _system(message: Message) -> Item:
    role = "system"
    if message.source_format in ("openai", "acontext") and message.original_role == "developer":
        role = "developer"
    parts = [_text(p.text, p.cache) for p in message.parts if isinstance(p, TextPart)]
    content = _content(parts, message.content_form != "list")
    return Item(_with_name({"role": role, "content": content}, message), kind="system")


def _media(part: MediaPart) -> dict[str, Any]:
    """A user content part for media, or a placeholder text part."""
    out: dict[str, Any] | None = None
    if isinstance(part, ImagePart):
        url = data_url(part.mime or "image/png", part.data) if part.data is not None else part.url
        if url is not None and (part.data is not None or is_http(url)):
            image: dict[str, Any] = {"url": url}
            if part.detail:
                image["detail"] = part.detail
            out = {"type": "image_url", "image_url": image}
    elif isinstance(part, DocumentPart):
        if part.data is not None and part.mime in DOCUMENT_MIMES:
            file = {
                "file_data": data_url(part.mime, part.data),
                "filename": part.filename or default_filename(part.mime),
            }
            out = {"type": "file", "file": file}
        elif part.file_id is not None and part.file_provider == "openai":
            file = {"file_id": part.file_id}
            if part.filename:
                file["filename"] = part.filename
            out = {"type": "file", "file": file}
    elif isinstance(part, AudioPart) and part.data is not None and part.mime in OPENAI_AUDIO_FORMATS:
        out = {"type": "input_audio", "input_audio": {"data": part.data, "format": OPENAI_AUDIO_FORMATS[part.mime]}}
    if out is None:
        return _text(placeholder(describe(part)), part.cache)
    if part.cache:
        out["prompt_cache_breakpoint"] = dict(_BREAKPOINT)
    return out


def _user_part(part: Part) -> dict[str, Any] | None:
    if isinstance(part, TextPart):
        return _text(part.text, part.cache) if part.text else None
    if isinstance(part, MediaPart):
        # Reasoning (Gemini thought images) is never shown to the model as visible content.
        return None if part.reasoning else _media(part)
    if isinstance(part, UnsupportedPart):
        return _text(placeholder(part.what))
    if isinstance(part, DataPart):
        return _text(placeholder(f"data {part.data_type}"))
    # Reasoning is never shown to the model as visible text; calls cannot sit in a user turn.
    return None


def _tool_message(result: ToolResultPart) -> tuple[Item, list[dict[str, Any]]]:
    """The tool message for ``result`` and the media parts that must move to a user message."""
    texts: list[dict[str, Any]] = []
    media: list[dict[str, Any]] = []
    for part in result.content:
        if isinstance(part, TextPart):
            # A breakpoint on a block inside the result stays on that part (§7.1).
            texts.append(_text(part.text, part.cache))
        elif isinstance(part, UnsupportedPart):
            texts.append(_text(placeholder(part.what)))
        elif not part.reasoning:
            media.append(_media(part))
    if result.cache and not any("prompt_cache_breakpoint" in t for t in texts):
        # The result's breakpoint goes on its last text part, forcing list content.
        if not texts:
            texts.append(_text(""))
        texts[-1]["prompt_cache_breakpoint"] = dict(_BREAKPOINT)
    content: str | list[dict[str, Any]] = _content(texts, result.string_form) if texts else ""
    payload = {"role": "tool", "tool_call_id": result.call_id, "content": content}
    return Item(payload, kind="tool"), media


def _user(message: Message) -> list[Item]:
    items: list[Item] = []
    moved: list[dict[str, Any]] = []
    rest: list[dict[str, Any]] = []
    for part in message.parts:
        if isinstance(part, ToolResultPart):
            item, media = _tool_message(part)
            items.append(item)
            moved.extend(media)
        else:
            encoded = _user_part(part)
            if encoded is not None:
                rest.append(encoded)
    if moved or rest or not items:
        string_ok = not items and not moved and message.content_form != "list"
        payload = _with_name({"role": "user", "content": _content(moved + rest, string_ok)}, message)
        items.append(Item(payload, kind="followup" if items and not rest else "message"))
    return items


def _assistant(message: Message) -> Item:
    content: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    for part in message.parts:
        if isinstance(part, ToolCallPart):
            fn = {"name": part.name, "arguments": arguments_text(part.arguments)}
            calls.append({"id": part.id, "type": "function", "function": fn})
        elif isinstance(part, TextPart):
            if part.text:
                content.append(_text(part.text, part.cache))
        else:
            encoded = _user_part(part)
            # Assistant content holds only text parts: media becomes its placeholder.
            if encoded is not None:
                content.append(encoded if encoded["type"] == "text" else _text(placeholder(_what(part))))
    payload: dict[str, Any] = {"role": "assistant", "content": _content(content, True) if content else None}
    if calls:
        payload["tool_calls"] = calls
    return Item(_with_name(payload, message))


def _what(part: Part) -> str:
    return describe(part) if isinstance(part, MediaPart) else "content"
