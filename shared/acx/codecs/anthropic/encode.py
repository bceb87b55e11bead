"""Internal model → Anthropic ``MessageParam`` (cross-format rendering)."""

from __future__ import annotations

import re
from typing import Any

from acx.codecs._items import Item
from acx.codecs._media import ANTHROPIC_IMAGE_MIMES, decode_text, describe, is_http, placeholder
from acx.model import (
    DataPart,
    DocumentPart,
    ImagePart,
    MediaPart,
    Message,
    Part,
    RedactedThinkingPart,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultContent,
    ToolResultPart,
    UnsupportedPart,
)

__all__ = ["encode", "sanitize_id", "system_blocks"]

_UNSAFE_ID = re.compile(r"[^a-zA-Z0-9_-]")


def sanitize_id(call_id: str) -> str:
    """Anthropic ids must match ``^[a-zA-Z0-9_-]+$``: other characters become ``_``."""
    return _UNSAFE_ID.sub("_", call_id) or "_"


def _cached(block: dict[str, Any], cache: bool) -> dict[str, Any]:
    if cache:
        block["cache_control"] = {"type": "ephemeral"}
    return block


def _text(text: str, cache: bool = False) -> dict[str, Any]:
    return _cached({"type": "text", "text": text}, cache)


def _media(part: MediaPart) -> dict[str, Any]:
    block: dict[str, Any] | None = None
    if isinstance(part, ImagePart):
        source: dict[str, Any] | None = None
        if part.data is not None and part.mime in ANTHROPIC_IMAGE_MIMES:
            source = {"type": "base64", "media_type": part.mime, "data": part.data}
        elif part.data is None and part.url is not None and is_http(part.url):
            source = {"type": "url", "url": part.url}
        elif part.file_id is not None and part.file_provider == "anthropic":
            source = {"type": "file", "file_id": part.file_id}
        if source is not None:
            block = {"type": "image", "source": source}
    elif isinstance(part, DocumentPart):
        block = _document(part)
    if block is None:
        return _text(placeholder(describe(part)), part.cache)
    return _cached(block, part.cache)


def _document(part: DocumentPart) -> dict[str, Any] | None:
    source: dict[str, Any] | None = None
    if part.data is not None and part.mime == "application/pdf":
        source = {"type": "base64", "media_type": "application/pdf", "data": part.data}
    elif part.data is not None and part.mime == "text/plain":
        source = {"type": "text", "media_type": "text/plain", "data": decode_text(part.data)}
    elif part.data is None and part.url is not None and is_http(part.url) and part.mime == "application/pdf":
        source = {"type": "url", "url": part.url}
    elif part.file_id is not None and part.file_provider == "anthropic":
        source = {"type": "file", "file_id": part.file_id}
    if source is None:
        return None
    block: dict[str, Any] = {"type": "document", "source": source}
    if part.filename:
        block["title"] = part.filename
    return block


def _content_part(part: ToolResultContent) -> dict[str, Any] | None:
    if isinstance(part, TextPart):
        return _text(part.text, part.cache) if part.text else None
    if isinstance(part, UnsupportedPart):
        return part.raw if part.provider == "anthropic" else _text(placeholder(part.what))
    return _media(part)


def _tool_result(part: ToolResultPart) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": sanitize_id(part.call_id)}
    blocks = [b for b in map(_content_part, part.content) if b is not None]
    if part.string_form and all(isinstance(c, TextPart) for c in part.content):
        text = "".join(c.text for c in part.content if isinstance(c, TextPart))
        if text or blocks:
            block["content"] = text
    elif blocks:
        block["content"] = blocks
    if part.is_error:
        block["is_error"] = True
    return _cached(block, part.cache)


def _block(part: Part) -> dict[str, Any] | None:  # noqa: PLR0911 - one branch per part type
    if isinstance(part, TextPart | UnsupportedPart | MediaPart):
        return _content_part(part)
    if isinstance(part, ToolCallPart):
        block = {"type": "tool_use", "id": sanitize_id(part.id), "name": part.name, "input": part.arguments}
        return _cached(block, part.cache)
    if isinstance(part, ToolResultPart):
        return _tool_result(part)
    if isinstance(part, ThinkingPart):
        # A thinking block needs a signature Anthropic issued; anything else is dropped.
        if part.provider == "anthropic" and part.signature:
            return {"type": "thinking", "thinking": part.text, "signature": part.signature}
        return None
    if isinstance(part, RedactedThinkingPart):
        return {"type": "redacted_thinking", "data": part.data} if part.provider == "anthropic" else None
    if isinstance(part, DataPart):
        return _text(placeholder(f"data {part.data_type}"))
    return None


def system_blocks(message: Message) -> list[dict[str, Any]]:
    """Text blocks of a system message (for top-level ``system``)."""
    return [_text(p.text, p.cache) for p in message.parts if isinstance(p, TextPart) and p.text]


def _collapse(blocks: list[dict[str, Any]], message: Message) -> str | list[dict[str, Any]]:
    if message.content_form != "list" and len(blocks) == 1 and set(blocks[0]) == {"type", "text"}:
        return str(blocks[0]["text"])
    return blocks


def encode(message: Message) -> list[Item]:
    """Render one stored message as one ``MessageParam`` (system → ``role: system``)."""
    if message.role == "system":
        content = _collapse(system_blocks(message), message)
        return [Item({"role": "system", "content": content}, kind="system")]
    blocks = [b for b in map(_block, message.parts) if b is not None]
    if message.role == "user":
        # Anthropic requires tool_result blocks before anything else in a user turn.
        blocks.sort(key=lambda b: b.get("type") != "tool_result")
    return [Item({"role": message.role, "content": _collapse(blocks, message)})]
