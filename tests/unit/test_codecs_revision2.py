"""Revision 2 of conversion.md (§4.6, §7.1): what real clients and models send is accepted.

One test (or property) per rule; every cross-format encoding is checked by the SDK validators.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acx.codecs import IngestState, convert, decode_blob, encode_items, encode_request
from acx.errors import DecodeError
from acx.model import ImagePart, Message

PROVIDERS = ("openai", "anthropic", "gemini")
PNG = "iVBORw0KGgo="
FILES_URI = "https://generativelanguage.googleapis.com/v1beta/files/abc123"


def converted(source_format: str, source: Any, sdk: Any) -> dict[str, Any]:
    """``source`` in every provider format, each validated against the official types."""
    out = {}
    for target in PROVIDERS:
        out[target] = convert(source_format, target, source)  # type: ignore[arg-type]
        if target == source_format:
            assert out[target] == source, "same-format conversion returns the source verbatim"
        else:
            sdk.request(target, out[target], cross_format=True)
    return out


def decoded(fmt: str, blob: Any) -> Message:
    return decode_blob(fmt, blob, IngestState())[0]  # type: ignore[arg-type]


def _call(arguments: str) -> dict[str, Any]:
    function = {"name": "get_weather", "arguments": arguments}
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "call_1", "type": "function", "function": function}],
    }


def _not_an_object(text: str) -> bool:
    try:
        return not isinstance(json.loads(text), dict)
    except ValueError:
        return True


# --- §4.6 / §7.1: non-object OpenAI arguments --------------------------------------------------


def _anthropic_input(payload: Any) -> Any:
    return payload["messages"][1]["content"][0]["input"]


def _gemini_args(payload: Any) -> Any:
    return payload["contents"][1]["parts"][0]["functionCall"]["args"]


@pytest.mark.parametrize(
    ("via", "arguments_of"),
    [pytest.param("anthropic", _anthropic_input, id="anthropic"), pytest.param("gemini", _gemini_args, id="gemini")],
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=30).filter(lambda t: t != "" and _not_an_object(t)))
def test_non_object_arguments_round_trip_verbatim(
    sdk: Any, via: str, arguments_of: Callable[[Any], Any], text: str
) -> None:
    source = [{"role": "user", "content": "Weather?"}, _call(text)]
    there = convert("openai", via, source)  # type: ignore[arg-type]
    sdk.request(via, there, cross_format=True)
    assert arguments_of(there) == {"_raw_arguments": text}
    back = convert(via, "openai", there)  # type: ignore[arg-type]
    assert back[1]["tool_calls"][0]["function"]["arguments"] == text


def test_truncated_arguments_are_stored() -> None:
    message = decoded("openai", _call('{"city": "Par'))
    assert encode_items("openai", message, json.dumps(_call('{"city": "Par')).encode())
    assert json.loads(encode_items("anthropic", message, b""))[0]["content"][0]["input"] == {
        "_raw_arguments": '{"city": "Par'
    }


def test_anthropic_input_must_still_be_an_object() -> None:
    blob = {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": "x"}]}
    with pytest.raises(DecodeError) as info:
        decoded("anthropic", blob)
    assert info.value.code == "invalid_tool_arguments"


# --- empty assistant content and empty system messages -----------------------------------------


@pytest.mark.parametrize("content", ["", []])
def test_empty_assistant_turn_is_accepted_and_left_out_cross_format(sdk: Any, content: Any) -> None:
    source = [
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": content},
        {"role": "user", "content": "q2"},
    ]
    out = converted("openai", source, sdk)
    # The neighbours merge once the empty turn is left out (§2.3).
    assert out["anthropic"] == {
        "messages": [{"role": "user", "content": [{"type": "text", "text": "q1"}, {"type": "text", "text": "q2"}]}]
    }
    assert out["gemini"] == {"contents": [{"role": "user", "parts": [{"text": "q1"}, {"text": "q2"}]}]}


def test_empty_assistant_items_keep_the_alignment() -> None:
    message = decoded("openai", {"role": "assistant", "content": ""})
    assert json.loads(encode_items("anthropic", message, b"")) == [{"role": "assistant", "content": ""}]
    assert json.loads(encode_items("gemini", message, b"")) == [{"role": "model", "parts": []}]


def test_assistant_without_any_content_is_still_rejected() -> None:
    with pytest.raises(DecodeError) as info:
        decoded("openai", {"role": "assistant"})
    assert info.value.code == "empty_content"


@pytest.mark.parametrize("content", ["", []])
def test_empty_anthropic_assistant_turn(sdk: Any, content: Any) -> None:
    converted(
        "anthropic", {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": content}]}, sdk
    )


def test_empty_gemini_model_turn(sdk: Any) -> None:
    converted(
        "gemini", {"contents": [{"role": "user", "parts": [{"text": "hi"}]}, {"role": "model", "parts": []}]}, sdk
    )


@pytest.mark.parametrize("content", ["", []])
def test_empty_anthropic_user_turn_is_still_rejected(content: Any) -> None:
    with pytest.raises(DecodeError) as info:
        decoded("anthropic", {"role": "user", "content": content})
    assert info.value.code == "empty_content"


def test_gemini_model_content_without_parts(sdk: Any) -> None:
    """Gemini answers ``{"role": "model"}`` (no parts) when cut off: stored, verbatim for Gemini."""
    user = {"role": "user", "parts": [{"text": "q"}]}
    out = converted("gemini", {"contents": [user, {"role": "model"}, {"role": "user", "parts": [{"text": "q2"}]}]}, sdk)
    assert out["openai"] == [{"role": "user", "content": "q"}, {"role": "user", "content": "q2"}]


def test_empty_stored_turn_merges_without_an_empty_block() -> None:
    """Mixed formats: an empty Anthropic turn next to an encoded one adds no empty text block."""
    first = decode_blob("openai", {"role": "assistant", "content": "a1"}, IngestState())
    second = decode_blob("anthropic", {"role": "assistant", "content": ""}, first[1])
    encoded = encode_request(
        "anthropic", [("m0", first[0], b""), ("m1", second[0], b'{"role":"assistant","content":""}')]
    )
    assert encoded.payload == {"messages": [{"role": "assistant", "content": [{"type": "text", "text": "a1"}]}]}
    assert encoded.ids == [["m0", "m1"]]


@pytest.mark.parametrize("role", ["system", "developer"])
@pytest.mark.parametrize("content", ["", [], [{"type": "text", "text": ""}]])
def test_empty_system_message_anywhere(sdk: Any, role: str, content: Any) -> None:
    source = [
        {"role": "user", "content": "q1"},
        {"role": role, "content": content},
        {"role": "assistant", "content": "a1"},
    ]
    out = converted("openai", source, sdk)
    assert "system" not in out["anthropic"]
    assert "systemInstruction" not in out["gemini"]
    assert [m["role"] for m in out["anthropic"]["messages"]] == ["user", "assistant"]


@pytest.mark.parametrize(
    ("fmt", "source"),
    [
        pytest.param("anthropic", {"system": "", "messages": [{"role": "user", "content": "hi"}]}, id="anthropic"),
        pytest.param(
            "gemini",
            {"systemInstruction": {"parts": []}, "contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
            id="gemini",
        ),
    ],
)
def test_empty_system_values_are_verbatim_in_their_own_format(sdk: Any, fmt: str, source: Any) -> None:
    converted(fmt, source, sdk)


# --- refusal-only assistant messages -------------------------------------------------------------


def test_refusal_only_message_survives_every_format(sdk: Any) -> None:
    refusal = {"role": "assistant", "content": None, "refusal": "I cannot help with that."}
    source = [{"role": "user", "content": "q"}, refusal, {"role": "user", "content": "Why not?"}]
    out = converted("openai", source, sdk)
    assert out["openai"][1] == refusal
    assert out["anthropic"]["messages"][1] == {"role": "assistant", "content": "I cannot help with that."}
    assert out["gemini"]["contents"][1] == {"role": "model", "parts": [{"text": "I cannot help with that."}]}


# --- images inside OpenAI tool messages ------------------------------------------------------------


def test_image_in_openai_tool_message_is_a_tool_result_image(sdk: Any) -> None:
    tool = {
        "role": "tool",
        "tool_call_id": "call_1",
        "content": [
            {"type": "text", "text": "Image file: test.png"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
        ],
    }
    out = converted("openai", [_call("{}"), tool], sdk)
    result = out["anthropic"]["messages"][1]["content"][0]
    assert result["content"][1] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": PNG},
    }
    response = out["gemini"]["contents"][1]["parts"][0]["functionResponse"]
    assert response["parts"] == [{"inlineData": {"mimeType": "image/png", "data": PNG}}]
    back = convert("anthropic", "openai", out["anthropic"])
    assert back[1] == {
        "role": "tool",
        "tool_call_id": "call_1",
        "content": [{"type": "text", "text": "Image file: test.png"}],
    }
    assert back[2]["role"] == "user"
    assert back[2]["content"][0]["image_url"]["url"] == f"data:image/png;base64,{PNG}"


def test_tool_message_parts_other_than_text_and_media_are_rejected() -> None:
    state = decode_blob("openai", _call("{}"), IngestState())[1]
    tool = {"role": "tool", "tool_call_id": "call_1", "content": [{"type": "refusal", "refusal": "no"}]}
    with pytest.raises(DecodeError) as info:
        decode_blob("openai", tool, state)
    assert (info.value.code, info.value.path) == ("unknown_part_type", "content[0].type")


# --- Gemini reasoning images -------------------------------------------------------------------------


def test_gemini_thought_image_is_reasoning(sdk: Any) -> None:
    thought = {"inlineData": {"mimeType": "image/png", "data": PNG}, "thought": True, "thoughtSignature": "sig1"}
    visible = {"inlineData": {"mimeType": "image/jpeg", "data": "BAUG"}}
    source = {
        "contents": [{"role": "user", "parts": [{"text": "draw"}]}, {"role": "model", "parts": [thought, visible]}]
    }
    out = converted("gemini", source, sdk)
    assert PNG not in json.dumps(out["openai"])
    assert "image/png" not in json.dumps(out["openai"])
    assert PNG not in json.dumps(out["anthropic"])
    assert "image/png" not in json.dumps(out["anthropic"])
    assert "BAUG" in json.dumps(out["anthropic"])
    message = decoded("gemini", source["contents"][1])
    assert isinstance(message.parts[0], ImagePart)
    assert message.parts[0].reasoning
    # Encoded again for Gemini (an edited message), it stays a thought part.
    assert json.loads(encode_items("gemini", message, b""))[0]["parts"][0] == {
        "inlineData": {"mimeType": "image/png", "data": PNG},
        "thought": True,
    }


# --- Gemini Files API URIs ----------------------------------------------------------------------------


def test_gemini_files_api_uri_is_a_provider_file(sdk: Any) -> None:
    part = {"fileData": {"mimeType": "image/png", "fileUri": FILES_URI}}
    out = converted("gemini", {"contents": [{"role": "user", "parts": [{"text": "look"}, part]}]}, sdk)
    placeholder = f"[unsupported content omitted: image/png {FILES_URI}]"
    assert out["openai"][0]["content"][1] == {"type": "text", "text": placeholder}
    assert out["anthropic"]["messages"][0]["content"][1] == {"type": "text", "text": placeholder}


def test_files_api_uri_from_another_format_reaches_gemini_natively(sdk: Any) -> None:
    source = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": FILES_URI}}]}]
    out = converted("openai", source, sdk)
    assert out["gemini"]["contents"][0]["parts"] == [{"fileData": {"fileUri": FILES_URI}}]
    assert out["anthropic"]["messages"][0]["content"] == [
        {"type": "text", "text": f"[unsupported content omitted: {FILES_URI}]"}
    ]


@pytest.mark.parametrize(
    "uri",
    ["https://generativelanguage.googleapis.com.evil.example/v1beta/files/x", "https://example.com/v1beta/files/x"],
)
def test_other_urls_stay_urls(uri: str) -> None:
    message = decoded("openai", {"role": "user", "content": [{"type": "image_url", "image_url": {"url": uri}}]})
    assert isinstance(message.parts[0], ImagePart)
    assert message.parts[0].url == uri


# --- cache_control inside an Anthropic tool_result -------------------------------------------------------


def test_cache_control_inside_tool_result_reaches_openai_and_back(sdk: Any) -> None:
    cached = {"type": "text", "text": "Cached tool content", "cache_control": {"type": "ephemeral"}}
    source = {
        "messages": [
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [cached]}]},
        ]
    }
    out = converted("anthropic", source, sdk)
    assert out["openai"][1]["content"] == [
        {"type": "text", "text": "Cached tool content", "prompt_cache_breakpoint": {"mode": "explicit"}}
    ]
    back = convert("openai", "anthropic", out["openai"])
    assert back["messages"][1]["content"][0]["content"] == [cached]
