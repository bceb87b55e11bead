"""The acontext format: ``{"role", "parts": [{"type", "text"?, "meta"?, "file_field"?}], "meta"?}``.

Input follows acontext-api.md §6.1 with two upstream bugs fixed: tool-call arguments must be
a JSON object or a string (non-object text is kept verbatim, as for OpenAI, conversion.md §7.1)
and tool results must answer an earlier call.
Output parts use the frozen acontext wire shape of §2.3.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from acx.codecs import _wire as w
from acx.codecs._media import check_base64, is_gemini_file, mime_from_uri, parse_data_url
from acx.codecs.pairing import Ledger
from acx.errors import DecodeError
from acx.model import (
    AnyMedia,
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

__all__ = ["acontext_role", "acontext_system_meta", "decode", "encode_parts"]

_TYPES = frozenset(
    {"text", "image", "audio", "video", "file", "tool-call", "tool-result", "data", "thinking", "redacted_thinking"}
)
_MEDIA: dict[str, type[AnyMedia]] = {"image": ImagePart, "audio": AudioPart, "video": VideoPart, "file": DocumentPart}
_EPHEMERAL = {"type": "ephemeral"}
_MEDIA_KINDS: dict[type, str] = {ImagePart: "image", AudioPart: "audio", VideoPart: "video"}


def decode(blob: object, ledger: Ledger) -> Message:
    """Decode one acontext-format message."""
    b = w.obj(blob, "")
    role = b.get("role")
    if role not in ("user", "assistant"):
        raise DecodeError("unknown_role", f"invalid role {role!r} (must be one of: user, assistant)", "role")
    raw_parts = w.opt_list(b, "parts", "") or []
    meta = w.field_obj(b, "meta", "", required=False) or {}
    parts: list[Part] = []
    calls = 0
    for i, raw in enumerate(raw_parts):
        path = w.join("parts", i)
        part = _part(w.obj(raw, path, "part"), path, ledger, calls)
        calls += isinstance(part, ToolCallPart)
        parts.append(part)
    name = meta.get("name") if isinstance(meta.get("name"), str) else None
    original = meta.get("original_role")
    if original in ("system", "developer"):
        if not parts or not all(isinstance(p, TextPart) for p in parts):
            raise DecodeError("invalid_blob", "a system message holds only text parts", "parts")
        sys_role: Literal["system", "developer"] = "developer" if original == "developer" else "system"
        return Message(role="system", parts=parts, original_role=sys_role, name=name)
    return Message(role="assistant" if role == "assistant" else "user", parts=parts, name=name)


def _part(part: dict[str, Any], path: str, ledger: Ledger, calls: int) -> Part:  # noqa: PLR0911 - one branch per part type
    kind = part.get("type")
    if not isinstance(kind, str) or kind not in _TYPES:
        raise DecodeError("unknown_part_type", f"unknown acontext part type {kind!r}", w.join(path, "type"))
    text = w.opt_str(part, "text", path)
    meta = w.field_obj(part, "meta", path, required=False) or {}
    mpath = w.join(path, "meta")
    cache = meta.get("cache_control") is not None
    if kind in ("text", "thinking"):
        if not text:
            raise DecodeError("invalid_blob", f"{kind} part needs non-empty text", w.join(path, "text"))
        if kind == "text":
            return TextPart(text=text, cache=cache, refusal=meta.get("is_refusal") is True)
        signature = w.opt_str(meta, "signature", mpath)
        # Signatures stored through acontext are Anthropic's (upstream's only signed source).
        return ThinkingPart(text=text, signature=signature, provider="anthropic" if signature else None)
    if kind == "redacted_thinking":
        return RedactedThinkingPart(data=w.req_str(meta, "data", mpath))
    if kind == "tool-call":
        return _tool_call(meta, mpath, ledger, calls, cache)
    if kind == "tool-result":
        call_id = meta.get("tool_call_id")
        if not isinstance(call_id, str) or not call_id:
            raise DecodeError(
                "missing_tool_call_id", "tool-result needs meta.tool_call_id", w.join(mpath, "tool_call_id")
            )
        name = ledger.answer_id(call_id, w.join(mpath, "tool_call_id"))
        content: list[ToolResultContent] = [TextPart(text=text)] if text else []
        is_error = w.opt_bool(meta, "is_error", mpath)
        return ToolResultPart(
            call_id=call_id, name=name, content=content, string_form=True, is_error=is_error, cache=cache
        )
    if kind == "data":
        return DataPart(data_type=w.req_str(meta, "data_type", mpath), meta=meta)
    return _media(kind, meta, mpath, w.opt_str(part, "file_field", path), cache)


def _tool_call(meta: dict[str, Any], path: str, ledger: Ledger, calls: int, cache: bool) -> ToolCallPart:
    name = w.req_str(meta, "name", path)
    if "arguments" not in meta:
        raise DecodeError("invalid_tool_arguments", "tool-call needs meta.arguments", w.join(path, "arguments"))
    args = meta["arguments"]
    raw: str | None = None
    if isinstance(args, str):
        raw, args = args, w.parse_arguments(args)
    elif not isinstance(args, dict):
        raise DecodeError("invalid_tool_arguments", "arguments must be a JSON object", w.join(path, "arguments"))
    call_id = w.opt_str(meta, "id", path)
    synthetic = not call_id
    call_id = call_id or ledger.synth_id(calls)
    ledger.add_call(call_id, name)
    return ToolCallPart(id=call_id, name=name, arguments=args, raw_arguments=raw, synthetic_id=synthetic, cache=cache)


def _media(kind: str, meta: dict[str, Any], path: str, file_field: str | None, cache: bool) -> AnyMedia:
    cls = _MEDIA[kind]
    mime = w.opt_str(meta, "media_type", path) or w.opt_str(meta, "mime_type", path)
    filename = w.opt_str(meta, "filename", path)
    url = w.opt_str(meta, "url", path)
    data = w.opt_str(meta, "data", path) or w.opt_str(meta, "file_data", path)
    file_id = w.opt_str(meta, "file_id", path)
    fmt = w.opt_str(meta, "format", path)
    if kind == "audio" and fmt and not mime:
        mime = "audio/mp3" if fmt == "mp3" else f"audio/{fmt}"
    if url is not None and url.startswith("data:"):
        mime, data, url = (*parse_data_url(url, w.join(path, "url")), None)
    elif data is not None and data.startswith("data:"):
        mime, data = parse_data_url(data, w.join(path, "data"))
    elif data is not None:
        data = check_base64(data, w.join(path, "data"))
    if url is not None and mime is None:
        mime = mime_from_uri(url)
    if data is None and url is None and file_id is None and file_field is None:
        raise DecodeError("invalid_blob", f"{kind} part needs a url, data, file_id or file_field", path)
    if data is not None and mime is None:
        raise DecodeError("missing_mime_type", f"{kind} part with data needs meta.media_type", path)
    provider: Literal["openai", "gemini"] | None = "openai" if file_id else None
    if url is not None and is_gemini_file(url):  # Gemini's own file, not a fetchable URL
        file_id, url, provider = url, None, "gemini"
    part = cls(
        mime=mime, data=data, url=url, file_id=file_id, file_provider=provider,
        filename=filename, file_field=file_field, cache=cache,
    )  # fmt: skip
    if isinstance(part, ImagePart):
        part.detail = w.opt_str(meta, "detail", path)
    return part


def acontext_role(message: Message) -> Literal["user", "assistant"]:
    """The stored acontext role: system messages are ``user`` (upstream shape)."""
    return "assistant" if message.role == "assistant" else "user"


def acontext_system_meta(message: Message) -> dict[str, Any]:
    """System meta keys upstream keeps per message."""
    meta: dict[str, Any] = {"source_format": message.source_format}
    if message.role == "system":
        meta["original_role"] = message.original_role or "system"
    if message.name is not None:
        meta["name"] = message.name
    return meta


def _media_meta(part: MediaPart) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if part.data is not None:
        meta.update({"type": "base64", "media_type": part.mime, "data": part.data})
    elif part.url is not None or part.file_provider == "gemini":  # a Gemini file is its URI
        meta.update({"type": "url", "url": part.url or part.file_id})
        if part.mime:
            meta["media_type"] = part.mime
    if part.file_id is not None and part.file_provider != "gemini":
        meta["file_id"] = part.file_id
    if part.filename:
        meta["filename"] = part.filename
    if isinstance(part, ImagePart) and part.detail:
        meta["detail"] = part.detail
    if isinstance(part, AudioPart) and part.mime:
        meta["format"] = part.mime.split("/", 1)[1].removeprefix("x-").replace("mpeg", "mp3").replace("wave", "wav")
    if part.cache:
        meta["cache_control"] = dict(_EPHEMERAL)
    return meta


def _encode_part(part: Part) -> dict[str, Any]:  # noqa: PLR0911, PLR0912 - one branch per part type
    if type(part) is TextPart and not part.cache and not part.refusal:  # the usual part
        return {"type": "text", "text": part.text} if part.text else {"type": "text"}
    if isinstance(part, TextPart):
        meta: dict[str, Any] = {}
        if part.cache:
            meta["cache_control"] = dict(_EPHEMERAL)
        if part.refusal:
            meta["is_refusal"] = True
        return _shape("text", part.text, meta)
    if isinstance(part, MediaPart):
        kind = _MEDIA_KINDS.get(type(part), "file")
        if part.asset is not None:
            return _asset_shape(kind, part)
        out = _shape(kind, None, _media_meta(part))
        if part.file_field is not None:
            out["file_field"] = part.file_field
        return out
    if isinstance(part, ToolCallPart):
        args = part.raw_arguments if part.raw_arguments is not None else w.arguments_text(part.arguments)
        meta = {"id": part.id, "name": part.name, "arguments": args, "type": "function"}
        if part.cache:
            meta["cache_control"] = dict(_EPHEMERAL)
        return _shape("tool-call", None, meta)
    if isinstance(part, ToolResultPart):
        text = "".join(c.text for c in part.content if isinstance(c, TextPart))
        meta = {"tool_call_id": part.call_id, "name": part.name}
        if part.is_error:
            meta["is_error"] = True
        if part.cache:
            meta["cache_control"] = dict(_EPHEMERAL)
        return _shape("tool-result", text, meta)
    if isinstance(part, ThinkingPart):
        return _shape("thinking", part.text, {"signature": part.signature} if part.signature else {})
    if isinstance(part, RedactedThinkingPart):
        return _shape("redacted_thinking", None, {"data": part.data})
    if isinstance(part, DataPart):
        return _shape("data", None, {**part.meta, "data_type": part.data_type})
    assert isinstance(part, UnsupportedPart)
    return _shape("data", None, {"data_type": part.what, "data": json.loads(json.dumps(part.raw))})


def _asset_shape(kind: str, part: MediaPart) -> dict[str, Any]:
    """An uploaded file: the asset pointer upstream returns, without the inline bytes."""
    assert part.asset is not None
    asset = part.asset
    out: dict[str, Any] = {
        "type": kind,
        "asset": {
            "bucket": "",
            "s3_key": f"assets/{asset.sha256}",
            "etag": "",
            "sha256": asset.sha256,
            "mime": asset.mime,
            "size_b": asset.size,
        },
    }
    if part.filename:
        out["filename"] = part.filename
    return out


def _shape(kind: str, text: str | None, meta: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": kind}
    if text:
        out["text"] = text
    if meta:
        out["meta"] = meta
    return out


def encode_parts(message: Message) -> list[dict[str, Any]]:
    """Parts in the acontext wire shape (acontext-api.md §2.3). Reasoning media (Gemini
    thought images) has no acontext shape and, like reasoning elsewhere, is left out."""
    return [_encode_part(p) for p in message.parts if not (isinstance(p, MediaPart) and p.reasoning)]
