"""acontext format: §6.1 validation, the §2.3 part shape, roles and system meta; model storage."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from acx.codecs import (
    CODEC_VERSION,
    FORMATS,
    IngestState,
    PendingCall,
    acontext_role,
    acontext_system_meta,
    decode_blob,
    encode_acontext_parts,
)
from acx.errors import DecodeError
from acx.model import (
    AudioPart,
    DataPart,
    DocumentPart,
    ImagePart,
    Message,
    RedactedThinkingPart,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
    UnsupportedPart,
    VideoPart,
)


def decode(blob: Any, state: IngestState | None = None) -> tuple[Message, IngestState]:
    return decode_blob("acontext", blob, state or IngestState())


def error(blob: Any, state: IngestState | None = None) -> DecodeError:
    with pytest.raises(DecodeError) as info:
        decode(blob, state)
    return info.value


def test_public_constants() -> None:
    assert FORMATS == ("openai", "anthropic", "gemini", "acontext")
    assert isinstance(CODEC_VERSION, int)


def test_sdk_shape_with_nulls() -> None:
    blob = {"role": "user", "parts": [{"type": "text", "text": "hi", "meta": None, "file_field": None}], "meta": None}
    msg, state = decode(blob)
    assert msg == Message(role="user", parts=[TextPart(text="hi")], source_format="acontext")
    assert state.position == 1
    assert encode_acontext_parts(msg) == [{"type": "text", "text": "hi"}]
    assert acontext_role(msg) == "user"
    assert acontext_system_meta(msg) == {"source_format": "acontext"}


def test_tool_call_and_result_round_trip() -> None:
    call_blob = {"role": "assistant", "parts": [{"type": "tool-call", "meta": {"name": "f", "arguments": {"a": 1}}}]}
    msg, state = decode(call_blob, IngestState(position=4))
    assert msg.parts == [ToolCallPart(id="call_4_0", name="f", arguments={"a": 1}, synthetic_id=True)]
    assert encode_acontext_parts(msg) == [
        {"type": "tool-call", "meta": {"id": "call_4_0", "name": "f", "arguments": '{"a":1}', "type": "function"}}
    ]
    result_blob = {
        "role": "user",
        "parts": [{"type": "tool-result", "text": "ok", "meta": {"tool_call_id": "call_4_0"}}],
    }
    msg, state = decode(result_blob, state)
    assert msg.parts == [ToolResultPart(call_id="call_4_0", name="f", content=[TextPart(text="ok")], string_form=True)]
    assert encode_acontext_parts(msg) == [
        {"type": "tool-result", "text": "ok", "meta": {"tool_call_id": "call_4_0", "name": "f"}}
    ]
    assert state == IngestState(position=6)


@pytest.mark.parametrize(
    ("part", "code"),
    [
        ({"type": "bogus"}, "unknown_part_type"),
        ({"type": "text"}, "invalid_blob"),
        ({"type": "text", "text": ""}, "invalid_blob"),
        ({"type": "thinking", "text": ""}, "invalid_blob"),
        ({"type": "tool-call", "meta": {"name": "f"}}, "invalid_tool_arguments"),
        ({"type": "tool-call", "meta": {"name": "f", "arguments": 3}}, "invalid_tool_arguments"),
        ({"type": "tool-call", "meta": {"arguments": {}}}, "invalid_blob"),
        ({"type": "tool-result", "text": "x", "meta": {}}, "missing_tool_call_id"),
        ({"type": "tool-result", "text": "x", "meta": {"tool_call_id": "nope"}}, "orphan_tool_result"),
        ({"type": "data", "meta": {}}, "invalid_blob"),
        ({"type": "image", "meta": {}}, "invalid_blob"),
        ({"type": "image", "meta": {"url": "data:nope"}}, "invalid_data_url"),
        ({"type": "image", "meta": {"data": "AAAA"}}, "missing_mime_type"),
        ("text", "blob_not_object"),
    ],
)
def test_part_errors(part: Any, code: str) -> None:
    assert error({"role": "user", "parts": [part]}).code == code


@pytest.mark.parametrize("role", ["system", "tool", None])
def test_roles(role: Any) -> None:
    assert error({"role": role, "parts": []}).code == "unknown_role"


def test_empty_parts_are_allowed() -> None:
    msg, _ = decode({"role": "assistant", "parts": []})
    assert msg.parts == []


def test_blob_meta_original_role_and_name() -> None:
    blob = {
        "role": "user",
        "parts": [{"type": "text", "text": "Be terse."}],
        "meta": {"original_role": "developer", "name": "ops", "__gemini_call_info__": [{"id": "x", "name": "y"}]},
    }
    msg, state = decode(blob)
    assert (msg.role, msg.original_role, msg.name) == ("system", "developer", "ops")
    assert state.pending_calls == []  # internal state cannot be forged through meta
    assert acontext_role(msg) == "user"
    assert acontext_system_meta(msg) == {"source_format": "acontext", "original_role": "developer", "name": "ops"}


def test_media_and_misc_parts() -> None:
    blob = {
        "role": "user",
        "parts": [
            {
                "type": "image",
                "meta": {"url": "https://x.org/a.png", "detail": "high", "cache_control": {"type": "ephemeral"}},
            },
            {"type": "image", "meta": {"url": "data:image/png;base64,AAAA"}},
            {"type": "audio", "meta": {"data": "AAAA", "format": "wav"}},
            {"type": "video", "meta": {"media_type": "video/mp4", "url": "https://x.org/v.mp4"}},
            {"type": "file", "meta": {"file_id": "file-9", "filename": "r.pdf"}},
            {"type": "file", "file_field": "upload"},
            {"type": "data", "meta": {"data_type": "json", "value": 1}},
        ],
    }
    msg, _ = decode(blob)
    assert msg.parts == [
        ImagePart(mime="image/png", url="https://x.org/a.png", detail="high", cache=True),
        ImagePart(mime="image/png", data="AAAA"),
        AudioPart(mime="audio/wav", data="AAAA"),
        VideoPart(mime="video/mp4", url="https://x.org/v.mp4"),
        DocumentPart(file_id="file-9", file_provider="openai", filename="r.pdf"),
        DocumentPart(file_field="upload"),
        DataPart(data_type="json", meta={"data_type": "json", "value": 1}),
    ]
    encoded = encode_acontext_parts(msg)
    assert encoded[0] == {
        "type": "image",
        "meta": {
            "type": "url",
            "url": "https://x.org/a.png",
            "media_type": "image/png",
            "detail": "high",
            "cache_control": {"type": "ephemeral"},
        },
    }
    assert encoded[2] == {
        "type": "audio",
        "meta": {"type": "base64", "media_type": "audio/wav", "data": "AAAA", "format": "wav"},
    }
    assert encoded[5] == {"type": "file", "file_field": "upload"}
    # What we encode decodes again to the same parts.
    again, _ = decode({"role": "user", "parts": encoded})
    assert again.parts == msg.parts


def test_thinking_and_unsupported_encode_as_acontext_parts() -> None:
    msg = Message(
        role="assistant",
        parts=[
            ThinkingPart(text="t", signature="s", provider="anthropic"),
            RedactedThinkingPart(data="d"),
            UnsupportedPart(provider="anthropic", what="anthropic server_tool_use", raw={"type": "server_tool_use"}),
        ],
        source_format="anthropic",
    )
    assert encode_acontext_parts(msg) == [
        {"type": "thinking", "text": "t", "meta": {"signature": "s"}},
        {"type": "redacted_thinking", "meta": {"data": "d"}},
        {"type": "data", "meta": {"data_type": "anthropic server_tool_use", "data": {"type": "server_tool_use"}}},
    ]
    assert acontext_system_meta(msg) == {"source_format": "anthropic"}


def test_model_round_trips_through_msgspec() -> None:
    msg = Message(
        role="user",
        parts=[
            TextPart(text="a", cache=True, refusal=True),
            ImagePart(mime="image/png", data="AAAA", detail="low"),
            DocumentPart(url="https://x.org/d.pdf", mime="application/pdf", filename="d.pdf"),
            AudioPart(mime="audio/mp3", data="AAAA"),
            VideoPart(mime="video/mp4", data="AAAA"),
            ToolResultPart(
                call_id="c",
                name="f",
                content=[
                    TextPart(text="x"),
                    ImagePart(url="https://x.org/i.png"),
                    UnsupportedPart(provider="anthropic", what="w", raw={"k": [1]}),
                ],
                is_error=True,
                response={"k": "v"},
            ),
            ToolCallPart(id="c", name="f", arguments={"z": 1, "a": [2]}, raw_arguments='{"z":1,"a":[2]}', custom=True),
            ThinkingPart(text="t", signature="s", provider="gemini"),
            RedactedThinkingPart(data="r"),
            DataPart(data_type="d", meta={"x": 1}),
        ],
        source_format="openai",
        content_form="list",
        original_role="developer",
        name="n",
    )
    data = msgspec.json.encode(msg)
    back = msgspec.json.decode(data, type=Message)
    assert back == msg
    call = back.parts[6]
    assert isinstance(call, ToolCallPart)
    assert list(call.arguments) == ["z", "a"]  # source key order survives storage


def test_ingest_state_round_trips() -> None:
    state = IngestState(position=3, pending_calls=[PendingCall("a", "f")])
    assert msgspec.json.decode(msgspec.json.encode(state), type=IngestState) == state
    assert msgspec.json.decode(b"{}", type=IngestState) == IngestState()
