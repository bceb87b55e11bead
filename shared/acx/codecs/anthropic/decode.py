"""Anthropic Messages ``MessageParam`` (and a stored ``SystemMessageParam``) → internal model."""

from __future__ import annotations

from typing import Any, Literal

from acx.codecs import _wire as w
from acx.codecs._media import by_reference, check_base64, encode_text, mime_from_uri
from acx.codecs.pairing import Ledger
from acx.errors import DecodeError
from acx.model import (
    ContentForm,
    DocumentPart,
    ImagePart,
    Message,
    Part,
    RedactedThinkingPart,
    Role,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultContent,
    ToolResultPart,
    UnsupportedPart,
)

__all__ = ["decode"]

_ROLES: dict[str, Role] = {"user": "user", "assistant": "assistant", "system": "system"}
# Known ContentBlockParam types with no equivalent elsewhere: kept, placeholders cross-format.
_OPAQUE = frozenset(
    {
        "search_result",
        "server_tool_use",
        "web_search_tool_result",
        "web_fetch_tool_result",
        "code_execution_tool_result",
        "bash_code_execution_tool_result",
        "text_editor_code_execution_tool_result",
        "tool_search_tool_result",
        "container_upload",
        "mcp_tool_use",
        "mcp_tool_result",
        "tool_reference",
        "browser_state",
    }
)


def decode(blob: object, ledger: Ledger) -> Message:
    """Decode one Anthropic message blob (role user, assistant or system)."""
    b = blob if type(blob) is dict else w.obj(blob, "")
    raw_role = b.get("role")
    if not isinstance(raw_role, str) or raw_role not in _ROLES:
        raise DecodeError("unknown_role", f"unknown Anthropic role {raw_role!r}", "role")
    role = _ROLES[raw_role]
    content = b.get("content")
    if content is None:
        raise DecodeError("empty_content", "Anthropic message content must not be empty", "content")
    if not content and isinstance(content, str | list):  # content in ("", [])
        if role == "user":
            raise DecodeError("empty_content", "Anthropic message content must not be empty", "content")
        # Claude returns an empty assistant turn at times (and the API accepts one as the final
        # message); an empty system message is harmless: kept, left out of the request view.
        form: ContentForm = "string" if isinstance(content, str) else "list"
        return Message(role=role, parts=[], source_format="anthropic", content_form=form, original_role=_original(role))
    if isinstance(content, str):
        return Message(role=role, parts=[TextPart(text=content)], source_format="anthropic", content_form="string")
    if not isinstance(content, list):
        raise DecodeError("invalid_blob", "content must be a string or a list of blocks", "content")
    parts: list[Part] = []
    empty_text = False
    for i, raw in enumerate(content):
        if type(raw) is dict and raw.get("type") == "text" and type(text := raw.get("text")) is str:
            # The usual block, decoded inline.
            if text:
                parts.append(TextPart(text=text, cache=raw.get("cache_control") is not None))
            continue
        try:
            parts.extend(_checked_block(raw, role, ledger))
        except DecodeError as exc:
            raise w.prefixed(exc, f"content[{i}]") from None
        empty_text = True  # _block may return empty text parts (e.g. document text)
    # Empty text blocks (e.g. next to tool_use) carry nothing; a message of only those is empty.
    if empty_text:
        parts = [p for p in parts if not (isinstance(p, TextPart) and not p.text)]
    if not parts and role == "user":
        raise DecodeError("empty_content", "Anthropic message has no non-empty content", "content")
    return Message(
        role=role, parts=parts, source_format="anthropic", content_form="list", original_role=_original(role)
    )


def _original(role: Role) -> Literal["system"] | None:
    return "system" if role == "system" else None


def _checked_block(raw: object, role: Role, ledger: Ledger) -> list[Part]:
    """One content block (errors relative to it)."""
    block = w.obj(raw, "", "content block")
    if role == "system" and block.get("type") != "text":
        raise DecodeError("unknown_part_type", "system content blocks must be text", "type")
    return _block(block, "", role, ledger)


def _cache(block: dict[str, Any]) -> bool:
    return block.get("cache_control") is not None


def _block(block: dict[str, Any], path: str, role: str, ledger: Ledger) -> list[Part]:  # noqa: PLR0911 - per type
    kind = block.get("type")
    cache = _cache(block)
    if kind == "text":
        return [TextPart(text=w.req_str(block, "text", path), cache=cache)]
    if kind == "image":
        return [_image(block, path, cache)]
    if kind == "document":
        return list(_document(block, path, cache))
    if kind == "tool_use":
        if role != "assistant":
            raise DecodeError("invalid_blob", "tool_use blocks belong in assistant messages", path)
        call_id = w.req_str(block, "id", path)
        name = w.req_str(block, "name", path)
        arguments = block.get("input", {})
        if not isinstance(arguments, dict):
            raise DecodeError("invalid_tool_arguments", "tool_use input must be an object", w.join(path, "input"))
        ledger.add_call(call_id, name)
        return [ToolCallPart(id=call_id, name=name, arguments=arguments, cache=cache)]
    if kind == "tool_result":
        if role != "user":
            raise DecodeError("invalid_blob", "tool_result blocks belong in user messages", path)
        return [_tool_result(block, path, ledger)]
    if kind == "thinking":
        text = w.req_str(block, "thinking", path)
        signature = w.opt_str(block, "signature", path)
        return [ThinkingPart(text=text, signature=signature, provider="anthropic")]
    if kind == "redacted_thinking":
        return [RedactedThinkingPart(data=w.req_str(block, "data", path))]
    if isinstance(kind, str) and kind in _OPAQUE:
        return [UnsupportedPart(provider="anthropic", what=f"anthropic {kind}", raw=block)]
    raise DecodeError("unknown_part_type", f"unknown Anthropic block type {kind!r}", w.join(path, "type"))


