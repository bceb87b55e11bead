"""Gemini ``Content`` (or a stored ``{"systemInstruction": ...}``) → internal model.

Input accepts camelCase and snake_case keys, as the API and the SDK both do.
"""

from __future__ import annotations

from typing import Any

from acx.codecs import _wire as w
from acx.codecs._media import by_reference, check_base64, media_kind, mime_from_uri
from acx.codecs.pairing import Ledger
from acx.errors import DecodeError
from acx.jsontext import compact_json
from acx.model import (
    AnyMedia,
    ImagePart,
    Message,
    Part,
    Role,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultContent,
    ToolResultPart,
    UnsupportedPart,
)

__all__ = ["decode"]

_ROLES: dict[str | None, Role] = {None: "user", "user": "user", "function": "user", "model": "assistant"}
# Data fields of a Part (a oneof in the API), camelCase → snake_case alias.
_DATA_FIELDS = {
    "text": "text",
    "inlineData": "inline_data",
    "fileData": "file_data",
    "functionCall": "function_call",
    "functionResponse": "function_response",
    "executableCode": "executable_code",
    "codeExecutionResult": "code_execution_result",
    "toolCall": "tool_call",
    "toolResponse": "tool_response",
}
#: Either spelling of a data field → its camelCase name.
_FIELD_OF = {**{camel: camel for camel in _DATA_FIELDS}, **{snake: camel for camel, snake in _DATA_FIELDS.items()}}
_OPAQUE = frozenset({"executableCode", "codeExecutionResult", "toolCall", "toolResponse"})
_RESOLUTION = {"MEDIA_RESOLUTION_LOW": "low", "MEDIA_RESOLUTION_HIGH": "high"}


def decode(blob: object, ledger: Ledger) -> Message:
    """Decode one Gemini content blob."""
    b = blob if type(blob) is dict else w.obj(blob, "")
    system = w.first_of(b, "systemInstruction", "system_instruction")
    if system is not None:
        key = "systemInstruction" if "systemInstruction" in b else "system_instruction"
        return _system(system, key)
    role = b.get("role")
    if role not in _ROLES:
        raise DecodeError("unknown_role", f"unknown Gemini role {role!r}", "role")
    raw_parts = w.opt_list(b, "parts", "")
    if not raw_parts:
        if _ROLES[role] == "assistant":
            # Gemini answers with a model content without parts (e.g. cut off at MAX_TOKENS):
            # kept, and left out of the request view.
            return Message(role="assistant", parts=[], source_format="gemini")
        raise DecodeError("empty_content", "Gemini content has no parts", "parts")
    parts: list[Part] = []
    calls = 0
    has_call = has_result = False
    for i, raw in enumerate(raw_parts):
        if type(raw) is dict and len(raw) == 1 and type(text := raw.get("text")) is str:
            parts.append(TextPart(text=text))  # the usual part: {"text": "..."}
            continue
        try:
            part, calls = _part(w.obj(raw, "", "part"), "", ledger, calls)
        except DecodeError as exc:
            raise w.prefixed(exc, f"parts[{i}]") from None
        parts.append(part)
        if isinstance(part, ToolCallPart):
            has_call = True
        elif isinstance(part, ToolResultPart):
            has_result = True
    if has_call and _ROLES[role] != "assistant":
        raise DecodeError("invalid_blob", "functionCall parts belong in model contents", "parts")
    if has_result and _ROLES[role] != "user":
        raise DecodeError("invalid_blob", "functionResponse parts belong in user contents", "parts")
    return Message(role=_ROLES[role], parts=parts, source_format="gemini")


def _system(value: object, key: str) -> Message:
    system = w.obj(value, key, "system instruction")
    raw_parts = w.opt_list(system, "parts", key) or []
    parts: list[Part] = []  # an empty system instruction is accepted (§7.1) and encodes as nothing
    for i, raw in enumerate(raw_parts):
        path = w.join(w.join(key, "parts"), i)
        part = w.obj(raw, path, "part")
        _data_field(part, path)
        text = part.get("text")
        if not isinstance(text, str):
            raise DecodeError("unknown_part_type", "system instruction parts must be text", path)
        parts.append(TextPart(text=text))
    return Message(role="system", parts=parts, source_format="gemini", original_role="system")


def _data_field(part: dict[str, Any], path: str) -> str:
    found = None
    for key, value in part.items():  # a part has few keys: look each up, not every field
        camel = _FIELD_OF.get(key)
        if camel is not None and value is not None:
            if found is None:
                found = camel
            elif found != camel:
                found = None
                break
    else:
        if found is not None:
            return found
    present = [
        camel for camel, snake in _DATA_FIELDS.items() if part.get(camel) is not None or part.get(snake) is not None
    ]
    if not present:
        raise DecodeError("empty_part", "part has no data field", path)
    if len(present) > 1:
        raise DecodeError("multiple_part_data_fields", f"part has several data fields: {', '.join(present)}", path)
    return present[0]


