"""OpenAI Chat Completions message → internal model."""

from __future__ import annotations

from typing import Any, Literal

from acx.codecs import _wire as w
from acx.codecs._media import by_reference, check_base64, mime_from_filename, mime_from_uri, parse_data_url
from acx.codecs.pairing import Ledger
from acx.errors import DecodeError
from acx.model import (
    AudioPart,
    ContentForm,
    DocumentPart,
    ImagePart,
    Message,
    Part,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultContent,
    ToolResultPart,
)

__all__ = ["decode"]

_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
_AUDIO_MIME = {"wav": "audio/wav", "mp3": "audio/mp3"}


def decode(blob: object, ledger: Ledger) -> Message:
    """Decode one ``ChatCompletionMessageParam``."""
    b = blob if type(blob) is dict else w.obj(blob, "")
    role = b.get("role")
    if not isinstance(role, str) or role not in _ROLES:
        raise DecodeError("unknown_role", f"unknown OpenAI role {role!r}", "role")
    name = b.get("name")
    if name is not None and not isinstance(name, str):
        w.opt_str(b, "name", "")  # raises
    if role in ("system", "developer"):
        # An empty system message (anywhere) is valid for OpenAI: kept, left out of the request view.
        if b.get("content") is None:
            raise DecodeError("empty_content", f"{role} message must have content", "content")
        parts, form = _text_content(b, role, allow_empty=True)
        original: Literal["system", "developer"] = "developer" if role == "developer" else "system"
        return Message(
            role="system", parts=list(parts), source_format="openai", content_form=form,
            original_role=original, name=name,
        )  # fmt: skip
    if role == "user":
        user_parts, form = _user_content(b)
        return Message(role="user", parts=user_parts, source_format="openai", content_form=form, name=name)
    if role == "assistant":
        return _assistant(b, ledger, name)
    if role == "tool":
        call_id = b.get("tool_call_id")
        if call_id is None:
            raise DecodeError("missing_tool_call_id", "tool message without tool_call_id", "tool_call_id")
        if not isinstance(call_id, str):
            raise DecodeError("invalid_blob", "tool_call_id must be a string", "tool_call_id")
        content, form = _tool_content(b)
        fn = ledger.answer_id(call_id, "tool_call_id")
        result = ToolResultPart(call_id=call_id, name=fn, content=content, string_form=form == "string")
        return Message(role="user", parts=[result], source_format="openai", content_form=form)
    # Legacy function result: pairs with the latest unanswered call of that name.
    fn = w.req_str(b, "name", "")
    texts, _ = _text_content(b, role, allow_empty=True)
    call_id = ledger.answer_name(fn, "name", latest=True)
    result = ToolResultPart(call_id=call_id, name=fn, content=list[ToolResultContent](texts), string_form=True)
    return Message(role="user", parts=[result], source_format="openai", content_form="string")


def _cache(part: dict[str, Any]) -> bool:  # inlined in the loops below
    # prompt_cache_breakpoint is official; cache_control is the LiteLLM/OpenRouter convention.
    return part.get("prompt_cache_breakpoint") is not None or part.get("cache_control") is not None


def _text_content(b: dict[str, Any], role: str, *, allow_empty: bool = False) -> tuple[list[TextPart], ContentForm]:
    """String or list-of-text content (system, developer, tool, function)."""
    content = b.get("content")
    if isinstance(content, str) or (content is None and allow_empty):
        text = content or ""
        if not text and not allow_empty:
            raise DecodeError("empty_content", f"{role} message has empty content", "content")
        return [TextPart(text=text)], "string"
    if not isinstance(content, list):
        if content is None:
            raise DecodeError("empty_content", f"{role} message must have content", "content")
        raise DecodeError("invalid_blob", "content must be a string or a list of parts", "content")
    parts: list[TextPart] = []
    for i, raw in enumerate(content):
        if type(raw) is dict and raw.get("type") == "text" and type(value := raw.get("text")) is str:
            cache = raw.get("prompt_cache_breakpoint") is not None or raw.get("cache_control") is not None
            parts.append(TextPart(text=value, cache=cache))
            continue
        path = w.join("content", i)
        part = w.obj(raw, path, "content part")
        kind = part.get("type")
        if kind != "text":
            raise DecodeError("unknown_part_type", f"{role} content part type {kind!r} is not text", path)
        parts.append(TextPart(text=w.req_str(part, "text", path), cache=_cache(part)))
    if not allow_empty:
        parts = [p for p in parts if p.text] or _raise_empty(role)
    return parts, "list"