def _image(block: dict[str, Any], path: str, cache: bool) -> ImagePart:
    source = w.req_obj(block, "source", path)
    spath = w.join(path, "source")
    kind = source.get("type")
    if kind == "base64":
        mime = w.req_str(source, "media_type", spath)
        data = check_base64(w.req_str(source, "data", spath), w.join(spath, "data"))
        return ImagePart(mime=mime, data=data, cache=cache)
    if kind == "url":
        url = w.req_str(source, "url", spath)
        return by_reference(ImagePart, url, mime_from_uri(url), cache=cache)
    if kind == "file":
        file_id = w.req_str(source, "file_id", spath)
        return ImagePart(file_id=file_id, file_provider="anthropic", cache=cache)
    raise DecodeError("invalid_blob", f"unknown image source type {kind!r}", w.join(spath, "type"))


def _document(block: dict[str, Any], path: str, cache: bool) -> list[ToolResultContent]:
    source = w.req_obj(block, "source", path)
    spath = w.join(path, "source")
    title = w.opt_str(block, "title", path)
    kind = source.get("type")
    if kind == "base64":
        mime = w.req_str(source, "media_type", spath)
        data = check_base64(w.req_str(source, "data", spath), w.join(spath, "data"))
        return [DocumentPart(mime=mime, data=data, filename=title, cache=cache)]
    if kind == "text":
        mime = w.opt_str(source, "media_type", spath) or "text/plain"
        text = w.req_str(source, "data", spath)
        return [DocumentPart(mime=mime, data=encode_text(text), filename=title, cache=cache)]
    if kind == "url":
        url = w.req_str(source, "url", spath)
        return [by_reference(DocumentPart, url, "application/pdf", filename=title, cache=cache)]
    if kind == "file":
        file_id = w.req_str(source, "file_id", spath)
        return [DocumentPart(file_id=file_id, file_provider="anthropic", filename=title, cache=cache)]
    if kind == "content":
        # Custom content: flattened to its text and image blocks in the other formats.
        inner = source.get("content")
        if isinstance(inner, str):
            return [TextPart(text=inner)]
        if not isinstance(inner, list):
            raise DecodeError("invalid_blob", "content source needs content", w.join(spath, "content"))
        return _nested(inner, w.join(spath, "content"), allowed=("text", "image"))
    raise DecodeError("invalid_blob", f"unknown document source type {kind!r}", w.join(spath, "type"))


def _nested(blocks: list[Any], path: str, allowed: tuple[str, ...]) -> list[ToolResultContent]:
    out: list[ToolResultContent] = []
    for i, raw in enumerate(blocks):
        bpath = w.join(path, i)
        block = w.obj(raw, bpath, "content block")
        kind = block.get("type")
        if kind not in allowed:
            if isinstance(kind, str) and kind in _OPAQUE:
                out.append(UnsupportedPart(provider="anthropic", what=f"anthropic {kind}", raw=block))
                continue
            raise DecodeError("unknown_part_type", f"block type {kind!r} not allowed here", w.join(bpath, "type"))
        # cache_control on a nested block stays on that part (§7.1).
        cache = _cache(block)
        if kind == "text":
            out.append(TextPart(text=w.req_str(block, "text", bpath), cache=cache))
        elif kind == "image":
            out.append(_image(block, bpath, cache=cache))
        else:
            out.extend(_document(block, bpath, cache=cache))
    return out


def _tool_result(block: dict[str, Any], path: str, ledger: Ledger) -> ToolResultPart:
    call_id = block.get("tool_use_id")
    if call_id is None:
        raise DecodeError("missing_tool_call_id", "tool_result without tool_use_id", w.join(path, "tool_use_id"))
    if not isinstance(call_id, str):
        raise DecodeError("invalid_blob", "tool_use_id must be a string", w.join(path, "tool_use_id"))
    content = block.get("content")
    parts: list[ToolResultContent]
    if content is None or isinstance(content, str):
        parts, string_form = [TextPart(text=content)] if content else [], True
    elif isinstance(content, list):
        parts = _nested(content, w.join(path, "content"), allowed=("text", "image", "document"))
        string_form = False
    else:
        raise DecodeError("invalid_blob", "tool_result content must be a string or a list", w.join(path, "content"))
    name = ledger.answer_id(call_id, w.join(path, "tool_use_id"))
    return ToolResultPart(
        call_id=call_id, name=name, content=parts, string_form=string_form,
        is_error=w.opt_bool(block, "is_error", path), cache=_cache(block),
    )  # fmt: skip
