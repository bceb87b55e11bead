"""Token counting (acontext-api.md §9) with the vendored o200k_base vocabulary."""

from __future__ import annotations

import gzip
import hashlib
from importlib import resources
from typing import Any

import pytest
import tiktoken.load

from acx import tokens
from acx.model import ImagePart, Message, TextPart, ThinkingPart, ToolCallPart, ToolResultPart


def test_encoding_matches_tiktoken_o200k_base() -> None:
    enc = tokens.get_encoding()
    assert enc.encode("Hello, world! 你好") == [13225, 11, 2375, 0, 220, 177519]
    assert enc.n_vocab == 200019
    assert enc.name == "o200k_base"


def test_encoding_is_built_once() -> None:
    assert tokens.get_encoding() is tokens.get_encoding()
    tokens.warm_up()


def test_vocabulary_ships_in_the_package_with_the_expected_hash() -> None:
    packed = resources.files("acx").joinpath("data/o200k_base.tiktoken.gz").read_bytes()
    assert hashlib.sha256(gzip.decompress(packed)).hexdigest() == tokens.O200K_SHA256


def test_no_network_is_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(*_: Any, **__: Any) -> bytes:
        raise AssertionError("tried to download")

    monkeypatch.setattr(tiktoken.load, "read_file", offline)
    monkeypatch.setattr(tiktoken.load, "read_file_cached", offline)
    tokens.get_encoding.cache_clear()
    try:
        assert tokens.get_encoding().encode_ordinary("hi") == [3686]
    finally:
        tokens.get_encoding.cache_clear()


def test_two_short_messages_count_about_eight_tokens() -> None:
    a = Message(role="user", parts=[TextPart(text="Hello, world!")])
    b = Message(role="assistant", parts=[TextPart(text="How can I help you?")])
    total = tokens.count_tokens(a) + tokens.count_tokens(b)
    assert 7 <= total <= 12


def test_empty_and_media_only_messages_count_zero() -> None:
    assert tokens.count_tokens(Message(role="user")) == 0
    image = ImagePart(url="https://example.com/a.png", mime="image/png")
    assert tokens.count_tokens(Message(role="user", parts=[image])) == 0


def test_message_text_walks_parts_in_order() -> None:
    msg = Message(
        role="assistant",
        parts=[
            ThinkingPart(text="think", provider="anthropic", signature="s"),
            TextPart(text="answer"),
            ToolCallPart(id="c1", name="f", arguments={"b": "<x>", "a": 1}),
        ],
        source_format="anthropic",
    )
    # Anthropic arguments are stored upstream as Go-serialised strings: sorted, <>& escaped.
    expected_call = '{"arguments":"{\\"a\\":1,\\"b\\":\\"\\\\u003cx\\\\u003e\\"}","name":"f"}'
    assert tokens.message_text(msg) == "think\nanswer\n" + expected_call + "\n"


def test_openai_arguments_count_as_the_original_string() -> None:
    call = ToolCallPart(id="c", name="get", arguments={"city": "SF"}, raw_arguments='{"city": "SF"}')
    msg = Message(role="assistant", parts=[call], source_format="openai")
    assert tokens.message_text(msg) == '{"arguments":"{\\"city\\": \\"SF\\"}","name":"get"}\n'


def test_acontext_object_arguments_stay_objects() -> None:
    call = ToolCallPart(id="c", name="get", arguments={"q": "a&b"})
    msg = Message(role="assistant", parts=[call], source_format="acontext")
    assert tokens.message_text(msg) == '{"arguments":{"q":"a\\u0026b"},"name":"get"}\n'


def test_tool_result_text_counts() -> None:
    result = ToolResultPart(call_id="c", name="f", content=[TextPart(text="72"), TextPart(text="F")])
    msg = Message(role="user", parts=[result])
    assert tokens.message_text(msg) == "72F\n"
    assert tokens.count_tokens(msg) > 0


def test_go_json_escapes_like_encoding_json() -> None:
    assert tokens.go_json({"b": "<&>", "a": "é\u2028"}) == '{"a":"é\\u2028","b":"\\u003c\\u0026\\u003e"}'