def _tool_content(b: dict[str, Any]) -> tuple[list[ToolResultContent], ContentForm]:
    """Tool message content: text parts, plus the media parts real clients send (image_url
    and the other user media parts, outside the official type): tool-result media (§7.1)."""
    content = b.get("content")
    if not isinstance(content, list):
        texts, form = _text_content(b, "tool", allow_empty=True)
        return list[ToolResultContent](texts), form
    parts: list[ToolResultContent] = []
    for i, raw in enumerate(content):
        try:
            part = _user_part(raw, "")  # text and the user media parts; any other type is rejected
        except DecodeError as exc:
            raise w.prefixed(exc, f"content[{i}]") from None
        assert isinstance(part, TextPart | ImagePart | AudioPart | DocumentPart)
        parts.append(part)
    return parts, "list"


def _raise_empty(role: str) -> list[TextPart]:
    raise DecodeError("empty_content", f"{role} message has no non-empty content", "content")


def _user_content(b: dict[str, Any]) -> tuple[list[Part], ContentForm]:
    content = b.get("content")
    if isinstance(content, str):
        if not content:
            raise DecodeError("empty_content", "user message has empty content", "content")
        return [TextPart(text=content)], "string"
    if content is None:
        raise DecodeError("empty_content", "user message must have content", "content")
    if not isinstance(content, list):
        raise DecodeError("invalid_blob", "content must be a string or a list of parts", "content")
    parts: list[Part] = []
    for i, raw in enumerate(content):
        try:
            decoded = _user_part(raw, "")
        except DecodeError as exc:
            raise w.prefixed(exc, f"content[{i}]") from None
        if not (type(decoded) is TextPart and not decoded.text):
            parts.append(decoded)
    if not parts:
        raise DecodeError("empty_content", "user message has no non-empty content", "content")
    return parts, "list"


def _user_part(raw: object, path: str) -> Part:
    part = raw if type(raw) is dict else w.obj(raw, path, "content part")
    kind = part.get("type")
    cache = part.get("prompt_cache_breakpoint") is not None or part.get("cache_control") is not None
    if kind == "text":
        text = part.get("text")
        return TextPart(text=text if type(text) is str else w.req_str(part, "text", path), cache=cache)
    if kind == "image_url":
        image = part.get("image_url")
        if type(image) is dict:
            url = image.get("url")
            detail = image.get("detail")
            if type(url) is str and (detail is None or type(detail) is str) and not url.startswith("data:"):
                return by_reference(ImagePart, url, mime_from_uri(url), detail=detail, cache=cache)
        image = w.req_obj(part, "image_url", path)
        ipath = w.join(path, "image_url")
        url = w.req_str(image, "url", ipath)
        detail = w.opt_str(image, "detail", ipath)
        if url.startswith("data:"):
            mime, data = parse_data_url(url, w.join(ipath, "url"))
            return ImagePart(mime=mime, data=data, detail=detail, cache=cache)
        return by_reference(ImagePart, url, mime_from_uri(url), detail=detail, cache=cache)
    if kind == "input_audio":
        audio = w.req_obj(part, "input_audio", path)
        apath = w.join(path, "input_audio")
        fmt = w.req_str(audio, "format", apath)
        if fmt not in _AUDIO_MIME:
            raise DecodeError("invalid_blob", "input_audio.format must be wav or mp3", w.join(apath, "format"))
        data = check_base64(w.req_str(audio, "data", apath), w.join(apath, "data"))
        return AudioPart(mime=_AUDIO_MIME[fmt], data=data, cache=cache)
    if kind == "file":
        return _file_part(w.req_obj(part, "file", path), w.join(path, "file"), cache)
    raise DecodeError("unknown_part_type", f"unknown OpenAI content part type {kind!r}", w.join(path, "type"))


def _file_part(file: dict[str, Any], path: str, cache: bool) -> DocumentPart:
    filename = w.opt_str(file, "filename", path)
    file_id = w.opt_str(file, "file_id", path)
    file_data = w.opt_str(file, "file_data", path)
    if file_data is not None:
        dpath = w.join(path, "file_data")
        if file_data.startswith("data:"):
            mime, data = parse_data_url(file_data, dpath)
        else:  # bare base64: the type can only come from the filename
            data = check_base64(file_data, dpath)
            mime = mime_from_filename(filename) or "application/octet-stream"
        return DocumentPart(mime=mime, data=data, filename=filename, cache=cache)
    if file_id is not None:
        return DocumentPart(file_id=file_id, file_provider="openai", filename=filename, cache=cache)
    raise DecodeError("invalid_blob", "file part needs file_data or file_id", path)


