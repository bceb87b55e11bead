"""Internal model → Anthropic ``MessageParam`` (cross-format encoding)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from acx.codecs._items import Item
from acx.codecs._media import ANTHROPIC_IMAGE_MIMES, decode_text, describe, is_http, placeholder
from acx.model import (
    AudioPart,
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
    VideoPart,
)

__all__ = ["encode", "sanitize_id", "system_blocks"]

_UNSAFE_ID = re.compile(r"[^a-zA-Z0-9_-]")


def sanitize_id(call_id: str) -> str:
    """Anthropic ids must match ``^[a-zA-Z0-9_-]+$``: other characters become ``_``."""
    if call_id.isascii() and call_id.replace("_", "a").replace("-", "a").isalnum():
        return call_id  # already valid (the usual case)
    return _UNSAFE_ID.sub("_", call_id) or "_"


def _cached(block: dict[str, Any], cache: bool) -> dict[str, Any]:
    if cache:
        block["cache_control"] = {"type": "ephemeral"}
    return block


def _text(text: str, cache: bool = False) -> dict[str, Any]:
    if cache:
        return {"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}
    return {"type": "text", "text": text}


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
    # Reasoning (Gemini thought images) is dropped like all foreign reasoning (§4.9).
    return None if part.reasoning else _media(part)


def _tool_result(part: ToolResultPart) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": sanitize_id(part.call_id)}
    content = part.content
    if part.string_form and len(content) == 1 and type(content[0]) is TextPart:
        # The usual case: one text, encoded as a string (blocks are irrelevant to it).
        if content[0].text:
            block["content"] = content[0].text
    else:
        blocks = [b for b in map(_content_part, content) if b is not None]
        if part.string_form and all(isinstance(c, TextPart) for c in content):
            text = "".join(c.text for c in content if isinstance(c, TextPart))
            if text or blocks:
                block["content"] = text
        elif blocks:
            block["content"] = blocks
    if part.is_error:
        block["is_error"] = True
    return _cached(block, part.cache)


def _tool_call(part: ToolCallPart) -> dict[str, Any]:
    block = {"type": "tool_use", "id": sanitize_id(part.id), "name": part.name, "input": part.arguments}
    return _cached(block, part.cache)


def _thinking(part: ThinkingPart) -> dict[str, Any] | None:
    # A thinking block needs a signature Anthropic issued; anything else is dropped.
    if part.provider == "anthropic" and part.signature:
        return {"type": "thinking", "thinking": part.text, "signature": part.signature}
    return None


def _redacted(part: RedactedThinkingPart) -> dict[str, Any] | None:
    return {"type": "redacted_thinking", "data": part.data} if part.provider == "anthropic" else None


def _data(part: DataPart) -> dict[str, Any]:
    return _text(placeholder(f"data {part.data_type}"))


#: Block encoder per part type (exact types: the model's part classes are final).
_BLOCKS: dict[type, Callable[[Any], dict[str, Any] | None]] = {
    TextPart: _content_part,
    UnsupportedPart: _content_part,
    ImagePart: _content_part,
    DocumentPart: _content_part,
    AudioPart: _content_part,
    VideoPart: _content_part,
    ToolCallPart: _tool_call,
    ToolResultPart: _tool_result,
    ThinkingPart: _thinking,
    RedactedThinkingPart: _redacted,
    DataPart: _data,
}


def _block(part: Part) -> dict[str, Any] | None:
    encode_block = _BLOCKS.get(type(part))
    return encode_block(part) if encode_block is not None else None


def system_blocks(message: Message) -> list[dict[str, Any]]:
    """Text blocks of a system message (for top-level ``system``)."""
    return [_text(p.text, p.cache) for p in message.parts if isinstance(p, TextPart) and p.text]


def _collapse(blocks: list[dict[str, Any]], message: Message) -> str | list[dict[str, Any]]:
    if not blocks and message.content_form == "string":
        return ""  # an empty message (items view only: the request view leaves it out)
    if message.content_form != "list" and len(blocks) == 1:
        only = blocks[0]
        if len(only) == 2 and "type" in only and "text" in only:
            return str(only["text"])
    return blocks


def _tool_result_last(block: dict[str, Any]) -> bool:
    return block.get("type") != "tool_result"


def encode(message: Message) -> list[Item]:
    """Encode one stored message as one ``MessageParam`` (system → ``role: system``)."""
    if message.role == "system":
        content = _collapse(system_blocks(message), message)
        return [Item({"role": "system", "content": content}, kind="system")]
    blocks: list[dict[str, Any]] = []
    for part in message.parts:
        if type(part) is TextPart:
            if part.text:
                blocks.append(_text(part.text, part.cache))
        else:
            encode_block = _BLOCKS.get(type(part))
            block = encode_block(part) if encode_block is not None else None
            if block is not None:
                blocks.append(block)
    if message.role == "user" and len(blocks) > 1:
        # Anthropic requires tool_result blocks before anything else in a user turn.
        blocks.sort(key=_tool_result_last)
    return [Item({"role": message.role, "content": _collapse(blocks, message)})]