def _part(part: dict[str, Any], path: str, ledger: Ledger, calls: int) -> tuple[Part, int]:
    field = _data_field(part, path)
    value = w.first_key(part, field, _DATA_FIELDS[field])
    fpath = w.join(path, field if field in part else _DATA_FIELDS[field])
    if field == "text":
        if not isinstance(value, str):
            raise DecodeError("invalid_blob", "text must be a string", fpath)
        if part.get("thought") is True:
            signature = w.first_key(part, "thoughtSignature", "thought_signature")
            sig = signature if isinstance(signature, str) else None
            return ThinkingPart(text=value, signature=sig, provider="gemini"), calls
        return TextPart(text=value), calls
    if field in ("inlineData", "fileData"):
        media = _media(w.obj(value, fpath, field), fpath, inline=field == "inlineData")
        if isinstance(media, ImagePart):
            media.detail = _detail(part)
        # Gemini models emit reasoning images (thought: true): reasoning, not visible content.
        media.reasoning = part.get("thought") is True
        return media, calls
    if field == "functionCall":
        call = w.obj(value, fpath, field)
        name = w.req_str(call, "name", fpath)
        args = call.get("args", {}) if call.get("args") is not None else {}
        if not isinstance(args, dict):
            raise DecodeError("invalid_tool_arguments", "functionCall.args must be an object", w.join(fpath, "args"))
        call_id = w.opt_str(call, "id", fpath)
        synthetic = not call_id
        if not call_id:
            call_id = ledger.synth_id(calls)
        ledger.add_call(call_id, name)
        return ToolCallPart(id=call_id, name=name, arguments=args, synthetic_id=synthetic), calls + 1
    if field == "functionResponse":
        return _response(w.obj(value, fpath, field), fpath, ledger), calls
    return UnsupportedPart(provider="gemini", what=f"gemini {field}", raw=part), calls


def _detail(part: dict[str, Any]) -> str | None:
    res = w.first_key(part, "mediaResolution", "media_resolution")
    level = w.first_key(res, "level") if isinstance(res, dict) else res
    return _RESOLUTION.get(level) if isinstance(level, str) else None


def _media(blob: dict[str, Any], path: str, *, inline: bool) -> AnyMedia:
    mime = w.first_key(blob, "mimeType", "mime_type")
    if mime is not None and not isinstance(mime, str):
        raise DecodeError("invalid_blob", "mimeType must be a string", w.join(path, "mimeType"))
    if inline:
        if not mime:
            raise DecodeError("missing_mime_type", "inlineData without mimeType", w.join(path, "mimeType"))
        data = blob.get("data")
        if not isinstance(data, str):
            raise DecodeError("invalid_blob", "inlineData.data must be a base64 string", w.join(path, "data"))
        data = check_base64(data, w.join(path, "data"))
        return media_kind(mime)(mime=mime, data=data, filename=_name(blob))
    uri = w.first_key(blob, "fileUri", "file_uri")
    if not isinstance(uri, str) or not uri:
        raise DecodeError("invalid_blob", "fileData needs a fileUri string", w.join(path, "fileUri"))
    mime = mime or mime_from_uri(uri)
    return by_reference(media_kind(mime), uri, mime, filename=_name(blob))


def _name(blob: dict[str, Any]) -> str | None:
    name = w.first_key(blob, "displayName", "display_name")
    return name if isinstance(name, str) else None


def _response(resp: dict[str, Any], path: str, ledger: Ledger) -> ToolResultPart:
    name = w.req_str(resp, "name", path)
    call_id = w.opt_str(resp, "id", path)
    if call_id:
        ledger.answer_id(call_id, w.join(path, "id"), name=name)
    else:
        call_id = ledger.answer_name(name, w.join(path, "name"))
    response = resp.get("response", {})
    if response is None:
        response = {}
    if not isinstance(response, dict):
        raise DecodeError("invalid_blob", "functionResponse.response must be an object", w.join(path, "response"))
    content: list[ToolResultContent] = []
    is_error = False
    kept: dict[str, Any] | None = None
    if len(response) == 1 and ("output" in response or "error" in response):
        is_error = "error" in response
        value = response["error" if is_error else "output"]
        content.append(TextPart(text=value if isinstance(value, str) else compact_json(value)))
    else:
        content.append(TextPart(text=compact_json(response)))
        kept = response
    media_parts = w.opt_list(resp, "parts", path) or []
    for i, raw in enumerate(media_parts):
        ppath = w.join(w.join(path, "parts"), i)
        mpart = w.obj(raw, ppath, "part")
        field = "inlineData" if w.first_key(mpart, "inlineData", "inline_data") is not None else "fileData"
        value = w.first_key(mpart, field, "inline_data" if field == "inlineData" else "file_data")
        if value is None:
            raise DecodeError("empty_part", "function response part has no data field", ppath)
        media = _media(w.obj(value, w.join(ppath, field), field), w.join(ppath, field), inline=field == "inlineData")
        content.append(media)
    return ToolResultPart(
        call_id=call_id, name=name, content=content, string_form=not media_parts,
        is_error=is_error, response=kept,
    )  # fmt: skip