def _assistant(b: dict[str, Any], ledger: Ledger, name: str | None) -> Message:
    parts: list[Part] = []
    reasoning = w.opt_str(b, "reasoning_content", "")
    if reasoning:
        parts.append(ThinkingPart(text=reasoning, provider="openai"))
    content = b.get("content")
    if type(content) is str:
        form: ContentForm = "string"
        if content:
            parts.append(TextPart(text=content))
    else:
        text_parts, form = _assistant_content(content)
        parts.extend(text_parts)
    refusal = w.opt_str(b, "refusal", "")
    if refusal:
        parts.append(TextPart(text=refusal, refusal=True))
    k = 0
    tool_calls = b.get("tool_calls")
    if tool_calls is not None:
        for i, raw in enumerate(w.opt_list(b, "tool_calls", "") or ()):
            try:
                parts.append(_tool_call(raw, "", ledger))
            except DecodeError as exc:
                raise w.prefixed(exc, f"tool_calls[{i}]") from None
            k += 1
    legacy = w.field_obj(b, "function_call", "", required=False) if "function_call" in b else None
    if legacy is not None:
        fn = w.req_str(legacy, "name", "function_call")
        args_text = _arguments_text(legacy, "function_call")
        call = ToolCallPart(
            id=ledger.synth_id(k), name=fn, arguments=w.parse_arguments(args_text),
            raw_arguments=args_text, synthetic_id=True,
        )  # fmt: skip
        ledger.add_call(call.id, fn)
        parts.append(call)
    if not parts and content is None:
        # content "" or [] is what the AI SDK sends for an empty turn (valid for OpenAI): kept, and
        # left out of the request view; without content, refusal or calls OpenAI rejects it.
        raise DecodeError("empty_content", "assistant message has no content, refusal or tool calls", "content")
    return Message(role="assistant", parts=parts, source_format="openai", content_form=form, name=name)


def _assistant_content(content: object) -> tuple[list[TextPart], ContentForm]:
    if content is None:
        return [], "auto"
    if isinstance(content, str):
        return ([TextPart(text=content)] if content else []), "string"
    if not isinstance(content, list):
        raise DecodeError("invalid_blob", "content must be a string, a list or null", "content")
    parts: list[TextPart] = []
    for i, raw in enumerate(content):
        path = w.join("content", i)
        part = w.obj(raw, path, "content part")
        kind = part.get("type")
        if kind == "text":
            text = w.req_str(part, "text", path)
            if text:  # empty assistant text (e.g. next to tool calls) carries nothing
                parts.append(TextPart(text=text, cache=_cache(part)))
        elif kind == "refusal":
            parts.append(TextPart(text=w.req_str(part, "refusal", path), refusal=True))
        else:
            raise DecodeError("unknown_part_type", f"assistant content part type {kind!r}", w.join(path, "type"))
    return parts, "list"


def _arguments_text(fn: dict[str, Any], path: str) -> str:
    args = fn.get("arguments", "")
    if not isinstance(args, str):
        raise DecodeError("invalid_tool_arguments", "arguments must be a string", w.join(path, "arguments"))
    return args


def _tool_call(raw: object, path: str, ledger: Ledger) -> ToolCallPart:
    call = raw if type(raw) is dict else w.obj(raw, path, "tool call")
    call_id = call.get("id")
    if type(call_id) is not str:
        call_id = w.req_str(call, "id", path)
    kind = call.get("type", "function")
    if kind == "function":
        fn_obj = call.get("function")
        if type(fn_obj) is dict:
            fn = fn_obj.get("name")
            args_text = fn_obj.get("arguments", "")
            if type(fn) is str and type(args_text) is str:
                arguments = w.parse_arguments(args_text)
                ledger.add_call(call_id, fn)
                return ToolCallPart(id=call_id, name=fn, arguments=arguments, raw_arguments=args_text)
    if kind == "custom":
        custom = w.req_obj(call, "custom", path)
        cpath = w.join(path, "custom")
        fn = w.req_str(custom, "name", cpath)
        text = w.req_str(custom, "input", cpath)
        ledger.add_call(call_id, fn)
        return ToolCallPart(id=call_id, name=fn, arguments={"input": text}, custom=True)
    if kind != "function":
        raise DecodeError("unknown_part_type", f"unknown tool call type {kind!r}", w.join(path, "type"))
    fn_obj = w.req_obj(call, "function", path)
    fpath = w.join(path, "function")
    fn = w.req_str(fn_obj, "name", fpath)
    args_text = _arguments_text(fn_obj, fpath)
    arguments = w.parse_arguments(args_text)
    ledger.add_call(call_id, fn)
    return ToolCallPart(id=call_id, name=fn, arguments=arguments, raw_arguments=args_text)
