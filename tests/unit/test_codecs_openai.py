"""OpenAI codec: ingest validation and encoding."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from acx.codecs import IngestState, PendingCall, convert, decode_blob, encode_items, encode_request
from acx.errors import DecodeError
from acx.model import (
    AudioPart,
    DocumentPart,
    ImagePart,
    Message,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
)

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def decode(blob: Any, state: IngestState | None = None) -> tuple[Message, IngestState]:
    return decode_blob("openai", blob, state or IngestState())


def error(blob: Any, state: IngestState | None = None) -> DecodeError:
    with pytest.raises(DecodeError) as info:
        decode(blob, state)
    return info.value


def items(target: str, blob: Any, state: IngestState | None = None) -> list[Any]:
    message, _ = decode(blob, state)
    items: list[Any] = json.loads(encode_items(target, message, msgspec.json.encode(blob)))  # type: ignore[arg-type]
    return items


def pending(*calls: tuple[str, str]) -> IngestState:
    return IngestState(position=3, pending_calls=[PendingCall(i, n) for i, n in calls])


def test_system_and_developer_keep_their_role() -> None:
    msg, state = decode({"role": "developer", "content": "Be terse.", "name": "ops"})
    assert msg.role == "system"
    assert msg.original_role == "developer"
    assert msg.name == "ops"
    assert msg.content_form == "string"
    assert state.position == 1
    assert items("openai", {"role": "developer", "content": "x"}) == [{"role": "developer", "content": "x"}]
    assert items("anthropic", {"role": "developer", "content": "x"}) == [{"role": "system", "content": "x"}]
    assert items("gemini", {"role": "system", "content": "x"}) == [{"role": "user", "parts": [{"text": "x"}]}]


def test_system_list_content_must_be_text() -> None:
    err = error({"role": "system", "content": [{"type": "image_url", "image_url": {"url": "https://a/b.png"}}]})
    assert (err.code, err.path) == ("unknown_part_type", "content[0]")


def test_user_parts() -> None:
    msg, _ = decode(
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "look", "cache_control": {"type": "ephemeral"}},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}", "detail": "low"}},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}},
                {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "mp3"}},
                {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERg==", "filename": "a.pdf"}},
                {"type": "file", "file": {"file_id": "file-1"}},
            ],
        }
    )
    assert msg.parts == [
        TextPart(text="look", cache=True),
        ImagePart(mime="image/png", data=PNG, detail="low"),
        ImagePart(mime="image/jpeg", url="https://example.com/a.jpg"),
        AudioPart(mime="audio/mp3", data="UklGRg=="),
        DocumentPart(mime="application/pdf", data="JVBERg==", filename="a.pdf"),
        DocumentPart(file_id="file-1", file_provider="openai"),
    ]


@pytest.mark.parametrize(
    ("content", "code", "path"),
    [
        ("", "empty_content", "content"),
        ([], "empty_content", "content"),
        (None, "empty_content", "content"),
        ([{"type": "text", "text": ""}], "empty_content", "content"),
        (["hi"], "blob_not_object", "content[0]"),
        ([{"type": "video_url"}], "unknown_part_type", "content[0].type"),
        (
            [{"type": "image_url", "image_url": {"url": "data:image/png,abc"}}],
            "invalid_data_url",
            "content[0].image_url.url",
        ),
        (
            [{"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}],
            "invalid_base64",
            "content[0].image_url.url",
        ),
        (
            [{"type": "input_audio", "input_audio": {"data": "!!", "format": "wav"}}],
            "invalid_base64",
            "content[0].input_audio.data",
        ),
        ([{"type": "file", "file": {}}], "invalid_blob", "content[0].file"),
    ],
)
def test_user_content_errors(content: Any, code: str, path: str) -> None:
    err = error({"role": "user", "content": content})
    assert (err.code, err.path) == (code, path)


@pytest.mark.parametrize("blob", [["user", "hi"], "hi", 3, None])
def test_blob_must_be_an_object(blob: Any) -> None:
    assert error(blob).code == "blob_not_object"


@pytest.mark.parametrize("role", ["bot", None, "model", 1])
def test_unknown_roles(role: Any) -> None:
    assert error({"role": role, "content": "x"}).code == "unknown_role"


def test_assistant_tool_calls_and_state() -> None:
    blob = {
        "role": "assistant",
        "content": "",
        "reasoning_content": "hmm",
        "tool_calls": [
            {"id": "a", "type": "function", "function": {"name": "f", "arguments": ""}},
            {"id": "b", "type": "function", "function": {"name": "g", "arguments": '{"x": [1]}'}},
        ],
    }
    msg, state = decode(blob, IngestState(position=4))
    assert msg.parts == [
        ThinkingPart(text="hmm", provider="openai"),
        ToolCallPart(id="a", name="f", arguments={}, raw_arguments=""),
        ToolCallPart(id="b", name="g", arguments={"x": [1]}, raw_arguments='{"x": [1]}'),
    ]
    assert state == IngestState(position=5, pending_calls=[PendingCall("a", "f"), PendingCall("b", "g")])


@pytest.mark.parametrize("arguments", ["[1]", "nope", "1", '{"city": "Par'])
def test_non_object_arguments_are_kept_verbatim(arguments: str) -> None:
    """§7.1: any string is valid OpenAI arguments; non-objects travel as {"_raw_arguments": text}."""
    blob = {
        "role": "assistant",
        "tool_calls": [{"id": "a", "type": "function", "function": {"name": "f", "arguments": arguments}}],
    }
    converted = convert("openai", "anthropic", [blob])
    assert converted["messages"][0]["content"][0]["input"] == {"_raw_arguments": arguments}
    gemini = convert("openai", "gemini", [blob])
    assert gemini["contents"][0]["parts"][0]["functionCall"]["args"] == {"_raw_arguments": arguments}
    back = convert("anthropic", "openai", converted)
    assert back[0]["tool_calls"][0]["function"]["arguments"] == arguments


@pytest.mark.parametrize("arguments", [5, {"a": 1}, None, [1]])
def test_arguments_must_be_a_string(arguments: Any) -> None:
    blob = {
        "role": "assistant",
        "tool_calls": [{"id": "a", "type": "function", "function": {"name": "f", "arguments": arguments}}],
    }
    err = error(blob)
    assert (err.code, err.path) == ("invalid_tool_arguments", "tool_calls[0].function.arguments")


def test_assistant_with_nothing_is_empty() -> None:
    assert error({"role": "assistant", "content": None}).code == "empty_content"


def test_refusal_field_and_part_become_text() -> None:
    msg, _ = decode({"role": "assistant", "content": "Sorry.", "refusal": "I can't."})
    assert msg.parts == [TextPart(text="Sorry."), TextPart(text="I can't.", refusal=True)]
    assert items("anthropic", {"role": "assistant", "content": "Sorry.", "refusal": "I can't."}) == [
        {"role": "assistant", "content": [{"type": "text", "text": "Sorry."}, {"type": "text", "text": "I can't."}]}
    ]


def test_tool_message_pairs_and_resolves_the_name() -> None:
    msg, state = decode({"role": "tool", "tool_call_id": "b", "content": "ok"}, pending(("a", "f"), ("b", "g")))
    assert msg.parts == [ToolResultPart(call_id="b", name="g", content=[TextPart(text="ok")], string_form=True)]
    assert state.pending_calls == [PendingCall("a", "f")]


def test_tool_message_errors() -> None:
    assert error({"role": "tool", "content": "x"}).code == "missing_tool_call_id"
    err = error({"role": "tool", "tool_call_id": "zz", "content": "x"}, pending(("a", "f")))
    assert (err.code, err.path) == ("orphan_tool_result", "tool_call_id")
    # A call is answered once: the second result is an orphan.
    _, state = decode({"role": "tool", "tool_call_id": "a", "content": "x"}, pending(("a", "f")))
    assert error({"role": "tool", "tool_call_id": "a", "content": "x"}, state).code == "orphan_tool_result"


def test_legacy_function_call_and_result() -> None:
    _, state = decode(
        {"role": "assistant", "content": None, "function_call": {"name": "t", "arguments": "{}"}},
        IngestState(position=7),
    )
    assert state.pending_calls == [PendingCall("call_7_0", "t")]
    msg, state = decode({"role": "function", "name": "t", "content": "12:00"}, state)
    assert msg.parts[0] == ToolResultPart(
        call_id="call_7_0", name="t", content=[TextPart(text="12:00")], string_form=True
    )
    assert state.pending_calls == []
    assert error({"role": "function", "name": "t", "content": "x"}).code == "orphan_tool_result"


def test_parallel_results_merge_into_one_user_turn() -> None:
    source = [
        {"role": "user", "content": "go"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "p", "type": "function", "function": {"name": "w", "arguments": "{}"}},
                {"id": "l", "type": "function", "function": {"name": "w", "arguments": "{}"}},
            ],
        },
        {"role": "tool", "tool_call_id": "l", "content": "12"},
        {"role": "tool", "tool_call_id": "p", "content": "18"},
    ]
    gemini = convert("openai", "gemini", source)
    # Gemini output has no ids, so responses follow the call order.
    assert gemini["contents"][2]["parts"] == [
        {"functionResponse": {"name": "w", "response": {"output": "18"}}},
        {"functionResponse": {"name": "w", "response": {"output": "12"}}},
    ]
    anthropic = convert("openai", "anthropic", source)
    assert [b["tool_use_id"] for b in anthropic["messages"][2]["content"]] == ["l", "p"]


def test_breakpoint_forces_list_content_and_assistant_single_text_is_a_string() -> None:
    blob = {"role": "assistant", "content": [{"type": "text", "text": "hi"}]}
    assert items("openai", blob) == [blob]  # same format: verbatim
    msg, _ = decode(blob)
    anthropic_blob = {"role": "assistant", "content": [{"type": "text", "text": "hi"}]}
    out = encode_request(
        "openai", [("1", msg.__replace__(source_format="anthropic"), msgspec.json.encode(anthropic_blob))]
    )
    assert out.payload == [{"role": "assistant", "content": "hi"}]
    cached = msg.__replace__(source_format="anthropic", parts=[TextPart(text="hi", cache=True)])
    out = encode_request("openai", [("1", cached, b"{}")])
    assert out.payload == [
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "hi", "prompt_cache_breakpoint": {"mode": "explicit"}}],
        }
    ]


def test_images_documents_audio_cross_format() -> None:
    blob = {
        "role": "user",
        "content": [
            {"type": "image_url", "image_url": {"url": "data:image/heic;base64,AAAA"}},
            {"type": "file", "file": {"file_data": "data:text/plain;base64,aGk=", "filename": "n.txt"}},
            {"type": "file", "file": {"file_data": "data:application/msword;base64,AAAA", "filename": "a.doc"}},
            {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
        ],
    }
    assert items("anthropic", blob)[0]["content"] == [
        {"type": "text", "text": "[unsupported content omitted: image/heic]"},
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "hi"}, "title": "n.txt"},
        {"type": "text", "text": "[unsupported content omitted: application/msword]"},
        {"type": "text", "text": "[unsupported content omitted: audio/wav]"},
    ]
    assert items("gemini", blob)[0]["parts"] == [
        {"inlineData": {"mimeType": "image/heic", "data": "AAAA"}},
        {"inlineData": {"mimeType": "text/plain", "data": "aGk="}},
        {"inlineData": {"mimeType": "application/msword", "data": "AAAA"}},
        {"inlineData": {"mimeType": "audio/wav", "data": "AAAA"}},
    ]


def test_name_is_dropped_cross_format() -> None:
    assert items("anthropic", {"role": "user", "content": "hi", "name": "bob"}) == [{"role": "user", "content": "hi"}]


def test_same_format_items_are_verbatim_bytes() -> None:
    raw = b'{"content": "hi",  "role":"user"}'
    msg, _ = decode(json.loads(raw))
    assert encode_items("openai", msg, raw) == b"[" + raw + b"]"
