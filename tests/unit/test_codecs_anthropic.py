"""Anthropic codec: ingest validation and encoding."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from acx.codecs import IngestState, PendingCall, convert, decode_blob, encode_items
from acx.errors import DecodeError
from acx.model import (
    DocumentPart,
    ImagePart,
    Message,
    RedactedThinkingPart,
    TextPart,
    ThinkingPart,
    ToolResultPart,
    UnsupportedPart,
)

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def decode(blob: Any, state: IngestState | None = None) -> tuple[Message, IngestState]:
    return decode_blob("anthropic", blob, state or IngestState())


def error(blob: Any, state: IngestState | None = None) -> DecodeError:
    with pytest.raises(DecodeError) as info:
        decode(blob, state)
    return info.value


def items(target: str, blob: Any, state: IngestState | None = None) -> list[Any]:
    message, _ = decode(blob, state)
    items: list[Any] = json.loads(encode_items(target, message, msgspec.json.encode(blob)))  # type: ignore[arg-type]
    return items


def pending(*calls: tuple[str, str]) -> IngestState:
    return IngestState(position=2, pending_calls=[PendingCall(i, n) for i, n in calls])


def test_system_blob() -> None:
    blob = {
        "role": "system",
        "content": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
    }
    msg, _ = decode(blob)
    assert msg.role == "system"
    assert msg.parts == [TextPart(text="Be brief.", cache=True)]
    assert items("anthropic", blob) == [blob]
    assert items("openai", blob) == [
        {
            "role": "system",
            "content": [{"type": "text", "text": "Be brief.", "prompt_cache_breakpoint": {"mode": "explicit"}}],
        }
    ]
    assert items("gemini", blob) == [{"role": "user", "parts": [{"text": "Be brief."}]}]
    assert error({"role": "system", "content": [{"type": "image", "source": {}}]}).code == "unknown_part_type"


@pytest.mark.parametrize(
    ("blob", "code", "path"),
    [
        ({"role": "tool", "content": "x"}, "unknown_role", "role"),
        ({"role": "user"}, "empty_content", "content"),
        ({"role": "user", "content": ""}, "empty_content", "content"),
        ({"role": "user", "content": []}, "empty_content", "content"),
        ({"role": "user", "content": [{"type": "text", "text": ""}]}, "empty_content", "content"),
        ({"role": "user", "content": [{"type": "bogus"}]}, "unknown_part_type", "content[0].type"),
        ({"role": "user", "content": ["hi"]}, "blob_not_object", "content[0]"),
        (
            {
                "role": "user",
                "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "*"}}],
            },
            "invalid_base64",
            "content[0].source.data",
        ),
        (
            {"role": "assistant", "content": [{"type": "tool_use", "id": "a", "name": "f", "input": [1]}]},
            "invalid_tool_arguments",
            "content[0].input",
        ),
        ({"role": "user", "content": [{"type": "tool_result"}]}, "missing_tool_call_id", "content[0].tool_use_id"),
        (
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "x"}]},
            "orphan_tool_result",
            "content[0].tool_use_id",
        ),
        (
            {"role": "user", "content": [{"type": "tool_use", "id": "a", "name": "f", "input": {}}]},
            "invalid_blob",
            "content[0]",
        ),
    ],
)
def test_errors(blob: Any, code: str, path: str) -> None:
    err = error(blob)
    assert (err.code, err.path) == (code, path)


def test_blocks_decode() -> None:
    blob = {
        "role": "user",
        "content": [
            {"type": "image", "source": {"type": "url", "url": "https://x.org/a.webp"}},
            {"type": "image", "source": {"type": "file", "file_id": "file_1"}},
            {"type": "document", "source": {"type": "url", "url": "https://x.org/d"}, "title": "T", "context": "c"},
            {"type": "document", "source": {"type": "content", "content": [{"type": "text", "text": "inner"}]}},
            {"type": "search_result", "source": "s", "title": "t", "content": [{"type": "text", "text": "r"}]},
        ],
    }
    msg, _ = decode(blob)
    assert msg.parts == [
        ImagePart(mime="image/webp", url="https://x.org/a.webp"),
        ImagePart(file_id="file_1", file_provider="anthropic"),
        DocumentPart(mime="application/pdf", url="https://x.org/d", filename="T"),
        TextPart(text="inner"),
        UnsupportedPart(provider="anthropic", what="anthropic search_result", raw=blob["content"][4]),
    ]
    assert items("openai", blob)[0]["content"] == [
        {"type": "image_url", "image_url": {"url": "https://x.org/a.webp"}},
        {"type": "text", "text": "[unsupported content omitted: anthropic file file_1]"},
        {"type": "text", "text": "[unsupported content omitted: application/pdf https://x.org/d]"},
        {"type": "text", "text": "inner"},
        {"type": "text", "text": "[unsupported content omitted: anthropic search_result]"},
    ]
    assert items("gemini", blob)[0]["parts"][:3] == [
        {"fileData": {"mimeType": "image/webp", "fileUri": "https://x.org/a.webp"}},
        {"text": "[unsupported content omitted: anthropic file file_1]"},
        {"fileData": {"mimeType": "application/pdf", "fileUri": "https://x.org/d"}},
    ]


def test_pdf_document_to_openai_gets_a_filename() -> None:
    blob = {
        "role": "user",
        "content": [
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERg=="}}
        ],
    }
    assert items("openai", blob)[0]["content"] == [
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERg==", "filename": "document.pdf"}}
    ]


def test_thinking_and_redacted() -> None:
    blob = {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "sig"},
            {"type": "redacted_thinking", "data": "opaque"},
            {"type": "text", "text": "42"},
        ],
    }
    msg, _ = decode(blob)
    assert msg.parts[:2] == [
        ThinkingPart(text="hmm", signature="sig", provider="anthropic"),
        RedactedThinkingPart(data="opaque"),
    ]
    assert items("openai", blob) == [{"role": "assistant", "content": "42"}]
    assert items("gemini", blob) == [{"role": "model", "parts": [{"text": "hmm", "thought": True}, {"text": "42"}]}]


def test_tool_result_with_image_splits_for_openai_and_nests_for_gemini() -> None:
    blob = {
        "role": "user",
        "content": [
            {
                "type": "tool_result",
                "tool_use_id": "t.1",
                "content": [
                    {"type": "text", "text": "chart:"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                ],
                "is_error": True,
            },
            {"type": "text", "text": "and?"},
        ],
    }
    state = pending(("t.1", "plot"))
    msg, _ = decode(blob, state)
    result = msg.parts[0]
    assert isinstance(result, ToolResultPart)
    assert (result.name, result.is_error, result.string_form) == ("plot", True, False)
    assert items("openai", blob, state) == [
        {"role": "tool", "tool_call_id": "t.1", "content": [{"type": "text", "text": "chart:"}]},
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                {"type": "text", "text": "and?"},
            ],
        },
    ]
    assert items("gemini", blob, state) == [
        {
            "role": "user",
            "parts": [
                {
                    "functionResponse": {
                        "name": "plot",
                        "response": {"error": "chart:"},
                        "parts": [{"inlineData": {"mimeType": "image/png", "data": PNG}}],
                    }
                },
                {"text": "and?"},
            ],
        }
    ]


def test_tool_ids_are_sanitised_identically() -> None:
    source = [
        {"role": "user", "content": "go"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "a:b/c", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
        },
        {"role": "tool", "tool_call_id": "a:b/c", "content": "done"},
    ]
    out = convert("openai", "anthropic", source)
    assert out["messages"][1]["content"][0]["id"] == "a_b_c"
    assert out["messages"][2]["content"][0]["tool_use_id"] == "a_b_c"


def test_leading_system_run_and_hoisting() -> None:
    source = [
        {"role": "system", "content": "A"},
        {"role": "user", "content": "hi"},
        {"role": "developer", "content": [{"type": "text", "text": "B"}, {"type": "text", "text": "C"}]},
        {"role": "assistant", "content": "yo"},
    ]
    out = convert("openai", "anthropic", source)
    assert out["system"] == [
        {"type": "text", "text": "A"},
        {"type": "text", "text": "B"},
        {"type": "text", "text": "C"},
    ]
    assert out["messages"] == [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]


def test_same_format_consecutive_turns_stay_verbatim_but_mixed_formats_merge() -> None:
    source = {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}
    assert convert("anthropic", "anthropic", source) == source
    assert convert("anthropic", "gemini", source)["contents"] == [
        {"role": "user", "parts": [{"text": "a"}, {"text": "b"}]}
    ]


def test_tool_result_media_moves_behind_the_whole_run_of_tool_messages() -> None:
    def result(call_id: str) -> dict[str, Any]:
        image = {"type": "image", "source": {"type": "url", "url": f"https://x.org/{call_id}.png"}}
        return {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call_id, "content": [image]}]}

    source = {
        "messages": [
            {"role": "user", "content": "plot"},
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "a", "name": "plot", "input": {}},
                    {"type": "tool_use", "id": "b", "name": "plot", "input": {}},
                ],
            },
            result("a"),
            result("b"),
        ]
    }
    out = convert("anthropic", "openai", source)
    assert out[2:] == [
        {"role": "tool", "tool_call_id": "a", "content": ""},
        {"role": "tool", "tool_call_id": "b", "content": ""},
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": "https://x.org/a.png"}},
                {"type": "image_url", "image_url": {"url": "https://x.org/b.png"}},
            ],
        },
    ]
