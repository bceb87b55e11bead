"""Gemini codec: ingest validation, call-id resolution and encoding."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from acx.codecs import IngestState, PendingCall, convert, decode_blob, encode_items, encode_request
from acx.errors import DecodeError
from acx.model import AudioPart, DocumentPart, ImagePart, Message, TextPart, ThinkingPart, ToolCallPart, ToolResultPart

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def decode(blob: Any, state: IngestState | None = None) -> tuple[Message, IngestState]:
    return decode_blob("gemini", blob, state or IngestState())


def error(blob: Any, state: IngestState | None = None) -> DecodeError:
    with pytest.raises(DecodeError) as info:
        decode(blob, state)
    return info.value


def items(target: str, blob: Any, state: IngestState | None = None) -> list[Any]:
    message, _ = decode(blob, state)
    items: list[Any] = json.loads(encode_items(target, message, msgspec.json.encode(blob)))  # type: ignore[arg-type]
    return items


@pytest.mark.parametrize("key", ["systemInstruction", "system_instruction"])
def test_system_instruction_blob(key: str) -> None:
    blob = {key: {"parts": [{"text": "A"}, {"text": "B"}]}}
    msg, _ = decode(blob)
    assert (msg.role, msg.parts) == ("system", [TextPart(text="A"), TextPart(text="B")])
    # A Gemini system blob has no item shape: it becomes a user content with its parts.
    assert items("gemini", blob) == [{"role": "user", "parts": [{"text": "A"}, {"text": "B"}]}]
    assert items("openai", blob) == [
        {"role": "system", "content": [{"type": "text", "text": "A"}, {"type": "text", "text": "B"}]}
    ]


@pytest.mark.parametrize(
    ("blob", "role"),
    [
        pytest.param({"parts": [{"text": "x"}]}, "user", id="no-role"),
        pytest.param({"role": "function", "parts": [{"text": "x"}]}, "user", id="function"),
        pytest.param({"role": "model", "parts": [{"text": "x"}]}, "assistant", id="model"),
    ],
)
def test_roles(blob: dict[str, Any], role: str) -> None:
    assert decode(blob)[0].role == role


@pytest.mark.parametrize("role", ["assistant", "system", 3])
def test_unknown_roles(role: Any) -> None:
    assert error({"role": role, "parts": [{"text": "x"}]}).code == "unknown_role"


@pytest.mark.parametrize(
    ("part", "code", "path"),
    [
        ({}, "empty_part", "parts[0]"),
        ({"thought": True}, "empty_part", "parts[0]"),
        ({"text": "a", "fileData": {"fileUri": "gs://b/c"}}, "multiple_part_data_fields", "parts[0]"),
        ({"inline_data": {"data": PNG}}, "missing_mime_type", "parts[0].inline_data.mimeType"),
        ({"inlineData": {"mimeType": "image/png", "data": "%%%"}}, "invalid_base64", "parts[0].inlineData.data"),
        ({"functionCall": {"name": "f", "args": [1]}}, "invalid_tool_arguments", "parts[0].functionCall.args"),
        ("text", "blob_not_object", "parts[0]"),
    ],
)
def test_part_errors(part: Any, code: str, path: str) -> None:
    err = error({"role": "model", "parts": [part]})
    assert (err.code, err.path) == (code, path)


def test_empty_parts_are_rejected() -> None:
    assert error({"role": "user", "parts": []}).code == "empty_content"


def test_media_routing_by_mime_and_snake_case() -> None:
    blob = {
        "role": "user",
        "parts": [
            {
                "inline_data": {"mime_type": "image/png", "data": PNG},
                "media_resolution": {"level": "MEDIA_RESOLUTION_LOW"},
            },
            {"inlineData": {"mimeType": "text/plain", "data": "aGk="}},
            {"inlineData": {"mimeType": "audio/x-wav", "data": "AAAA"}},
            {"file_data": {"file_uri": "https://x.org/p.png"}},
            {"fileData": {"fileUri": "https://x.org/unknown"}},
            {"fileData": {"mimeType": "application/pdf", "fileUri": "https://x.org/doc"}},
        ],
    }
    msg, _ = decode(blob)
    assert msg.parts == [
        ImagePart(mime="image/png", data=PNG, detail="low"),
        DocumentPart(mime="text/plain", data="aGk="),
        AudioPart(mime="audio/x-wav", data="AAAA"),
        ImagePart(mime="image/png", url="https://x.org/p.png"),
        DocumentPart(url="https://x.org/unknown"),
        DocumentPart(mime="application/pdf", url="https://x.org/doc"),
    ]
    assert items("openai", blob)[0]["content"] == [
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}", "detail": "low"}},
        {"type": "file", "file": {"file_data": "data:text/plain;base64,aGk=", "filename": "document.txt"}},
        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
        {"type": "image_url", "image_url": {"url": "https://x.org/p.png"}},
        {"type": "text", "text": "[unsupported content omitted: https://x.org/unknown]"},
        {"type": "text", "text": "[unsupported content omitted: application/pdf https://x.org/doc]"},
    ]
    assert items("anthropic", blob)[0]["content"][-1] == {
        "type": "document",
        "source": {"type": "url", "url": "https://x.org/doc"},
    }


def test_function_call_ids_are_synthesised_from_the_position() -> None:
    blob = {
        "role": "model",
        "parts": [{"functionCall": {"name": "f"}}, {"text": "x"}, {"functionCall": {"name": "g", "id": "own"}}],
    }
    msg, state = decode(blob, IngestState(position=5))
    assert msg.parts[0] == ToolCallPart(id="call_5_0", name="f", arguments={}, synthetic_id=True)
    assert msg.parts[2] == ToolCallPart(id="own", name="g", arguments={})
    assert state.pending_calls == [PendingCall("call_5_0", "f"), PendingCall("own", "g")]


def test_responses_pair_with_the_earliest_unanswered_call_of_that_name() -> None:
    state = IngestState(
        position=9, pending_calls=[PendingCall("c1", "f"), PendingCall("c2", "g"), PendingCall("c3", "f")]
    )
    blob = {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"output": "a"}}}]}
    msg, state = decode(blob, state)
    assert msg.parts == [ToolResultPart(call_id="c1", name="f", content=[TextPart(text="a")], string_form=True)]
    assert state.pending_calls == [PendingCall("c2", "g"), PendingCall("c3", "f")]
    # With an id, the id must match an unanswered call of that name.
    assert (
        error({"role": "user", "parts": [{"functionResponse": {"id": "c2", "name": "f"}}]}, state).code
        == "orphan_tool_result"
    )
    assert error({"role": "user", "parts": [{"functionResponse": {"name": "h"}}]}, state).code == "orphan_tool_result"


@pytest.mark.parametrize(
    ("response", "text", "is_error"),
    [
        ({"output": "plain"}, "plain", False),
        ({"output": {"t": 1}}, '{"t":1}', False),
        ({"error": "boom"}, "boom", True),
        ({"temp": "72F", "ok": True}, '{"temp":"72F","ok":true}', False),
    ],
)
def test_response_mapping(response: dict[str, Any], text: str, is_error: bool) -> None:
    state = IngestState(pending_calls=[PendingCall("c", "f")])
    blob = {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": response}}]}
    msg, _ = decode(blob, state)
    result = msg.parts[0]
    assert isinstance(result, ToolResultPart)
    assert (result.content, result.is_error) == ([TextPart(text=text)], is_error)
    anthropic = items("anthropic", blob, state)[0]["content"][0]
    assert anthropic["content"] == text
    assert anthropic.get("is_error", False) is is_error


def test_thoughts_are_dropped_cross_format_and_single_text_is_a_string() -> None:
    blob = {"role": "model", "parts": [{"text": "t", "thought": True, "thoughtSignature": "c2ln"}, {"text": "answer"}]}
    msg, _ = decode(blob)
    assert msg.parts[0] == ThinkingPart(text="t", signature="c2ln", provider="gemini")
    assert items("anthropic", blob) == [{"role": "assistant", "content": "answer"}]
    assert items("openai", blob) == [{"role": "assistant", "content": "answer"}]


def test_executable_code_is_kept_for_gemini_and_a_placeholder_elsewhere() -> None:
    part = {"executableCode": {"language": "PYTHON", "code": "print(1)"}}
    blob = {"role": "model", "parts": [part]}
    assert items("openai", blob) == [
        {"role": "assistant", "content": "[unsupported content omitted: gemini executableCode]"}
    ]
    msg, _ = decode(blob)
    acontext_blob = {"role": "model", "parts": [part]}
    out = encode_request(
        "gemini", [("1", msg.__replace__(source_format="acontext"), msgspec.json.encode(acontext_blob))]
    )
    assert out.payload == {"contents": [{"role": "model", "parts": [part]}]}


def test_request_view_merges_and_reorders_to_call_order() -> None:
    source = {
        "systemInstruction": {"parts": [{"text": "S"}]},
        "contents": [
            {"role": "user", "parts": [{"text": "q"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "a"}}, {"functionCall": {"name": "b"}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "b", "response": {"output": "B"}}}]},
            {"role": "function", "parts": [{"functionResponse": {"name": "a", "response": {"output": "A"}}}]},
        ],
    }
    same = convert("gemini", "gemini", source)
    assert same == source  # verbatim: never merged with another verbatim content
    openai = convert("gemini", "openai", source)
    assert openai[0] == {"role": "system", "content": "S"}
    assert [m.get("tool_call_id") for m in openai[3:]] == ["call_1_1", "call_1_0"]
    anthropic = convert("gemini", "anthropic", source)
    assert anthropic["system"] == "S"
    assert [b["tool_use_id"] for b in anthropic["messages"][2]["content"]] == ["call_1_1", "call_1_0"]
